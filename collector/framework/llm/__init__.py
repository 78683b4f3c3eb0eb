"""LLM call extraction: turn an `HttpExchange` (plus its `SseMessage`s) into an `LlmCall`.

Pure functions, no I/O. `extract(exchange, sse)` recognises OpenAI Chat Completions, OpenAI
Responses, Anthropic Messages and Google Gemini generateContent / streamGenerateContent,
streaming or not, and returns None for anything else.

Field conventions of the LlmCall:
- provider: the wire format's family ("openai", "anthropic", "gemini"), whatever the host;
  endpoint: "chat.completions", "responses", "messages", "generateContent",
  "streamGenerateContent"; host/path: where the request went.
- model: the requested model (from the body, or the path for Gemini / Azure / Vertex);
  response_model: the model the response names.
- system: system prompt text (Anthropic `system`, OpenAI system/developer messages or
  Responses `instructions`, Gemini `systemInstruction`); messages / tools: the request's own
  JSON (Gemini: `contents`, and tools flattened to function declarations).
- response_text / thinking: answer text and reasoning text, kept apart; tool_calls: id, name
  and the complete JSON arguments string.
- usage: the provider's own numbers (OpenAI input counts include cached tokens, Anthropic's
  exclude cache reads and writes).
- ttft_ns: streaming: first SSE event carrying content minus request start (None when the
  events carry no timestamps); otherwise response first byte minus request start. None for an
  HTTP error status: an error answer has no first token.
- error / error_type: from an HTTP error status's body, an in-stream error event, or the
  transport; partial: the exchange or the collected events were incomplete, or an event could
  not be read (a field of an unexpected type: the event is left out, the rest read).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.events import Event, HttpExchange, LlmCall, SseMessage
from ..protocols.message import SseColumns, header_index
from ._common import (
    CallBuilder,
    SseItem,
    error_of,
    loads,
    parse_sse_body,
    read_stream_skipping,
    to_items,
)
from .detect import FORMATS, detect, host_of

__all__ = ["FORMATS", "SseItem", "detect", "extract", "parse_sse_body"]


def _snippet(body: bytes, limit: int = 300) -> str:
    text = body[:limit].decode("utf-8", "replace").strip()
    return text + ("..." if len(body) > limit else "")


def extract(
    exchange: HttpExchange,
    sse: Sequence[SseMessage | Event | SseItem] | SseColumns = (),
    *,
    sse_complete: bool = True,
) -> LlmCall | None:
    """The LLM call carried by `exchange`, or None if it is not one.

    `sse`: the response's server-sent events in order, as SseMessage payloads, Events wrapping
    them (their timestamps give the time to first token), SseItems or the SseColumns an
    HttpAnalyzer hands over. Without them a
    `text/event-stream` response body is split here. `sse_complete=False` says some events were
    dropped: the body is then preferred when it is whole, the events still give timing.
    """
    if exchange.method and exchange.method.upper() != "POST":
        return None
    req = loads(exchange.request_body)
    fmt = detect(exchange, req)
    if fmt is None or not isinstance(req, dict):
        return None
    fields = fmt.request_fields(exchange, req)
    items, when = to_items(sse)
    response_headers = header_index(exchange.response_headers)
    ctype = response_headers.get("content-type", "").lower()
    is_sse = "text/event-stream" in ctype or bool(items)
    stream = fmt.is_stream(exchange, req) or is_sse
    body_whole = bool(exchange.response_body) and not exchange.response_body_truncated
    lost = False  # content we know we did not see (dropped events, truncated body)

    body_json = None
    if is_sse:
        if items and (sse_complete or not body_whole):
            b, bad = read_stream_skipping(fmt, items)
            lost = not sse_complete or bad > 0
        else:
            b, bad = read_stream_skipping(fmt, to_items(parse_sse_body(exchange.response_body))[0])
            lost = exchange.response_body_truncated or bad > 0
            # the time comes from the events we kept, which are dated (the body's are not)
            b.first_content_ts = read_stream_skipping(fmt, items)[0].first_content_ts if items else None
    else:
        body_json = loads(exchange.response_body)
        lost = exchange.response_body_truncated
        b = CallBuilder()
        try:
            fmt.read_body(body_json, b)
        except Exception:  # a field of an unexpected type: what was read before it stays
            lost = True

    transport_error = exchange.error
    partial = exchange.partial or lost
    if not exchange.complete:
        if is_sse and b.finished:
            # The stream reached its protocol end: a client that hangs up before the final
            # chunk terminator (the OpenAI SDK stops at `[DONE]`) leaves the exchange open,
            # not the call.
            transport_error = ""
        else:
            partial = True

    status = exchange.status
    if status is not None and status >= 400 and not b.error:
        found = error_of(body_json)
        if found:
            b.set_error(found)
        else:
            b.error = f"HTTP {status}" + (f" {exchange.reason}" if exchange.reason else "")
            if exchange.response_body and body_json is None:
                b.error += ": " + _snippet(exchange.response_body)
            b.error_type = "http_error"
    if transport_error and not b.error:
        b.error, b.error_type = transport_error, "transport"

    start = exchange.request_start_ns
    ttft: int | None = None
    if start and not (exchange.status is not None and exchange.status >= 400):
        if stream and is_sse:
            first = b.first_content_ts
            if first is not None:
                first = when(first)
                if first is not None:
                    ttft = max(0, first - start)
        elif exchange.response_first_byte_ns:
            ttft = max(0, exchange.response_first_byte_ns - start)
    duration = max(0, exchange.end_ns - start) if start and exchange.end_ns else 0
    request_id = (
        response_headers.get("x-request-id")
        or response_headers.get("request-id")
        or response_headers.get("x-goog-request-id")
        or ""
    )
    return b.build(
        provider=fmt.provider,
        endpoint=fmt.endpoint_for(exchange),
        stream=stream,
        conn=exchange.conn,
        stream_id=exchange.stream_id,
        status=status,
        host=host_of(exchange),
        path=exchange.path.split("?", 1)[0],
        request_id=request_id,
        request_start_ns=start,
        ttft_ns=ttft,
        duration_ns=duration,
        partial=partial,
        **fields,
    )

