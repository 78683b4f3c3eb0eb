"""Splits a byte stream into lines with a maximum length; does no I/O (feed bytes, get lines)."""

from __future__ import annotations

DEFAULT_MAX_LINE = 64 * 1024 * 1024

# bytes.split scans byte by byte (~0.3-1 ns a byte); find() uses memchr. Chunks whose lines are
# longer than this are cut with find (6x faster on 22 KB lines), shorter ones with split.
_LONG_LINE = 2048


def _split_long(data: bytes, first: int) -> tuple[list[bytes], bytes]:
    """`data.split(b"\n")` for few, long lines: (complete lines, rest); `first` is the 1st newline."""
    lines = [data[:first]]
    append = lines.append
    find = data.find
    pos = first + 1
    while True:
        nl = find(b"\n", pos)
        if nl < 0:
            return lines, data[pos:]
        append(data[pos:nl])
        pos = nl + 1


class LineFramer:
    """Frames `\\n`-terminated lines; a line longer than `max_line` is skipped whole and counted.

    The same byte stream yields the same lines however it is chunked. Memory held is bounded by
    `max_line` plus one chunk.
    """

    __slots__ = ("_buf", "_discarding", "max_line", "oversize_bytes", "oversize_lines")

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        if max_line <= 0:
            raise ValueError("max_line must be positive")
        self.max_line = max_line
        self._buf = bytearray()
        self._discarding = False
        self.oversize_lines = 0
        self.oversize_bytes = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add `data`; return the complete lines it finishes, without their newlines."""
        if self._discarding:
            nl = data.find(b"\n")
            if nl < 0:
                self.oversize_bytes += len(data)
                return []
            self.oversize_bytes += nl
            self._discarding = False
            data = data[nl + 1 :]
        first = data.find(b"\n")
        if first < 0:
            lines: list[bytes] = []
            rest = data
        else:
            second = data.find(b"\n", first + 1)
            if second < 0 or second - first > _LONG_LINE:
                lines, rest = _split_long(data, first)
            else:
                lines = data.split(b"\n")
                rest = lines.pop()
        buf = self._buf
        if buf:
            if not lines:
                # still inside the pending line
                if len(buf) + len(rest) > self.max_line:
                    self._start_discard(len(buf) + len(rest))
                    buf.clear()
                else:
                    buf += rest
                return []
            # the first line completes the pending one: copy only that line, not the chunk
            buf += lines[0]
            lines[0] = bytes(buf)
            buf.clear()
        if len(rest) > self.max_line:
            self._start_discard(len(rest))
        elif rest:
            buf += rest
        max_line = self.max_line
        for line in lines:
            if len(line) > max_line:
                return self._drop_oversize(lines)
        return lines

    def _drop_oversize(self, lines: list[bytes]) -> list[bytes]:
        kept = []
        for line in lines:
            if len(line) > self.max_line:
                self.oversize_lines += 1
                self.oversize_bytes += len(line)
            else:
                kept.append(line)
        return kept

    def _start_discard(self, nbytes: int) -> None:
        self.oversize_lines += 1
        self.oversize_bytes += nbytes
        self._discarding = True

    def close(self) -> bytes | None:
        """End of stream: return a final line that had no newline, if any."""
        self._discarding = False
        if not self._buf:
            return None
        tail = bytes(self._buf)
        self._buf.clear()
        return tail

    @property
    def pending(self) -> int:
        return len(self._buf)
