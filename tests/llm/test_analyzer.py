"""LlmAnalyzer: pass-through, interleaved calls, bounds, timeouts."""

from __future__ import annotations

import heapq
from concurrent.futures import ThreadPoolExecutor

import pytest

from collector.framework.analyzers.llm import LlmAnalyzer
from collector.framework.core.analyzer import AnalyzerChain
from collector.framework.core.events import Event, HttpExchange, LlmCall, SseMessage, TlsData

from .helpers import (
    APIS,
    STEP,
    T0,
    Clients,
    assert_call_matches,
    events_of,
    llm_calls,
    run_analyzer,
)


def _interleave(streams: list[list[Event]]) -> list[Event]:
    return list(heapq.merge(*streams, key=lambda e: e.timestamp_ns))


def _calls_by_conn(out: list[Event]) -> dict[int, LlmCall]:
    calls = {c.conn: c for c in llm_calls(out)}
    assert len(calls) == len(list(llm_calls(out)))
    return calls


def test_ten_interleaved_streams_on_different_conns(server, clients: Clients) -> None:
    """10 concurrent streaming calls (all four APIs) come out as 10 correct, unmixed LlmCalls."""
    jobs = [(APIS[i % 4], ("text", "tool", "thinking")[i % 3]) for i in range(10)]
    with ThreadPoolExecutor(10) as pool:
        views = list(pool.map(lambda j: clients.call(j[0], j[1], True, prompt=f"question {j}"), jobs))
    assert all(v.error is None for v in views)
    records = server.wait_for(10)
    streams = []
    for k, record in enumerate(records):
        sse, exchange = events_of(record, conn=1000 + k, t0=T0 + k * STEP // 11)
        streams.append([*sse, exchange])
    events = _interleave(streams)
    # The events really are interleaved: the first ten are from ten different responses.
    assert len({e.payload.conn for e in events[:10]}) == 10
    out = run_analyzer(LlmAnalyzer(), events)
    assert [e for e in out if not isinstance(e.payload, LlmCall)] == events
    calls = _calls_by_conn(out)
    assert sorted(calls) == [1000 + k for k in range(10)]
    for k, record in enumerate(records):
        assert_call_matches(calls[1000 + k], record, conn=1000 + k, t0=T0 + k * STEP // 11)
    # Each LlmCall follows its own exchange immediately.
    for i, ev in enumerate(out):
        if isinstance(ev.payload, LlmCall):
            assert isinstance(out[i - 1].payload, HttpExchange) and out[i - 1].payload.conn == ev.payload.conn


def test_http2_streams_on_one_conn(server, clients: Clients) -> None:
    for api in ("anthropic", "openai_chat", "openai_responses"):
        clients.call(api, "tool", True)
    records = server.wait_for(3)
    streams = [[*s, x] for s, x in (events_of(r, conn=7, stream_id=2 * k + 1, t0=T0 + k * 100) for k, r in enumerate(records))]
    out = run_analyzer(LlmAnalyzer(), _interleave(streams))
    calls = {c.stream_id: c for c in llm_calls(out)}
    assert sorted(calls) == [1, 3, 5]
    for k, record in enumerate(records):
        assert_call_matches(calls[2 * k + 1], record, conn=7, t0=T0 + k * 100)


def test_other_events_pass_through_untouched() -> None:
    tls = Event(timestamp_ns=1, source="sslsniff", pid=3, payload=TlsData(direction="read", conn=1, data=b"x", length=1))
    web = HttpExchange(method="GET", path="/index.html", status=200, response_body=b"<html/>")
    sse = SseMessage(conn=2, data="tick")
    events = [tls, Event(timestamp_ns=2, source="http", pid=3, payload=sse),
              Event(timestamp_ns=3, source="http", pid=3, payload=web.model_copy(update={"conn": 2}))]
    analyzer = LlmAnalyzer()
    assert run_analyzer(analyzer, events) == events
    assert analyzer.tracked == 0 and analyzer.stats.calls == 0


def test_eviction_falls_back_to_the_body(server, clients: Clients) -> None:
    for _ in range(3):
        clients.call("anthropic", "text", True)
    records = server.wait_for(3)
    parts = [events_of(r, conn=k + 1) for k, r in enumerate(records)]
    analyzer = LlmAnalyzer(max_calls=2)
    events = [e for sse, _ in parts for e in sse] + [x for _, x in parts]
    out = run_analyzer(analyzer, events)
    assert analyzer.stats.evicted == 1
    calls = _calls_by_conn(out)
    assert len(calls) == 3
    assert calls[1].ttft_ns is None  # its events were evicted: content from the body, no timing
    for k, record in enumerate(records):
        assert_call_matches(calls[k + 1], record, conn=k + 1, with_timestamps=k > 0)


def test_too_many_events_per_call(server, clients: Clients) -> None:
    clients.call("openai_chat", "tool", True)
    record = server.wait_for(1)[0]
    sse, exchange = events_of(record)
    analyzer = LlmAnalyzer(max_events_per_call=5)
    call = next(llm_calls(run_analyzer(analyzer, [*sse, exchange])))
    assert analyzer.stats.overflowed == 1
    assert_call_matches(call, record)  # whole body used; the kept events still give the TTFT

    # Without a body to fall back on, what the kept events say, marked partial.
    bodiless = exchange.model_copy(update={"payload": exchange.payload.model_copy(update={"response_body": b""})})
    analyzer = LlmAnalyzer(max_events_per_call=3)
    call = next(llm_calls(run_analyzer(analyzer, [*sse, bodiless])))
    assert call.partial and call.response_text != record.plan.text and not call.tool_calls
    assert analyzer.counters()["partial"] == 1 and analyzer.counters()["calls"] == 1


def test_bytes_bound() -> None:
    analyzer = LlmAnalyzer(max_bytes_per_call=10)
    for i in range(3):
        analyzer.process(Event(timestamp_ns=i, source="http", payload=SseMessage(conn=1, index=i, data="123456")))
    assert analyzer.stats.overflowed == 1 and len(analyzer._pending[(0, 1, None)].events) == 1


def test_tick_drops_idle_state_and_finish_clears() -> None:
    analyzer = LlmAnalyzer(idle_timeout_s=10)
    analyzer.process(Event(timestamp_ns=T0, source="http", payload=SseMessage(conn=1, data="a")))
    analyzer.process(Event(timestamp_ns=T0 + 8 * 10**9, source="http", payload=SseMessage(conn=2, data="b")))
    assert list(analyzer.tick(T0 + 5 * 10**9)) == [] and analyzer.tracked == 2
    analyzer.tick(T0 + 11 * 10**9)
    assert analyzer.tracked == 1 and analyzer.stats.timed_out == 1
    assert list(analyzer.finish()) == [] and analyzer.tracked == 0


def test_new_stream_on_same_key_restarts(server, clients: Clients) -> None:
    clients.call("anthropic", "text", True)
    clients.call("anthropic", "thinking", True)
    first, second = server.wait_for(2)
    stale, _ = events_of(first)  # the first exchange never arrives (lost)
    sse, exchange = events_of(second, t0=T0 + 10**9)
    analyzer = LlmAnalyzer()
    call = next(llm_calls(run_analyzer(analyzer, [*stale[:5], *sse, exchange])))
    assert analyzer.stats.restarted == 1
    assert_call_matches(call, second, t0=T0 + 10**9)


def test_pids_are_kept_apart(server, clients: Clients) -> None:
    clients.call("openai_chat", "text", True)
    clients.call("openai_chat", "tool", True)
    a, b = server.wait_for(2)
    sa, xa = events_of(a, pid=1, conn=5)
    sb, xb = events_of(b, pid=2, conn=5, t0=T0 + 3)
    out = run_analyzer(LlmAnalyzer(), _interleave([[*sa, xa], [*sb, xb]]))
    by_pid = {e.pid: e.payload for e in out if isinstance(e.payload, LlmCall)}
    assert_call_matches(by_pid[1], a, conn=5)
    assert_call_matches(by_pid[2], b, conn=5, t0=T0 + 3)


def test_extraction_failure_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    import collector.framework.analyzers.llm as mod

    def boom(*args: object, **kwargs: object) -> None:
        raise ValueError("bad")

    monkeypatch.setattr(mod, "extract", boom)
    analyzer = LlmAnalyzer()
    ev = Event(timestamp_ns=1, source="http", payload=HttpExchange(method="POST", path="/v1/messages"))
    assert list(analyzer.process(ev)) == [ev]
    assert analyzer.stats.errors == 1 and "bad" in analyzer.stats.last_error


def test_in_an_analyzer_chain(server, clients: Clients) -> None:
    clients.call("gemini", "tool", True)
    record = server.wait_for(1)[0]
    sse, exchange = events_of(record)
    chain = AnalyzerChain([LlmAnalyzer()], strict=True)
    out = chain.process(sse[:3]) + chain.process([*sse[3:], exchange]) + chain.tick(T0) + chain.finish()
    assert [type(e.payload) for e in out][-2:] == [HttpExchange, LlmCall]
    assert_call_matches(out[-1].payload, record)
    # The LlmCall Event survives its own JSON round trip.
    assert Event.from_json(out[-1].to_json()) == out[-1]
