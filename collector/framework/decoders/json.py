"""The JSON parser used on hot paths (orjson: ~4x faster than json on event lines)."""

from __future__ import annotations

from typing import Any

import orjson

from ..core.errors import ParseError


def loads(line: bytes) -> dict[str, Any]:
    try:
        d = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"malformed JSON: {exc}") from exc
    if not isinstance(d, dict):
        raise ParseError("line is not a JSON object")
    return d
