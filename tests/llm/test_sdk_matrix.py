"""Every API x scenario x streaming through the official SDKs against the fixture server, then
the recorded exchange through LlmAnalyzer: the LlmCall matches what the server sent, the
client asked, and what the SDK understood."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

from collector.framework.analyzers.llm import LlmAnalyzer
from collector.framework.core.events import LlmCall
from collector.framework.llm import extract
from collector.framework.protocols.message import SseColumns
from collector.framework.protocols.sse import split_body

from .helpers import (
    APIS,
    SCENARIOS,
    assert_call_matches,
    assert_sdk_agrees,
    events_of,
    is_sse,
    llm_calls,
    run_analyzer,
)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("api", APIS)
def test_sdk_then_extract(server, clients, api: str, scenario: str, stream: bool) -> None:
    view = clients.call(api, scenario, stream)
    records = server.wait_for(1)
    assert len(records) == 1
    record = records[0]
    assert record.api == api and record.plan is not None
    plan = record.plan

    # The SDK accepted the fixture's answer (or raised the matching error).
    if plan.status >= 400:
        assert view.error is not None
        if api != "gemini":
            assert isinstance(view.error, openai.APIStatusError | anthropic.APIStatusError)
            assert view.error.status_code == plan.status
        else:
            assert isinstance(view.error, httpx.HTTPStatusError)
    elif plan.stream_error:
        assert view.error is not None
        assert plan.error_message in str(view.error)
    else:
        assert view.error is None, view.error
        assert view.text == plan.text
        assert len(view.tool_calls) == len(plan.tool_calls)
    if scenario == "gzip" and not stream:
        assert ("content-encoding", "gzip") in record.response_headers
        assert record.wire_body != record.response_body

    sse, exchange = events_of(record)
    out = run_analyzer(LlmAnalyzer(), [*sse, exchange])
    # Everything passes through, the LlmCall comes right after the exchange.
    assert out[: len(sse) + 1] == [*sse, exchange]
    assert len(out) == len(sse) + 2
    assert isinstance(out[-1].payload, LlmCall)
    assert out[-1].pid == exchange.pid and out[-1].timestamp_ns == exchange.timestamp_ns
    call = next(llm_calls(out))
    assert_call_matches(call, record)
    if view.error is None:
        assert_sdk_agrees(call, view, api)

    if stream and is_sse(record):
        # The same body split whole, as the HTTP analyzer hands it over (data as bytes: the
        # readers' shape path), gives the same call. OpenAI chunks carry the random padding.
        if api == "openai_chat" and plan.status < 400:
            assert b'"obfuscation":"' in record.response_body
        found = split_body(record.response_body, [0], [exchange.timestamp_ns])
        assert found is not None
        names, datas, times = found
        columns = SseColumns(names, list(datas), times)
        whole, by_event = extract(exchange.payload, columns), extract(exchange.payload, sse)
        assert whole is not None and by_event is not None
        # (one time for every event here: the time to first token is the one field that differs)
        assert whole.model_dump(exclude={"ttft_ns"}) == by_event.model_dump(exclude={"ttft_ns"})
