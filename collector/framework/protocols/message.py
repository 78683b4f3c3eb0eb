"""Protocol-neutral results of the HTTP parsers: messages, exchanges and SSE items.

The parsers (`http1`, `http2`) append `Exchange` and `SseItem` objects to an `out` list they are
given; the analyzer turns them into Events. A message's body goes through content decoding
(`ContentDecoder`) and bounded capture (`BodyCapture`). A `text/event-stream` response is parsed
by `SseParser` piece by piece as it arrives when each event is wanted as it comes (`sse`);
when the events are only wanted with the finished exchange (`keep_sse` alone), the body is kept
with the time each piece arrived and split into events once, when the message ends
(`sse.split_body`), which costs far less per event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import cast
from urllib.parse import urlsplit

from .content_encoding import DEFAULT_MAX_DECODED, BodyCapture, ContentDecoder, parse_encodings
from .sse import SseEvent, SseParser, split_body

DEFAULT_BODY_LIMIT = 10 * 1024 * 1024
MAX_SSE_MARKS = 65_536
"""Arrival times kept per event-stream body split at its end; past that it is parsed as it comes."""

Header = tuple[str, str]


def header_text(b: bytes) -> str:
    try:
        return b.decode("ascii")
    except UnicodeDecodeError:
        return b.decode("utf-8", "replace")


def header_index(headers: list[Header]) -> dict[str, str]:
    """Lowercase header name -> its first value: one pass for any number of lookups."""
    return {k.lower(): v for k, v in reversed(headers)}


@dataclass(slots=True)
class BodyOptions:
    """How bodies are handled.

    `sse`: parse `text/event-stream` responses and append an `SseItem` per event to `out`.
    `keep_sse`: give their events with the finished response (`HttpMessage.sse_result()`: at
    most `keep_sse_events` events / `keep_sse_bytes` characters of data, beyond that
    `sse_overflow` is set), for a consumer that wants them with the finished exchange.
    """

    limit: int = DEFAULT_BODY_LIMIT
    max_decoded: int = DEFAULT_MAX_DECODED
    decode: bool = True
    sse: bool = True
    keep_sse: bool = False
    keep_sse_events: int = 50_000
    keep_sse_bytes: int = 64 * 1024 * 1024


@dataclass(slots=True)
class SseColumns:
    """The SSE events of one response, column by column: event name, data, time of the TLS data
    that completed the event. Data is UTF-8 bytes when the body was split whole (decode with
    "replace" for the text), str when `SseParser` parsed it."""

    names: list[str] = field(default_factory=list)
    datas: list[bytes | str] = field(default_factory=list)
    times: Sequence[int] = field(default_factory=list)  # a list, or BodyTimes (found when read)

    def __len__(self) -> int:
        return len(self.names)


@dataclass(slots=True)
class SseItem:
    """One SSE event of a response, with the time of the TLS event that completed it."""

    stream_id: int | None
    index: int
    event: SseEvent
    ts: int


@dataclass(slots=True, eq=False)
class HttpMessage:
    """One request or response: head, trailers, body (decoded, bounded), times."""

    is_request: bool
    start_ns: int = 0
    end_ns: int = 0
    method: str = ""
    target: str = ""
    status: int | None = None
    reason: str = ""
    version: str = ""
    headers: list[Header] = field(default_factory=list)
    trailers: list[Header] = field(default_factory=list)
    headers_done: bool = False
    complete: bool = False
    partial: bool = False
    error: str = ""
    body: BodyCapture | None = None
    decoder: ContentDecoder | None = None
    sse: SseParser | None = None
    stream_id: int | None = None
    wire_size: int = 0
    sse_emit: bool = True
    sse_kept: SseColumns | None = None  # when opts.keep_sse, see sse_result()
    sse_kept_bytes: int = 0
    sse_overflow: bool = False
    sse_limits: tuple[int, int] = (0, 0)
    # Whole-body SSE (opts.keep_sse without opts.sse): body offsets where pieces arriving at
    # a new time begin, and those times; None once parsed (or when SseParser runs instead).
    sse_marks: list[int] | None = None
    sse_stamps: list[int] | None = None
    sse_last_ts: int = -1
    # `header`'s index: the headers list it was built from, and lowercase name -> first value.
    _index: tuple[list[Header], dict[str, str]] | None = field(default=None, init=False, repr=False)

    def header(self, name: str) -> str | None:
        """First value of a header (case-insensitive)."""
        index = self._index
        if index is None or index[0] is not self.headers:
            index = self._index = (self.headers, header_index(self.headers))
        return index[1].get(name.lower())

    def is_event_stream(self) -> bool:
        """A `text/event-stream` message (its media type, parameters aside)."""
        ct = self.header("content-type")
        return ct is not None and ct.split(";", 1)[0].strip().lower() == "text/event-stream"

    def begin_body(self, opts: BodyOptions) -> None:
        """Called when the head is complete: set up decoding / capture / SSE for the body."""
        self.headers_done = True
        self.body = BodyCapture(opts.limit)
        if opts.decode:
            ce = self.header("content-encoding")
            if ce:
                encodings = parse_encodings(ce)
                if encodings:
                    self.decoder = ContentDecoder(encodings, max_output=opts.max_decoded)
                    if self.decoder.error:
                        self.error = self.decoder.error
        if (opts.sse or opts.keep_sse) and not self.is_request:
            if self.is_event_stream():
                self.sse_emit = opts.sse
                if opts.keep_sse:
                    self.sse_kept = SseColumns()
                    self.sse_limits = (opts.keep_sse_events, opts.keep_sse_bytes)
                if opts.sse:
                    self.sse = SseParser()
                else:
                    self.sse_marks = []
                    self.sse_stamps = []

    def add_body(self, data: bytes, ts: int, out: list[object]) -> None:
        n = len(data)
        self.wire_size += n
        body = self.body
        if body is None:
            return
        if self.decoder is None:
            size = body.size + n
            if size <= body.limit and n and self.sse is None:
                # The usual piece, in line (called for every piece of every body): it fits, so
                # BodyCapture.add would only keep it; for a body split whole at its end
                # (`_keep`), note the time if it is a new one.
                marks = self.sse_marks
                if marks is not None:
                    if len(marks) >= MAX_SSE_MARKS:
                        self._keep(data, ts)
                        return
                    if ts != self.sse_last_ts:
                        marks.append(body.size)
                        self.sse_stamps.append(ts)  # type: ignore[union-attr]
                        self.sse_last_ts = ts
                body.size = body.kept = size
                body.chunks.append(data)
                return
            if self.sse_marks is not None:
                self._keep(data, ts)
                return
            body.add(data)
            if self.sse is not None:
                self._sse(data, ts, out)
            return
        pieces = self.decoder.feed(data)
        if self.decoder.error and not self.error:
            self.error = self.decoder.error
        for piece in pieces:
            self._piece(piece, ts, out)

    def add_body_records(
        self, pieces: list[bytes], ends: Sequence[int], times: Sequence[int], ts: int, out: list[object]
    ) -> None:
        """`add_body` for each of `pieces`, which came in feeds: feed k ended when
        `ends[k]` pieces had come, at `times[k]`; any after the last came at `ts`. One call for
        the usual case, a plain body or an event stream split whole at its end that still fits
        its limit; else piece by piece."""
        body = self.body
        marks = self.sse_marks
        offsets: list[int] | None = None
        if body is not None and marks is not None:  # one pass over the pieces for both
            offsets = list(accumulate(map(len, pieces), initial=body.size))
            n = offsets[-1] - body.size
        else:
            n = sum(map(len, pieces))
        if body is None:
            self.wire_size += n
            return
        size = body.size + n
        if (
            self.decoder is not None
            or self.sse is not None
            or size > body.limit
            or (marks is not None and len(marks) + len(ends) + 1 >= MAX_SSE_MARKS)
        ):
            start = 0
            for end, t in zip((*ends, len(pieces)), (*times, ts), strict=True):
                for piece in pieces[start:end]:
                    self.add_body(piece, t, out)
                start = end
            return
        self.wire_size += n
        if not n:
            return
        if marks is not None:
            # Each feed's mark: the body offset its bytes begin at (a feed that brought none
            # gives the same offset as the next one: the later mark of equal ones is the one
            # found for an offset, see sse.BodyTimes).
            stamps = self.sse_stamps
            assert stamps is not None and offsets is not None
            marks += map(offsets.__getitem__, (0, *ends))
            stamps += times
            stamps.append(ts)
            self.sse_last_ts = ts
        body.size = body.kept = size
        body.chunks += pieces

    def _piece(self, piece: bytes, ts: int, out: list[object]) -> None:
        if self.sse_marks is not None:
            self._keep(piece, ts)
            return
        assert self.body is not None
        self.body.add(piece)
        if self.sse is not None:
            self._sse(piece, ts, out)

    def _keep(self, piece: bytes, ts: int) -> None:
        """Whole-body SSE: keep the piece and when it arrived; SseParser takes over before the
        body would pass its limit (the rest would not be kept) or the marks their bound."""
        body = self.body
        marks = self.sse_marks
        assert body is not None and marks is not None and self.sse_stamps is not None
        if body.size + len(piece) > body.limit or len(marks) >= MAX_SSE_MARKS:
            self._sse_replay()
            body.add(piece)
            self._sse(piece, ts, [])
            return
        if ts != self.sse_last_ts and piece:
            marks.append(body.size)
            self.sse_stamps.append(ts)
            self.sse_last_ts = ts
        body.add(piece)

    def _sse_replay(self) -> None:
        """Leave the whole-body path: feed the body so far to an SseParser, piece by piece with
        the times the pieces arrived (the events and times it would have given as they came)."""
        marks, stamps = self.sse_marks, self.sse_stamps
        assert marks is not None and stamps is not None and self.body is not None
        self.sse_marks = self.sse_stamps = None
        self.sse = SseParser()
        body = self.body.value()
        ends = [*marks[1:], len(body)] if marks else []
        unused: list[object] = []
        for start, end, ts in zip(marks, ends, stamps, strict=True):
            self._sse(body[start:end], ts, unused)

    def _sse(self, piece: bytes, ts: int, out: list[object]) -> None:
        sse = self.sse
        assert sse is not None
        base = sse.count
        events = sse.feed(piece)
        if not events:
            return
        if self.sse_emit:
            sid = self.stream_id
            out.extend([SseItem(sid, base + i, ev, ts) for i, ev in enumerate(events)])
        kept = self.sse_kept
        if kept is not None:
            max_events, max_bytes = self.sse_limits
            times = kept.times
            assert isinstance(times, list)
            for ev in events:
                size = len(ev.data)
                if len(kept.names) >= max_events or self.sse_kept_bytes + size > max_bytes:
                    self.sse_overflow = True
                    continue
                kept.names.append(ev.event)
                kept.datas.append(ev.data)
                times.append(ts)
                self.sse_kept_bytes += size

    def end_body(self, ts: int, out: list[object]) -> None:
        """The message is complete: flush the decoder."""
        if self.decoder is not None and self.body is not None:
            for piece in self.decoder.finish():
                self._piece(piece, ts, out)
            if self.decoder.error and not self.error:
                self.error = self.decoder.error
        self.end_ns = ts

    def sse_result(self) -> SseColumns | None:
        """The kept SSE events of this response (`BodyOptions.keep_sse`), once it has ended; for
        a body kept whole, split now. None when not kept (not an event stream, or not asked)."""
        marks, stamps = self.sse_marks, self.sse_stamps
        if marks is None or stamps is None or self.body is None:
            return self.sse_kept
        found = split_body(self.body.value(), marks, stamps)
        if found is None:
            self._sse_replay()
            return self.sse_kept
        self.sse_marks = self.sse_stamps = None
        names, datas, times = found
        kept = self.sse_kept
        assert kept is not None
        max_events, max_bytes = self.sse_limits
        if len(names) <= max_events and self.body.size <= max_bytes:
            # every event fits (a data's characters are at most its bytes)
            kept.names, kept.datas, kept.times = names, cast("list[bytes | str]", datas), times
            return kept
        nbytes = 0
        kept_times: list[int] = []
        for name, data, t in zip(names, datas, times, strict=True):
            size = len(data.decode("utf-8", "replace"))
            if len(kept.names) >= max_events or nbytes + size > max_bytes:
                self.sse_overflow = True
                continue
            kept.names.append(name)
            kept.datas.append(data)
            kept_times.append(t)
            nbytes += size
        kept.times = kept_times
        self.sse_kept_bytes = nbytes
        return kept


@dataclass(slots=True, eq=False)
class Exchange:
    """A request and its response, as far as they were seen."""

    protocol: str
    request: HttpMessage | None
    response: HttpMessage | None
    stream_id: int | None = None
    complete: bool = True
    partial: bool = False
    error: str = ""
    end_ns: int = 0


def split_target(target: str, host: str) -> tuple[str, str, str, str]:
    """A request target -> (scheme, host, path, query); absolute-form targets carry their own host."""
    scheme = "https"
    if target.startswith(("http://", "https://")):
        parts = urlsplit(target)
        return parts.scheme, parts.netloc or host, parts.path or "/", parts.query
    path, _sep, query = target.partition("?")
    return scheme, host, path, query
