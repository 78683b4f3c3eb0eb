"""HTTP/1.x over an observed connection: both directions parsed, responses paired with requests.

Why httptools: it wraps llhttp (the C parser of Node.js), which does the byte-level work in C. Per
/work/shared/PYTHON-NOTES.md it parses a 360 B request in ~2.7 us against ~55 us for h11, and a
20-chunk SSE response in ~3.9 us against ~220 us: only a C parser keeps up with tens of MB/s of
plaintext on one core. h11 remains the correctness reference in the tests.

Sans-IO: `Http1Connection.feed(direction, data, ts, out)` appends finished `Exchange`s and
`SseItem`s to `out`. Either direction may carry requests (the traced process can be a client,
where writes are requests, or a server, where reads are); the role of a direction is learnt from
its first message start. Handled: keep-alive and pipelining (responses paired FIFO with requests),
Content-Length / chunked / read-until-close bodies, trailers, `1xx` interim responses (not the
final one; `101` switches protocol and ends parsing), HEAD responses (no body even when they carry
Content-Length: llhttp cannot be told this, so the parser is stopped at the end of the head and
restarted after it), 204/304 (llhttp knows), Content-Encoding (via `HttpMessage`).

Joining mid-connection: a direction whose bytes do not start with a request line / status line is
scanned for the next message start (`METHOD target HTTP/1.x` or `HTTP/1.x NNN` at a line start);
bytes before it are skipped and the next message is flagged `partial`. The same happens after a
parse error or after bytes the capture lost (`gap`). Held bytes while scanning are bounded.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable

import httptools

from .message import BodyOptions, Exchange, HttpMessage, header_text

MAX_HEAD_BYTES = 1024 * 1024
MAX_SCAN_HOLD = 16 * 1024
MAX_PENDING_REQUESTS = 1024
FLUSH_RECORDS = 256
"""Feeds whose body pieces are held before they go to the message (bounds what is held)."""

_REQUEST_START = rb"[A-Z][A-Z0-9_-]{1,23} [^ \r\n]{1,16384} HTTP/1\.[01]\r?\n"
_RESPONSE_START = rb"HTTP/1\.[01] [0-9]{3}[ \r\n]"
START_RE = re.compile(rb"(?m)^(?:(" + _RESPONSE_START + rb")|" + _REQUEST_START + rb")")
REQUEST_RE = re.compile(rb"(?m)^" + _REQUEST_START)
RESPONSE_RE = re.compile(rb"(?m)^" + _RESPONSE_START)
_STATUS_ANYWHERE = re.compile(rb"HTTP/1\.")


class _SkipBody(Exception):
    """Raised from on_headers_complete to stop llhttp after the head of a HEAD response."""


class _TooBig(Exception):
    pass


def _head_end(buf: bytes, start: int) -> int:
    """Index just past the blank line ending a message head at or after `start`, or -1."""
    a = buf.find(b"\r\n\r\n", start)
    b = buf.find(b"\n\n", start)
    if a < 0:
        return b + 2 if b >= 0 else -1
    if b < 0 or a + 4 <= b + 2:
        return a + 4
    return b + 2


CLOSED_AFTER_SSE_EVENT = "connection closed after a whole SSE event, before the end of the response"


def _ends_at_sse_event(msg: HttpMessage) -> bool:
    """An event-stream response whose body read so far ends with a whole SSE event.

    The usual shape of a client that stops reading at its API's last event (the OpenAI SDK at
    `[DONE]`) and closes the connection before the body's final chunk: the HTTP message never
    ended, but nothing was cut in the middle of an event. The exchange stays incomplete; its
    error says which of the two it was.
    """
    body = msg.body
    if body is None or body.truncated or not body.chunks or not msg.is_event_stream():
        return False
    tail = b""
    for chunk in reversed(body.chunks):  # the last 4 bytes, whatever pieces they came in
        tail = chunk[-4:] + tail
        if len(tail) >= 4:
            break
    return tail.endswith((b"\n\n", b"\r\n\r\n", b"\r\r"))


class Http1Side:
    """One direction of the connection, and the httptools protocol object for it."""

    def __init__(self, conn: Http1Connection, direction: str) -> None:
        self.conn = conn
        self.direction = direction
        self.role: str | None = None  # "request" | "response"
        self.parser: httptools.HttpRequestParser | httptools.HttpResponseParser | None = None
        self.scan = b""  # held bytes while looking for a message start
        self.skipped = False  # bytes were skipped: the next message is partial
        self.msg: HttpMessage | None = None
        self.ts = 0
        self.out: list[object] = []
        self.head_bytes = 0
        self.url_parts: list[bytes] = []
        self.status_parts: list[bytes] = []
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.fed = 0  # bytes given to the current parser before the piece being fed
        self.msg_start = -1  # offset (in the current parser's bytes) of the current message
        # The last piece fed by `_feed_piece` (or its last 3 bytes and before): where the head of a
        # HEAD response ends, if it began in that piece. (HttpAnalyzer's in-line feed does not
        # keep it: it runs only on a `plain` side, where no HEAD response is due.)
        self.last = b""
        self.skip_body = False
        self.upgraded = False
        # The usual case applies: a synced side fed whole pieces, which HttpAnalyzer.process_batch
        # writes out in line (see `set_plain`).
        self.plain = True
        # llhttp hands body bytes to `on_body`, once per chunk: a bound list.append costs a
        # fraction of a Python method call. The pieces go to the message (`flush_body`) when
        # it ends or breaks, after each feed if the message wants them at once (`eager`: SSE
        # events emitted as they come), else every FLUSH_RECORDS feeds; meanwhile, after each
        # feed that left some, `body_ends` and `body_times` note how many pieces were held then
        # and the feed's time (two flat lists: no tuple per feed).
        self.body_parts: list[bytes] = []
        self.body_ends: list[int] = []
        self.body_times: list[int] = []
        self.on_body: Callable[[bytes], None] = self.body_parts.append
        self.eager = False

    # --- httptools callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        msg = HttpMessage(is_request=self.role == "request", start_ns=self.ts, partial=self.skipped)
        self.skipped = False
        self.msg = msg
        self.msg_start = self.fed
        self.head_bytes = 0
        self.url_parts = []
        self.status_parts = []
        self.raw_headers = []
        if msg.is_request:
            self.conn._request_begin(msg, self.out)

    def on_url(self, url: bytes) -> None:
        self.url_parts.append(url)
        self.head_bytes += len(url)
        if self.head_bytes > MAX_HEAD_BYTES:
            raise _TooBig

    def on_status(self, status: bytes) -> None:
        self.status_parts.append(status)

    def on_header(self, name: bytes, value: bytes) -> None:
        msg = self.msg
        if msg is None:
            return
        self.head_bytes += len(name) + len(value)
        if self.head_bytes > MAX_HEAD_BYTES:
            raise _TooBig
        if msg.headers_done:
            msg.trailers.append((header_text(name), header_text(value)))
        else:
            self.raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        msg = self.msg
        parser = self.parser
        if msg is None or parser is None:
            return
        msg.headers = [(header_text(n), header_text(v)) for n, v in self.raw_headers]
        msg.version = parser.get_http_version()
        if msg.is_request:
            assert isinstance(parser, httptools.HttpRequestParser)
            msg.method = parser.get_method().decode("ascii", "replace")
            msg.target = header_text(b"".join(self.url_parts))
            if msg.method == "HEAD":
                self.conn.saw_head = True
                for side in self.conn.sides.values():
                    side.set_plain()
        else:
            msg.status = parser.get_status_code()  # type: ignore[union-attr]
            msg.reason = header_text(b"".join(self.status_parts))
        msg.begin_body(self.conn.opts)
        self.eager = msg.sse is not None
        self.set_plain()
        if not msg.is_request and msg.status is not None and msg.status >= 200:
            req = self.conn.pending[0] if self.conn.pending else None
            if req is not None and req.method == "HEAD":
                self.skip_body = True
                raise _SkipBody

    def set_plain(self) -> None:
        """`plain`: no upgrade, no HEAD response due on this side, no body wanted piece by piece."""
        self.plain = not (self.upgraded or self.eager or (self.conn.saw_head and self.role == "response"))

    def flush_body(self) -> None:
        """Give the body pieces held so far to the message they belong to; pieces after the last
        noted feed came in the feed under way (at `self.ts`)."""
        parts, ends, times = self.body_parts, self.body_ends, self.body_times
        msg = self.msg
        if msg is not None:
            msg.add_body_records(parts, ends, times, self.ts, self.out)
        parts.clear()
        ends.clear()
        times.clear()

    def took_body(self, ts: int) -> None:
        """A feed at `ts` left body pieces held: note them, or flush."""
        if self.eager:
            self.flush_body()
            return
        ends = self.body_ends
        ends.append(len(self.body_parts))
        self.body_times.append(ts)
        if len(ends) >= FLUSH_RECORDS:
            self.flush_body()

    def on_message_complete(self) -> None:
        msg = self.msg
        if msg is None:
            return
        if self.body_parts:
            self.flush_body()
        self.msg = None
        msg.complete = True
        msg.end_body(self.ts, self.out)
        if msg.is_request:
            return
        self.conn._response_complete(msg, self.ts, self.out)

    # --- feeding -------------------------------------------------------------------------------

    def _new_parser(self) -> None:
        self.fed = 0
        self.last = b""
        self.msg_start = -1
        if self.role == "request":
            self.parser = httptools.HttpRequestParser(self)
        else:
            self.parser = httptools.HttpResponseParser(self)

    def feed(self, data: bytes, ts: int, out: list[object]) -> None:
        self.ts = ts
        self.out = out
        if self.upgraded:
            return
        if self.parser is None:
            data = self._find_start(data)
            if not data:
                return
        self._feed_parser(data)

    def feed_failed(self, data: bytes, exc: Exception) -> None:
        """The parser stopped inside `data`, fed whole: go on after it (see `_piece_failed`)."""
        rest = self._piece_failed(data, exc)
        if rest:
            self._feed_parser(rest)

    def _find_start(self, data: bytes) -> bytes:
        """Unsynced: look for a message start in held + new bytes; return the bytes from it on."""
        held = len(self.scan)
        buf = self.scan + data if held else data
        regex = START_RE if self.role is None else REQUEST_RE if self.role == "request" else RESPONSE_RE
        # A message starts at a line start, or at the start of a TLS record (a new write).
        m = regex.search(buf)
        if held and (m is None or m.start() > held):
            if regex.match(data) is not None:
                m = None
                self.skipped = True
                self.conn.skipped_bytes += held
                self.scan = b""
                if self.role is None:
                    self.conn._set_role(self, "response" if data.startswith(b"HTTP/") else "request")
                self._new_parser()
                return data
        if m is None:
            cut = max(buf.rfind(b"\n") + 1, len(buf) - MAX_SCAN_HOLD)
            if cut > 0:
                self.skipped = True
                self.conn.skipped_bytes += cut  # the held bytes among them were not counted yet
            self.scan = buf[cut:]
            return b""
        self.scan = b""
        if m.start() > 0:
            self.skipped = True
            self.conn.skipped_bytes += m.start()
        if self.role is None:
            self.conn._set_role(self, "response" if m.group(1) else "request")
        self._new_parser()
        return buf[m.start() :]

    def _feed_parser(self, data: bytes) -> None:
        if self.role == "response" and self.conn.head_pending():
            # A HEAD response is due: feed piece by piece, split where a status line may start,
            # so that the offset of each message start is known (on_message_begin fires on the
            # first byte of a piece) and the parser can be stopped right after the HEAD's head.
            cuts = [m.start() for m in _STATUS_ANYWHERE.finditer(data)]
            if cuts and cuts[0] == 0:
                cuts.pop(0)
            prev = 0
            for cut in [*cuts, len(data)]:
                rest = self._feed_piece(data[prev:cut])
                if rest is not None:
                    rest += data[cut:]
                    if rest:
                        self._feed_parser(rest)
                    return
                if self.parser is None or self.upgraded:
                    return
                prev = cut
            return
        rest = self._feed_piece(data)
        if rest:
            self._feed_parser(rest)

    def _feed_piece(self, data: bytes) -> bytes | None:
        """Feed one piece to the parser; returns bytes to feed to a restarted parser, if any."""
        parser = self.parser
        assert parser is not None
        try:
            parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            return self._piece_failed(data, exc)
        if self.body_parts:
            self.took_body(self.ts)
        self.fed += len(data)
        self.last = data if len(data) >= 3 else self.last[-3:] + data
        return None

    def _piece_failed(self, data: bytes, exc: Exception) -> bytes | None:
        """The parser stopped inside `data`: an upgrade, the end of a HEAD response's head, or an
        error. Returns bytes to feed to a restarted parser, if any."""
        if self.body_parts:
            self.flush_body()  # the pieces before the stop belong to the message in progress
        if isinstance(exc, httptools.HttpParserUpgrade):
            return self._upgrade(data, int(exc.args[0]) if exc.args else len(data))
        if isinstance(exc, httptools.HttpParserCallbackError):
            if self.skip_body:
                self.skip_body = False
                return self._head_without_body(data)
            self._parse_error(exc.__context__ or exc)
            return None
        self._parse_error(exc)
        return None

    def _head_without_body(self, data: bytes) -> bytes:
        """A HEAD response's head is complete: finish it, restart the parser after its head."""
        msg = self.msg
        pos = -1
        if self.msg_start >= self.fed:
            pos = _head_end(data, self.msg_start - self.fed)
        elif self.msg_start >= 0:
            last = self.last[-3:]
            tail = last[-min(len(last), self.fed - self.msg_start) :]
            end = _head_end(tail + data, 0)
            pos = end - len(tail) if end >= 0 else -1
        self.msg = None
        if msg is not None:
            msg.complete = True
            msg.end_body(self.ts, self.out)
            self.conn._response_complete(msg, self.ts, self.out)
        if pos < 0:
            self.lose("could not find the end of a HEAD response head")
            self.skipped = True
            return b""
        self._new_parser()
        return data[pos:]

    def _upgrade(self, data: bytes, offset: int) -> bytes | None:
        """llhttp paused on an upgrade (101, CONNECT, or a request asking for one)."""
        msg = self.msg
        if msg is not None and msg.headers_done and not msg.complete:
            self.on_message_complete()
        if self.role == "response":
            # 101 Switching Protocols (or a CONNECT tunnel): what follows is not HTTP/1.
            self.conn.upgraded = True
            for side in self.conn.sides.values():
                side.upgraded = True
                side.set_plain()
            return None
        # A request asking to upgrade: the server may refuse, so keep parsing HTTP/1.
        self._new_parser()
        return data[offset:]

    def _parse_error(self, exc: BaseException) -> None:
        error = "HTTP head too large" if isinstance(exc, _TooBig) else f"HTTP/1 parse error: {exc}"
        self.conn.parse_errors += 1
        self.lose(error)
        self.skipped = True

    def lose(self, error: str) -> None:
        """The stream broke (parse error, lost bytes): end the message in progress, resynchronise."""
        if self.body_parts:
            self.flush_body()
        msg = self.msg
        self.msg = None
        self.parser = None
        self.scan = b""
        self.skip_body = False
        if msg is not None:
            msg.error = msg.error or error
            msg.end_body(self.ts, self.out)
            if not msg.is_request:
                self.conn._response_failed(msg, self.ts, self.out, error)

    def close(self, eof: bool) -> HttpMessage | None:
        """The connection ended: returns a response completed by the close (read-until-close)."""
        if self.scan:  # held while looking for a message start that never came
            self.conn.skipped_bytes += len(self.scan)
            self.scan = b""
        if self.body_parts:
            self.flush_body()
        msg = self.msg
        self.msg = None
        if msg is None:
            return None
        if (
            not msg.is_request
            and msg.headers_done
            and msg.header("content-length") is None
            and "chunked" not in (msg.header("transfer-encoding") or "").lower()
            and not msg.error
            and eof
        ):
            msg.complete = True
        msg.end_body(self.ts, self.out)
        return msg


class Http1Connection:
    """HTTP/1.x state of one connection (both directions)."""

    protocol = "HTTP/1.1"

    def __init__(self, opts: BodyOptions | None = None) -> None:
        self.opts = opts or BodyOptions()
        self.sides: dict[str, Http1Side] = {"write": Http1Side(self, "write"), "read": Http1Side(self, "read")}
        self.pending: deque[HttpMessage] = deque()
        self.upgraded = False
        self.synced = False
        self.saw_head = False  # a HEAD request was seen: check for a HEAD response due
        self.exchanges = 0
        # Bytes passed over while looking for a message start (joined mid-stream, after a parse
        # error or lost bytes), and the parse errors: reported in the analyzer's counters.
        self.skipped_bytes = 0
        self.parse_errors = 0

    def head_pending(self) -> bool:
        if not self.saw_head:
            return False
        for req in self.pending:
            if req.method == "HEAD":
                return True
        return False

    def _set_role(self, side: Http1Side, role: str) -> None:
        self.synced = True  # a message start has been found in one direction
        side.role = role
        other = self.sides["read" if side.direction == "write" else "write"]
        if other.role is None:
            other.role = "response" if role == "request" else "request"

    def feed(self, direction: str, data: bytes, ts: int, out: list[object]) -> None:
        self.sides[direction].feed(data, ts, out)

    def gap(self, direction: str, nbytes: int, ts: int, out: list[object]) -> None:
        """`nbytes` of this direction were not captured."""
        side = self.sides[direction]
        side.ts = ts
        side.out = out
        if side.upgraded:
            return
        side.lose(f"{nbytes} bytes of the stream were not captured")
        side.skipped = True

    def _request_begin(self, msg: HttpMessage, out: list[object]) -> None:
        self.pending.append(msg)
        if len(self.pending) > MAX_PENDING_REQUESTS:
            old = self.pending.popleft()
            self._emit(old, None, old.start_ns, out, complete=False, error="too many requests without a response")

    def _response_complete(self, resp: HttpMessage, ts: int, out: list[object]) -> None:
        status = resp.status or 0
        if 100 <= status < 200 and status != 101:
            return  # interim response: the final one follows
        req = self.pending.popleft() if self.pending else None
        self._emit(req, resp, ts, out, complete=True, error=resp.error or (req.error if req else ""))

    def _response_failed(self, resp: HttpMessage, ts: int, out: list[object], error: str) -> None:
        req = self.pending.popleft() if self.pending else None
        self._emit(req, resp, ts, out, complete=False, error=error)

    def _emit(
        self,
        req: HttpMessage | None,
        resp: HttpMessage | None,
        ts: int,
        out: list[object],
        *,
        complete: bool,
        error: str = "",
    ) -> None:
        version = (req.version if req else "") or (resp.version if resp else "") or "1.1"
        partial = req is None or req.partial or (resp is not None and resp.partial)
        if req is not None and not req.complete:
            complete = False
            error = error or req.error
        self.exchanges += 1
        out.append(
            Exchange(
                protocol=f"HTTP/{version}",
                request=req,
                response=resp,
                complete=complete,
                partial=partial,
                error=error,
                end_ns=ts,
            )
        )

    def close(self, ts: int, out: list[object], error: str = "connection closed", eof: bool = True) -> None:
        """End of connection: emit what is still open.

        `eof`: the connection really ended (TlsClose), so a read-until-close response is complete;
        False for an idle timeout or the end of the capture.
        """
        resp: HttpMessage | None = None
        for side in self.sides.values():
            side.ts = ts
            side.out = out
            msg = side.close(eof)
            if msg is not None and not msg.is_request:
                resp = msg
        if resp is not None:
            req = self.pending.popleft() if self.pending else None
            why = CLOSED_AFTER_SSE_EVENT if eof and not resp.complete and _ends_at_sse_event(resp) else error
            self._emit(req, resp, ts, out, complete=resp.complete, error="" if resp.complete else why)
        while self.pending:
            req = self.pending.popleft()
            self._emit(req, None, ts, out, complete=False, error=f"{error} before the response")
