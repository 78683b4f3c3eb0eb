"""The SSE parser against the WHATWG rules, and split invariance."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from collector.framework.protocols.sse import SseEvent, SseParser


def parse(*chunks: bytes, **kw: int) -> list[SseEvent]:
    p = SseParser(**kw)
    out: list[SseEvent] = []
    for c in chunks:
        out += p.feed(c)
    out += p.finish()
    return out


def simple(events: list[SseEvent]) -> list[tuple[str, str, str | None, int | None]]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


def test_basic_fields_and_multiline_data() -> None:
    evs = parse(b"event: add\ndata: line1\ndata: line2\nid: 7\nretry: 1500\n\ndata: next\n\n")
    assert simple(evs) == [("add", "line1\nline2", "7", 1500), ("message", "next", "7", None)]


def test_line_endings_crlf_lf_cr() -> None:
    assert simple(parse(b"data: a\r\n\r\ndata: b\n\ndata: c\r\rdata: d\r\n\n")) == [
        ("message", "a", None, None),
        ("message", "b", None, None),
        ("message", "c", None, None),
        ("message", "d", None, None),
    ]


def test_cr_at_chunk_end_then_lf() -> None:
    # "\r" ends chunk one and "\n" starts chunk two: one line ending, not a blank line
    assert simple(parse(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n")) == [("message", "a\nb", None, None)]


def test_comments_and_unknown_fields_and_no_colon() -> None:
    evs = parse(b": keep-alive\n\n:another\nfoo: bar\ndata\ndata\n\n")
    # "data" alone is the field name with an empty value: two empty data lines -> "\n"
    assert simple(evs) == [("message", "\n", None, None)]


def test_space_after_colon_only_one_stripped() -> None:
    assert parse(b"data:  two spaces\ndata:none\n\n")[0].data == " two spaces\nnone"


def test_empty_data_not_dispatched_and_event_reset() -> None:
    assert simple(parse(b"event: x\n\ndata: y\n\n")) == [("message", "y", None, None)]


def test_retry_digits_only_and_id_with_nul_ignored() -> None:
    evs = parse(b"retry: 12a\nid: a\x00b\ndata: x\n\nretry: 30\ndata: y\nid: ok\n\n")
    assert simple(evs) == [("message", "x", None, None), ("message", "y", "ok", 30)]


def test_bom_stripped_once_even_split() -> None:
    assert simple(parse(b"\xef", b"\xbb", b"\xbfdata: x\n\n")) == [("message", "x", None, None)]
    # a second BOM is content (part of a field name here, so the line is ignored)
    assert simple(parse(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n")) == [("message", "y", None, None)]


def test_unterminated_event_discarded_at_end() -> None:
    assert parse(b"data: complete\n\ndata: not complete\n") == [SseEvent(data="complete")]


def test_utf8_split_across_chunks() -> None:
    raw = "data: héllo ✓\n\n".encode()
    assert parse(raw[:8], raw[8:12], raw[12:])[0].data == "héllo ✓"


def test_bounded() -> None:
    evs = parse(b"data: " + b"x" * 5000, b"x" * 5000 + b"\ndata: more\n\n", max_event_size=1000)
    assert len(evs) == 1 and evs[0].truncated and len(evs[0].data) <= 1000
    evs = parse(b"data: " + b"y" * 600 + b"\ndata: " + b"z" * 600 + b"\n\ndata: ok\n\n", max_event_size=1000)
    assert evs[0].truncated and len(evs[0].data) <= 1000 and evs[1] == SseEvent(data="ok")


STREAM = (
    b"\xef\xbb\xbf: hello\r\n"
    b"event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n"
    b"event: content_block_delta\ndata: {\"delta\":\"Hi\"}\n\n"
    b"id: 42\rretry: 3000\rdata: a\rdata: b\r\r"
    b"data\n\n"
    b"event: ping\ndata: {}\n\n"
    + "data: ünïcödé\r\n\r\n".encode()
    + b"data: [DONE]\n\n"
)


@settings(max_examples=300, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=20))
def test_any_split_same_events(cuts: list[int]) -> None:
    ref = parse(STREAM)
    assert len(ref) == 7
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    assert parse(*chunks) == ref
