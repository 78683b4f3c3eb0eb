"""Which LLM wire format an HTTP exchange speaks: by path and request JSON shape, host as a hint.

The path decides first (`.../chat/completions`, `.../responses`, `.../messages`,
`.../models/{m}:generateContent`), confirmed by the request body's shape; a proxy with an
unusual path is still recognised when the host (or the `anthropic-version` header) points at a
provider and the body fits. Anything else is not an LLM call.
"""

from __future__ import annotations

from typing import Any

from ..core.events import HttpExchange
from . import anthropic, gemini, openai_chat, openai_responses
from ._common import WireFormat, header, split_path

FORMATS: tuple[WireFormat, ...] = (
    openai_chat.FORMAT,
    openai_responses.FORMAT,
    anthropic.FORMAT,
    gemini.FORMAT,
)

# Host substrings -> formats to try (in order) when the path says nothing.
_HOST_HINTS: tuple[tuple[str, tuple[WireFormat, ...]], ...] = (
    ("anthropic", (anthropic.FORMAT,)),
    ("claude", (anthropic.FORMAT,)),
    ("googleapis", (gemini.FORMAT,)),
    ("openai", (openai_responses.FORMAT, openai_chat.FORMAT)),
)


def host_of(exchange: HttpExchange) -> str:
    return (exchange.host or header(exchange.request_headers, "host") or "").lower()


def detect(exchange: HttpExchange, req: Any) -> WireFormat | None:
    """The wire format of `exchange` whose request JSON is `req`, or None."""
    if not isinstance(req, dict):
        return None
    path = split_path(exchange)
    for fmt in FORMATS:
        if fmt.match_path(path) and fmt.match_body(req, exchange):
            return fmt
    if header(exchange.request_headers, "anthropic-version") and anthropic.FORMAT.match_body(
        req, exchange
    ):
        return anthropic.FORMAT
    host = host_of(exchange)
    for needle, formats in _HOST_HINTS:
        if needle in host:
            for fmt in formats:
                if fmt.match_body(req, exchange) and _distinctive(fmt, req):
                    return fmt
    return None


def _distinctive(fmt: WireFormat, req: dict[str, Any]) -> bool:
    """Without a telling path, a body must look unlike the provider's other JSON APIs."""
    if fmt is openai_responses.FORMAT:
        # Embeddings and moderations also send {"model", "input": str | [str]}.
        raw = req.get("input")
        return (
            isinstance(raw, list) and any(isinstance(i, dict) for i in raw)
        ) or any(k in req for k in ("instructions", "previous_response_id", "reasoning", "tools"))
    if fmt is openai_chat.FORMAT:
        return any(isinstance(m, dict) and "role" in m for m in req.get("messages") or [])
    return True
