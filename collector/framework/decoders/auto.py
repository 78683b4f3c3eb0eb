"""Picks the decoder for each line of a replay file: our Event log, or raw tool output."""

from __future__ import annotations

import re

from ..core.events import Event
from ..core.stats import RunnerStats
from .event_json import EventJsonDecoder
from .process_tool import ProcessToolDecoder
from .ssl_tool import SslToolDecoder

_SPACED_TYPE = re.compile(rb'\s*\{\s*"type"\s*:\s*"([A-Z_]+)"')
_SSLSNIFF_TOOL = re.compile(rb'"tool"\s*:\s*"sslsniff"')


class AutoDecoder:
    """An Event line has a payload; a tool line starts with its type (SSL_* and ATTACH: sslsniff)."""

    def __init__(self, stats: RunnerStats | None = None, boot_offset_ns: int | None = None) -> None:
        self.stats = stats if stats is not None else RunnerStats()
        self._events = EventJsonDecoder(self.stats)
        self._process = ProcessToolDecoder(self.stats, boot_offset_ns)
        self._ssl = SslToolDecoder(self.stats, boot_offset_ns)
        self._ssl_decode = self._ssl.decode
        self._process_decode = self._process.decode

    def decode(self, line: bytes, out: list[Event]) -> None:
        if line.startswith(b'{"type":"'):
            # The type name starts at byte 9; bytes.find with bounds searches line[:200] uncopied.
            if line.startswith((b"SSL_", b"ATTACH"), 9) or line.find(b'"tool":"sslsniff"', 0, 200) >= 0:
                self._ssl_decode(line, out)
            else:
                self._process_decode(line, out)
        elif (spaced := _SPACED_TYPE.match(line)) is not None:
            # a tool line written again with other spacing (Python's json.dumps, a pretty-printer)
            if spaced.group(1).startswith((b"SSL_", b"ATTACH")) or _SSLSNIFF_TOOL.search(line, 0, 300):
                self._ssl.decode(line, out)
            else:
                self._process.decode(line, out)
        elif b'"payload"' in line:
            self._events.decode(line, out)
        elif b'"SSL_' in line:
            self._ssl.decode(line, out)
        else:
            self._process.decode(line, out)

    def finish(self, out: list[Event]) -> None:
        self._ssl.finish(out)
