"""HttpAnalyzer as a chain stage: pass-through, options, timeouts, eviction, JSON round trip."""

from __future__ import annotations

from collector.framework.analyzers import HttpAnalyzer
from collector.framework.core.analyzer import AnalyzerChain
from collector.framework.core.events import Custom, Event, HttpExchange, ToolStatus
from tests.protocols.helpers import close, tls

GET = b"GET /x HTTP/1.1\r\nHost: h.example\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_passes_everything_through_and_keep_tls() -> None:
    other = Event(timestamp_ns=1, source="process", pid=5, payload=Custom(name="x"))
    evs = [other, tls("write", GET, 2), tls("read", OK, 3), close(4)]
    out = HttpAnalyzer().process_batch(evs)
    assert [e.kind for e in out] == ["custom", "tls_data", "tls_data", "http_exchange", "tls_close"]
    assert out[0] is other
    out = HttpAnalyzer(keep_tls=False).process_batch(evs)
    assert [e.kind for e in out] == ["custom", "http_exchange", "tls_close"]
    # process() gives the same as process_batch()
    a = HttpAnalyzer()
    assert [e.kind for ev in evs for e in a.process(ev)] == ["custom", "tls_data", "tls_data", "http_exchange", "tls_close"]


def test_in_a_chain_with_tick_and_finish() -> None:
    chain = AnalyzerChain([HttpAnalyzer(idle_timeout_s=5)], strict=True)
    assert [e.kind for e in chain.process([tls("write", GET, 10)])] == ["tls_data"]
    assert chain.tick(1_000_000_000_000) == []  # starts the idle clock
    assert chain.tick(1_000_000_000_000 + 4_000_000_000) == []
    timed_out = chain.tick(1_000_000_000_000 + 6_000_000_000)
    assert len(timed_out) == 1
    ex = timed_out[0].payload
    assert isinstance(ex, HttpExchange) and not ex.complete and "idle" in ex.error
    assert timed_out[0].timestamp_ns == 10 and timed_out[0].source == "http"
    chain.process([tls("write", GET, 20, conn=9)])
    flushed = chain.finish()
    assert len(flushed) == 1 and not flushed[0].payload.complete  # type: ignore[union-attr]


def test_lru_eviction_emits_incomplete() -> None:
    a = HttpAnalyzer(max_connections=2)
    out = a.process_batch([tls("write", GET, i, conn=i) for i in range(1, 4)])
    ex = [e.payload for e in out if isinstance(e.payload, HttpExchange)]
    assert len(ex) == 1 and ex[0].conn == 1 and "evicted" in ex[0].error
    assert len(a.reassembler) == 2


def test_event_json_round_trip() -> None:
    out = HttpAnalyzer(keep_tls=False).process_batch([tls("write", GET, 2), tls("read", OK, 3)])
    ev = out[0]
    assert Event.from_json(ev.to_json()) == ev


def test_non_http_tls_is_ignored() -> None:
    junk = bytes(range(256)) * 4
    out = HttpAnalyzer().process_batch([tls("write", junk, 1), tls("read", junk, 2), close(3)])
    out += list(HttpAnalyzer().finish())
    assert [e.kind for e in out] == ["tls_data", "tls_data", "tls_close"]


def test_status_events_untouched() -> None:
    st = Event(timestamp_ns=1, source="ssl", payload=ToolStatus(status="started"))
    assert HttpAnalyzer().process_batch([st]) == [st]


def test_counters_say_what_was_skipped_and_how_exchanges_ended() -> None:
    """Joined in the middle of a response: its bytes are passed over (counted), the next
    exchange is flagged partial; a parse error and an evicted connection are counted too."""
    mid = b"data: the middle of a stream\n\n0\r\n\r\n"  # no message start: skipped
    a = HttpAnalyzer(keep_tls=False, max_connections=2)
    out = a.process_batch([tls("read", mid, 1), tls("write", GET, 2), tls("read", OK, 3), close(4)])
    ex = [e.payload for e in out if isinstance(e.payload, HttpExchange)]
    assert len(ex) == 1 and ex[0].complete and ex[0].partial
    # a header line without a colon: llhttp refuses it, the request ends there
    bad = b"GET /y HTTP/1.1\r\nno colon here\r\n\r\n"
    a.process_batch([tls("write", bad, 5, conn=7)])
    tail = b"tail of a line with no start\n  held"
    a.process_batch([tls("read", tail, 6, conn=8), tls("write", GET, 7, conn=9)])  # evicts conn 7
    assert a.counters() == {
        "exchanges": 2,
        "incomplete": 1,
        "partial": 1,
        "sse_events": 0,
        # conn 8 is still tracked: the bytes after its last line end may yet start a message
        "unparsed_bytes": len(mid) + tail.index(b"\n") + 1,
        "parse_errors": 1,
        "evicted": 1,
        "idle_closed": 0,
    }
    a.finish()  # they never did
    assert a.counters()["unparsed_bytes"] == len(mid) + len(tail)


def test_bytes_held_before_a_gap_are_counted_unparsed() -> None:
    """The first bytes of a connection are held until its protocol is known; a capture gap
    drops them, and the counters say so."""
    a = HttpAnalyzer(keep_tls=False)
    start = b"POST /v1/chat/completions HTT"  # no line end yet: held to decide
    a.process_batch([tls("write", start, 1), tls("write", b"", 2, truncated=100), tls("write", GET, 3), tls("read", OK, 4), close(5)])
    counted = a.counters()
    assert counted["exchanges"] == 1 and counted["unparsed_bytes"] == len(start)
