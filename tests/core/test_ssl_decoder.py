"""The sslsniff line decoder: the in-place path for large lines gives what full parsing gives."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.framework.core.errors import ParseError
from collector.framework.core.events import Event
from collector.framework.decoders import ssl_tool
from collector.framework.decoders.ssl_tool import SslToolDecoder

OMIT = object()  # a field to leave out of tool_line()


def tool_line(data: bytes, **over: Any) -> bytes:
    """An SSL_DATA line as the tool writes it (`data` last)."""
    d: dict[str, Any] = {
        "type": "SSL_DATA",
        "ts_ns": 1_000,
        "pid": 42,
        "tid": 43,
        "uid": 0,
        "comm": "py",
        "dir": "read",
        "func": "SSL_read_ex",
        "conn": 7,
        "fd": 3,
        "call_id": 1,
        "latency_ns": 5,
        "len": len(data),
        "seq": 0,
        "offset": 0,
        "last": True,
        "truncated": 0,
    }
    d.update(over)
    d = {k: v for k, v in d.items() if v is not OMIT}
    d["data"] = base64.b64encode(data).decode()
    return orjson.dumps(d)


def decode_all(
    lines: list[bytes], *, in_place: bool, monkeypatch: pytest.MonkeyPatch
) -> list[Event]:
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
    line = orjson.dumps(
        {
            "type": "SSL_CLOSE",
            "ts_ns": 1,
            "pid": 1,
            "conn": 9,
            "func": "SSL_free",
            "pad": "x" * 2000,
            "data": "QUJD",
        }
    )
    (ev,) = decode_all([line], in_place=True, monkeypatch=monkeypatch)
    assert ev.payload.kind == "tls_close"


# --- the fast path (typed msgspec decoding, Events built without re-validation) ----------------


def reference_decoder() -> SslToolDecoder:
    """The general path only: orjson and validated Events, as before the fast path existed."""
    dec = SslToolDecoder(boot_offset_ns=1_000_000)
    dec._fast = lambda line: None  # type: ignore[method-assign]
    return dec


def outcomes(dec: SslToolDecoder, lines: list[bytes]) -> list[Any]:
    """Per line the Events it gave or the error it raised (type, message); then finish()'s Events."""
    result: list[Any] = []
    for line in lines:
        out: list[Event] = []
        try:
            dec.decode(line, out)
        except Exception as exc:
            result.append((type(exc), str(exc), out))
        else:
            result.append(out)
    out = []
    try:
        dec.finish(out)
    except Exception as exc:
        result.append((type(exc), str(exc), out))
    else:
        result.append(out)
    return result


def assert_same_events(fast: list[Event], ref: list[Event]) -> None:
    assert fast == ref
    assert [e.to_json() for e in fast] == [e.to_json() for e in ref]
    for f, r in zip(fast, ref, strict=True):
        for a, b in ((f, r), (f.payload, r.payload)):
            assert type(a) is type(b)
            assert a.model_fields_set == b.model_fields_set
            assert (a.__pydantic_extra__, a.__pydantic_private__) == (
                b.__pydantic_extra__,
                b.__pydantic_private__,
            )
            assert a.model_dump(exclude_unset=True) == b.model_dump(exclude_unset=True)
            assert [type(v) for v in a.__dict__.values()] == [type(v) for v in b.__dict__.values()]


def assert_same_outcomes(lines: list[bytes]) -> SslToolDecoder:
    """Decode with and without the fast path; returns the fast decoder (to inspect its counters)."""
    dec, ref_dec = SslToolDecoder(boot_offset_ns=1_000_000), reference_decoder()
    fast, ref = outcomes(dec, lines), outcomes(ref_dec, lines)
    assert (dec.incomplete_calls, dec.stats) == (ref_dec.incomplete_calls, ref_dec.stats)
    # the TLS byte count is the length of every TlsData event given, on both paths
    given = [e for r in fast for e in (r[2] if isinstance(r, tuple) else r)]
    assert dec.stats.tls_bytes == sum(e.payload.length for e in given if e.kind == "tls_data")
    assert len(fast) == len(ref)
    for f, r in zip(fast, ref, strict=True):
        if isinstance(r, tuple):
            assert isinstance(f, tuple) and f[:2] == r[:2], (f, r)
            assert_same_events(f[2], r[2])
        else:
            assert isinstance(f, list), f
            assert_same_events(f, r)
    return dec


def raw_line(fields: list[tuple[str, str]]) -> bytes:
    """A JSON object from (key, raw JSON value) pairs, so values orjson.dumps refuses (ints beyond
    64 bits, 1e999, duplicate keys) can be written too."""
    return ("{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in fields) + "}").encode()


EDGE_INTS = [
    0,
    1,
    -1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64 - 1,
    2**64,
    2**70,
    -(2**63),
    -(2**63) - 1,
]
narrow = st.one_of(st.integers(-5, 70_000), st.integers(-(2**63), 2**63 - 1))
wide = st.one_of(narrow, st.sampled_from(EDGE_INTS), st.integers(-(2**65), 2**65))
# A value of another JSON type, or an int written in another way, for any field.
wrong = st.sampled_from(
    [
        '"1"',
        "1.0",
        "1e3",
        "-0",
        "true",
        "false",
        "null",
        "[]",
        "{}",
        '"read"',
        "1e999",
        '"\\u00e9"',
        '""',
    ]
)


def good_value(key: str, draw: Any, data: bytes, ints: st.SearchStrategy[int]) -> str:
    if key == "type":
        return '"SSL_DATA"'
    if key == "dir":
        return json.dumps(draw(st.sampled_from(["read", "write"])))
    if key in ("comm", "func", "peer"):
        text = draw(
            st.one_of(
                st.sampled_from(["", "curl", "SSL_read_ex", "1.2.3.4:443", "[::1]:8443"]),
                st.text(max_size=20),
            )
        )
        return json.dumps(text, ensure_ascii=draw(st.booleans()))
    if key == "last":
        return json.dumps(draw(st.sampled_from([True, True, True, False])))
    if key == "read_error":
        return json.dumps(draw(st.booleans()))
    if key == "data":
        return '"' + base64.b64encode(data).decode() + '"'
    if key == "len":
        return str(draw(st.one_of(st.just(len(data)), ints)))
    if key == "seq":
        return str(draw(st.one_of(st.just(0), st.just(0), st.integers(0, 3), ints)))
    if key in ("tid", "pid"):
        return str(draw(st.one_of(st.integers(1, 3), ints)))
    if key == "call_id":
        return str(draw(st.one_of(st.integers(0, 3), ints)))
    return str(draw(ints))


TOOL_ORDER = [
    "type",
    "ts_ns",
    "pid",
    "tid",
    "uid",
    "comm",
    "dir",
    "func",
    "conn",
    "fd",
    "peer",
    "call_id",
    "latency_ns",
    "len",
    "seq",
    "offset",
    "last",
    "truncated",
    "data",
]
OPTIONAL = {
    "tid",
    "uid",
    "comm",
    "func",
    "fd",
    "peer",
    "call_id",
    "latency_ns",
    "len",
    "seq",
    "offset",
    "last",
    "truncated",
}


def bad_base64(draw: Any, b64: str) -> str:
    cut = draw(st.integers(0, len(b64)))
    how = draw(st.sampled_from(["insert", "strip-padding", "urlsafe", "escape", "truncate"]))
    if how == "insert":
        return (
            b64[:cut]
            + draw(st.sampled_from(["*", "=", "\\n", " ", "\\/", "\\u0041", "A"]))
            + b64[cut:]
        )
    if how == "strip-padding":
        return b64.rstrip("=")
    if how == "urlsafe":
        return b64.replace("+", "-").replace("/", "_")
    if how == "escape":
        return b64.replace("/", "\\/")
    return b64[:cut]


payloads = st.one_of(
    st.binary(max_size=200),
    st.builds(
        lambda n, seed: random.Random(seed).randbytes(n),
        st.integers(0, 20_000),
        st.integers(0, 2**32),
    ),
)


@st.composite
def ssl_lines(draw: Any) -> bytes:
    """An SSL_DATA line: mostly the tool's, sometimes with a field absent, of another type or
    value, unknown, duplicated or out of order, bad base64, or the line cut short."""
    data = draw(payloads)
    rate = draw(st.sampled_from([0, 0, 30]))  # two lines in three only vary the values
    ints = draw(st.sampled_from([narrow, narrow, wide]))  # and most of them within int64
    fields: list[tuple[str, str]] = []
    for key in TOOL_ORDER:
        if key in OPTIONAL and draw(st.integers(0, 9)) == 0:
            continue  # absent
        if key == "peer" and draw(st.booleans()):
            continue  # as the tool writes it when the peer is unknown
        value = good_value(key, draw, data, ints)
        mutation = draw(st.integers(0, rate)) if rate else -1
        if mutation == 0:
            value = draw(wrong)
        elif mutation == 1:
            continue  # a required field missing, too
        elif mutation == 2 and key == "data":
            value = '"' + bad_base64(draw, value[1:-1]) + '"'
        elif mutation == 3 and key in ("tid", "peer", "len"):
            value = "null"
        fields.append((key, value))
    if draw(st.integers(0, 7)) == 0:
        fields.insert(
            draw(st.integers(0, len(fields))),
            (
                draw(st.sampled_from(["read_error", "extra", "pid", "data", "type"])),
                draw(st.one_of(wrong, st.just('"SSL_CLOSE"'))),
            ),
        )
    if rate and draw(st.integers(0, 19)) == 0:
        fields = draw(st.permutations(fields))
    line = raw_line(fields)
    if rate and draw(st.integers(0, 29)) == 0:
        line = line[: draw(st.integers(0, len(line)))]
    return line


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(ssl_lines(), min_size=1, max_size=6))
def test_fast_path_gives_what_the_general_path_gives(lines: list[bytes]) -> None:
    assert_same_outcomes(lines)


@settings(max_examples=100, deadline=None)
@given(
    payload=payloads,
    conn=st.integers(0, 2**63 - 1),
    tid=st.one_of(st.none(), st.integers(0, 2**31)),
    peer=st.one_of(st.none(), st.text(max_size=30)),
    comm=st.text(max_size=15),
)
def test_the_tools_lines_take_the_fast_path(
    payload: bytes, conn: int, tid: int | None, peer: str | None, comm: str
) -> None:
    extra: dict[str, Any] = {"conn": conn, "comm": comm, "peer": peer}
    if tid is not None:
        extra["tid"] = tid
    line = tool_line(payload, **extra)
    dec = SslToolDecoder(boot_offset_ns=1_000_000)
    fast = dec._fast(line)
    assert fast is not None
    (ref,) = outcomes(reference_decoder(), [line])[0]
    assert_same_events([fast], [ref])


def lines_without_fast_path(monkeypatch: pytest.MonkeyPatch, lines: list[bytes]) -> list[Event]:
    """Decodes, failing if any line takes the fast path."""
    dec = SslToolDecoder(boot_offset_ns=0)
    fast = dec._fast

    def must_decline(line: bytes) -> Event | None:
        result = fast(line)
        assert result is None, line[:200]
        return result

    monkeypatch.setattr(dec, "_fast", must_decline)
    out: list[Event] = []
    for line in lines:
        dec.decode(line, out)
    dec.finish(out)
    return out


@pytest.mark.parametrize("conn", [2**63, 2**64 - 1])
def test_u64_beyond_int64_goes_the_general_way_exactly(
    conn: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    (ev,) = lines_without_fast_path(
        monkeypatch, [tool_line(b"abc", conn=conn), tool_line(b"x" * 5000, conn=conn)][:1]
    )
    assert ev.payload.conn == conn  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "line",
    [
        tool_line(b"abc", future_field=1),  # a newer tool's field: the general path ignores it
        tool_line(b"abc", seq=1, last=True),  # a chunk
        tool_line(b"abc", last=False),
        tool_line(b"abc", pid="42"),  # coerced by validation, refused by msgspec
        tool_line(b"x" * 3000, call_id=2**63),
        tool_line(b"x" * 3000)[:-1] + b',"extra":1}',
    ],
)
def test_unusual_lines_go_the_general_way(line: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    events = lines_without_fast_path(monkeypatch, [line])
    assert len(events) == 1
    assert_same_outcomes([line])


def test_bad_lines_fail_as_before() -> None:
    lines = [
        raw_line(
            [
                ("type", '"SSL_DATA"'),
                ("ts_ns", "1"),
                ("pid", "1"),
                ("dir", '"read"'),
                ("conn", "1"),
                ("x", "1e999"),
                ("data", '""'),
            ]
        ),
        tool_line(b"abc", conn=None),
        tool_line(b"abc", dir="sideways"),
        tool_line(b"abc")[:-30],
        tool_line(b"abc").replace(b'"data":"', b'"data":"*'),
        tool_line(b"x" * 3000).replace(b'"data":"', b'"data":"*'),
    ]
    for line in lines:
        result = outcomes(SslToolDecoder(boot_offset_ns=1_000_000), [line])[0]
        assert isinstance(result, tuple), line[:100]
    assert_same_outcomes(lines)


def test_pending_chunked_call_on_the_thread_takes_the_general_path() -> None:
    # A thread's chunked call lost its tail: the next whole call on that thread (tid absent: keyed
    # by pid; tid null: keyed by None) must first emit it as truncated, as the general path does.
    for tid in ({"tid": 43}, {"tid": OMIT}, {"tid": None}):
        first = tool_line(b"a" * 10, len=30, last=False, call_id=1, **tid)
        other_thread = tool_line(b"c" * 5, call_id=3, tid=99)
        whole = tool_line(b"b" * 5, call_id=2, **tid)
        dec = assert_same_outcomes([first, other_thread, whole])
        assert dec.incomplete_calls == 1
