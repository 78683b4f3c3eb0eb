"""Google Gemini `models/{model}:generateContent` and `:streamGenerateContent` (SSE with
`alt=sse`, else one JSON array), on generativelanguage.googleapis.com or Vertex AI.

Each streamed chunk is a whole GenerateContentResponse: text parts concatenate (parts with
`thought: true` are thinking), `functionCall` parts are complete calls, and the last
`usageMetadata` / `finishReason` win.
"""

from __future__ import annotations

import re
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
    error_of,
    load_data,
)
from .shape import EventShape, Shapes

_PATH = re.compile(r"/models/([^/:]+):(generateContent|streamGenerateContent)$")


# Typed decoding (msgspec) of the usual streamed chunk: only the camelCase fields read below are
# decoded, the rest is skipped in C. A field of another type than declared makes the decoder
# reject the chunk; one the typed path does not handle (Any: error, type, function calls, prompt
# feedback, any snake_case spelling) is decoded but sends the chunk to the dict walk over
# orjson's result (`_read_content`): both give what that walk gives. (An int beyond int64 is
# rejected: orjson makes it a float.)


class _Part(msgspec.Struct, gc=False):
    text: str | None = None
    thought: bool | None = None
    functionCall: Any = None
    function_call: Any = None


class _Content(msgspec.Struct, gc=False):
    parts: list[_Part] | None = None


class _Candidate(msgspec.Struct, gc=False):
    index: Int64 = 0
    content: _Content | None = None
    finishReason: str | None = None
    finish_reason: Any = None


class _Usage(msgspec.Struct, gc=False):
    promptTokenCount: Int64 | None = None
    candidatesTokenCount: Int64 | None = None
    cachedContentTokenCount: Int64 | None = None
    thoughtsTokenCount: Int64 | None = None
    prompt_token_count: Any = None
    candidates_token_count: Any = None
    cached_content_token_count: Any = None
    thoughts_token_count: Any = None


class _Chunk(msgspec.Struct, gc=False):
    candidates: list[_Candidate] | None = None
    usageMetadata: _Usage | None = None
    modelVersion: str | None = None
    responseId: str | None = None
    usage_metadata: Any = None
    model_version: Any = None
    response_id: Any = None
    promptFeedback: Any = None
    prompt_feedback: Any = None
    error: Any = None
    type: Any = None


_CHUNK = msgspec.json.Decoder(_Chunk)


def _part_of(chunk: _Chunk) -> _Part:
    """Where the usual chunk's text is (for `Shapes.learn`)."""
    return chunk.candidates[0].content.parts[0]  # type: ignore[index,union-attr]


def _typed_chunk(chunk: _Chunk, ts: int | None, b: CallBuilder) -> bool:
    """`_read_content` of a chunk the typed decoder took, or False (nothing done) if it holds
    something only that handles (then its usage is left to the caller's dict path too)."""
    if (
        chunk.error is not None
        or chunk.type is not None
        or chunk.response_id is not None
        or chunk.model_version is not None
        or chunk.promptFeedback is not None
        or chunk.prompt_feedback is not None
    ):
        return False
    usage = chunk.usageMetadata
    if usage is None:
        if chunk.usage_metadata is not None:
            return False
    elif (
        usage.prompt_token_count is not None
        or usage.candidates_token_count is not None
        or usage.cached_content_token_count is not None
        or usage.thoughts_token_count is not None
    ):
        return False
    candidate = None
    if chunk.candidates:
        for c in chunk.candidates:
            if c.index == 0:
                candidate = c
                break
    if candidate is not None:
        if candidate.finish_reason is not None:
            return False
        content = candidate.content
        parts = content.parts if content is not None else None
        if parts:
            for part in parts:
                if part.functionCall is not None or part.function_call is not None:
                    return False
    if not (b.response_id and b.response_model):
        b.set_ids(chunk.responseId, chunk.modelVersion)
    if candidate is not None:
        if parts:
            for part in parts:
                text = part.text
                if text is not None:
                    if part.thought:
                        b.add_thinking(text, ts)
                    elif text:
                        b.text.append(text)
                        if ts is not None and b.first_content_ts is None:
                            b.first_content_ts = ts
        reason = candidate.finishReason
        if reason:
            b.stop_reason = reason
            b.finished = True
    return True


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def read_chunk(chunk: Any, ts: int | None, b: CallBuilder) -> None:
    """One GenerateContentResponse (a whole body, or one streamed chunk) into `b`."""
    if not isinstance(chunk, dict):
        return
    _read_content(chunk, ts, b)
    usage = chunk.get("usageMetadata")
    if usage is None:
        usage = chunk.get("usage_metadata")
    if isinstance(usage, dict):
        _read_usage(usage, b.usage)


def _read_content(chunk: dict[str, Any], ts: int | None, b: CallBuilder) -> None:
    """All of a chunk but its usage. Runs once per streamed chunk: the camelCase / snake_case
    lookups (`_get`) and the usual text part (`b.add_text`) are written out inline."""
    if "error" in chunk or chunk.get("type") == "error":  # else error_of finds nothing
        b.set_error(error_of(chunk))
    if not (b.response_id and b.response_model):  # set_ids keeps the first ones
        b.set_ids(_get(chunk, "responseId", "response_id"), _get(chunk, "modelVersion", "model_version"))
    candidates = chunk.get("candidates")
    candidate = None
    if candidates:
        for c in candidates:
            if isinstance(c, dict) and c.get("index", 0) == 0:
                candidate = c
                break
    if candidate is not None:
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        if parts:
            for part in parts:
                if not isinstance(part, dict):
                    continue
                text = part.get("text")
                if isinstance(text, str):
                    if part.get("thought"):
                        b.add_thinking(text, ts)
                    elif text:
                        b.text.append(text)
                        if ts is not None and b.first_content_ts is None:
                            b.first_content_ts = ts
                call = part.get("functionCall")
                if call is None:
                    call = part.get("function_call")
                if isinstance(call, dict):
                    b.add_tool(call.get("id"), call.get("name"), call.get("args", {}))
                    b.content(ts)
        reason = candidate.get("finishReason")
        if reason is None:
            reason = candidate.get("finish_reason")
        if reason:
            b.stop_reason = str(reason)
            b.finished = True
    feedback = chunk.get("promptFeedback")
    if feedback is None:
        feedback = chunk.get("prompt_feedback")
    if isinstance(feedback, dict) and _get(feedback, "blockReason", "block_reason"):
        b.stop_reason = str(_get(feedback, "blockReason", "block_reason"))


_USAGE = (
    ("promptTokenCount", "prompt_token_count", "input_tokens"),
    ("candidatesTokenCount", "candidates_token_count", "output_tokens"),
    ("cachedContentTokenCount", "cached_content_token_count", "cache_read_tokens"),
    ("thoughtsTokenCount", "thoughts_token_count", "reasoning_tokens"),
)


def _read_usage(usage: dict[str, Any], known: dict[str, int]) -> bool:
    """b.set_usage of a usageMetadata (camelCase, else snake_case keys). Returns False if a
    count was a bool (equal to an int, but not taken as one): see `read_stream`."""
    plain = True
    for camel, snake, name in _USAGE:
        value = usage.get(camel)
        if value is None:
            value = usage.get(snake)
        if value is not None:
            number = as_int(value)
            if number is not None:
                known[name] = number
            elif isinstance(value, bool):
                plain = False
    return plain



def _read_typed_usage(usage: _Usage, known: dict[str, int]) -> None:
    """The typed twin of `_read_usage`: the counts a chunk's usageMetadata gives."""
    if usage.promptTokenCount is not None:
        known["input_tokens"] = usage.promptTokenCount
    if usage.candidatesTokenCount is not None:
        known["output_tokens"] = usage.candidatesTokenCount
    if usage.cachedContentTokenCount is not None:
        known["cache_read_tokens"] = usage.cachedContentTokenCount
    if usage.thoughtsTokenCount is not None:
        known["reasoning_tokens"] = usage.thoughtsTokenCount

class GenerateContent(WireFormat):
    provider = "gemini"
    endpoint = "generateContent"

    def match_path(self, path: str) -> bool:
        return _PATH.search(path) is not None

    def match_body(self, req: dict[str, Any], exchange: HttpExchange) -> bool:
        return isinstance(req.get("contents"), list)

    def endpoint_for(self, exchange: HttpExchange) -> str:
        found = _PATH.search(exchange.path.split("?", 1)[0])
        return found.group(2) if found else self.endpoint

    def is_stream(self, exchange: HttpExchange, req: dict[str, Any]) -> bool:
        return self.endpoint_for(exchange) == "streamGenerateContent"

    def request_fields(self, exchange: HttpExchange, req: dict[str, Any]) -> dict[str, Any]:
        found = _PATH.search(exchange.path.split("?", 1)[0])
        model = found.group(1) if found else str(req.get("model") or "")
        system_obj = _get(req, "systemInstruction", "system_instruction")
        system = ""
        if isinstance(system_obj, dict):
            system = "".join(
                p["text"]
                for p in system_obj.get("parts") or []
                if isinstance(p, dict) and isinstance(p.get("text"), str)
            )
        elif isinstance(system_obj, str):
            system = system_obj
        tools: list[dict[str, Any]] = []
        for tool in req.get("tools") or []:
            if not isinstance(tool, dict):
                continue
            decls = _get(tool, "functionDeclarations", "function_declarations")
            if isinstance(decls, list):
                tools.extend(d for d in decls if isinstance(d, dict))
            else:
                tools.append(tool)
        return {
            "model": model,
            "system": system,
            "messages": [m for m in req.get("contents") or [] if isinstance(m, dict)],
            "tools": tools,
        }

    def read_stream(self, items: Iterable[SseTuple], b: CallBuilder) -> None:
        # Each chunk repeats the usage so far: one equal to the last one read (with no bool
        # count, which would compare equal to an int) would set the same fields again. `last`
        # is that usage as read (a dict, or a typed _Usage: the two never compare equal).
        last: Any = None
        decode = _CHUNK.decode
        shapes = Shapes()
        shape: EventShape | None = None
        for _event, raw, ts in items:
            if type(raw) is bytes and len(raw) < TYPED_MAX:
                if shape is not None:
                    text = shape.text(raw)
                    if text is not None:  # the usual chunk below, read by its shape
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
                    # Most chunks: text parts of candidate 0 alone, after the first (ids known):
                    # `_typed_chunk` in line, for that case only.
                    candidates = typed.candidates
                    usage = typed.usageMetadata
                    if (
                        candidates is not None
                        and len(candidates) == 1
                        and b.response_model
                        and b.response_id
                        and typed.error is None
                        and typed.type is None
                        and typed.response_id is None
                        and typed.model_version is None
                        and typed.promptFeedback is None
                        and typed.prompt_feedback is None
                        and typed.usage_metadata is None
                    ):
                        candidate = candidates[0]
                        content = candidate.content
                        parts = content.parts if content is not None else None
                        if (
                            candidate.index == 0
                            and candidate.finish_reason is None
                            and candidate.finishReason is None
                            and parts is not None
                            and len(parts) == 1
                            and (usage is None or usage == last)
                        ):
                            part = parts[0]
                            text = part.text
                            if part.functionCall is None and part.function_call is None:
                                if text:  # b.add_text / b.add_thinking(text, ts), in line
                                    into = b.thinking if part.thought else b.text
                                    into.append(text)
                                    if ts is not None and b.first_content_ts is None:
                                        b.first_content_ts = ts
                                    shape = shapes.learn(raw, typed, text, decode, _part_of, "text", into)
                                continue
                    shape = shapes.shape = None  # a chunk treated otherwise: the state may differ
                    if _typed_chunk(typed, ts, b):
                        usage = typed.usageMetadata
                        if usage is not None and usage != last:
                            _read_typed_usage(usage, b.usage)
                            last = usage
                        continue
            shape = shapes.shape = None
            chunk = load_data(raw)
            if not isinstance(chunk, dict):
                continue
            _read_content(chunk, ts, b)
            usage = chunk.get("usageMetadata")
            if usage is None:
                usage = chunk.get("usage_metadata")
            if isinstance(usage, dict) and usage != last:
                last = usage if _read_usage(usage, b.usage) else None

    def read_body(self, body: Any, b: CallBuilder) -> None:
        # streamGenerateContent without alt=sse answers with a JSON array of chunks.
        for chunk in body if isinstance(body, list) else [body]:
            read_chunk(chunk, None, b)


FORMAT = GenerateContent()
