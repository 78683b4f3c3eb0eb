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


def _openai(text: str, ascii_only: bool, pad: str | None = None) -> bytes:
    """A usual chunk; `pad`: OpenAI's random `obfuscation` string, last (ignored by the reader)."""
    tail = b"" if pad is None else b',"obfuscation":%s' % _string(pad, ascii_only)
    return (
        b'{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o",'
        b'"choices":[{"index":0,"delta":{"content":%s},"logprobs":null,"finish_reason":null}],"usage":null%s}'
        % (_string(text, ascii_only), tail)
    )


def _anthropic_text(text: str, ascii_only: bool, pad: str | None = None) -> bytes:
    extra = b"" if pad is None else b',"x":%s' % _string(pad, ascii_only)  # a field nobody reads
    return b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":%s}%s}' % (
        _string(text, ascii_only),
        extra,
    )


def _anthropic_thinking(text: str, ascii_only: bool, pad: str | None = None) -> bytes:
    return (
        b'{"type":"content_block_delta","index":1,"delta":{"type":"thinking_delta","thinking":%s}}'
        % _string(text, ascii_only)
    )


def _gemini(text: str, ascii_only: bool, pad: str | None = None, thought: bool = False) -> bytes:
    """A usual chunk; `pad`: its responseId, a string last in the chunk that the reader does read."""
    part = b'{"text":%s%s}' % (_string(text, ascii_only), b',"thought":true' if thought else b"")
    rid = _string("r1" if pad is None else pad, ascii_only)
    return (
        b'{"candidates":[{"content":{"parts":[%s],"role":"model"},"index":0}],'
        b'"usageMetadata":{"promptTokenCount":9},"modelVersion":"gemini-2.5","responseId":%s}' % (part, rid)
    )


Usual = Callable[[str, bool, "str | None"], bytes]
CASES: list[tuple[ModuleType, list[Usual], list[bytes], str]] = [
    (openai_chat, [_openai], OPENAI + OPENAI_ODD, "message"),
    (anthropic, [_anthropic_text, _anthropic_thinking], ANTHROPIC + ANTHROPIC_ODD, "content_block_delta"),
    (gemini, [_gemini, lambda t, a, p: _gemini(t, a, p, thought=True)], GEMINI + GEMINI_ODD, "message"),
]
IDS = ["openai_chat", "anthropic", "gemini"]

texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["Hello", " world", "", "zq", "kx", 'say "hi"', "a\\b", "line\n", "\t", "café", "東京", "\u2028"]),
)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("usual"), st.integers(0, 1), texts, st.booleans(), st.none() | texts),
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
            _, kind, text, ascii_only, pad = step
            stream.append(usual[kind % len(usual)](text, ascii_only, pad))
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
    """Chunks whose `created` changes each time differ before their text: after a few probes
    the reader stops learning shapes and decodes each chunk as before."""
    stream = [OPENAI[0]] + [_openai(f"t{i}", False).replace(b'"created":1', b'"created":%d' % i) for i in range(30)]
    tried: list[bytes] = []
    real = EventShape.text
    monkeypatch.setattr(EventShape, "text", lambda self, raw: tried.append(raw) or real(self, raw))
    got = _read(openai_chat, stream, "message")
    assert got == _untyped(openai_chat, stream, "message", monkeypatch)
    assert got["text"] == [f"t{i}" for i in range(30)]
    assert len(tried) == 4  # one per shape learned (LEARN_MAX), each missed by the next chunk


def test_a_random_padding_last_is_read_by_a_padded_shape(monkeypatch) -> None:
    """OpenAI's `obfuscation` string (random, last in each chunk, not read): once a second chunk
    shows it changing, the chunks are read around both strings."""
    pads = ["a", "bcd", "ef", "ghij", "k", "lmnop", "q", "rs", "tuv", "w"] * 3
    stream = [OPENAI[0]] + [_openai(f"t{i}", False, pad) for i, pad in enumerate(pads)]
    expected = _untyped(openai_chat, stream, "message", monkeypatch)
    counting = _Counting(openai_chat._CHUNK)
    monkeypatch.setattr(openai_chat, "_CHUNK", counting)
    got = _read(openai_chat, stream, "message")
    assert got == expected and got["text"] == [f"t{i}" for i in range(len(pads))]
    assert counting.calls <= 6, counting.calls  # first, learned + probe, second + probe


def test_a_last_string_the_reader_reads_is_no_padding(monkeypatch) -> None:
    """Gemini's responseId is last and read: chunks that change it are decoded, and the last
    one read wins as with the dict walk."""
    stream = [GEMINI[0]] + [_gemini(f"t{i}", False, f"r{i % 3}") for i in range(12)]
    got = _read(gemini, stream, "message")
    assert got == _untyped(gemini, stream, "message", monkeypatch)
    shapes = Shapes()
    for i in range(2):
        raw = _gemini(f"t{i}", False, f"r{i}")
        learned = shapes.learn(raw, gemini._CHUNK.decode(raw), f"t{i}", gemini._CHUNK.decode, gemini._part_of, "text", [])
    assert type(learned) is EventShape  # not a PaddedShape: its responseId is read


def test_a_shape_per_kind_of_delta_is_learned_in_turn(monkeypatch) -> None:
    """Gemini thought and text chunks share their bytes up to the text and differ after it (and
    end with a string, a padding candidate): each run of one kind is read by its own shape."""
    words = [f"w{i}" for i in range(60)]
    stream = [GEMINI[0]] + [_gemini(w, False, thought=(i // 20) % 2 == 0) for i, w in enumerate(words)]
    expected = _untyped(gemini, stream, "message", monkeypatch)
    counting = _Counting(gemini._CHUNK)
    monkeypatch.setattr(gemini, "_CHUNK", counting)
    got = _read(gemini, stream, "message")
    assert got == expected and got["thinking"] == ["th", *words[:20], *words[40:]] and got["text"] == words[20:40]
    assert counting.calls <= 10, counting.calls  # the first, then per run: its first chunk + a probe
