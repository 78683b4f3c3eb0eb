"""Conversion of kernel CLOCK_BOOTTIME timestamps (what eBPF reports) to wall-clock time."""

from __future__ import annotations

import time


def boot_to_wall_offset_ns(samples: int = 5) -> int:
    """Return wall_ns - boot_ns, measured once with the tightest of a few bracketing samples."""
    best: tuple[int, int] | None = None
    for _ in range(samples):
        w0 = time.time_ns()
        b = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        w1 = time.time_ns()
        width = w1 - w0
        offset = (w0 + width // 2) - b
        if best is None or width < best[0]:
            best = (width, offset)
    assert best is not None
    return best[1]


class BootClock:
    """Converts boot-time nanoseconds to wall-clock nanoseconds with an offset fixed at creation."""

    __slots__ = ("offset_ns",)

    def __init__(self, offset_ns: int | None = None) -> None:
        self.offset_ns = boot_to_wall_offset_ns() if offset_ns is None else offset_ns

    def to_wall(self, boot_ns: int) -> int:
        return boot_ns + self.offset_ns
