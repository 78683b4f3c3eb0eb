"""OpenAI Chat Completions (`POST .../chat/completions`), also spoken by many compatible servers.

Streaming: `data: {chat.completion.chunk}` lines ending with `data: [DONE]`; tool call arguments
arrive as `choices[0].delta.tool_calls[i].function.arguments` fragments keyed by `index`;
usage arrives in a last chunk (with `stream_options.include_usage`). Reasoning text of
compatible servers (`delta.reasoning_content`, `delta.reasoning`) is kept as thinking.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import msgspec
from orjson import JSONDecodeError
from orjson import loads as _loads

from ..core.events import HttpExchange
from ._common import (
    TYPED_FAIL,
    TYPED_MAX,
    CallBuilder,
    Int64,
    SseTuple,
    WireFormat,
    as_int,
    data_text,
    error_of,
    loads,
    text_of,
)
from .shape import EventShape, Shapes

_AZURE_DEPLOYMENT = re.compile(r"/deployments/([^/]+)/chat/completions$")


# Typed decoding of the usual chunk (msgspec): only the fields read below are decoded, the rest
# is skipped in C. A field of another type than declared makes the decoder reject the chunk, and
# one that the typed path does not handle (Any: error, type, usage, function_call) is decoded but
# sends the chunk to `_read_event`, the dict walk over orjson's result: both give what that walk
# gives. (An int beyond int64 is rejected: orjson makes it a float.)


class _Function(msgspec.Struct, gc=False):
    name: str | None = None
    arguments: str | None = None


class _ToolCall(msgspec.Struct, gc=False):
    index: Int64 = 0
    id: str | None = None
    function: _Function | None = None


class _Delta(msgspec.Struct, gc=False):
    content: str | None = None
    refusal: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[_ToolCall] | None = None
    function_call: Any = None


class _Choice(msgspec.Struct, gc=False):
    index: Int64 = 0
    delta: _Delta | None = None
    finish_reason: str | None = None


class _Chunk(msgspec.Struct, gc=False):
    id: str | None = None
    model: str | None = None
    choices: list[_Choice] | None = None
    usage: Any = None
    error: Any = None
    type: Any = None


_CHUNK = msgspec.json.Decoder(_Chunk)


def _delta_of(chunk: _Chunk) -> _Delta | None:
    """Where the usual chunk's text is (for `Shapes.learn`)."""
    return chunk.choices[0].delta  # type: ignore[index]


def _typed_chunk(chunk: _Chunk, ts: int | None, b: CallBuilder) -> bool:
    """`_read_event` of a chunk the typed decoder took, or False (nothing done) if it holds
    something only that handles. Same order and checks as there."""
    if chunk.error is not None or chunk.type is not None or chunk.usage:
        return False
    choices = chunk.choices
    if choices:
        for choice in choices:
            delta = choice.delta
            if delta is not None and delta.function_call is not None:
                return False
    if not (b.response_id and b.response_model):
        b.set_ids(chunk.id, chunk.model)
    if choices:
        for choice in choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta is not None:
                text = delta.content
                if text:  # b.add_text(text, ts), in line
                    b.text.append(text)
                    if ts is not None and b.first_content_ts is None:
                        b.first_content_ts = ts
                if delta.refusal is not None:
                    b.add_text(delta.refusal, ts)
                if delta.reasoning_content is not None:
                    b.add_thinking(delta.reasoning_content, ts)
                if delta.reasoning is not None:
                    b.add_thinking(delta.reasoning, ts)
                calls = delta.tool_calls
                if calls:
                    for call in calls:
                        acc = b.tool(call.index)
                        if call.id:
                            acc.id = call.id
                        fn = call.function
                        if fn is not None:
                            if fn.name and not acc.name:
                                acc.name = fn.name
                            if fn.arguments:
                                acc.parts.append(fn.arguments)
                        b.content(ts)
            if choice.finish_reason:
                b.stop_reason = choice.finish_reason
    return True


def read_usage(usage: Any, b: CallBuilder) -> None:
    if not isinstance(usage, dict):
        return
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    cached = as_int(prompt_details.get("cached_tokens")) if isinstance(prompt_details, dict) else None
    if cached is None:
        cached = as_int(usage.get("prompt_cache_hit_tokens"))  # DeepSeek
    reasoning = (
        as_int(completion_details.get("reasoning_tokens"))
        if isinstance(completion_details, dict)
        else None
    )
    b.set_usage(
        input_tokens=as_int(usage.get("prompt_tokens")),
        output_tokens=as_int(usage.get("completion_tokens")),
        cache_read_tokens=cached,
        reasoning_tokens=reasoning,
    )


class ChatCompletions(WireFormat):
    provider = "openai"
    endpoint = "chat.completions"

    def match_path(self, path: str) -> bool:
        return path.rstrip("/").endswith("/chat/completions")

    def match_body(self, req: dict[str, Any], exchange: HttpExchange) -> bool:
        return isinstance(req.get("messages"), list) and "contents" not in req

    def request_fields(self, exchange: HttpExchange, req: dict[str, Any]) -> dict[str, Any]:
        messages = req.get("messages") or []
        system = "\n\n".join(
            text_of(m.get("content"))
            for m in messages
            if isinstance(m, dict) and m.get("role") in ("system", "developer")
        )
        model = req.get("model")
        if not isinstance(model, str) or not model:
            found = _AZURE_DEPLOYMENT.search(exchange.path.split("?", 1)[0])
            model = found.group(1) if found else ""
        tools = req.get("tools") or req.get("functions") or []
        return {
            "model": model,
            "system": system,
            "messages": [m for m in messages if isinstance(m, dict)],
            "tools": [t for t in tools if isinstance(t, dict)],
        }

    def read_stream(self, items: Iterable[SseTuple], b: CallBuilder) -> None:
        decode = _CHUNK.decode
        texts = b.text
        shapes = Shapes()
        shape: EventShape | None = None
        for _event, raw, ts in items:
            if type(raw) is bytes and len(raw) < TYPED_MAX:
                if shape is not None:
                    text = shape.text(raw)
                    if text is not None:  # the usual text chunk below, read by its shape
                        if text:
                            texts.append(text)
                            if b.first_content_ts is None and ts is not None:
                                b.first_content_ts = ts
                        continue
                try:
                    chunk = decode(raw)
                except TYPED_FAIL:
                    pass
                else:
                    # Most chunks: one choice whose delta has text alone, after the first (ids
                    # known): `_typed_chunk` in line, for that case only.
                    choices = chunk.choices
                    if (
                        choices is not None
                        and len(choices) == 1
                        and b.response_model
                        and b.response_id
                        and chunk.error is None
                        and chunk.type is None
                        and not chunk.usage
                    ):
                        choice = choices[0]
                        delta = choice.delta
                        if (
                            choice.index == 0
                            and delta is not None
                            and delta.tool_calls is None
                            and delta.function_call is None
                            and delta.refusal is None
                            and delta.reasoning_content is None
                            and delta.reasoning is None
                        ):
                            text = delta.content
                            if text:  # b.add_text(text, ts), in line
                                texts.append(text)
                                if ts is not None and b.first_content_ts is None:
                                    b.first_content_ts = ts
                            if choice.finish_reason:
                                b.stop_reason = choice.finish_reason
                            elif text:
                                shape = shapes.learn(raw, chunk, text, decode, _delta_of, "content", texts)
                            continue
                    if _typed_chunk(chunk, ts, b):
                        shape = shapes.shape = None  # an event treated otherwise: the state may differ
                        continue
            shape = shapes.shape = None  # an event treated otherwise: the state may differ
            self._read_event(raw, ts, b)

    def _read_event(self, raw: bytes | str, ts: int | None, b: CallBuilder) -> None:
        """One event the typed decoder did not take (or took but left to this), from its JSON."""
        texts = b.text
        try:
            obj = _loads(raw)  # valid JSON: the same as loads() of the stripped text
        except JSONDecodeError:
            data = data_text(raw).strip()
            if data == "[DONE]":
                b.finished = True
                return
            if not data:
                return
            obj = loads(data)
        if not isinstance(obj, dict):
            return
        if "error" in obj or obj.get("type") == "error":  # else error_of finds nothing
            b.set_error(error_of(obj))
        if not (b.response_id and b.response_model):  # set_ids keeps the first ones
            b.set_ids(obj.get("id"), obj.get("model"))
        choices = obj.get("choices")
        if choices:
            for choice in choices:
                if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                    continue
                delta = choice.get("delta")
                if delta and isinstance(delta, dict):
                    if len(delta) == 1 and "content" in delta:
                        # most chunks: b.add_text(delta["content"], ts), in line
                        text = delta["content"]
                        if isinstance(text, str) and text:
                            texts.append(text)
                            if ts is not None and b.first_content_ts is None:
                                b.first_content_ts = ts
                    else:
                        self._delta(delta, ts, b)
                reason = choice.get("finish_reason")
                if reason:
                    b.stop_reason = str(reason)
        usage = obj.get("usage")
        if usage:
            read_usage(usage, b)

    def _delta(self, delta: dict[str, Any], ts: int | None, b: CallBuilder) -> None:
        value = delta.get("content")
        if value is not None:
            b.add_text(value, ts)
        value = delta.get("refusal")
        if value is not None:
            b.add_text(value, ts)
        value = delta.get("reasoning_content")
        if value is not None:
            b.add_thinking(value, ts)
        value = delta.get("reasoning")
        if value is not None:
            b.add_thinking(value, ts)
        calls = delta.get("tool_calls")
        if calls:
            for call in calls:
                if not isinstance(call, dict):
                    continue
                acc = b.tool(call.get("index", 0))
                if call.get("id"):
                    acc.id = str(call["id"])
                fn = call.get("function") or {}
                if isinstance(fn, dict):
                    if fn.get("name") and not acc.name:
                        acc.name = str(fn["name"])
                    if isinstance(fn.get("arguments"), str) and fn["arguments"]:
                        acc.parts.append(fn["arguments"])
                b.content(ts)
        fn = delta.get("function_call")  # legacy `functions`
        if isinstance(fn, dict):
            acc = b.tool("function_call")
            if fn.get("name"):
                acc.name = str(fn["name"])
            if isinstance(fn.get("arguments"), str):
                acc.parts.append(fn["arguments"])
            b.content(ts)

    def read_body(self, body: Any, b: CallBuilder) -> None:
        if not isinstance(body, dict):
            return
        b.set_error(error_of(body))
        b.set_ids(body.get("id"), body.get("model"))
        choices = body.get("choices") or []
        choice = next((c for c in choices if isinstance(c, dict) and c.get("index", 0) == 0), None)
        if choice is not None:
            message = choice.get("message") or {}
            if isinstance(message, dict):
                b.add_text(text_of(message.get("content")))
                b.add_text(message.get("refusal"))
                b.add_thinking(message.get("reasoning_content"))
                b.add_thinking(message.get("reasoning"))
                for call in message.get("tool_calls") or []:
                    if isinstance(call, dict):
                        fn = call.get("function") or {}
                        b.add_tool(call.get("id"), fn.get("name"), fn.get("arguments"))
                fn = message.get("function_call")
                if isinstance(fn, dict):
                    b.add_tool("", fn.get("name"), fn.get("arguments"))
            if choice.get("finish_reason"):
                b.stop_reason = str(choice["finish_reason"])
        read_usage(body.get("usage"), b)


FORMAT = ChatCompletions()
