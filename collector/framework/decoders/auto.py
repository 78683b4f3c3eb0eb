"""Picks the decoder for a replay file from its lines: our Event log, or raw tool output."""

from __future__ import annotations

from ..core.events import Event
from ..core.stats import RunnerStats
from .event_json import EventJsonDecoder
from .process_tool import ProcessToolDecoder
from .ssl_tool import SslToolDecoder

_SSL_TYPES = (b'"SSL_', b'"tool":"sslsniff"', b'"tool": "sslsniff"')


class AutoDecoder:
    """Decodes each line as an Event if it has a payload, else as a process or sslsniff line."""

    def __init__(self, stats: RunnerStats | None = None, boot_offset_ns: int | None = None) -> None:
        self.stats = stats if stats is not None else RunnerStats()
        self._events = EventJsonDecoder()
        self._process = ProcessToolDecoder(self.stats, boot_offset_ns)
        self._ssl = SslToolDecoder(self.stats, boot_offset_ns)

    def decode(self, line: bytes, out: list[Event]) -> None:
        if b'"payload"' in line:
            self._events.decode(line, out)
        elif any(marker in line for marker in _SSL_TYPES):
            self._ssl.decode(line, out)
        else:
            self._process.decode(line, out)

    def finish(self, out: list[Event]) -> None:
        self._ssl.finish(out)
