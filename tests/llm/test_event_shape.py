"""Reading a stream's usual text events by their shape (`llm/shape.py`) gives exactly what
decoding each event gives, whatever the texts hold (quotes, escapes, control characters,
non-ASCII written raw or escaped) and whatever other events come between; and it does skip
the decoding of the usual events."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.framework.llm import anthropic, gemini, openai_chat
from collector.framework.llm.shape import EventShape, Shapes

from .test_typed_decoding import (
    ANTHROPIC,
    ANTHROPIC_ODD,
    GEMINI,
    GEMINI_ODD,
    OPENAI,
    OPENAI_ODD,
    _read,
    _untyped,
)


def _string(text: str, ascii_only: bool) -> bytes:
    return json.dumps(text, ensure_ascii=ascii_only).encode()


def _openai(text: str, ascii_only: bool) -> bytes:
    return (
        b'{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o",'
        b'"choices":[{"index":0,"delta":{"content":%s},"logprobs":null,"finish_reason":null}],"usage":null}'
        % _string(text, ascii_only)
    )


def _anthropic_text(text: str, ascii_only: bool) -> bytes:
    return b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":%s}}' % _string(text, ascii_only)


def _anthropic_thinking(text: str, ascii_only: bool) -> bytes:
    return (
        b'{"type":"content_block_delta","index":1,"delta":{"type":"thinking_delta","thinking":%s}}'
        % _string(text, ascii_only)
    )


def _gemini(text: str, ascii_only: bool, thought: bool = False) -> bytes:
    part = b'{"text":%s%s}' % (_string(text, ascii_only), b',"thought":true' if thought else b"")
    return (
        b'{"candidates":[{"content":{"parts":[%s],"role":"model"},"index":0}],'
        b'"usageMetadata":{"promptTokenCount":9},"modelVersion":"gemini-2.5","responseId":"r1"}' % part
    )


Usual = Callable[[str, bool], bytes]
CASES: list[tuple[ModuleType, list[Usual], list[bytes], str]] = [
    (openai_chat, [_openai], OPENAI + OPENAI_ODD, "message"),
    (anthropic, [_anthropic_text, _anthropic_thinking], ANTHROPIC + ANTHROPIC_ODD, "content_block_delta"),
    (gemini, [_gemini, lambda t, a: _gemini(t, a, thought=True)], GEMINI + GEMINI_ODD, "message"),
]
IDS = ["openai_chat", "anthropic", "gemini"]

texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["Hello", " world", "", "zq", "kx", 'say "hi"', "a\\b", "line\n", "\t", "café", "東京", "\u2028"]),
)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("usual"), st.integers(0, 1), texts, st.booleans()),
        st.tuples(st.just("other"), st.integers(0, 200)),
    ),
    max_size=40,
)


@pytest.mark.parametrize(("module", "usual", "others", "event"), CASES, ids=IDS)
@settings(max_examples=150, deadline=None)
@given(steps=ops)
def test_reading_by_shape_is_reading_by_decoding(module, usual, others, event, steps) -> None:
    stream: list[bytes] = [others[0]]  # the ids first (OpenAI's role chunk, Anthropic's message_start...)
    for step in steps:
        if step[0] == "usual":
            _, kind, text, ascii_only = step
            stream.append(usual[kind % len(usual)](text, ascii_only))
        else:
            stream.append(others[step[1] % len(others)])
    with pytest.MonkeyPatch.context() as m:
        assert _read(module, stream, event) == _untyped(module, stream, event, m)


class _Counting:
    """A typed decoder that counts its decodes."""

    def __init__(self, decoder: Any) -> None:
        self.decoder = decoder
        self.calls = 0

    def decode(self, data: bytes) -> Any:
        self.calls += 1
        return self.decoder.decode(data)


@pytest.mark.parametrize(("module", "usual", "others", "event"), CASES, ids=IDS)
def test_usual_events_are_read_without_decoding(module, usual, others, event, monkeypatch) -> None:
    words = [f"w{i} " for i in range(50)] + ["\n", "x\\y", 'q"', "é"] + [f"v{i}" for i in range(50)]
    stream = [others[0], *(usual[0](w, False) for w in words)]
    expected = _untyped(module, stream, event, monkeypatch)
    name = "_CHUNK" if hasattr(module, "_CHUNK") else "_EVENT"
    counting = _Counting(getattr(module, name))
    monkeypatch.setattr(module, name, counting)
    got = _read(module, stream, event)
    assert got == expected
    assert "".join(got["text"] or got["thinking"]) == "".join(words)
    # The first event, the first usual one and its probe, the 4 that need unescaping (their
    # shape is kept) and a few at most: not one per event.
    assert counting.calls <= 8, counting.calls


def test_a_shape_is_only_learned_from_the_text_string_itself() -> None:
    """The text also written raw in a field the reader ignores, and escaped in its own place:
    the probe shows the raw one is not the text, so nothing is learned there."""
    raw = (
        b'{"id":"c","object":"caf\xc3\xa9","model":"m","choices":[{"index":0,"delta":{"content":"caf\\u00e9"}}]}'
    )
    decoded = openai_chat._CHUNK.decode(raw)
    shapes = Shapes()
    got = shapes.learn(raw, decoded, "café", openai_chat._CHUNK.decode, openai_chat._delta_of, "content", [])
    assert got is None and shapes.probes == 1


def test_ignored_field_with_the_texts_value_does_not_misread_the_stream(monkeypatch) -> None:
    # Were the "object" string taken for the text, these would read "one", "two", "three".
    first = b'{"id":"c","object":"x","model":"m","choices":[{"index":0,"delta":{"content":""}}]}'
    chunks = [
        b'{"id":"c","object":"%s","model":"m","choices":[{"index":0,"delta":{"content":"caf\\u00e9"}}]}' % w
        for w in (b"caf\xc3\xa9", b"one", b"two", b"three")
    ]
    stream = [first, *chunks]
    got = _read(openai_chat, stream, "message")
    assert got == _untyped(openai_chat, stream, "message", monkeypatch)
    assert got["text"] == ["café"] * 4


def test_a_shape_reads_only_events_of_its_bytes() -> None:
    shape = EventShape(b'{"a":"', b'"}', [])
    assert shape.text(b'{"a":"hi"}') == "hi"
    assert shape.text(b'{"a":""}') == ""
    assert shape.text(b'{"a":"caf\xc3\xa9"}') == "café"
    for other in (
        b'{"a":"h\\"i"}',  # an escape
        b'{"a":"h"i"}',  # not JSON
        b'{"a":"\n"}',  # a raw control character
        b'{"a":"\xff"}',  # invalid UTF-8
        b'{"a":"}',  # head and tail overlap
        b'{"b":"hi"}',
        b'{"a":"hi"} ',
        b'{"a":"\xc2\xa0"}',  # printable in no sense str.isprintable knows: decoded as usual
    ):
        assert shape.text(other) is None, other


def test_gemini_usage_changes_between_shaped_chunks_are_read(monkeypatch) -> None:
    a = _gemini("a", False)
    b = a.replace(b'"promptTokenCount":9', b'"promptTokenCount":10,"candidatesTokenCount":3')
    stream = [GEMINI[0], a, a, a, b, a, a]
    got = _read(gemini, stream, "message")
    assert got == _untyped(gemini, stream, "message", monkeypatch)
    # `a` after `b` is read whole again, its usage with it (no longer the last one read)
    assert got["usage"]["input_tokens"] == 9 and got["text"] == ["a"] * 6


def test_events_that_differ_elsewhere_too_stop_being_tried(monkeypatch) -> None:
    """OpenAI's random `obfuscation` padding makes every chunk's bytes differ beyond the text:
    after a few probes the reader stops learning shapes and decodes each chunk as before."""
    pads = ["a", "bcd", "ef", "ghij", "k", "lmnop", "q", "rs", "tuv", "w"] * 3
    stream = [OPENAI[0]] + [
        _openai(f"t{i}", False).replace(b',"usage":null}', b',"usage":null,"obfuscation":"%s"}' % p.encode())
        for i, p in enumerate(pads)
    ]
    tried: list[bytes] = []
    real = EventShape.text
    monkeypatch.setattr(EventShape, "text", lambda self, raw: tried.append(raw) or real(self, raw))
    got = _read(openai_chat, stream, "message")
    assert got == _untyped(openai_chat, stream, "message", monkeypatch)
    assert got["text"] == [f"t{i}" for i in range(len(pads))]
    assert len(tried) == 4  # one per shape learned (LEARN_MAX), each missed by the next chunk
