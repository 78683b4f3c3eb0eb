"""HTTP/2 over an observed connection: frames and HPACK of both directions, exchanges per stream.

A passive observer is neither endpoint, so h2's `H2Connection` state machine (which enforces
what an endpoint may send and receive) does not fit. This module frames both byte streams itself
(9-byte frame headers via `struct`, payloads sliced without per-byte Python work) and decodes
header blocks with two `hpack.Decoder`s, one per direction, exactly as each receiving endpoint
does. Frame types follow RFC 9113; hyperframe's constants are the reference.

Per stream: request headers (pseudo-headers kept in order with the others), request DATA,
interim 1xx responses (skipped), final response headers, response DATA, trailers (HEADERS after
the body), END_STREAM; RST_STREAM ends the stream with `complete=False` and the error code;
PUSH_PROMISE creates the pushed stream's request (and must be decoded to keep HPACK in step).

Joining mid-connection (no client preface seen): frame boundaries are recovered at a TLS record
whose bytes start with a plausible chain of frame headers, and HPACK starts from an empty dynamic
table. HPACK indexes are relative to the newest entry, so a lookup that succeeds in our partial
table resolves to the same entry as the peer's; one that refers to an entry inserted before we
joined fails loudly (InvalidTableIndex). After a failure the decoder is reset again (entries of the
failed block may be missing), and that stream is flagged `partial` with its headers unknown. So a
mid-connection join is never mis-decoded: it is decoded where that is provably right, else flagged.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import hpack

from .message import BodyOptions, Exchange, HttpMessage, header_text

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
FLAG_END_STREAM = 0x1
FLAG_END_HEADERS = 0x4
FLAG_PADDED = 0x8
FLAG_PRIORITY = 0x20

MAX_FRAME = 16 * 1024 * 1024
MAX_HEADER_BLOCK = 1024 * 1024
MAX_STREAMS = 1024
HPACK_MAX_TABLE = 1 << 20

ERROR_CODES = {
    0x0: "NO_ERROR",
    0x1: "PROTOCOL_ERROR",
    0x2: "INTERNAL_ERROR",
    0x3: "FLOW_CONTROL_ERROR",
    0x4: "SETTINGS_TIMEOUT",
    0x5: "STREAM_CLOSED",
    0x6: "FRAME_SIZE_ERROR",
    0x7: "REFUSED_STREAM",
    0x8: "CANCEL",
    0x9: "COMPRESSION_ERROR",
    0xA: "CONNECT_ERROR",
    0xB: "ENHANCE_YOUR_CALM",
    0xC: "INADEQUATE_SECURITY",
    0xD: "HTTP_1_1_REQUIRED",
}

_HDR = struct.Struct(">BHBBL")
_FIXED_LEN = {PRIORITY: 5, RST_STREAM: 4, PING: 8, WINDOW_UPDATE: 4}


def _frame_ok(ftype: int, length: int, sid: int) -> bool:
    if ftype > CONTINUATION or sid & 0x80000000 or length > MAX_FRAME:
        return False
    if ftype in (SETTINGS, PING, GOAWAY):
        if sid != 0:
            return False
    elif ftype != WINDOW_UPDATE and sid == 0:
        return False
    fixed = _FIXED_LEN.get(ftype)
    if fixed is not None and length != fixed:
        return False
    if ftype == SETTINGS and length % 6:
        return False
    return True


def looks_like_frames(data: bytes, max_frames: int = 4) -> bool:
    """Do these bytes start with a plausible chain of HTTP/2 frames?

    Text never passes: its first byte (>= 0x20) makes the length >= 2 MiB, past this check's
    1 MiB bound. The chain must reach the end of `data` or span at least two valid headers.
    """
    pos = 0
    n = len(data)
    seen = 0
    while seen < max_frames:
        if n - pos < 9:
            return seen > 0
        hi, lo, ftype, _flags, sid = _HDR.unpack_from(data, pos)
        length = (hi << 16) | lo
        if length > (1 << 20) or not _frame_ok(ftype, length, sid):
            return False
        seen += 1
        pos += 9 + length
        if pos >= n:
            return True
    return True


class _Dir:
    __slots__ = (
        "block",
        "block_end_stream",
        "block_len",
        "block_promised",
        "block_sid",
        "block_type",
        "decoder",
        "have",
        "is_client",
        "need",
        "pieces",
        "preface",
        "synced",
    )

    def __init__(self, is_client: bool, synced: bool) -> None:
        self.is_client = is_client
        self.synced = synced
        self.preface = len(PREFACE) if (is_client and synced) else 0
        self.pieces: list[bytes] = []
        self.have = 0
        self.need = 9
        self.decoder = _decoder()
        self.block: list[bytes] | None = None
        self.block_len = 0
        self.block_sid = 0
        self.block_type = 0
        self.block_end_stream = False
        self.block_promised = 0


def _decoder() -> hpack.Decoder:
    d = hpack.Decoder()
    d.max_allowed_table_size = HPACK_MAX_TABLE
    return d


@dataclass(slots=True, eq=False)
class _Stream:
    sid: int
    request: HttpMessage | None = None
    response: HttpMessage | None = None
    partial: bool = False
    error: str = ""


class Http2Connection:
    """HTTP/2 state of one connection (both directions)."""

    protocol = "HTTP/2"

    def __init__(self, opts: BodyOptions | None = None, *, client_direction: str = "write", partial: bool = False) -> None:
        self.opts = opts or BodyOptions()
        self.client_direction = client_direction
        self.partial = partial
        server_direction = "read" if client_direction == "write" else "write"
        self.dirs = {
            client_direction: _Dir(True, not partial),
            server_direction: _Dir(False, not partial),
        }
        self.streams: dict[int, _Stream] = {}
        self.highest = [0, 0]  # highest stream id seen, even / odd
        self.hpack_failures = 0
        self.exchanges = 0

    # --- bytes -> frames -------------------------------------------------------------------------

    def feed(self, direction: str, data: bytes, ts: int, out: list[object]) -> None:
        d = self.dirs[direction]
        if d.preface:
            take = min(d.preface, len(data))
            d.preface -= take
            data = data[take:]
        if not data:
            return
        if not d.synced:
            if d.have or not looks_like_frames(data):
                return
            d.synced = True
        d.pieces.append(data)
        d.have += len(data)
        if d.have < d.need:
            return
        buf = d.pieces[0] if len(d.pieces) == 1 else b"".join(d.pieces)
        n = len(buf)
        pos = 0
        unpack = _HDR.unpack_from
        while n - pos >= 9:
            hi, lo, ftype, flags, sid = unpack(buf, pos)
            length = (hi << 16) | lo
            end = pos + 9 + length
            if end > n:
                d.need = 9 + length
                break
            self._frame(d, ftype, flags, sid & 0x7FFFFFFF, buf, pos + 9, end, ts, out)
            pos = end
        else:
            d.need = 9
        if pos >= n:
            d.pieces = []
            d.have = 0
            d.need = 9
        else:
            rest = buf[pos:]
            d.pieces = [rest]
            d.have = len(rest)

    def gap(self, direction: str, nbytes: int, ts: int, out: list[object]) -> None:
        """Bytes of this direction were lost: frame sync and HPACK state are gone."""
        d = self.dirs[direction]
        d.pieces = []
        d.have = 0
        d.need = 9
        d.preface = 0
        d.synced = False
        d.block = None
        d.decoder = _decoder()
        self.partial = True
        error = f"{nbytes} bytes of the {direction} stream were not captured"
        for sid in list(self.streams):
            self._finish(sid, ts, out, complete=False, error=error)

    # --- frames ----------------------------------------------------------------------------------

    def _frame(self, d: _Dir, ftype: int, flags: int, sid: int, buf: bytes, start: int, end: int, ts: int, out: list[object]) -> None:
        if d.block is not None and ftype != CONTINUATION:
            # A header block was interrupted (protocol error): its HPACK effect is unknown.
            d.block = None
            d.decoder = _decoder()
        if ftype == DATA:
            if flags & FLAG_PADDED and end > start:
                end -= buf[start] + 1
                start += 1
            self._data(d, sid, buf[start:end] if end > start else b"", flags & FLAG_END_STREAM, ts, out)
        elif ftype == HEADERS:
            if flags & FLAG_PADDED and end > start:
                end -= buf[start]
                start += 1
            if flags & FLAG_PRIORITY:
                start += 5
            self._block_start(d, HEADERS, sid, 0, buf[start:end], bool(flags & FLAG_END_STREAM), flags, ts, out)
        elif ftype == CONTINUATION:
            if d.block is None or d.block_sid != sid:
                d.block = None
                return
            d.block.append(buf[start:end])
            d.block_len += end - start
            if d.block_len > MAX_HEADER_BLOCK:
                d.block = None
                d.decoder = _decoder()
                self._stream_error(sid, "header block too large", ts, out)
                return
            if flags & FLAG_END_HEADERS:
                block = b"".join(d.block)
                d.block = None
                self._headers(d, d.block_type, sid, d.block_promised, block, d.block_end_stream, ts, out)
        elif ftype == RST_STREAM:
            code = int.from_bytes(buf[start:end], "big") if end - start == 4 else -1
            name = ERROR_CODES.get(code, hex(code))
            who = "client" if d.is_client else "server"
            self._finish(sid, ts, out, complete=False, error=f"RST_STREAM {name} from {who}")
        elif ftype == PUSH_PROMISE:
            if flags & FLAG_PADDED and end > start:
                end -= buf[start]
                start += 1
            promised = int.from_bytes(buf[start : start + 4], "big") & 0x7FFFFFFF
            self._block_start(d, PUSH_PROMISE, sid, promised, buf[start + 4 : end], False, flags, ts, out)
        elif ftype == GOAWAY and end - start >= 8:
            last = int.from_bytes(buf[start : start + 4], "big") & 0x7FFFFFFF
            code = int.from_bytes(buf[start + 4 : start + 8], "big")
            # Streams the sender never processed will not complete.
            for s in list(self.streams):
                if s > last and (s & 1) == (1 if not d.is_client else 0):
                    self._finish(s, ts, out, complete=False, error=f"GOAWAY {ERROR_CODES.get(code, hex(code))}")
        # SETTINGS, PING, PRIORITY, WINDOW_UPDATE: nothing to observe for exchanges.

    def _block_start(self, d: _Dir, kind: int, sid: int, promised: int, fragment: bytes, end_stream: bool, flags: int, ts: int, out: list[object]) -> None:
        if flags & FLAG_END_HEADERS:
            self._headers(d, kind, sid, promised, fragment, end_stream, ts, out)
            return
        d.block = [fragment]
        d.block_len = len(fragment)
        d.block_sid = sid
        d.block_type = kind
        d.block_end_stream = end_stream
        d.block_promised = promised

    def _decode(self, d: _Dir, block: bytes) -> list[tuple[str, str]] | None:
        try:
            raw = d.decoder.decode(block, raw=True)
        except Exception:  # hpack raises several HPACKError subclasses, and ValueError/IndexError
            d.decoder = _decoder()
            self.hpack_failures += 1
            return None
        return [(header_text(k), header_text(v)) for k, v in raw]

    def _stream(self, sid: int, ts: int, out: list[object]) -> _Stream | None:
        s = self.streams.get(sid)
        if s is not None:
            return s
        parity = sid & 1
        if sid <= self.highest[parity]:
            return None  # an already finished stream
        self.highest[parity] = sid
        s = _Stream(sid)
        self.streams[sid] = s
        if len(self.streams) > MAX_STREAMS:
            oldest = next(iter(self.streams))
            self._finish(oldest, ts, out, complete=False, error="too many concurrent streams tracked")
        return s

    def _headers(self, d: _Dir, kind: int, sid: int, promised: int, block: bytes, end_stream: bool, ts: int, out: list[object]) -> None:
        headers = self._decode(d, block)
        if kind == PUSH_PROMISE:
            s = self._stream(promised, ts, out)
            if s is None:
                return
            pushed = HttpMessage(is_request=True, start_ns=ts, stream_id=promised, version="2")
            self._set_head(s, pushed, headers)
            pushed.begin_body(self.opts)
            pushed.complete = True
            pushed.end_ns = ts
            s.request = pushed
            return
        s = self._stream(sid, ts, out)
        if s is None:
            return
        if d.is_client:
            req = s.request
            if req is None:
                req = s.request = HttpMessage(is_request=True, start_ns=ts, stream_id=sid, version="2")
                self._set_head(s, req, headers)
                req.begin_body(self.opts)
            else:
                if headers is not None:
                    req.trailers.extend(headers)
            if end_stream:
                self._end(s, req, ts, out)
            return
        resp = s.response
        if resp is None or not resp.headers_done:
            status = None
            if headers is not None:
                for k, v in headers:
                    if k == ":status":
                        status = int(v) if v.isascii() and v.isdigit() else None
                        break
            if status is not None and 100 <= status < 200 and not end_stream:
                return  # interim response
            resp = s.response = HttpMessage(is_request=False, start_ns=ts, stream_id=sid, version="2")
            self._set_head(s, resp, headers)
            resp.begin_body(self.opts)
        elif headers is not None:
            resp.trailers.extend(headers)
        if end_stream:
            self._end(s, resp, ts, out)

    def _set_head(self, s: _Stream, msg: HttpMessage, headers: list[tuple[str, str]] | None) -> None:
        if headers is None:
            msg.partial = True
            s.partial = True
            msg.error = "HPACK state unknown (connection joined mid-way): headers not decoded"
            s.error = s.error or msg.error
            return
        msg.headers = headers
        for k, v in headers:
            if k[:1] != ":":
                break
            if k == ":method":
                msg.method = v
            elif k == ":path":
                msg.target = v
            elif k == ":status":
                msg.status = int(v) if v.isascii() and v.isdigit() else None

    def _data(self, d: _Dir, sid: int, payload: bytes, end_stream: int, ts: int, out: list[object]) -> None:
        s = self.streams.get(sid)
        if s is None:
            if not self.partial:
                return  # DATA for a finished stream (e.g. request body after the response)
            s = self._stream(sid, ts, out)
            if s is None:
                return
            s.partial = True
        if d.is_client:
            msg = s.request
            if msg is None:
                msg = s.request = HttpMessage(is_request=True, start_ns=ts, stream_id=sid, version="2", partial=True)
                msg.begin_body(self.opts)
                s.partial = True
        else:
            msg = s.response
            if msg is None:
                msg = s.response = HttpMessage(is_request=False, start_ns=ts, stream_id=sid, version="2", partial=True)
                msg.begin_body(self.opts)
                s.partial = True
        if payload:
            msg.add_body(payload, ts, out)
        if end_stream:
            self._end(s, msg, ts, out)

    def _end(self, s: _Stream, msg: HttpMessage, ts: int, out: list[object]) -> None:
        if msg.complete:
            return
        msg.complete = True
        msg.end_body(ts, out)
        if not msg.is_request:
            self._finish(s.sid, ts, out, complete=True)

    def _stream_error(self, sid: int, error: str, ts: int, out: list[object]) -> None:
        self._finish(sid, ts, out, complete=False, error=error)

    def _finish(self, sid: int, ts: int, out: list[object], *, complete: bool, error: str = "") -> None:
        s = self.streams.pop(sid, None)
        if s is None:
            return
        for msg in (s.request, s.response):
            if msg is not None and not msg.complete:
                msg.end_body(ts, out)
        req, resp = s.request, s.response
        if resp is not None and resp.error and not error:
            error = resp.error
        self.exchanges += 1
        out.append(
            Exchange(
                protocol="HTTP/2",
                request=req,
                response=resp,
                stream_id=sid,
                complete=complete,
                partial=s.partial or req is None,
                error=error or s.error,
                end_ns=ts,
            )
        )

    def close(self, ts: int, out: list[object], error: str = "connection closed", eof: bool = True) -> None:
        for sid in list(self.streams):
            self._finish(sid, ts, out, complete=False, error=f"{error} before the stream ended")
