"""Decodes the collector's own log format: one serialised Event per line."""

from __future__ import annotations

from ..core.events import Event


class EventJsonDecoder:
    def decode(self, line: bytes, out: list[Event]) -> None:
        if line.strip():
            out.append(Event.model_validate_json(line))

    def finish(self, out: list[Event]) -> None:
        return None
