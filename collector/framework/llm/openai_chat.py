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

from orjson import JSONDecodeError
from orjson import loads as _loads

from ..core.events import HttpExchange
from ._common import CallBuilder, SseTuple, WireFormat, as_int, data_text, error_of, loads, text_of

_AZURE_DEPLOYMENT = re.compile(r"/deployments/([^/]+)/chat/completions$")


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
        texts = b.text
        for _event, raw, ts in items:
            try:
                obj = _loads(raw)  # valid JSON: the same as loads() of the stripped text
            except JSONDecodeError:
                data = data_text(raw).strip()
                if data == "[DONE]":
                    b.finished = True
                    continue
                if not data:
                    continue
                obj = loads(data)
            if not isinstance(obj, dict):
                continue
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
                                b.saw_content = True
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
