"""Event-stream bodies split whole at their end (the default chain) against SseParser as the bytes
come (`keep_sse=True`): the same events, times, exchanges and LlmCalls, however the bytes are cut
into TLS records, for every line-ending style, comments, multi-line data, gzip, streams that never
end and bodies over the capture limit."""

from __future__ import annotations

import gzip
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from collector.framework.analyzers.http import HttpAnalyzer
from collector.framework.analyzers.pipeline import tls_analyzers
from collector.framework.core.analyzer import AnalyzerChain
from collector.framework.core.events import Event, HttpExchange, LlmCall, SseMessage
from collector.framework.protocols.message import SseColumns
from tests.fixtures.llm_server import ENCODERS, make_plan
from tests.protocols.helpers import H2Pair, close, req_headers, tls

REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "openai_chat": ("/v1/chat/completions", {"model": "gpt-4o", "stream": True,
                                            "messages": [{"role": "user", "content": "hi scenario:{s}"}]}),
    "openai_responses": ("/v1/responses", {"model": "gpt-4o", "stream": True, "input": "hi scenario:{s}"}),
    "anthropic": ("/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": True,
                                   "messages": [{"role": "user", "content": "hi scenario:{s}"}]}),
    "gemini": ("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
               {"contents": [{"role": "user", "parts": [{"text": "hi scenario:{s}"}]}]}),
}
STYLES = ("lf", "crlf", "cr", "mixed", "comments", "multiline", "bom")


def _fill(obj: Any, scenario: str) -> Any:
    return json.loads(json.dumps(obj).replace("{s}", scenario))


def sse_body(api: str, scenario: str, style: str) -> tuple[bytes, bytes]:
    """(request bytes, event-stream body) of one streaming call in the API's format."""
    path, template = REQUESTS[api]
    req = _fill(template, scenario)
    model = "gemini-2.5-flash" if api == "gemini" else req["model"]
    plan = make_plan(api, req, model, True, 7, None)
    out: list[bytes] = []
    for i, (event, obj) in enumerate(ENCODERS[api].events(plan, req)):
        data = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, indent=1 if style == "multiline" else None)
        block = (f"event: {event}\n" if event else "") + "".join(f"data: {line}\n" for line in data.split("\n"))
        if style == "comments":
            block = f": keep-alive {i}\nid: {i}\nretry: 1000\n" + block
        out.append((block + "\n").encode())
    body = b"".join(out)
    if style in ("crlf", "cr"):
        body = body.replace(b"\n", b"\r\n" if style == "crlf" else b"\r")
    elif style == "mixed":
        body = body.replace(b"\n\n", b"\r\n\r\n", 3)
    elif style == "bom":
        body = b"\xef\xbb\xbf" + body
    raw = json.dumps(req).encode()
    request = (f"POST {path} HTTP/1.1\r\nhost: api.example.com\r\ncontent-type: application/json\r\n"
               f"content-length: {len(raw)}\r\n\r\n").encode() + raw
    return request, body


def response_bytes(body: bytes, *, gzipped: bool = False, chunk: int = 300, end: bool = True) -> bytes:
    """A chunked `text/event-stream` response carrying `body` (gzip-encoded if asked)."""
    if gzipped:
        body = gzip.compress(body)
    head = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
            b"transfer-encoding: chunked\r\nx-request-id: req_1\r\n"
            + (b"content-encoding: gzip\r\n" if gzipped else b"") + b"\r\n")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + chunk]), body[i : i + chunk]) for i in range(0, len(body), chunk))
    return head + chunks + (b"0\r\n\r\n" if end else b"")


def records(request: bytes, response: bytes, sizes: list[int], t0: int = 1_000) -> list[Event]:
    """The request in one write, the response cut into reads of the given sizes (cycling)."""
    evs = [tls("write", request, t0)]
    pos = k = 0
    while pos < len(response):
        n = sizes[k % len(sizes)] if sizes else len(response)
        evs.append(tls("read", response[pos : pos + n], t0 + 10 * (k + 1)))
        pos += n
        k += 1
    return evs


def run_chain(events: list[Event], *, keep_sse: bool, closed: bool = True, idle: bool = False) -> list[Event]:
    chain = AnalyzerChain(tls_analyzers(keep_sse=keep_sse), strict=True)
    out = chain.process(events)
    last = events[-1].timestamp_ns
    if closed:
        out += chain.process([close(last + 1)])
    if idle:  # a stream that never ends: flushed by the HTTP analyzer's idle timeout (300 s)
        out += chain.tick(last) + chain.tick(last + 301 * 10**9)
    return out + chain.finish()


def same_output(events: list[Event], **kw: bool) -> list[Event]:
    """The default chain's output, checked equal to keep_sse=True's without its SseMessages."""
    whole = run_chain(events, keep_sse=False, **kw)
    parsed = [e for e in run_chain(events, keep_sse=True, **kw) if not isinstance(e.payload, SseMessage)]
    assert whole == parsed
    for e in whole:  # LlmCalls are built without validation: validating them must change nothing
        if isinstance(e.payload, LlmCall):
            again = LlmCall.model_validate(e.payload.__dict__)
            assert again == e.payload and again.model_dump_json() == e.payload.model_dump_json()
            event = Event.model_validate(e.__dict__)
            assert event == e and event.to_json() == e.to_json()
    return whole


@settings(max_examples=120, deadline=None)
@given(
    api=st.sampled_from(sorted(REQUESTS)),
    scenario=st.sampled_from(["text", "tool", "thinking", "stream_error"]),
    style=st.sampled_from(STYLES),
    gzipped=st.booleans(),
    sizes=st.lists(st.integers(min_value=1, max_value=400), max_size=6),
)
def test_any_split_same_calls_as_parsing_as_it_comes(
    api: str, scenario: str, style: str, gzipped: bool, sizes: list[int]
) -> None:
    request, body = sse_body(api, scenario, style)
    out = same_output(records(request, response_bytes(body, gzipped=gzipped), sizes))
    calls = [e.payload for e in out if isinstance(e.payload, LlmCall)]
    assert len(calls) == 1 and calls[0].response_text and not calls[0].partial
    assert calls[0].ttft_ns is not None


@settings(max_examples=40, deadline=None)
@given(
    api=st.sampled_from(sorted(REQUESTS)),
    style=st.sampled_from(STYLES),
    cut=st.floats(min_value=0.05, max_value=0.95),
    sizes=st.lists(st.integers(min_value=1, max_value=200), max_size=4),
)
def test_stream_that_never_ends_is_flushed(api: str, style: str, cut: float, sizes: list[int]) -> None:
    request, body = sse_body(api, "text", style)
    response = response_bytes(body, end=False)
    # wall-clock times: the tick clock is compared with them
    events = records(request, response[: int(len(response) * cut)], sizes, t0=1_800_000_000 * 10**9)
    for kw in ({"closed": False}, {"closed": False, "idle": True}, {"closed": True}):
        out = same_output(events, **kw)
        exchanges = [e.payload for e in out if isinstance(e.payload, HttpExchange)]
        assert len(exchanges) == 1 and not exchanges[0].complete
        assert ("idle" in exchanges[0].error) == ("idle" in kw)


class Collect:
    """An SseConsumer that records what it is given."""

    def __init__(self) -> None:
        self.got: list[tuple[list[str], list[str], list[int], bool]] = []

    def sse_begin_pass(self) -> None:
        pass

    def sse_for_exchange(self, exchange: HttpExchange, events: SseColumns, complete: bool) -> None:
        datas = [d.decode("utf-8", "replace") if isinstance(d, bytes) else d for d in events.datas]
        self.got.append((list(events.names), datas, list(events.times), complete))


def consumed(events: list[Event], *, sse: bool, max_events: int = 50_000, max_bytes: int = 1 << 26,
             **opts: Any) -> tuple[list[tuple[list[str], list[str], list[int], bool]], list[Event]]:
    a = HttpAnalyzer(sse=sse, keep_tls=False, **opts)
    c = Collect()
    a.send_sse_to(c, max_events=max_events, max_bytes=max_bytes)
    out = a.process_batch([*events, close(events[-1].timestamp_ns + 1)])
    return c.got, out + list(a.finish())


def as_parsed(out: list[Event]) -> tuple[list[str], list[str], list[int]]:
    sse = [(e.payload, e.timestamp_ns) for e in out if isinstance(e.payload, SseMessage)]
    return [m.event for m, _ in sse], [m.data for m, _ in sse], [t for _, t in sse]


@settings(max_examples=60, deadline=None)
@given(style=st.sampled_from(STYLES), limit=st.integers(min_value=0, max_value=3000),
       sizes=st.lists(st.integers(min_value=1, max_value=300), max_size=4))
def test_body_over_the_limit_still_gives_every_event(style: str, limit: int, sizes: list[int]) -> None:
    request, body = sse_body("anthropic", "tool", style)
    events = records(request, response_bytes(body), sizes)
    got, out = consumed(events, sse=False, body_limit=limit)
    ref, ref_out = consumed(events, sse=True, body_limit=limit)
    assert got == ref and len(got) == 1 and got[0][3]
    assert got[0][:3] == as_parsed(ref_out)
    exchanges = [e.payload for e in out if isinstance(e.payload, HttpExchange)]
    assert exchanges == [e.payload for e in ref_out if isinstance(e.payload, HttpExchange)]
    assert exchanges[0].response_body_truncated == (len(body) > limit)
    assert exchanges[0].response_body_size == len(body)


def test_event_split_over_records_is_dated_by_its_last_record() -> None:
    request, body = sse_body("openai_chat", "text", "lf")
    events = records(request, response_bytes(body, chunk=7), [1, 2, 3])
    got, _ = consumed(events, sse=False)
    _, ref_out = consumed(events, sse=True)
    assert len(got) == 1 and got[0][:3] == as_parsed(ref_out)
    assert len(set(got[0][2])) == len(got[0][2])  # one record never completes two events here


def test_per_response_bounds() -> None:
    request, body = sse_body("gemini", "text", "crlf")
    events = records(request, response_bytes(body), [50])
    everything, _ = consumed(events, sse=False)
    n = len(everything[0][0])
    for kw in ({"max_events": 3}, {"max_bytes": 400}):
        got, _ = consumed(events, sse=False, **kw)
        ref, _ = consumed(events, sse=True, **kw)
        assert got == ref and not got[0][3] and 0 < len(got[0][0]) < n


@settings(max_examples=20, deadline=None)
@given(api=st.sampled_from(sorted(REQUESTS)), style=st.sampled_from(["lf", "crlf", "cr", "comments"]),
       piece=st.integers(min_value=1, max_value=500), streams=st.integers(min_value=1, max_value=3))
def test_http2_streams(api: str, style: str, piece: int, streams: int) -> None:
    """Concurrent event streams on one HTTP/2 connection, DATA frames of any size."""
    p = H2Pair()
    request, body = sse_body(api, "tool", style)
    head, _, raw = request.partition(b"\r\n\r\n")
    path = head.split(b" ")[1]
    sids = [1 + 2 * k for k in range(streams)]
    for sid in sids:
        p.request(sid, req_headers(path, b"POST", extra=[(b"content-type", b"application/json")]), raw)
        p.server.send_headers(sid, [(b":status", b"200"), (b"content-type", b"text/event-stream")])
        p.flush()
    for i in range(0, len(body), piece):  # the streams' DATA interleaved
        for sid in sids:
            p.data(sid, body[i : i + piece], end=i + piece >= len(body))
    events = [tls(d, b, 1_000 + 10 * k) for k, (d, b) in enumerate(p.records)]
    out = same_output(events)
    calls = [e.payload for e in out if isinstance(e.payload, LlmCall)]
    assert sorted(c.stream_id or 0 for c in calls) == sids
    assert all(c.tool_calls and not c.partial and c.ttft_ns is not None for c in calls)


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=5),
       same=st.integers(min_value=1, max_value=4), limit=st.sampled_from([100_000, 1_500]))
def test_many_records_some_sharing_a_time(sizes: list[int], same: int, limit: int) -> None:
    """Hundreds of records (the body pieces are handed to the message in groups), runs of
    `same` records with one time, framing-only records: the times and bodies of parsing as it
    comes, under the body limit or past it."""
    request, body = sse_body("openai_chat", "tool", "lf")
    events = records(request, response_bytes(body, chunk=11), sizes)
    events = [events[0]] + [e.model_copy(update={"timestamp_ns": 1_000 + 10 * (i // same)}) for i, e in enumerate(events[1:])]
    assert len(events) > 300
    got, out = consumed(events, sse=False, body_limit=limit)
    ref, ref_out = consumed(events, sse=True, body_limit=limit)
    assert got == ref and got[0][:3] == as_parsed(ref_out)
    exchanges = [e.payload for e in out if isinstance(e.payload, HttpExchange)]
    assert exchanges == [e.payload for e in ref_out if isinstance(e.payload, HttpExchange)]
    assert exchanges[0].response_body_size == len(body)
