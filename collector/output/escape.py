"""Make captured (hostile) text safe to display: no control bytes, no ANSI, no markup."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _visible(m: re.Match[str]) -> str:
    ch = m.group()
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    if ch == "\t":
        return "\\t"
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_text(text: str, limit: int | None = None) -> str:
    """Show control characters (ESC, CR, ...) visibly; cut to `limit` characters with an ellipsis."""
    if limit is not None and len(text) > limit:
        text = text[:limit]
        return _UNSAFE.sub(_visible, text) + "…"
    return _UNSAFE.sub(_visible, text)


def escape_bytes(data: bytes, limit: int | None = None) -> str:
    """A printable preview of binary data: UTF-8 where valid, \\xNN escapes otherwise."""
    if limit is not None and len(data) > limit:
        return escape_text(data[:limit].decode("utf-8", "backslashreplace")) + "…"
    return escape_text(data.decode("utf-8", "backslashreplace"))


# JSON escapes C0 controls already; these survive as raw UTF-8 and some terminals act on them
# (C1 controls such as U+009B CSI, line/paragraph separators, bidi overrides).
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _json_escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def safe_json_line(line: bytes) -> str:
    """One JSON line made safe for a terminal; still valid JSON that parses to the same value."""
    text = line.decode("utf-8", "backslashreplace")
    return _JSON_UNSAFE.sub(_json_escape, text)
