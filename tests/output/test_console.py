from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from collector.output.console import format_event
from collector.output.escape import escape_bytes, escape_text, safe_json_line
from tests.filters.helpers import ALL, CUSTOM, HTTP, LLM

_CONTROLS = [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]] + [
    "\u2028",
    "\u2029",
    "\u202e",
    "\u2066",
]


def test_every_kind_formats_on_one_line() -> None:
    for ev in ALL:
        line = format_event(ev)
        assert "\n" not in line and "\r" not in line and "\x1b" not in line
        assert str(ev.pid) in line


def test_llm_and_custom_lines() -> None:
    line = format_event(LLM)
    assert (
        "anthropic claude-sonnet-4 status=200 in=1200 out=30" in line
        and "tools=bash,read_file" in line
    )
    assert '{"a": {"b": 7}, "s": "text"}' in format_event(CUSTOM)


def test_an_incomplete_exchange_says_why() -> None:
    cut = HTTP.model_copy(update={"payload": HTTP.payload.model_copy(update={
        "complete": False, "error": "connection closed after a whole SSE event\x1b[2J"})})
    line = format_event(cut)
    assert line.endswith(" incomplete (connection closed after a whole SSE event\\x1b[2J)"), line
    whole = HTTP.model_copy(update={"payload": HTTP.payload.model_copy(update={"complete": True})})
    assert "incomplete" not in format_event(whole)


@given(st.text(alphabet=st.sampled_from([*_CONTROLS, "a", "[", "]", "/", "é"]), max_size=40))
def test_escape_text_leaves_no_control_characters(text: str) -> None:
    out = escape_text(text)
    assert not any(c in out for c in _CONTROLS)


@given(st.binary(max_size=64))
def test_escape_bytes_is_printable(data: bytes) -> None:
    out = escape_bytes(data)
    assert not any(c in out for c in _CONTROLS)


@given(st.text(max_size=40))
def test_safe_json_line_is_valid_json_for_the_same_value(text: str) -> None:
    raw = json.dumps({"s": text}, ensure_ascii=False).encode()
    safe = safe_json_line(raw)
    assert json.loads(safe) == {"s": text}
    assert not any(c in safe for c in _CONTROLS)
