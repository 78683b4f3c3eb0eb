"""When to draw the next frame: at most `fps` a second, fewer when drawing is slow or the process busy.

Drawing shares one core (the GIL) with the pipeline. Two rules keep it from slowing capture:
a frame that cost t seconds of CPU is followed by at least (BUDGET - 1) * t of rest, and the
rate drops while the event loop's thread is in demand: running or waiting for a CPU (Linux
schedstat; CPU time elsewhere) more than LOADED_SHARE of the time (0.55 at 50,000 events/s on
the benchmark VM) gives LOADED_FPS, more than BUSY_SHARE (the consumer is saturated, or starved
by other processes on a shared machine) BUSY_FPS. Keys still get a frame within 1 / MAX_FPS (see
run_tui), so the display is never starved.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MAX_FPS = 10.0
BUDGET = 10  # drawing takes at most 1/BUDGET of the time
LOADED_SHARE = 0.5  # seconds running or runnable per second
LOADED_FPS = 4.0
BUSY_SHARE = 0.9
BUSY_FPS = 2.0


def demand_seconds() -> float:
    """Seconds this thread has been running or waiting for a CPU (CPU time where unknown)."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            run_ns, wait_ns = f.read().split()[:2]
        return (int(run_ns) + int(wait_ns)) / 1e9
    except (OSError, ValueError):
        return time.process_time()


class FramePacer:
    """Measures the loop thread's demand for CPU between frames; says how long to wait for the next.

    Create and call it on the event loop's thread (the demand is read per thread).
    """

    def __init__(
        self,
        fps: float,
        *,
        wall: Callable[[], float] = time.monotonic,
        cpu: Callable[[], float] = demand_seconds,
    ) -> None:
        self.fps = max(0.5, min(fps, MAX_FPS))
        self._wall, self._cpu = wall, cpu
        self._last = (wall(), cpu())
        self.share = 0.0  # demand over the last frame period, in seconds per second
        self.loaded = False

    def interval(self, cost: float) -> float:
        """Seconds from the start of the frame just drawn (which cost `cost` s) to the next one."""
        wall, cpu = self._wall(), self._cpu()
        span = wall - self._last[0]
        if span > 0:
            self.share = (cpu - self._last[1]) / span
        self._last = (wall, cpu)
        self.loaded = self.share >= LOADED_SHARE
        fps = self.fps
        if self.share >= BUSY_SHARE:
            fps = min(fps, BUSY_FPS)
        elif self.loaded:
            fps = min(fps, LOADED_FPS)
        return max(1 / fps, cost * BUDGET)

    def min_interval(self, cost: float) -> float:
        """The shortest time between two frames, even when a key asks for one sooner."""
        return max(1 / MAX_FPS, cost * BUDGET)
