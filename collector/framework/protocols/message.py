"""Protocol-neutral results of the HTTP parsers: messages, exchanges and SSE items.

The parsers (`http1`, `http2`) append `Exchange` and `SseItem` objects to an `out` list they are
given; the analyzer turns them into Events. A message's body goes through content decoding
(`ContentDecoder`), bounded capture (`BodyCapture`) and, for `text/event-stream` responses, the
SSE parser, piece by piece as it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .content_encoding import DEFAULT_MAX_DECODED, BodyCapture, ContentDecoder, parse_encodings
from .sse import SseEvent, SseParser

DEFAULT_BODY_LIMIT = 10 * 1024 * 1024

Header = tuple[str, str]


def header_text(b: bytes) -> str:
    try:
        return b.decode("ascii")
    except UnicodeDecodeError:
        return b.decode("utf-8", "replace")


@dataclass(slots=True)
class BodyOptions:
    """How bodies are handled.

    `sse`: parse `text/event-stream` responses and append an `SseItem` per event to `out`.
    `keep_sse`: parse them and keep (event, ts) pairs on the response (`HttpMessage.sse_kept`,
    at most `keep_sse_events` items / `keep_sse_bytes` characters of data, beyond that
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
    sse_kept: list[tuple[SseEvent, int]] | None = None  # (event, ts) when opts.keep_sse
    sse_kept_bytes: int = 0
    sse_overflow: bool = False
    sse_limits: tuple[int, int] = (0, 0)

    def header(self, name: str) -> str | None:
        """First value of a header (case-insensitive)."""
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

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
            ct = self.header("content-type")
            if ct and ct.split(";", 1)[0].strip().lower() == "text/event-stream":
                self.sse = SseParser()
                self.sse_emit = opts.sse
                if opts.keep_sse:
                    self.sse_kept = []
                    self.sse_limits = (opts.keep_sse_events, opts.keep_sse_bytes)

    def add_body(self, data: bytes, ts: int, out: list[object]) -> None:
        self.wire_size += len(data)
        body = self.body
        if body is None:
            return
        if self.decoder is None:
            body.add(data)
            if self.sse is not None:
                self._sse(data, ts, out)
            return
        pieces = self.decoder.feed(data)
        if self.decoder.error and not self.error:
            self.error = self.decoder.error
        for piece in pieces:
            body.add(piece)
            if self.sse is not None:
                self._sse(piece, ts, out)

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
            for ev in events:
                size = len(ev.data)
                if len(kept) >= max_events or self.sse_kept_bytes + size > max_bytes:
                    self.sse_overflow = True
                    continue
                kept.append((ev, ts))
                self.sse_kept_bytes += size

    def end_body(self, ts: int, out: list[object]) -> None:
        """The message is complete: flush the decoder."""
        if self.decoder is not None and self.body is not None:
            for piece in self.decoder.finish():
                self.body.add(piece)
                if self.sse is not None:
                    self._sse(piece, ts, out)
            if self.decoder.error and not self.error:
                self.error = self.decoder.error
        self.end_ns = ts


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
