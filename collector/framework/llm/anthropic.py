"""Anthropic Messages (`POST .../v1/messages`; also Vertex/Bedrock `:rawPredict` style bodies).

Streaming events: message_start (id, model, input usage), content_block_start / _delta / _stop
(text_delta, thinking_delta, signature_delta, input_json_delta), message_delta (stop_reason,
output usage), message_stop, ping, error. Thinking blocks are kept apart from the text; a
tool_use block's arguments are its concatenated `input_json_delta.partial_json`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from ..core.events import HttpExchange
from ._common import (
    TYPED_FAIL,
    TYPED_MAX,
    CallBuilder,
    Int64,
    SseTuple,
    WireFormat,
    as_int,
    dumps,
    error_of,
    header,
    load_data,
    text_of,
)
from .shape import EventShape, Shapes

_TOOL_BLOCKS = ("tool_use", "server_tool_use", "mcp_tool_use")


# Typed decoding (msgspec) of the events: only the fields a content_block_delta is read by are
# decoded, the rest is skipped in C; a field of another type than declared makes the decoder
# reject the event. A content_block_delta it took is read by `_typed_delta`, everything else as
# before from orjson's result: both give what the dict walk in `read_stream` gives. (An int beyond
# int64 is rejected: orjson makes it a float.)


class _Delta(msgspec.Struct, gc=False):
    type: str | None = None
    text: str | None = None
    thinking: str | None = None
    partial_json: str | None = None


class _Event(msgspec.Struct, gc=False):
    type: str | None = None
    index: Int64 | None = None
    delta: _Delta | None = None


_EVENT = msgspec.json.Decoder(_Event)


def _delta_of(obj: _Event) -> _Delta | None:
    """Where a delta event's text is (for `Shapes.learn`)."""
    return obj.delta


def _typed_delta(obj: _Event, ts: int | None, b: CallBuilder) -> None:
    """The content_block_delta branch of `Messages.read_stream`, on a typed event."""
    delta = obj.delta
    dtype = delta.type if delta is not None else None
    if dtype == "text_delta":
        text = delta.text if delta is not None else None
        if text:  # b.add_text(text, ts), in line
            b.text.append(text)
            if ts is not None and b.first_content_ts is None:
                b.first_content_ts = ts
    elif dtype == "thinking_delta":
        b.add_thinking(delta.thinking if delta is not None else None, ts)
    elif dtype == "input_json_delta":
        fragment = delta.partial_json if delta is not None else None
        if fragment is not None:
            b.tool(obj.index or 0).parts.append(fragment)
        b.content(ts)
    else:  # signature_delta, citations_delta, none
        b.content(ts)


def read_usage(usage: Any, b: CallBuilder) -> None:
    if isinstance(usage, dict):
        b.set_usage(
            input_tokens=as_int(usage.get("input_tokens")),
            output_tokens=as_int(usage.get("output_tokens")),
            cache_read_tokens=as_int(usage.get("cache_read_input_tokens")),
            cache_creation_tokens=as_int(usage.get("cache_creation_input_tokens")),
        )


class Messages(WireFormat):
    provider = "anthropic"
    endpoint = "messages"

    def match_path(self, path: str) -> bool:
        path = path.rstrip("/")
        return path.endswith("/messages") or path.endswith(":rawPredict") or path.endswith(
            ":streamRawPredict"
        )

    def match_body(self, req: dict[str, Any], exchange: HttpExchange) -> bool:
        if not isinstance(req.get("messages"), list):
            return False
        return (
            "max_tokens" in req
            or "anthropic_version" in req
            or bool(header(exchange.request_headers, "anthropic-version"))
        )

    def is_stream(self, exchange: HttpExchange, req: dict[str, Any]) -> bool:
        return bool(req.get("stream")) or exchange.path.split("?", 1)[0].endswith(
            ":streamRawPredict"
        )

    def request_fields(self, exchange: HttpExchange, req: dict[str, Any]) -> dict[str, Any]:
        model = req.get("model")
        if not isinstance(model, str) or not model:
            # Vertex: .../publishers/anthropic/models/{model}:streamRawPredict
            path = exchange.path.split("?", 1)[0]
            tail = path.rsplit("/models/", 1)[-1] if "/models/" in path else ""
            model = tail.split(":", 1)[0]
        system = req.get("system")
        return {
            "model": model,
            "system": text_of(system) if system is not None else "",
            "messages": [m for m in req.get("messages") or [] if isinstance(m, dict)],
            "tools": [t for t in req.get("tools") or [] if isinstance(t, dict)],
        }

    def read_stream(self, items: Iterable[SseTuple], b: CallBuilder) -> None:
        blocks: dict[int, str] = {}
        decode = _EVENT.decode
        shapes = Shapes()
        shape: EventShape | None = None
        for event, raw, ts in items:
            if type(raw) is bytes and len(raw) < TYPED_MAX:
                if shape is not None:
                    text = shape.text(raw)
                    if text is not None:  # a text or thinking delta, read by its shape
                        if text:
                            shape.into.append(text)
                            if b.first_content_ts is None and ts is not None:
                                b.first_content_ts = ts
                        continue
                try:
                    typed = decode(raw)
                except TYPED_FAIL:
                    pass
                else:
                    if (typed.type or event) == "content_block_delta":
                        _typed_delta(typed, ts, b)
                        got = typed.delta
                        if typed.type and got is not None:
                            if got.type == "text_delta" and got.text:
                                shape = shapes.learn(raw, typed, got.text, decode, _delta_of, "text", b.text)
                            elif got.type == "thinking_delta" and got.thinking:
                                shape = shapes.learn(
                                    raw, typed, got.thinking, decode, _delta_of, "thinking", b.thinking
                                )
                        continue
            shape = shapes.shape = None  # an event treated otherwise
            obj = load_data(raw)
            if not isinstance(obj, dict):
                continue
            etype = obj.get("type") or event
            if etype == "content_block_delta":  # most events: tested first
                delta = obj.get("delta") or {}
                if not isinstance(delta, dict):
                    continue
                dtype = delta.get("type")
                if dtype == "text_delta":
                    text = delta.get("text")
                    if isinstance(text, str) and text:  # b.add_text(text, ts), in line
                        b.text.append(text)
                        if ts is not None and b.first_content_ts is None:
                            b.first_content_ts = ts
                elif dtype == "thinking_delta":
                    b.add_thinking(delta.get("thinking"), ts)
                elif dtype == "input_json_delta":
                    fragment = delta.get("partial_json")
                    if isinstance(fragment, str):
                        b.tool(as_int(obj.get("index")) or 0).parts.append(fragment)
                    b.content(ts)
                else:  # signature_delta, citations_delta
                    b.content(ts)
            elif etype == "message_start":
                message = obj.get("message") or {}
                if isinstance(message, dict):
                    b.set_ids(message.get("id"), message.get("model"))
                    read_usage(message.get("usage"), b)
            elif etype == "content_block_start":
                index = as_int(obj.get("index")) or 0
                block = obj.get("content_block") or {}
                if not isinstance(block, dict):
                    continue
                kind = str(block.get("type") or "")
                blocks[index] = kind
                if kind == "text":
                    b.add_text(block.get("text"), ts)
                elif kind == "thinking":
                    b.add_thinking(block.get("thinking"), ts)
                elif kind in _TOOL_BLOCKS:
                    acc = b.tool(index)
                    acc.id = str(block.get("id") or "")
                    acc.name = str(block.get("name") or "")
                    initial = block.get("input")
                    if initial is not None:
                        acc.fallback = dumps(initial)
            elif etype == "message_delta":
                delta = obj.get("delta") or {}
                if isinstance(delta, dict) and delta.get("stop_reason"):
                    b.stop_reason = str(delta["stop_reason"])
                read_usage(obj.get("usage"), b)
            elif etype == "message_stop":
                b.finished = True
            elif etype == "error":
                b.set_error(error_of(obj))

    def read_body(self, body: Any, b: CallBuilder) -> None:
        if not isinstance(body, dict):
            return
        b.set_error(error_of(body))
        b.set_ids(body.get("id"), body.get("model"))
        for block in body.get("content") or []:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text":
                b.add_text(block.get("text"))
            elif kind == "thinking":
                b.add_thinking(block.get("thinking"))
            elif kind in _TOOL_BLOCKS:
                b.add_tool(block.get("id"), block.get("name"), block.get("input", {}))
        if body.get("stop_reason"):
            b.stop_reason = str(body["stop_reason"])
        read_usage(body.get("usage"), b)


FORMAT = Messages()
