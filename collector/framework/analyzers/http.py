"""HttpAnalyzer: TLS plaintext events -> HttpExchange (and SseMessage) events.

Consumes `TlsData` / `TlsClose` events, reassembles each (pid, conn) connection's two byte streams
(`protocols.reassembly`), detects HTTP/1.x or HTTP/2 (`protocols.detect`) and parses them
(`protocols.http1`, `protocols.http2`). Emits:

- one `HttpExchange` per request/response pair when the response completes, or when the
  connection closes / idles out / is evicted / the capture ends first (`complete=False`);
- for `text/event-stream` responses, one `SseMessage` per server-sent event as it arrives
  (timestamp = the TLS event that completed it; `index` counts the events of the response).

Derived events: source "http", timestamp_ns = time of completion, pid/tid/comm of the TLS event
that completed them. Every input event passes through unchanged and first (TlsData is dropped
when `keep_tls=False`).

Bodies are content-decoded (gzip, deflate, br, zstd) and kept whole up to `body_limit` bytes; past
that the first `body_limit` bytes are kept and `*_truncated` is set, while `*_body_size` and
`*_body_sha256` describe the whole decoded body (the digest is given only for a body cut so: one
kept whole is there to hash). Memory is bounded by `max_connections`
(LRU) and the per-connection bounds of the parsers.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import Protocol

from httptools import HttpParserError, HttpParserUpgrade

from ..core.analyzer import Analyzer
from ..core.construct import constructor
from ..core.events import Event, HttpExchange, SseMessage, TlsClose, TlsData, new_event
from ..protocols.content_encoding import DEFAULT_MAX_DECODED
from ..protocols.detect import HttpStream
from ..protocols.http1 import FLUSH_RECORDS
from ..protocols.message import (
    DEFAULT_BODY_LIMIT,
    BodyOptions,
    Exchange,
    HttpMessage,
    SseColumns,
    SseItem,
    split_target,
)
from ..protocols.reassembly import (
    DEFAULT_IDLE_TIMEOUT_NS,
    DEFAULT_MAX_CONNECTIONS,
    Connection,
    ConnKey,
    Reassembler,
)

SOURCE = "http"
_tls_fields = itemgetter("conn", "data", "direction", "truncated", "peer")  # of TlsData.__dict__


class SseConsumer(Protocol):
    """Takes each SSE response's events together with its finished exchange (see `send_sse_to`)."""

    def sse_begin_pass(self) -> None:
        """The analyzer starts a pass (batch, tick, finish): forget what earlier passes sent."""

    def sse_for_exchange(self, exchange: HttpExchange, events: SseColumns, complete: bool) -> None:
        """The SSE events of `exchange`'s response in order, with the time of the TLS data that
        completed each; `complete`: none was dropped."""


class HttpAnalyzer(Analyzer):
    """Turns TLS plaintext into HTTP exchanges and SSE messages.

    Options:
        body_limit: bytes of each decoded body kept in the event (default 10 MiB).
        max_decoded: cap on one body's decoded size (decompression bombs; default 256 MiB).
        decode: undo Content-Encoding (default True); False keeps bodies as sent.
        sse: emit SseMessage events for text/event-stream responses (default True).
        keep_tls: pass TlsData events through (default True).
        max_connections: connections tracked at once, least recently used evicted (default 4096).
        idle_timeout_s: a connection without data for this long (on the tick clock) is closed and
            its open exchanges emitted incomplete (default 300 s).
    """

    name = "http"

    def __init__(
        self,
        *,
        body_limit: int = DEFAULT_BODY_LIMIT,
        max_decoded: int = DEFAULT_MAX_DECODED,
        decode: bool = True,
        sse: bool = True,
        keep_tls: bool = True,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_NS / 1e9,
    ) -> None:
        if body_limit < 0:
            raise ValueError("body_limit must be >= 0")
        self.opts = BodyOptions(limit=body_limit, max_decoded=max_decoded, decode=decode, sse=sse)
        self.keep_tls = keep_tls
        self.reassembler = Reassembler(
            self._new_stream,
            max_connections=max_connections,
            idle_timeout_ns=int(idle_timeout_s * 1e9),
        )
        self.exchanges = 0
        self.incomplete = 0
        self.partial = 0
        self.sse_events = 0
        # HTTP/1 bytes passed over looking for a message start, and parse errors, on the
        # connections no longer tracked (`counters` adds the tracked ones)
        self._skipped_bytes = 0
        self._parse_errors = 0
        self._sse_consumer: SseConsumer | None = None

    def send_sse_to(
        self, consumer: SseConsumer | None, *, max_events: int = 50_000, max_bytes: int = 64 * 1024 * 1024
    ) -> None:
        """Hand the SSE events of each `text/event-stream` response to `consumer` directly, with
        the HttpExchange that finishes it, right before that exchange's Event is emitted: a
        downstream analyzer that needs them whole (LlmAnalyzer) then needs no SseMessage Event
        per SSE event. At most `max_events` events / `max_bytes` characters of data are kept per
        response (beyond that `complete` is False). Independent of `sse` (the SseMessage Events).
        """
        self._sse_consumer = consumer
        self.opts.keep_sse = consumer is not None
        self.opts.keep_sse_events = max_events
        self.opts.keep_sse_bytes = max_bytes

    def _new_stream(self, key: ConnKey) -> HttpStream:
        return HttpStream(self.opts)

    def counters(self) -> dict[str, int]:
        skipped, errors = self._skipped_bytes, self._parse_errors
        for c in self.reassembler.connections.values():
            more, more_errors = c.handler.skipped()  # type: ignore[attr-defined]  # an HttpStream
            skipped += more
            errors += more_errors
        return {
            "exchanges": self.exchanges,
            "incomplete": self.incomplete,
            "partial": self.partial,
            "sse_events": self.sse_events,
            "unparsed_bytes": skipped,
            "parse_errors": errors,
            "evicted": self.reassembler.evicted,
            "idle_closed": self.reassembler.expired,
        }

    def _ended(self, c: Connection) -> None:
        """`c` is closed and no longer tracked: keep its counts."""
        skipped, errors = c.handler.skipped()  # type: ignore[attr-defined]  # an HttpStream
        self._skipped_bytes += skipped
        self._parse_errors += errors

    # --- analyzer protocol -----------------------------------------------------------------------

    def process(self, event: Event) -> Iterable[Event]:
        return self.process_batch([event])

    def process_batch(self, events: list[Event]) -> list[Event]:
        if self._sse_consumer is not None:
            self._sse_consumer.sse_begin_pass()
        out: list[Event] = []
        r = self.reassembler
        conns = r.connections
        clock = r.clock
        keep_tls = self.keep_tls
        items: list[object] = []  # what the parsers give for one TLS event (usually nothing)
        # The connection of the previous TLS event: one that follows on it (the usual run of a
        # response's records) needs no lookup, it is still tracked and the most recent.
        last_pid = last_conn = -1
        c: Connection | None = None
        for ev in events:
            # TLS data, once per TLS call: written out here rather than in a method per event,
            # the fields read from the models' __dict__ (pydantic's attribute access is slower).
            fields = ev.__dict__
            p = fields["payload"]
            if type(p) is not TlsData:
                self._other(ev, out)
                last_pid = -1  # it may have ended a connection
                continue
            if keep_tls:
                out.append(ev)
            conn, data, direction, truncated, peer = _tls_fields(p.__dict__)
            pid = fields["pid"]
            if c is None or conn != last_conn or pid != last_pid:
                key = (pid, conn)
                c = conns.get(key)
                if c is None:
                    c = r.get(key)
                    if len(conns) > r.max_connections:
                        for old in r.overflow():
                            self._close(old, old.last_ts, "evicted (too many connections tracked)", False, out)
                else:  # r.get, in line
                    conns.move_to_end(key)
                    c.active = clock
                last_pid, last_conn = pid, conn
            c.last = fields  # labels what the connection emits next (tid, comm, time)
            if c.peer is None:
                c.peer = peer
            ts = fields["timestamp_ns"]
            if data:
                sides = c.handler.sides  # type: ignore[attr-defined]  # an HttpStream (_new_stream)
                if sides is None:
                    c.handler.feed(direction, data, ts, items)
                else:  # HTTP/1, synced: a plain side's Http1Side.feed -> _feed_piece, in line
                    side = sides[direction]
                    parser = side.parser
                    if parser is not None and side.plain:
                        side.ts = ts
                        side.out = items
                        try:
                            parser.feed_data(data)
                        except (HttpParserError, HttpParserUpgrade) as exc:
                            side.feed_failed(data, exc)
                        else:
                            parts = side.body_parts
                            if parts:  # side.took_body(ts), in line (plain: not eager)
                                ends = side.body_ends
                                ends.append(len(parts))
                                side.body_times.append(ts)
                                if len(ends) >= FLUSH_RECORDS:
                                    side.flush_body()
                            side.fed += len(data)
                    else:
                        side.feed(data, ts, items)
            if truncated > 0:
                c.handler.gap(direction, truncated, ts, items)
            if items:
                self._emit(c, items, out)
                items = []
        return out

    def tick(self, now_ns: int) -> Iterable[Event]:
        if self._sse_consumer is not None:
            self._sse_consumer.sse_begin_pass()
        out: list[Event] = []
        for c in self.reassembler.tick(now_ns):
            self._close(c, c.last_ts, "idle timeout", False, out)
        return out

    def finish(self) -> Iterable[Event]:
        if self._sse_consumer is not None:
            self._sse_consumer.sse_begin_pass()
        out: list[Event] = []
        for c in self.reassembler.drain():
            self._close(c, c.last_ts, "capture ended", False, out)
        return out

    # --- internals -------------------------------------------------------------------------------

    def _other(self, ev: Event, out: list[Event]) -> None:
        """An event other than TlsData: passed on, a TlsClose first ends its connection."""
        p = ev.payload
        if type(p) is TlsClose:
            out.append(ev)
            c2 = self.reassembler.connections.get((ev.pid, p.conn))
            if c2 is None:
                return
            c2.last = {**c2.last, "tid": ev.tid, "comm": ev.comm or c2.comm}
            items: list[object] = []
            self.reassembler.close((ev.pid, p.conn), ev.timestamp_ns, items)
            self._ended(c2)
            if items:
                self._emit(c2, items, out)
        else:
            out.append(ev)

    def _close(self, c: Connection, ts: int, error: str, eof: bool, out: list[Event]) -> None:
        items: list[object] = []
        c.handler.close(ts, items, error, eof)
        self._ended(c)
        if items:
            self._emit(c, items, out)

    def _emit(self, c: Connection, items: list[object], out: list[Event]) -> None:
        conn = c.key[1]
        for item in items:
            if type(item) is Exchange:
                exchange = exchange_payload(item, conn, c.peer)
                payload: HttpExchange | SseMessage = exchange
                ts = item.end_ns
                self.exchanges += 1
                if not item.complete:
                    self.incomplete += 1
                if item.partial:
                    self.partial += 1
                resp = item.response
                if self._sse_consumer is not None and resp is not None:
                    kept = resp.sse_result()
                    if kept is not None and (kept.names or resp.sse_overflow):
                        self._sse_consumer.sse_for_exchange(exchange, kept, not resp.sse_overflow)
            elif type(item) is SseItem:
                e = item.event
                payload = SseMessage(
                    conn=conn, stream_id=item.stream_id, index=item.index, event=e.event, data=e.data, id=e.id, retry=e.retry
                )
                ts = item.ts
                self.sse_events += 1
            else:
                continue
            out.append(new_event({"timestamp_ns": ts, "source": SOURCE, "pid": c.pid, "tid": c.tid, "comm": c.comm, "payload": payload}))


def _body(msg: HttpMessage | None) -> tuple[bytes, int, str, bool]:
    if msg is None or msg.body is None:
        return b"", 0, "", False
    b = msg.body
    return b.value(), b.size, b.hexdigest(), b.truncated


_new_exchange = constructor(HttpExchange)


def exchange_payload(ex: Exchange, conn: int, peer: str | None = None) -> HttpExchange:
    """An `Exchange` from the parsers -> the `HttpExchange` event payload."""
    req, resp = ex.request, ex.response
    method = path = query = host = ""
    scheme = "https"
    url = ""
    if req is not None:
        method = req.method
        host = req.header(":authority") or req.header("host") or ""
        scheme = req.header(":scheme") or "https"
        if req.target:
            s, host, path, query = split_target(req.target, host)
            if req.target.startswith(("http://", "https://")):
                scheme = s
            if method == "CONNECT":
                url = req.target
            else:
                url = f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
    req_body, req_size, req_sha, req_trunc = _body(req)
    resp_body, resp_size, resp_sha, resp_trunc = _body(resp)
    # Every field, in order, each already of its field's type: built without validating again.
    return _new_exchange(
        {
            "kind": "http_exchange",
            "conn": conn,
            "peer": peer,
            "protocol": ex.protocol,
            "stream_id": ex.stream_id,
            "method": method,
            "url": url,
            "scheme": scheme,
            "host": host,
            "path": path,
            "query": query,
            "status": resp.status if resp is not None else None,
            "reason": resp.reason if resp is not None else "",
            "request_headers": req.headers if req is not None else [],
            "response_headers": resp.headers if resp is not None else [],
            "request_trailers": req.trailers if req is not None else [],
            "response_trailers": resp.trailers if resp is not None else [],
            "request_body": req_body,
            "response_body": resp_body,
            "request_body_size": req_size,
            "response_body_size": resp_size,
            "request_body_sha256": req_sha,
            "response_body_sha256": resp_sha,
            "request_body_truncated": req_trunc,
            "response_body_truncated": resp_trunc,
            "request_start_ns": req.start_ns if req is not None else 0,
            "response_first_byte_ns": resp.start_ns if resp is not None else 0,
            "end_ns": ex.end_ns,
            "complete": ex.complete,
            "partial": ex.partial,
            "error": ex.error,
        }
    )
