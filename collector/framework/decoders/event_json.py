"""Decodes the collector's own log format: one serialised Event per line."""

from __future__ import annotations

from ..core.events import Event

# pydantic parses and validates the line in one pass (bytes fields from base64), with the model's
# own validator: what Event.model_validate_json does, minus its Python-level wrapper.
_validate_json = Event.__pydantic_validator__.validate_json


class EventJsonDecoder:
    def decode(self, line: bytes, out: list[Event]) -> None:
        if line.strip():
            out.append(_validate_json(line))

    def finish(self, out: list[Event]) -> None:
        return None
