"""The line framer splits any byte stream into the same lines however it is chunked."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from collector.framework.core.framing import LineFramer


def frame(chunks: list[bytes], max_line: int) -> tuple[list[bytes], int]:
    f = LineFramer(max_line)
    lines: list[bytes] = []
    for c in chunks:
        lines += f.feed(c)
    tail = f.close()
    if tail is not None:
        lines.append(tail)
    return lines, f.oversize_lines


def reference(data: bytes, max_line: int) -> tuple[list[bytes], int]:
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    kept = [p for p in parts if len(p) <= max_line]
    return kept, len(parts) - len(kept)


@given(
    data=st.binary(max_size=400).map(lambda b: b.replace(b"\x00", b"\n")),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=20),
    max_line=st.integers(min_value=1, max_value=50),
)
def test_chunking_does_not_change_lines(data: bytes, cuts: list[int], max_line: int) -> None:
    points = sorted({c for c in cuts if c <= len(data)})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=False)]
    assert frame(chunks, max_line) == reference(data, max_line)


@given(
    lengths=st.lists(st.integers(min_value=0, max_value=6000), min_size=1, max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=30_000), max_size=6),
    max_line=st.sampled_from([100, 3000, 64 << 20]),
    ends_open=st.booleans(),
)
def test_long_lines_any_chunking(
    lengths: list[int], cuts: list[int], max_line: int, ends_open: bool
) -> None:
    """Lines around and past the framer's long-line threshold (cut with find, not split)."""
    data = b"\n".join(bytes([65 + i % 26]) * n for i, n in enumerate(lengths))
    if not ends_open:
        data += b"\n"
    points = sorted({c for c in cuts if c <= len(data)})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=False)]
    assert frame(chunks, max_line) == reference(data, max_line)


def test_oversize_line_skipped_up_to_next_newline() -> None:
    f = LineFramer(10)
    assert f.feed(b"short\n" + b"x" * 8) == [b"short"]
    assert f.feed(b"y" * 8) == []
    assert f.feed(b"zz\nok\n") == [b"ok"]
    assert f.oversize_lines == 1
