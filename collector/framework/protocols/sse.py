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

import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

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


def _field(line: bytes) -> tuple[bytes, bytes]:
    """A field line -> (name, value): split at the first colon, one leading space dropped."""
    colon = line.find(b":")
    if colon < 0:
        return line, b""
    value = line[colon + 1 :]
    if value[:1] == b" ":
        value = value[1:]
    return line[:colon], value


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
            name, value = _field(line)
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


_NO_MARK = 1 << 62
# The usual events, whole: an optional `event:` line and one `data:` line, then the blank line.
_USUAL = {
    b"\n": re.compile(rb"((?:event: ?([^\n]*)\n)?data: ?([^\n]*)\n\n)"),
    b"\r\n": re.compile(rb"((?:event: ?([^\r\n]*)\r\n)?data: ?([^\r\n]*)\r\n\r\n)"),
}


class BodyTimes(Sequence[int]):
    """The times of the events of a body split whole in one pass (`split_body`), found when
    asked: event k is dispatched by the k-th blank line, dated by the mark it falls in."""

    __slots__ = ("_all", "base", "body", "marks", "n", "sep", "stamps")

    def __init__(self, body: bytes, sep: bytes, base: int, n: int, marks: Sequence[int], stamps: Sequence[int]) -> None:
        self.body = body
        self.sep = sep
        self.base = base
        self.n = n
        self.marks = marks
        self.stamps = stamps
        self._all: list[int] | None = None

    def __len__(self) -> int:
        return self.n

    def _at(self, offset: int) -> int:
        return self.stamps[bisect_right(self.marks, offset) - 1]

    @overload
    def __getitem__(self, k: int) -> int: ...

    @overload
    def __getitem__(self, k: slice) -> list[int]: ...

    def __getitem__(self, k: int | slice) -> int | list[int]:
        if isinstance(k, slice) or self._all is not None:
            return self._times()[k]
        if k < 0:
            k += self.n
        if not 0 <= k < self.n:
            raise IndexError(k)
        body, sep = self.body, self.sep
        pos = body.find(sep, self.base)
        for _ in range(k):
            pos = body.find(sep, pos + len(sep))
        return self._at(pos + len(sep) // 2)

    def __iter__(self) -> Iterator[int]:
        return iter(self._times())

    def _times(self) -> list[int]:
        if self._all is None:
            body, sep, half = self.body, self.sep, len(self.sep) // 2
            found: list[int] = []
            pos = body.find(sep, self.base)
            while pos >= 0 and len(found) < self.n:
                found.append(self._at(pos + half))
                pos = body.find(sep, pos + len(sep))
            self._all = found
        return self._all


def split_body(
    body: bytes,
    marks: Sequence[int],
    stamps: Sequence[int],
    *,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
) -> tuple[list[str], list[bytes], Sequence[int]] | None:
    """A whole `text/event-stream` body at once -> (event names, data as UTF-8 bytes, times).

    Gives the events, names and data `SseParser` would dispatch for the same bytes however they
    were split (`id` and `retry` are not reported). `marks[i]` is the body offset from which
    the bytes arrived at time `stamps[i]` (increasing, `marks[0] == 0`); an event's time is
    that of its dispatching byte (the first byte of the blank line ending it), as `SseParser`
    fed piece by piece would date it. Only bodies whose lines all end in LF, or all in CRLF, are
    handled: None for the others (a lone CR, mixed endings, a body near `max_event_size`), which
    the caller feeds to `SseParser` instead. A body of only the usual events (`data: X` with an
    optional `event: E` line) is split by one regex scan and its times found when asked
    (`BodyTimes`); any other shape goes event by event.
    """
    if len(body) + 2 >= max_event_size:
        return None  # SseParser would have to cut an event: let it do so
    base = 3 if body[:3] == _BOM else 0
    # LF endings if there is no CR at all, else CRLF ones if every CR and LF pair up: checked by
    # `_split_same` on what it splits, else here (single-byte counts scan at ~1 byte/ns: only
    # for the shapes that need them).
    nl = b"\n" if b"\r" not in body else b"\r\n"
    sep = nl + nl
    end = body.rfind(sep) + len(sep)  # what follows is an unterminated event: discarded
    if nl == b"\r\n" and _lone_break(body[end:] if end >= len(sep) else body):
        return None
    if end < base + len(sep):
        return [], [], []
    usual = _split_same(body, base, end, nl)
    if usual is not None:
        names, datas = usual
        return names, datas, BodyTimes(body, sep, base, len(datas), marks, stamps)
    if nl == b"\r\n" and _lone_break(body[base:end]):
        return None
    found = _USUAL[nl].findall(body, base, end)
    if found:
        units, events, values = zip(*found, strict=True)
        if sum(map(len, units)) == end - base:  # the matches cover the body: all usual events
            datas = list(values)
            if any(events):
                table = {e: e.decode("utf-8", "replace") if e else "message" for e in set(events)}
                names = list(map(table.__getitem__, events))
            else:
                names = ["message"] * len(datas)
            return names, datas, BodyTimes(body, sep, base, len(datas), marks, stamps)
    return _split_blocks(body[base:end] if base else body[:end], base, nl, marks, stamps)


def _lone_break(text: bytes) -> bool:
    """Whether `text` has a CR or LF that is not part of a CRLF."""
    pairs = text.count(b"\r\n")
    return text.count(b"\r") != pairs or text.count(b"\n") != pairs


def _split_same(body: bytes, base: int, end: int, nl: bytes) -> tuple[list[str], list[bytes]] | None:
    """The most usual bodies, checked and cut with C-level bytes and list methods: every event
    `data: X`, or every event `event: E` + `data: X`. None otherwise, and for a CR or LF that is
    not part of an `nl` anywhere in the body."""
    seg = body[base:end]  # ends with the blank line
    sep = nl + nl
    crlf = nl == b"\r\n"  # else there is no CR at all
    if seg.startswith(b"data: "):
        # "data: X1" sep "data: X2" ... sep: one line per event if no X holds a line break
        datas = seg[6 : -len(sep)].split(sep + b"data: ")
        joined = b"".join(datas)
        if b"\n" in joined or (crlf and b"\r" in joined):
            return None
        return ["message"] * len(datas), datas
    lines = seg.split(nl)  # ends with the blank line: [..., b"", b""]
    if len(lines) % 3 != 1 or any(lines[2::3]):  # else every event two lines
        return None
    if crlf:
        joined = b"".join(lines)
        if b"\n" in joined or b"\r" in joined:
            return None
    # No line holds a break: nl + prefix is found at line starts only.
    n = len(lines) // 3
    heads = nl.join(lines[0:-1:3])
    if not (heads.startswith(b"event: ") and heads.count(nl + b"event: ") == n - 1):
        return None
    datas_joined = nl.join(lines[1::3])
    if not (datas_joined.startswith(b"data: ") and datas_joined.count(nl + b"data: ") == n - 1):
        return None
    events = heads[7:].split(nl + b"event: ")
    table = {e: e.decode("utf-8", "replace") if e else "message" for e in set(events)}
    return list(map(table.__getitem__, events)), datas_joined[6:].split(nl + b"data: ")


def _split_blocks(
    body: bytes, base: int, nl: bytes, marks: Sequence[int], stamps: Sequence[int]
) -> tuple[list[str], list[bytes], list[int]]:
    """split_body for any shape, event by event; `body` ends with a blank line, starts at `base`."""
    blocks = body.split(nl + nl)
    blocks.pop()
    names: list[str] = []
    datas: list[bytes] = []
    times: list[int] = []
    known: dict[bytes, str] = {}
    step = len(nl)
    j = 0
    last = len(marks) - 1
    ts = stamps[0]
    nxt = marks[1] if last > 0 else _NO_MARK
    pos = base
    for block in blocks:
        end = pos + len(block) + step  # the dispatching byte
        pos = end + step
        found = _block(block, nl)
        if found is None:
            continue
        event, value = found
        if event:
            name = known.get(event)
            if name is None:
                name = known[event] = event.decode("utf-8", "replace")
        else:
            name = "message"
        while end >= nxt:
            j += 1
            ts = stamps[j]
            nxt = marks[j + 1] if j < last else _NO_MARK
        names.append(name)
        datas.append(value)
        times.append(ts)
    return names, datas, times


def _block(block: bytes, nl: bytes) -> tuple[bytes, bytes] | None:
    """One event's lines (any fields, comments) -> (event name, data), None if not dispatched."""
    event = b""
    data: list[bytes] = []
    for line in block.split(nl):
        if not line or line[0] == 0x3A:  # only leading blank lines here; ':' comment
            continue
        name, value = _field(line)
        if name == b"data":
            data.append(value)
        elif name == b"event":
            event = value
    if not data:
        return None
    return event, b"\n".join(data)
