"""Which HTTP version a connection speaks, from its first bytes; then delegate to that parser.

- The client preface "PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" in either direction: HTTP/2, that
  direction is the client's.
- A request line or a status line at the start: HTTP/1.x.
- A plausible chain of HTTP/2 frame headers: HTTP/2 joined mid-connection (partial). The writing
  side is assumed to be the client (the traced process is usually the client).
- Anything else: HTTP/1.x joined mid-connection; its parser scans for the next message start.
  Until it finds one, each new TLS record is still checked for HTTP/2 frames (a mid-way HTTP/2
  join may first show a record that starts inside a frame).

Bytes seen before the decision (at most `MAX_HOLD` per connection) are replayed, in their order,
into the chosen parser with their original timestamps.
"""

from __future__ import annotations

from .http1 import START_RE, Http1Connection, Http1Side
from .http2 import PREFACE, Http2Connection, looks_like_frames
from .message import BodyOptions

MAX_HOLD = 16 * 1024


class HttpStream:
    """A StreamHandler for one connection that speaks HTTP/1.x or HTTP/2 (or neither)."""

    def __init__(self, opts: BodyOptions | None = None) -> None:
        self.opts = opts or BodyOptions()
        self.impl: Http1Connection | Http2Connection | None = None
        # Once HTTP/1 is found and synced (it stays so): its sides by direction, which a caller
        # may feed directly, as `feed` would.
        self.sides: dict[str, Http1Side] | None = None
        self._held: list[tuple[str, bytes, int]] = []
        self._held_len = 0
        # bytes passed over before the parser now in use: held ones dropped at a gap, or those of
        # an HTTP/1 parser left for HTTP/2
        self._skipped_before = 0

    def skipped(self) -> tuple[int, int]:
        """(bytes passed over looking for an HTTP/1 message start, HTTP/1 parse errors) so far."""
        impl = self.impl
        if type(impl) is Http1Connection:
            return self._skipped_before + impl.skipped_bytes, impl.parse_errors
        return self._skipped_before, 0

    @property
    def protocol(self) -> str:
        return self.impl.protocol if self.impl is not None else ""

    def _decide(self, direction: str, buf: bytes) -> Http1Connection | Http2Connection | None:
        if buf.startswith(PREFACE):
            return Http2Connection(self.opts, client_direction=direction)
        if len(buf) < len(PREFACE) and PREFACE.startswith(buf):
            return None
        if START_RE.match(buf):
            return Http1Connection(self.opts)
        if looks_like_frames(buf):
            return Http2Connection(self.opts, client_direction="write", partial=True)
        if b"\n" not in buf and len(buf) < MAX_HOLD and 0x41 <= buf[0] <= 0x5A:
            return None  # maybe the start of a request or status line: wait for the line end
        return Http1Connection(self.opts)

    def feed(self, direction: str, data: bytes, ts: int, out: list[object]) -> None:
        impl = self.impl
        if type(impl) is Http1Connection and impl.synced:  # the usual case: straight to its side
            self.sides = impl.sides
            impl.sides[direction].feed(data, ts, out)
            return
        if impl is None:
            self._held.append((direction, data, ts))
            self._held_len += len(data)
            buf = b"".join(d for dr, d, _ in self._held if dr == direction)
            impl = self._decide(direction, buf)
            if impl is None and self._held_len <= MAX_HOLD:
                return
            if impl is None:
                impl = Http1Connection(self.opts)
            self.impl = impl
            held, self._held, self._held_len = self._held, [], 0
            for dr, d, t in held:
                impl.feed(dr, d, t, out)
            return
        if type(impl) is Http1Connection and not impl.synced and not impl.upgraded and looks_like_frames(data):
            self._skipped_before += impl.skipped_bytes + sum(len(side.scan) for side in impl.sides.values())
            impl = self.impl = Http2Connection(self.opts, client_direction="write", partial=True)
        impl.feed(direction, data, ts, out)

    def gap(self, direction: str, nbytes: int, ts: int, out: list[object]) -> None:
        if self.impl is None:  # the bytes held to decide on are dropped: they lead nowhere now
            self._skipped_before += self._held_len
            self._held.clear()
            self._held_len = 0
            return
        self.impl.gap(direction, nbytes, ts, out)

    def close(self, ts: int, out: list[object], error: str = "connection closed", eof: bool = True) -> None:
        if self.impl is None and self._held:
            held, self._held = self._held, []
            impl = self.impl = Http1Connection(self.opts)
            for dr, d, t in held:
                impl.feed(dr, d, t, out)
        if self.impl is not None:
            self.impl.close(ts, out, error, eof)
