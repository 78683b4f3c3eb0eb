"""Incremental `text/event-stream` parser following the WHATWG HTML spec ("Server-sent events",
section "Interpreting an event stream").

Sans-IO: `feed(bytes) -> list[SseEvent]`. Handles CRLF / LF / CR line endings, including a CR
that ends one chunk followed by the LF starting the next; a leading UTF-8 BOM (even split across
chunks); comments (lines starting with ':'); `event`, `data` (several lines joined by "\\n"), `id`
(ignored when it contains NUL; persists across events as the "last event ID"), `retry` (ASCII
digits only); lines without a colon (field name = whole line, empty value); an optional single
space after the colon. An event is dispatched at a blank line; an event with an empty data buffer
is not dispatched. At end of stream an unterminated event is discarded, as the spec says.

Lines are split with `bytes.splitlines`, which splits on exactly CR, LF and CRLF for bytes (unlike
str.splitlines), so the work per chunk is in C except for one step per line. Memory is bounded: a
line or an event's data longer than `max_event_size` is cut (the excess dropped, `truncated` set on
the event).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"


@dataclass(slots=True)
class SseEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None
    truncated: bool = False


def _text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


class SseParser:
    def __init__(self, *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        self.max_event_size = max_event_size
        self._pending: list[bytes] = []  # an unterminated line, in pieces
        self._pending_len = 0
        self._line_truncated = False
        self._skip_lf = False
        self._bom = b""  # leading bytes while we can't yet tell whether a BOM starts the stream
        self._started = False
        self._data: list[bytes] = []
        self._data_len = 0
        self._event = b""
        self._last_id: bytes = b""
        self._retry: int | None = None
        self._truncated = False
        self.count = 0

    def feed(self, data: bytes) -> list[SseEvent]:
        out: list[SseEvent] = []
        if not data:
            return out
        if (
            self._started
            and not self._pending
            and not self._data
            and not self._event
            and not self._skip_lf
            and not self._truncated
            and not self._line_truncated
            and self._retry is None
            and b"\r" not in data
        ):
            return self._feed_blocks(data, out)
        return self._feed_lines(data, out)

    def _feed_blocks(self, data: bytes, out: list[SseEvent]) -> list[SseEvent]:
        """Fast path at an event boundary for LF-only input: whole events of the usual shapes
        (`data: X` or `event: E` + `data: X`, one line each) are taken a block at a time, exactly
        as the line loop would take them; at the first other shape the line loop takes over."""
        blocks = data.split(b"\n\n")
        tail = blocks.pop()
        pos = 0
        limit = self.max_event_size
        for block in blocks:
            if block[:5] == b"data:":
                value = block[5:]
                event = b""
            elif block[:6] == b"event:":
                nl = block.find(b"\n")
                if nl < 0:
                    break
                value = block[nl + 1 :]
                if value[:5] != b"data:":
                    break
                value = value[5:]
                event = block[6:nl]
                if event[:1] == b" ":
                    event = event[1:]
            else:
                break
            if b"\n" in value:
                break
            if value[:1] == b" ":
                value = value[1:]
            if len(value) + 1 > limit:
                break
            out.append(
                SseEvent(
                    event.decode("utf-8", "replace") if event else "message",
                    value.decode("utf-8", "replace"),
                    _text(self._last_id) if self._last_id else None,
                    None,
                    False,
                )
            )
            self.count += 1
            pos += len(block) + 2
        else:
            if tail:
                self._feed_lines(tail, out)
            return out
        return self._feed_lines(data[pos:], out)

    def _feed_lines(self, data: bytes, out: list[SseEvent]) -> list[SseEvent]:
        if not self._started:
            data = self._bom + data
            if len(data) < 3 and _BOM.startswith(data):
                self._bom = data
                return out
            self._bom = b""
            self._started = True
            if data.startswith(_BOM):
                data = data[3:]
                if not data:
                    return out
        if self._skip_lf:
            self._skip_lf = False
            if data[0] == 0x0A:
                data = data[1:]
                if not data:
                    return out
        if b"\n" not in data and b"\r" not in data:
            self._add_pending(data)
            return out
        if self._pending:
            self._pending.append(data)
            data = b"".join(self._pending)
            self._pending = []
            self._pending_len = 0
        line_truncated = self._line_truncated  # applies to the first line below
        self._line_truncated = False
        lines = data.splitlines()
        end = data[-1]
        if end != 0x0A and end != 0x0D:
            self._add_pending(lines.pop())
        elif end == 0x0D:
            self._skip_lf = True
        for line in lines:
            if line_truncated:
                self._truncated = True
                line_truncated = False
            if not line:
                self._dispatch(out)
                continue
            if line[0] == 0x3A:  # ':' comment
                continue
            colon = line.find(b":")
            if colon < 0:
                name, value = line, b""
            else:
                name = line[:colon]
                value = line[colon + 1 :]
                if value[:1] == b" ":
                    value = value[1:]
            if name == b"data":
                self._add_data(value)
            elif name == b"event":
                self._event = value
            elif name == b"id":
                if b"\x00" not in value:
                    self._last_id = value
            elif name == b"retry":
                if value and value.isdigit():
                    self._retry = int(value)
        return out

    def _add_pending(self, data: bytes) -> None:
        room = self.max_event_size - self._pending_len
        if len(data) > room:
            data = data[: max(room, 0)]
            self._line_truncated = True
        if data:
            self._pending.append(data)
            self._pending_len += len(data)

    def _add_data(self, value: bytes) -> None:
        room = self.max_event_size - self._data_len
        if len(value) + 1 > room:
            self._truncated = True
            value = value[: max(room - 1, 0)]
            if room <= 0:
                return
        self._data.append(value)
        self._data_len += len(value) + 1

    def _dispatch(self, out: list[SseEvent]) -> None:
        if not self._data:
            self._event = b""  # a pending `retry` is reported with the next dispatched event
            return
        ev = SseEvent(
            event=_text(self._event) if self._event else "message",
            data=_text(b"\n".join(self._data)),
            id=_text(self._last_id) if self._last_id else None,
            retry=self._retry,
            truncated=self._truncated,
        )
        self._data = []
        self._data_len = 0
        self._event = b""
        self._retry = None
        self._truncated = False
        self.count += 1
        out.append(ev)

    def finish(self) -> list[SseEvent]:
        """End of stream: an unterminated event is discarded (per spec); nothing to emit."""
        self._pending = []
        self._pending_len = 0
        self._data = []
        self._data_len = 0
        return []
