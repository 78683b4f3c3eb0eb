"""The SSE parser against the WHATWG rules, and split invariance."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.framework.protocols.sse import SseEvent, SseParser, split_body


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


# --- the whole-body split (split_body) against SseParser fed piece by piece ---------------------

LINES = [
    b"data: {\"a\":1}",
    b"data:x",
    b"data",
    b"data: ",
    b"data:  two",
    b"event: delta",
    b"event:",
    b"event: \xc3\xa9v\xff",
    b"id: 7",
    b"retry: 10",
    b": comment",
    b":",
    b"other: field",
    b"data: caf\xc3\xa9 \xe2\x9c\x93",
    b"data: bad \xff utf-8",
    b"",
]
DATA_LINES = [line for line in LINES if line.startswith(b"data")]
EVENT_LINES = [line for line in LINES if line.startswith(b"event")]
# One event's lines (a blank line follows each): the usual shapes, and anything
GROUPS = st.one_of(
    st.tuples(st.sampled_from(DATA_LINES)),
    st.tuples(st.sampled_from(EVENT_LINES), st.sampled_from(DATA_LINES)),
    st.lists(st.sampled_from(LINES), max_size=4),
)


def incremental(pieces: list[tuple[bytes, int]]) -> tuple[list[str], list[str], list[int]]:
    """What SseParser gives fed piece by piece: names, data, time of the piece that completed each."""
    p = SseParser()
    names: list[str] = []
    datas: list[str] = []
    times: list[int] = []
    for piece, ts in pieces:
        for ev in p.feed(piece):
            names.append(ev.event)
            datas.append(ev.data)
            times.append(ts)
    return names, datas, times


def whole(pieces: list[tuple[bytes, int]]) -> tuple[list[str], list[str], list[int]] | None:
    body = b"".join(piece for piece, _ in pieces)
    marks: list[int] = []
    stamps: list[int] = []
    offset = 0
    for piece, ts in pieces:
        if piece and (not stamps or stamps[-1] != ts):
            marks.append(offset)
            stamps.append(ts)
        offset += len(piece)
    found = split_body(body, marks, stamps)
    if found is None:
        return None
    names, datas, times = found
    # times found one by one (as extraction asks for the first content's) or all at once agree
    one_by_one = [times[k] for k in range(len(times))]
    assert list(times) == one_by_one and len(times) == len(names)
    return names, [d.decode("utf-8", "replace") for d in datas], one_by_one


def cut(body: bytes, sizes: list[int], same: int) -> list[tuple[bytes, int]]:
    """Pieces of the given sizes (cycling); every `same` consecutive pieces share a time."""
    pieces: list[tuple[bytes, int]] = []
    pos = 0
    while pos < len(body) or not pieces:
        n = sizes[len(pieces) % len(sizes)] if sizes else len(body)
        pieces.append((body[pos : pos + n], 100 + len(pieces) // same))
        pos += n
    return pieces


# The shapes split_body cuts in one pass (every event one `data:` line, or `event:` + `data:`)
SAME_SHAPE = st.one_of(
    st.lists(st.tuples(st.sampled_from(DATA_LINES)), max_size=15),
    st.lists(st.tuples(st.sampled_from(EVENT_LINES), st.sampled_from(DATA_LINES)), max_size=15),
)


@settings(max_examples=400, deadline=None)
@given(
    groups=st.one_of(st.lists(GROUPS, max_size=15), SAME_SHAPE),
    ending=st.sampled_from([b"\n", b"\r\n", b"\r", "mixed"]),
    bom=st.booleans(),
    tail=st.sampled_from([b"", b"data: unterminated", b"data: half\n", b"\n"]),
    sizes=st.lists(st.integers(min_value=1, max_value=30), max_size=8),
    same=st.integers(min_value=1, max_value=3),
    data=st.data(),
)
def test_split_body_same_events_and_times_as_the_parser(
    groups: list[tuple[bytes, ...] | list[bytes]], ending: bytes | str, bom: bool, tail: bytes, sizes: list[int], same: int, data: st.DataObject
) -> None:
    lines = [line for group in groups for line in (*group, b"")]
    if isinstance(ending, bytes):
        body = b"".join(line + ending for line in lines)
    else:
        body = b"".join(line + data.draw(st.sampled_from([b"\n", b"\r\n", b"\r"])) for line in lines)
    body = (b"\xef\xbb\xbf" if bom else b"") + body + tail
    pieces = cut(body, sizes, same)
    found = whole(pieces)
    # only bodies with a lone CR or mixed line endings are left to the parser
    uniform = b"\r" not in body or body.count(b"\r") == body.count(b"\r\n") == body.count(b"\n")
    assert (found is None) == (not uniform)
    if found is not None:
        assert found == incremental(pieces)


def test_split_body_shapes() -> None:
    body = (
        b"event: message_start\ndata: {\"a\":1}\n\n"
        b": keep-alive\n\n"
        b"data: one\ndata: two\n\n"
        b"id: 3\nretry: 5\ndata: x\n\n"
        b"\n\n\ndata: after blank lines\n\n"
        b"data: never ended"
    )
    names, datas, times = split_body(body, [0], [1]) or ([], [], [])
    assert names == ["message_start", "message", "message", "message"]
    assert datas == [b'{"a":1}', b"one\ntwo", b"x", b"after blank lines"]
    assert list(times) == [1, 1, 1, 1]
    crlf = body.replace(b"\n", b"\r\n")
    assert listed(split_body(crlf, [0], [1])) == (names, datas, [1, 1, 1, 1])
    assert split_body(body.replace(b"\n", b"\r"), [0], [1]) is None  # CR only: the parser's job
    assert split_body(b"", [], []) == ([], [], [])


@pytest.mark.parametrize(
    "body",
    [
        b"data: a\r\n\r\ndata: b\rc\r\n\r\n",  # a lone CR ends a line inside the one-pass shape
        b"data: a\r\n\r\ndata: b\nc\r\n\r\n",  # a lone LF
        b"event: e\r\ndata: a\r\n\r\nevent: e\r\ndata: b\rc\r\n\r\n",
        b"event: e\r\ndata: a\r\n\r\nevent: e\nx\r\ndata: b\r\n\r\n",
        b"data: a\r\n\r\ndata: b\r",  # in the unterminated tail: a lone CR dispatches there
    ],
)
def test_split_body_leaves_a_lone_break_in_a_crlf_body_to_the_parser(body: bytes) -> None:
    assert split_body(body, [0], [1]) is None
    assert whole([(body, 1)]) is None


def listed(found: tuple[list[str], list[bytes], Sequence[int]] | None) -> tuple[list[str], list[bytes], list[int]] | None:
    return None if found is None else (found[0], found[1], list(found[2]))


def test_split_body_times_are_the_dispatching_byte() -> None:
    body = b"data: a\n\ndata: b\n\n"
    # the blank line of "a" (offset 8) arrives at time 2, the one of "b" (offset 17) at time 3
    assert listed(split_body(body, [0, 8, 9, 17], [1, 2, 2, 3])) == (["message", "message"], [b"a", b"b"], [2, 3])
    assert listed(split_body(body, [0, 9], [1, 2])) == (["message", "message"], [b"a", b"b"], [1, 2])
    crlf = b"data: a\r\n\r\n"  # with CRLF the blank line's CR dispatches
    assert listed(split_body(crlf, [0, 9, 10], [1, 2, 3])) == (["message"], [b"a"], [2])
    times = split_body(body * 3, [0, 20], [1, 2])
    assert times is not None and times[2][-1] == 2 and times[2][1:3] == [1, 2] and list(times[2]) == [1, 1, 2, 2, 2, 2]


def test_split_body_leaves_huge_bodies_to_the_parser() -> None:
    assert split_body(b"data: " + b"x" * 100 + b"\n\n", [0], [1], max_event_size=50) is None


VALUES = st.lists(st.sampled_from([b"x", b" ", b":", b"data: ", b"event: ", b"\xc3\xa9", b"{}", b"\xff"]), max_size=4).map(b"".join)


ODD = [  # events that look almost like the usual ones (same counts of lines or of prefixes)
    b"", b"data:x\n\n", b"event: e\n\n", b": c\n\n", b"event: e\ndata: a\ndata: b\n\n", b"data: a\ndata: b\n\n",
    b"data: a\nevent: e\n\n", b"event: e\ndata: a\n\n", b"event: a\n\nevent: b\ndata: x\ndata: y\n\n",
    b"data: a\n\n\n\n", b"event: e\nid: 1\n\n", b"event: e\ndata: a\nid: 1\n\n", b"data: a\n\n", b"id: 1\ndata: a\n\n",
    b"data: a\ndata: b\ndata: c\n\n", b"event: e\ndata: a\nevent: x\nevent: f\ndata: b\n\n",
]


@pytest.mark.parametrize("odd", ODD)
@pytest.mark.parametrize("named", [True, False])
def test_split_body_usual_bodies_with_one_odd_event(odd: bytes, named: bool) -> None:
    usual = b"event: x\ndata: 1\n\n" if named else b"data: 1\n\n"
    for body in (usual * 3 + odd + usual, odd + usual * 2, usual * 2 + odd):
        for b in (body, body.replace(b"\n", b"\r\n")):
            pieces = cut(b, [5, 3], 1)
            assert whole(pieces) == incremental(pieces), b


@settings(max_examples=300, deadline=None)
@given(
    events=st.lists(st.tuples(st.one_of(st.none(), VALUES), VALUES), min_size=1, max_size=12),
    named=st.sampled_from(["all", "none", "any"]),
    crlf=st.booleans(),
    odd=st.sampled_from(ODD),
    where=st.integers(min_value=0, max_value=12),
    sizes=st.lists(st.integers(min_value=1, max_value=40), max_size=5),
)
def test_split_body_usual_bodies(
    events: list[tuple[bytes | None, bytes]], named: str, crlf: bool, odd: bytes, where: int, sizes: list[int]
) -> None:
    """Bodies of only `data: X` events, or only `event: E` + `data: X` ones (the whole-body
    checks), and the same with one odd event in them, split as the parser would."""
    blocks = []
    for name, value in events:
        if named == "all" or (named == "any" and name is not None):
            blocks.append(b"event: " + (name or b"") + b"\n" + b"data: " + value + b"\n\n")
        else:
            blocks.append(b"data: " + value + b"\n\n")
    blocks.insert(where % (len(blocks) + 1), odd)
    body = b"".join(blocks)
    if crlf:
        body = body.replace(b"\n", b"\r\n")
    pieces = cut(body, sizes, 1)
    found = whole(pieces)
    assert found is not None and found == incremental(pieces)
