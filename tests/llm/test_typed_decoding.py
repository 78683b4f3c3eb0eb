"""The typed (msgspec) decoding of streamed events gives exactly what the dict walk over
orjson's result gives, for usual events and for anything else (wrong types, missing fields,
extra nesting, invalid UTF-8, non-object data, big ints, duplicate keys...), which it hands
to that walk."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from collector.framework.llm import anthropic, gemini, openai_chat
from collector.framework.llm._common import CallBuilder

_OA = b'{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":%s,"logprobs":null,"finish_reason":null}],"usage":null}'
OPENAI = [
    _OA % b'{"role":"assistant","content":"","refusal":null}',
    _OA % b'{"content":"Hello"}',
    _OA % b'{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}',
    _OA % b'{"tool_calls":[{"index":0,"function":{"arguments":"{\\"a\\":"}}]}',
    _OA % b'{"reasoning_content":"hmm"}',
    b'{"id":"chatcmpl-1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}',
    b'{"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7}}',
    b"[DONE]",
]
OPENAI_ODD = [
    _OA % b'{"content":5}', _OA % b'{"content":"\xff\xfe"}', _OA % b'"x"', _OA % b"[]", _OA % b'{"content":{"x":1}}',
    b'{"choices":[{"index":"0","delta":{"content":"a"}}]}', b'{"choices":[{"index":null,"delta":{"content":"a"}}]}',
    b'{"choices":[{"index":true,"delta":{"content":"a"}}]}', b'{"choices":[{"index":0.0,"delta":{"content":"a"}}]}',
    b'{"choices":[{"index":18446744073709551615,"delta":{"content":"a"}}]}', b'{"choices":[{"index":1,"delta":{"content":"a"}}]}',
    b'{"choices":{"index":0},"id":"x"}', b'{"choices":"ab"}', b'{"choices":[5,{"index":0,"delta":{"content":"b"}}]}',
    b'{"choices":[{"delta":{"content":"a"},"finish_reason":3}]}', b'{"choices":[{"delta":{"function_call":{"name":"g","arguments":"{}"}}}]}',
    b'{"choices":[{"delta":{"tool_calls":[{"index":"k","function":{"name":"h"}}]}}]}', b'{"choices":[{"delta":{"tool_calls":[{"index":2,"id":7}]}}]}',
    b'{"choices":[{"delta":{"tool_calls":{"a":1}}}]}', b'{"error":{"type":"overloaded","message":"busy"}}', b'{"error":null,"choices":[]}',
    b'{"type":"error","message":"m"}', b'{"id":5,"model":["m"]}', b'{"id":"a","id":"b","model":"m","choices":[{"delta":{"content":"x"}}],"choices":null}',
    b' {"choices":[{"delta":{"content":"ws"}}]}\n', b'{"x":"\xff","choices":[{"delta":{"content":"bad utf8 elsewhere"}}]}',
    b'{"x":[[[[[[{"y":1}]]]]]],"choices":[{"delta":{"content":"deep"}}]}', b"[1,2]", b'"s"', b"1", b"null", b"", b"{", b"\xff",
    b'{"choices":[{"delta":{"content":"\\ud800"}}]}', b'{"usage":{"prompt_tokens":true}}', b'{"usage":0,"choices":[]}',
]

_AN = b'{"type":"content_block_delta","index":%s,"delta":%s}'
ANTHROPIC = [
    b'{"type":"message_start","message":{"id":"msg_1","type":"message","model":"claude","usage":{"input_tokens":9,"output_tokens":1}}}',
    b'{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
    _AN % (b"0", b'{"type":"text_delta","text":"Hi"}'),
    _AN % (b"1", b'{"type":"thinking_delta","thinking":"th"}'),
    b'{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"t1","name":"f","input":{}}}',
    _AN % (b"2", b'{"type":"input_json_delta","partial_json":"{\\"a\\""}'),
    _AN % (b"2", b'{"type":"input_json_delta","partial_json":""}'),
    _AN % (b"1", b'{"type":"signature_delta","signature":"s"}'),
    b'{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}',
    b'{"type":"message_stop"}',
]
ANTHROPIC_ODD = [
    _AN % (b"0", b'{"type":"text_delta","text":5}'), _AN % (b"0", b'{"type":"text_delta","text":"\xff"}'), _AN % (b"0", b'"x"'),
    _AN % (b"0", b"[]"), _AN % (b"0", b"null"), _AN % (b"0", b"{}"), _AN % (b'"2"', b'{"type":"input_json_delta","partial_json":"x"}'),
    _AN % (b"true", b'{"type":"input_json_delta","partial_json":"x"}'), _AN % (b"2.0", b'{"type":"input_json_delta","partial_json":"x"}'),
    _AN % (b"null", b'{"type":"input_json_delta","partial_json":"x"}'), _AN % (b"99999999999999999999", b'{"type":"input_json_delta","partial_json":"x"}'),
    _AN % (b"0", b'{"type":"input_json_delta","partial_json":7}'), _AN % (b"0", b'{"type":3,"text":"x"}'),
    b'{"type":"","index":0,"delta":{"type":"text_delta","text":"by event name"}}', b'{"type":0,"delta":{"type":"text_delta","text":"z"}}',
    b'{"index":0,"delta":{"type":"text_delta","text":"no type"}}', b'{"type":"content_block_delta","delta":{"type":"text_delta","text":"a"},"delta":{"type":"text_delta","text":"b"}}',
    b'{"type":"content_block_delta","x":"\xff","delta":{"type":"text_delta","text":"u"}}', b'{"type":"error","error":{"type":"overloaded_error","message":"busy"}}',
    b"[1]", b'"s"', b"null", b"", b"{", b"\xff", b'{"type":"content_block_delta","delta":{"type":"text_delta","text":"\\udc00"}}',
]

_GE = b'{"candidates":[{"content":{"parts":%s,"role":"model"},"index":0%s}],"usageMetadata":{"promptTokenCount":9%s},"modelVersion":"gemini-2.5","responseId":"r1"}'
GEMINI = [
    _GE % (b'[{"text":"th","thought":true}]', b"", b""),
    _GE % (b'[{"text":"Hello "}]', b"", b""),
    _GE % (b'[{"text":"there"}]', b"", b',"candidatesTokenCount":2'),
    _GE % (b'[{"functionCall":{"name":"f","args":{"a":1}}}]', b"", b',"candidatesTokenCount":4'),
    _GE % (b'[{"text":""}]', b',"finishReason":"STOP"', b',"candidatesTokenCount":5,"thoughtsTokenCount":1'),
]
GEMINI_ODD = [
    _GE % (b'[{"text":5}]', b"", b""), _GE % (b'[{"text":"\xff"}]', b"", b""), _GE % (b'[{"text":"t","thought":"yes"}]', b"", b""),
    _GE % (b'[{"text":"t","thought":0}]', b"", b""), _GE % (b'{"text":"t"}', b"", b""), _GE % (b'["t"]', b"", b""),
    _GE % (b'[{"text":"t"}]', b',"finishReason":1', b""), _GE % (b'[{"text":"t"}]', b',"finish_reason":"STOP"', b""),
    _GE % (b'[{"text":"t"}]', b"", b',"candidatesTokenCount":true'), _GE % (b'[{"text":"t"}]', b"", b',"candidatesTokenCount":2.0'),
    _GE % (b'[{"text":"t"}]', b"", b',"candidatesTokenCount":9223372036854775808'), _GE % (b'[{"text":"t"}]', b"", b',"candidates_token_count":3'),
    _GE % (b'[{"function_call":{"name":"g"}}]', b"", b""),
    b'{"candidates":[{"index":1,"content":{"parts":[{"text":"one"}]}},{"content":{"parts":[{"text":"zero"}]}}]}',
    b'{"candidates":[{"index":null,"content":{"parts":[{"text":"n"}]}}]}', b'{"candidates":[{"content":"x"}]}',
    b'{"candidates":{"a":1}}', b'{"candidates":[{"content":{"parts":[{"text":"a"}]}}],"usage_metadata":{"promptTokenCount":1}}',
    b'{"candidates":[],"usageMetadata":{"promptTokenCount":9}}', b'{"usageMetadata":null,"usage_metadata":{"promptTokenCount":4}}',
    b'{"promptFeedback":{"blockReason":"SAFETY"}}', b'{"response_id":"r2","model_version":"m2"}', b'{"responseId":7}',
    b'{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}', b'{"type":"error","message":"m"}',
    b'{"x":"\xff","candidates":[{"content":{"parts":[{"text":"u"}]}}]}', b"[1]", b'"s"', b"null", b"", b"{",
]


def _state(b: CallBuilder) -> dict[str, Any]:
    return {
        "text": b.text, "thinking": b.thinking, "stop": b.stop_reason, "usage": b.usage,
        "ids": (b.response_id, b.response_model), "error": (b.error, b.error_type),
        "first": b.first_content_ts, "finished": b.finished,
        "tools": {k: (t.id, t.name, t.parts, t.fallback) for k, t in b.tools.items()},
    }


def _read(module: ModuleType, datas: list[bytes], event: str) -> dict[str, Any]:
    b = CallBuilder()
    items = [(event, d, 100 + i) for i, d in enumerate(datas)]
    try:
        module.FORMAT.read_stream(items, b)
    except Exception as exc:  # the dict walk's own failures (e.g. iterating a number)
        return {"raised": type(exc).__name__, **_state(b)}
    return _state(b)


def _untyped(module: ModuleType, datas: list[bytes], event: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    with monkeypatch.context() as m:
        m.setattr(module, "TYPED_MAX", 0)  # every event through orjson and the dict walk
        return _read(module, datas, event)


CASES = [
    (openai_chat, OPENAI, OPENAI_ODD, "message"),
    (anthropic, ANTHROPIC, ANTHROPIC_ODD, "content_block_delta"),
    (gemini, GEMINI, GEMINI_ODD, "message"),
]


@pytest.mark.parametrize(("module", "usual", "odd", "event"), CASES, ids=["openai_chat", "anthropic", "gemini"])
def test_usual_streams_are_read_typed_and_the_same(module, usual, odd, event, monkeypatch) -> None:
    decoder = module._CHUNK if hasattr(module, "_CHUNK") else module._EVENT
    taken = 0
    for data in usual:
        try:
            decoder.decode(data)
            taken += 1
        except Exception:
            pass
    assert taken >= len(usual) - 1  # all but [DONE]
    assert _read(module, usual, event) == _untyped(module, usual, event, monkeypatch)


@pytest.mark.parametrize(("module", "usual", "odd", "event"), CASES, ids=["openai_chat", "anthropic", "gemini"])
def test_unusual_events_behave_as_the_dict_walk(module, usual, odd, event, monkeypatch) -> None:
    for data in odd:
        for k in (0, 2, len(usual)):
            stream = [*usual[:k], data, *usual[k:]]
            assert _read(module, stream, event) == _untyped(module, stream, event, monkeypatch), (data, k)
        for repeat in ([data, data], [data, *usual, data]):
            assert _read(module, repeat, event) == _untyped(module, repeat, event, monkeypatch), data


def test_gemini_usage_after_a_fallback_chunk_is_read_again(monkeypatch) -> None:
    same = _GE % (b'[{"text":"a"}]', b"", b',"candidatesTokenCount":2')
    other = b'{"usage_metadata":{"prompt_token_count":1,"candidates_token_count":1}}'
    stream = [same, other, same]
    got = _read(gemini, stream, "message")
    assert got == _untyped(gemini, stream, "message", monkeypatch)
    assert got["usage"] == {"input_tokens": 9, "output_tokens": 2}


def test_deep_data_is_not_decoded_typed(monkeypatch) -> None:
    deep = b'{"x":' + b"[" * 1100 + b"]" * 1100 + b',"choices":[{"delta":{"content":"d"}}]}'
    assert _read(openai_chat, [deep], "message") == _untyped(openai_chat, [deep], "message", monkeypatch)
    assert _read(openai_chat, [deep], "message")["text"] == []  # orjson rejects the depth


def test_known_difference_number_beyond_double_range_in_an_unused_field(monkeypatch) -> None:
    """The one known difference: orjson rejects a number that overflows a double (valid JSON)
    anywhere in the data, so the dict walk drops the event; the typed decoder skips fields it
    does not read without converting them, so the event is read. In a field it does read, the
    number is rejected (not an int64) and the event is dropped as before."""
    unused = b'{"x":1e999,"choices":[{"delta":{"content":"over"}}]}'
    assert _read(openai_chat, [unused], "message")["text"] == ["over"]
    assert _untyped(openai_chat, [unused], "message", monkeypatch)["text"] == []
    used = b'{"choices":[{"index":1e999,"delta":{"content":"over"}}]}'
    assert _read(openai_chat, [used], "message") == _untyped(openai_chat, [used], "message", monkeypatch)
