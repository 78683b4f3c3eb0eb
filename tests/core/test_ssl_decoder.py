"""The sslsniff line decoder: the in-place path for large lines gives what full parsing gives."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.framework.core.errors import ParseError
from collector.framework.core.events import Event
from collector.framework.decoders import ssl_tool
from collector.framework.decoders.ssl_tool import SslToolDecoder


def tool_line(data: bytes, **over: Any) -> bytes:
    """An SSL_DATA line as the tool writes it (`data` last)."""
    d: dict[str, Any] = {
        "type": "SSL_DATA", "ts_ns": 1_000, "pid": 42, "tid": 43, "uid": 0, "comm": "py",
        "dir": "read", "func": "SSL_read_ex", "conn": 7, "fd": 3, "call_id": 1,
        "latency_ns": 5, "len": len(data), "seq": 0, "offset": 0, "last": True, "truncated": 0,
    }
    d.update(over)
    d["data"] = base64.b64encode(data).decode()
    return orjson.dumps(d)


def decode_all(lines: list[bytes], *, in_place: bool, monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    monkeypatch.setattr(ssl_tool, "_SPLIT_MIN", 0 if in_place else 1 << 40)
    dec = SslToolDecoder(boot_offset_ns=0)
    out: list[Event] = []
    for line in lines:
        dec.decode(line, out)
    dec.finish(out)
    return out


@settings(max_examples=150, deadline=None)
@given(
    payloads=st.lists(st.binary(max_size=3000), min_size=1, max_size=4),
    chunked=st.booleans(),
)
def test_in_place_and_full_parse_agree(payloads: list[bytes], chunked: bool) -> None:
    lines = []
    for i, p in enumerate(payloads):
        if chunked and len(p) > 1:
            half = len(p) // 2
            lines.append(tool_line(p[:half], call_id=i, len=len(p), last=False))
            lines.append(tool_line(p[half:], call_id=i, len=len(p), seq=1, offset=half))
        else:
            lines.append(tool_line(p, call_id=i))
    with pytest.MonkeyPatch.context() as mp:
        fast = decode_all(lines, in_place=True, monkeypatch=mp)
        full = decode_all(lines, in_place=False, monkeypatch=mp)
    assert [e.model_dump() for e in fast] == [e.model_dump() for e in full]
    assert [e.payload.data for e in fast] == payloads  # type: ignore[union-attr]


def test_data_not_last_still_decodes(monkeypatch: pytest.MonkeyPatch) -> None:
    line = tool_line(b"\x00\xff" * 1000)[:-1] + b',"extra":"x"}'
    (ev,) = decode_all([line], in_place=True, monkeypatch=monkeypatch)
    assert ev.payload.data == b"\x00\xff" * 1000  # type: ignore[union-attr]


@pytest.mark.parametrize("in_place", [True, False])
def test_bad_base64_is_a_parse_error(in_place: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    line = tool_line(b"x" * 2000).replace(b'"data":"', b'"data":"*')
    with pytest.raises(ParseError):
        decode_all([line], in_place=in_place, monkeypatch=monkeypatch)


def test_other_line_types_with_a_data_field_are_not_taken_as_ssl_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    line = orjson.dumps({"type": "SSL_CLOSE", "ts_ns": 1, "pid": 1, "conn": 9, "func": "SSL_free", "pad": "x" * 2000, "data": "QUJD"})
    (ev,) = decode_all([line], in_place=True, monkeypatch=monkeypatch)
    assert ev.payload.kind == "tls_close"
