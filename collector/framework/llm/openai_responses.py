"""OpenAI Responses (`POST .../v1/responses`).

Streaming events: response.created / in_progress, response.output_item.added / done,
response.output_text.delta, response.function_call_arguments.delta / done,
response.reasoning_summary_text.delta (and reasoning_text.delta), response.completed /
incomplete / failed (carrying the whole final response with usage), error. The call is
assembled from the deltas; the final response object fills whatever the deltas lacked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..core.events import HttpExchange
from ._common import CallBuilder, SseTuple, WireFormat, as_int, error_of, load_data, text_of

_TEXT_DELTAS = ("response.output_text.delta", "response.refusal.delta")
_THINKING_DELTAS = ("response.reasoning_summary_text.delta", "response.reasoning_text.delta")
_FINAL = ("response.completed", "response.incomplete", "response.failed")
_TOOL_ITEMS = ("function_call", "custom_tool_call")


def read_usage(usage: Any, b: CallBuilder) -> None:
    if not isinstance(usage, dict):
        return
    in_details = usage.get("input_tokens_details") or {}
    out_details = usage.get("output_tokens_details") or {}
    b.set_usage(
        input_tokens=as_int(usage.get("input_tokens")),
        output_tokens=as_int(usage.get("output_tokens")),
        cache_read_tokens=as_int(in_details.get("cached_tokens"))
        if isinstance(in_details, dict)
        else None,
        reasoning_tokens=as_int(out_details.get("reasoning_tokens"))
        if isinstance(out_details, dict)
        else None,
    )


def _tool_args(item: dict[str, Any]) -> Any:
    return item.get("arguments") if item.get("type") == "function_call" else item.get("input")


def _read_final(response: dict[str, Any], b: CallBuilder) -> None:
    """Status, usage and error of a final response object (and its content, if still empty)."""
    b.set_ids(response.get("id"), response.get("model"))
    status = response.get("status")
    incomplete = response.get("incomplete_details")
    if status == "incomplete" and isinstance(incomplete, dict) and incomplete.get("reason"):
        b.stop_reason = str(incomplete["reason"])
    elif isinstance(status, str) and status:
        b.stop_reason = status
    read_usage(response.get("usage"), b)
    err = response.get("error")
    if isinstance(err, dict) and err:
        b.set_error((str(err.get("code") or "error"), str(err.get("message") or "")))
    output = response.get("output")
    output = [o for o in output if isinstance(o, dict)] if isinstance(output, list) else []
    if not b.text:
        for item in output:
            content = item.get("content")
            if item.get("type") == "message" and isinstance(content, list):
                for part in content:
                    if isinstance(part, dict) and part.get("type") in ("output_text", "refusal"):
                        b.add_text(part.get("text") or part.get("refusal"))
    if not b.thinking:
        for item in output:
            if item.get("type") == "reasoning":
                b.add_thinking(text_of(item.get("summary")) or text_of(item.get("content")))
    if not b.tools:
        for item in output:
            if item.get("type") in _TOOL_ITEMS:
                b.add_tool(item.get("call_id") or item.get("id"), item.get("name"), _tool_args(item))


class Responses(WireFormat):
    provider = "openai"
    endpoint = "responses"

    def match_path(self, path: str) -> bool:
        return path.rstrip("/").endswith("/responses")

    def match_body(self, req: dict[str, Any], exchange: HttpExchange) -> bool:
        return "messages" not in req and any(
            k in req for k in ("input", "prompt", "previous_response_id", "instructions")
        )

    def request_fields(self, exchange: HttpExchange, req: dict[str, Any]) -> dict[str, Any]:
        raw = req.get("input")
        if isinstance(raw, str):
            messages: list[dict[str, Any]] = [{"role": "user", "content": raw}]
        else:
            messages = [m for m in raw or [] if isinstance(m, dict)]
        system_parts = []
        if isinstance(req.get("instructions"), str) and req["instructions"]:
            system_parts.append(req["instructions"])
        system_parts.extend(
            text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer")
        )
        model = req.get("model")
        return {
            "model": model if isinstance(model, str) else "",
            "system": "\n\n".join(p for p in system_parts if p),
            "messages": messages,
            "tools": [t for t in req.get("tools") or [] if isinstance(t, dict)],
        }

    def read_stream(self, items: Iterable[SseTuple], b: CallBuilder) -> None:
        final: dict[str, Any] | None = None
        for event, raw, ts in items:
            obj = load_data(raw)
            if not isinstance(obj, dict):
                continue
            etype = obj.get("type") or event
            if etype in _TEXT_DELTAS:
                b.add_text(obj.get("delta"), ts)
            elif etype in _THINKING_DELTAS:
                b.add_thinking(obj.get("delta"), ts)
            elif etype in (
                "response.function_call_arguments.delta",
                "response.custom_tool_call_input.delta",
            ):
                delta = obj.get("delta")
                if isinstance(delta, str):
                    b.tool(obj.get("output_index", obj.get("item_id"))).parts.append(delta)
                b.content(ts)
            elif etype in ("response.function_call_arguments.done",):
                acc = b.tool(obj.get("output_index", obj.get("item_id")))
                if not acc.parts and isinstance(obj.get("arguments"), str):
                    acc.parts.append(obj["arguments"])
            elif etype in ("response.output_item.added", "response.output_item.done"):
                out = obj.get("item") or {}
                if isinstance(out, dict) and out.get("type") in _TOOL_ITEMS:
                    acc = b.tool(obj.get("output_index", out.get("id")))
                    acc.id = acc.id or str(out.get("call_id") or out.get("id") or "")
                    acc.name = acc.name or str(out.get("name") or "")
                    args = _tool_args(out)
                    if isinstance(args, str) and args:
                        acc.fallback = args
            elif etype in ("response.created", "response.in_progress"):
                response = obj.get("response") or {}
                if isinstance(response, dict):
                    b.set_ids(response.get("id"), response.get("model"))
            elif etype in _FINAL:
                response = obj.get("response")
                if isinstance(response, dict):
                    final = response
            elif etype == "error":
                b.set_error(error_of(obj) or ("error", str(obj.get("message") or "")))
        if final is not None:
            b.finished = True
            _read_final(final, b)

    def read_body(self, body: Any, b: CallBuilder) -> None:
        if not isinstance(body, dict):
            return
        b.set_error(error_of(body))
        if body.get("object") == "response" or "output" in body:
            _read_final(body, b)


FORMAT = Responses()
