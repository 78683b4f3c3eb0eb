"""Build TLS event sequences from real HTTP bytes and run them through HttpAnalyzer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import h2.config
import h2.connection
import h2.events
import h2.exceptions

from collector.framework.analyzers.http import HttpAnalyzer
from collector.framework.core.events import Event, HttpExchange, SseMessage, TlsClose, TlsData

Record = tuple[str, bytes]  # (direction, bytes of one TLS call)


def tls(direction: str, data: bytes, ts: int, conn: int = 0x1000, pid: int = 100, truncated: int = 0) -> Event:
    return Event(
        timestamp_ns=ts,
        source="ssl",
        pid=pid,
        tid=pid + 1,
        comm="agent",
        payload=TlsData(direction=direction, conn=conn, data=data, length=len(data) + truncated, truncated=truncated),  # type: ignore[arg-type]
    )


def close(ts: int, conn: int = 0x1000, pid: int = 100) -> Event:
    return Event(timestamp_ns=ts, source="ssl", pid=pid, tid=pid + 1, comm="agent", payload=TlsClose(conn=conn))


def events_from(records: Sequence[Record], *, conn: int = 0x1000, pid: int = 100, t0: int = 1000, closed: bool = True) -> list[Event]:
    evs = [tls(d, b, t0 + i, conn, pid) for i, (d, b) in enumerate(records)]
    if closed:
        evs.append(close(t0 + len(records), conn, pid))
    return evs


def run(events: Iterable[Event], **opts: object) -> tuple[list[HttpExchange], list[SseMessage], list[Event]]:
    a = HttpAnalyzer(**opts)  # type: ignore[arg-type]
    out = a.process_batch(list(events))
    out += list(a.finish())
    ex = [e.payload for e in out if isinstance(e.payload, HttpExchange)]
    sse = [e.payload for e in out if isinstance(e.payload, SseMessage)]
    for e in ex:  # built without validation: validating the same values must change nothing
        again = HttpExchange.model_validate(e.__dict__)
        assert again == e and again.model_dump_json() == e.model_dump_json()
        assert e.model_fields_set == set(HttpExchange.model_fields)
    for ev in out:
        if ev.source == "http":
            assert Event.model_validate(ev.__dict__) == ev and ev.model_fields_set == set(Event.model_fields)
    return ex, sse, out


def chunked(*parts: bytes, trailers: bytes = b"") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts if p) + b"0\r\n" + trailers + b"\r\n"


def resplit(records: Sequence[Record], cuts: Sequence[int]) -> list[Record]:
    """Split the same per-direction streams into different TLS records.

    Each record is cut at the given relative positions (cuts cycle); the interleaving of the
    directions (record order) is kept, so causality (request before response) is preserved.
    """
    out: list[Record] = []
    k = 0
    for d, b in records:
        pos = 0
        while pos < len(b):
            n = max(1, cuts[k % len(cuts)]) if cuts else len(b)
            k += 1
            out.append((d, b[pos : pos + n]))
            pos += n
    return out


def norm(ex: HttpExchange) -> dict[str, object]:
    """What must not depend on how the bytes were split into records (times do)."""
    d = ex.model_dump()
    for k in ("request_start_ns", "response_first_byte_ns", "end_ns"):
        d.pop(k)
    return d


class H2Pair:
    """An in-memory h2 client and server; records what each side writes as TLS records."""

    def __init__(self) -> None:
        self.client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
        self.server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
        self.records: list[Record] = []
        self.server_events: list[h2.events.Event] = []
        self.client_events: list[h2.events.Event] = []
        self.client.initiate_connection()
        self.flush()
        self.server.initiate_connection()
        self.flush()

    def flush(self) -> None:
        """Deliver pending bytes both ways until quiet."""
        while True:
            moved = False
            data = self.client.data_to_send()
            if data:
                moved = True
                self.records.append(("write", data))
                self.server_events += self._ack(self.server, self.server.receive_data(data))
            data = self.server.data_to_send()
            if data:
                moved = True
                self.records.append(("read", data))
                self.client_events += self._ack(self.client, self.client.receive_data(data))
            if not moved:
                return

    @staticmethod
    def _ack(conn: h2.connection.H2Connection, events: list[h2.events.Event]) -> list[h2.events.Event]:
        """Give flow-control credit back for received DATA, as a real endpoint does."""
        for ev in events:
            if isinstance(ev, h2.events.DataReceived) and ev.flow_controlled_length:
                try:
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                except h2.exceptions.StreamClosedError:
                    pass
        return events

    def request(self, sid: int, headers: list[tuple[bytes, bytes]], body: bytes = b"", *, end: bool = True) -> None:
        self.client.send_headers(sid, headers, end_stream=not body and end)
        self.flush()
        if body:
            self.client.send_data(sid, body, end_stream=end)
            self.flush()

    def respond(self, sid: int, headers: list[tuple[bytes, bytes]], body: bytes = b"", *, end: bool = True, trailers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.server.send_headers(sid, headers, end_stream=not body and end and not trailers)
        self.flush()
        if body:
            self.data(sid, body, end=end and not trailers)
        if trailers:
            self.server.send_headers(sid, trailers, end_stream=True)
            self.flush()

    def data(self, sid: int, body: bytes, *, end: bool = False) -> None:
        step = self.server.max_outbound_frame_size
        for i in range(0, len(body), step):
            piece = body[i : i + step]
            self.server.send_data(sid, piece, end_stream=end and i + step >= len(body))
            self.flush()
        if not body and end:
            self.server.end_stream(sid)
            self.flush()


def req_headers(path: bytes = b"/", method: bytes = b"GET", authority: bytes = b"api.example.com", extra: list[tuple[bytes, bytes]] | None = None) -> list[tuple[bytes, bytes]]:
    return [(b":method", method), (b":scheme", b"https"), (b":authority", authority), (b":path", path), *(extra or [])]
