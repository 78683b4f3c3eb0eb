"""Decodes the collector's own log format: one serialised Event per line."""

from __future__ import annotations

from ..core.events import Event
from ..core.stats import RunnerStats
from .base import count_tls_bytes

# pydantic parses and validates the line in one pass (bytes fields from base64), with the model's
# own validator: what Event.model_validate_json does, minus its Python-level wrapper.
_validate_json = Event.__pydantic_validator__.validate_json


class EventJsonDecoder:
    def __init__(self, stats: RunnerStats | None = None) -> None:
        self.stats = stats if stats is not None else RunnerStats()

    def decode(self, line: bytes, out: list[Event]) -> None:
        if line.strip():
            event = _validate_json(line)
            count_tls_bytes(self.stats, event)
            out.append(event)

    def finish(self, out: list[Event]) -> None:
        return None
