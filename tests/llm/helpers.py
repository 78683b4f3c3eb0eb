"""Helpers for the LLM tests: SDK drivers for the fixture, Events built from its recordings,
and the field-by-field comparison of an LlmCall with what the server sent."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anthropic
import httpx
import httpx2
import openai

from collector.framework.core.events import Event, HttpExchange, LlmCall, SseMessage
from tests.fixtures.llm_server import LlmServer, Record, cut_text

APIS = ("openai_chat", "openai_responses", "anthropic", "gemini")
SCENARIOS = ("text", "tool", "thinking", "stream_error", "gzip", "error_429", "error_500")
MODELS = {
    "openai_chat": "gpt-4o-fixture",
    "openai_responses": "gpt-5-fixture",
    "anthropic": "claude-fixture-1",
    "gemini": "gemini-2.5-flash",
}
ENDPOINT = {"openai_chat": "chat.completions", "openai_responses": "responses", "anthropic": "messages"}
PROVIDER = {"openai_chat": "openai", "openai_responses": "openai", "anthropic": "anthropic", "gemini": "gemini"}
SYSTEM = "You are a terse assistant. Système ✓"
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"],
}
T0 = 1_700_000_000_000_000_000
STEP = 1_000_000


@dataclass
class SdkView:
    """What the SDK made of the answer (or the error it raised)."""

    text: str = ""
    thinking: str = ""
    tool_calls: list[tuple[str, str, Any]] = field(default_factory=list)
    error: BaseException | None = None


class Clients:
    def __init__(self, server: LlmServer) -> None:
        ctx = ssl.create_default_context(cafile=server.ca_path)
        self.server = server
        self.httpx = httpx.Client(verify=ctx, timeout=30)
        self.openai = openai.OpenAI(
            base_url=server.base_url + "/v1", api_key="sk-test-fixture", http_client=self.httpx, max_retries=0
        )
        self.anthropic = anthropic.Anthropic(
            base_url=server.base_url,
            api_key="sk-ant-test-fixture",
            http_client=httpx2.Client(verify=ctx, timeout=30),
            max_retries=0,
        )

    def close(self) -> None:
        self.httpx.close()
        self.anthropic.close()

    def call(self, api: str, scenario: str, stream: bool, prompt: str = "What is the weather in Paris?") -> SdkView:
        text = f"{prompt} scenario:{scenario}"
        view = SdkView()
        try:
            getattr(self, "call_" + api)(text, stream, view)
        except (openai.APIError, anthropic.APIError, httpx.HTTPStatusError, RuntimeError) as exc:
            view.error = exc
        return view

    def call_openai_chat(self, text: str, stream: bool, view: SdkView) -> None:
        kwargs: dict[str, Any] = {
            "model": MODELS["openai_chat"],
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                                        "parameters": WEATHER_SCHEMA}}],
        }
        if stream:
            # obfuscation: the API's default, which the fixture follows only when asked
            options = {"include_usage": True, "include_obfuscation": True}
            with self.openai.chat.completions.stream(**kwargs, stream_options=options) as st:
                for _ in st:
                    pass
                completion = st.get_final_completion()
        else:
            completion = self.openai.chat.completions.create(**kwargs)
        message = completion.choices[0].message
        view.text = message.content or ""
        view.thinking = getattr(message, "reasoning_content", None) or ""
        view.tool_calls = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []]

    def call_openai_responses(self, text: str, stream: bool, view: SdkView) -> None:
        kwargs: dict[str, Any] = {
            "model": MODELS["openai_responses"],
            "instructions": SYSTEM,
            "input": [{"role": "user", "content": [{"type": "input_text", "text": text}]}],
            "tools": [{"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA, "strict": False}],
        }
        if stream:
            with self.openai.responses.stream(**kwargs) as st:
                for event in st:
                    if event.type == "error":
                        raise RuntimeError(event.message)
                response = st.get_final_response()
        else:
            response = self.openai.responses.create(**kwargs)
        view.text = response.output_text
        for item in response.output:
            if item.type == "reasoning":
                view.thinking += "".join(s.text for s in item.summary)
            elif item.type == "function_call":
                view.tool_calls.append((item.call_id, item.name, json.loads(item.arguments)))

    def call_anthropic(self, text: str, stream: bool, view: SdkView) -> None:
        kwargs: dict[str, Any] = {
            "model": MODELS["anthropic"],
            "max_tokens": 1024,
            "system": SYSTEM,
            "messages": [{"role": "user", "content": text}],
            "tools": [{"name": "get_weather", "description": "Weather", "input_schema": WEATHER_SCHEMA}],
        }
        if stream:
            with self.anthropic.messages.stream(**kwargs) as st:
                for _ in st:
                    pass
                message = st.get_final_message()
        else:
            message = self.anthropic.messages.create(**kwargs)
        for block in message.content:
            if block.type == "text":
                view.text += block.text
            elif block.type == "thinking":
                view.thinking += block.thinking
            elif block.type == "tool_use":
                view.tool_calls.append((block.id, block.name, block.input))

    def call_gemini(self, text: str, stream: bool, view: SdkView) -> None:
        body = {
            "systemInstruction": {"parts": [{"text": SYSTEM}]},
            "contents": [{"role": "user", "parts": [{"text": text}]}],
            "tools": [{"functionDeclarations": [{"name": "get_weather", "description": "Weather",
                                                 "parameters": WEATHER_SCHEMA}]}],
        }
        model = MODELS["gemini"]
        url = f"{self.server.base_url}/v1beta/models/{model}:" + (
            "streamGenerateContent?alt=sse" if stream else "generateContent"
        )
        headers = {"x-goog-api-key": "fixture-key"}
        if stream:
            chunks = []
            with self.httpx.stream("POST", url, json=body, headers=headers) as resp:
                if resp.is_error:
                    resp.read()  # as the real SDKs do, for the error message
                resp.raise_for_status()
                for line in resp.iter_lines():
                    if line.startswith("data: "):
                        chunks.append(json.loads(line[6:]))
        else:
            resp = self.httpx.post(url, json=body, headers=headers)
            resp.raise_for_status()
            chunks = [resp.json()]
        for chunk in chunks:
            if "error" in chunk:
                raise RuntimeError(chunk["error"]["message"])
            for part in chunk["candidates"][0]["content"]["parts"]:
                if "functionCall" in part:
                    view.tool_calls.append(("", part["functionCall"]["name"], part["functionCall"]["args"]))
                elif part.get("thought"):
                    view.thinking += part["text"]
                else:
                    view.text += part.get("text", "")


# --- Events from a recording --------------------------------------------------------------


def is_sse(record: Record) -> bool:
    return any(k == "content-type" and v.startswith("text/event-stream") for k, v in record.response_headers)


def exchange_of(record: Record, *, conn: int = 1, stream_id: int | None = None, t0: int = T0,
                n_events: int | None = None) -> HttpExchange:
    n = len(record.sse) if n_events is None else n_events
    host = next((v for k, v in record.request_headers if k.lower() == "host"), "")
    return HttpExchange(
        conn=conn,
        stream_id=stream_id,
        method=record.method,
        url=f"https://{host}{record.path}" + (f"?{record.query}" if record.query else ""),
        host=host,
        path=record.path,
        query=record.query,
        status=record.status,
        request_headers=record.request_headers,
        response_headers=record.response_headers,
        request_body=record.request_body,
        response_body=record.response_body,
        request_body_size=len(record.request_body),
        response_body_size=len(record.response_body),
        request_start_ns=t0,
        response_first_byte_ns=t0 + STEP,
        end_ns=t0 + (n + 2) * STEP,
    )


def events_of(record: Record, *, pid: int = 4242, conn: int = 1, stream_id: int | None = None,
              t0: int = T0) -> tuple[list[Event], Event]:
    """(SseMessage Events, final HttpExchange Event) as the HTTP analyzer would emit them."""
    sse_events = []
    if is_sse(record):
        for i, (event, data) in enumerate(record.sse):
            msg = SseMessage(conn=conn, stream_id=stream_id, index=i, event=event or "message", data=data)
            sse_events.append(Event(timestamp_ns=t0 + (i + 2) * STEP, source="http", pid=pid, payload=msg))
    exchange = exchange_of(record, conn=conn, stream_id=stream_id, t0=t0)
    return sse_events, Event(timestamp_ns=exchange.end_ns, source="http", pid=pid, payload=exchange)


def first_content_index(record: Record) -> int | None:
    """Index of the first SSE event carrying content (by each API's rules), from the raw data."""
    for i, (_event, data) in enumerate(record.sse):
        if data == "[DONE]":
            continue
        obj = json.loads(data)
        if record.api == "openai_chat":
            for ch in obj.get("choices") or []:
                d = ch.get("delta") or {}
                if d.get("content") or d.get("reasoning_content") or d.get("tool_calls"):
                    return i
        elif record.api == "anthropic":
            if obj.get("type") == "content_block_delta":
                return i
        elif record.api == "openai_responses":
            if obj.get("type", "").endswith(".delta"):
                return i
        else:
            for c in obj.get("candidates") or []:
                if any(p.get("text") or p.get("functionCall") for p in c["content"]["parts"]):
                    return i
    return None


# --- comparison ----------------------------------------------------------------------------


def expected_request(record: Record) -> dict[str, Any]:
    req = record.request_json
    if record.api == "openai_chat":
        return {"system": SYSTEM, "messages": req["messages"], "tools": req["tools"]}
    if record.api == "openai_responses":
        return {"system": SYSTEM, "messages": req["input"], "tools": req["tools"]}
    if record.api == "anthropic":
        return {"system": SYSTEM, "messages": req["messages"], "tools": req["tools"]}
    return {"system": SYSTEM, "messages": req["contents"], "tools": req["tools"][0]["functionDeclarations"]}


def assert_validates_to_itself(call: LlmCall) -> None:
    """LlmCalls are built without validation: validating the same values must change nothing."""
    again = LlmCall.model_validate(call.__dict__)
    assert again == call and again.model_dump_json() == call.model_dump_json()
    assert call.model_fields_set == set(LlmCall.model_fields)


def assert_call_matches(call: LlmCall, record: Record, *, conn: int = 1, t0: int = T0,
                        with_timestamps: bool = True, allow_partial: bool = False) -> None:
    plan = record.plan
    assert plan is not None
    assert_validates_to_itself(call)
    assert call.provider == PROVIDER[record.api]
    gemini_endpoint = "streamGenerateContent" if plan.stream else "generateContent"
    assert call.endpoint == ENDPOINT.get(record.api, gemini_endpoint)
    assert call.model == plan.model
    assert call.stream == plan.stream
    assert call.status == record.status
    assert call.conn == conn
    assert call.path == record.path
    for key, value in expected_request(record).items():
        assert getattr(call, key) == value, key
    if plan.stream_error and plan.stream:
        assert call.response_text == cut_text(plan.text)
        assert call.tool_calls == []
    else:
        assert call.response_text == plan.text
        assert [(t.id, t.name) for t in call.tool_calls] == [(t.id, t.name) for t in plan.tool_calls]
        for got, sent in zip(call.tool_calls, plan.tool_calls, strict=True):
            if plan.stream and record.api != "gemini":
                assert got.arguments == sent.arguments  # the deltas, concatenated
            assert json.loads(got.arguments) == json.loads(sent.arguments)
    assert call.thinking == plan.thinking
    assert call.stop_reason == plan.stop_reason
    for key in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "reasoning_tokens"):
        assert getattr(call.usage, key) == plan.usage.get(key), key
    if record.status >= 400 or plan.stream_error:
        assert call.error == plan.error_message, (call.error, plan.api, plan.scenario, plan.stream, call.status)
        assert call.error_type == plan.error_type
    else:
        assert call.error == "" and call.error_type == "", (call.error, call.error_type, call.partial, plan.api, plan.scenario)
    if record.status >= 400:
        assert call.response_id == ""
    else:
        assert call.response_id == plan.response_id
        assert call.response_model == plan.model
    request_id = next((v for k, v in record.response_headers if k in ("x-request-id", "request-id")), "")
    assert call.request_id == request_id
    assert call.request_start_ns == t0
    if with_timestamps:
        n = len(record.sse)
        assert call.duration_ns == (n + 2) * STEP
        if record.status >= 400:
            assert call.ttft_ns is None  # an error answer has no first token
        elif is_sse(record):
            first = first_content_index(record)
            assert call.ttft_ns == (None if first is None else (first + 2) * STEP)
        else:
            assert call.ttft_ns == STEP
    if not allow_partial:
        assert not call.partial


def assert_sdk_agrees(call: LlmCall, view: SdkView, api: str) -> None:
    """The LlmCall says what the SDK understood."""
    assert call.response_text == view.text
    assert call.thinking == view.thinking
    assert [(t.id, t.name, json.loads(t.arguments)) for t in call.tool_calls] == view.tool_calls


def run_analyzer(analyzer: Any, events: list[Event]) -> list[Event]:
    out: list[Event] = []
    for ev in events:
        out.extend(analyzer.process(ev))
    out.extend(analyzer.finish())
    return out


def llm_calls(events: list[Event]) -> Iterator[LlmCall]:
    for ev in events:
        if isinstance(ev.payload, LlmCall):
            yield ev.payload
