"""When to draw the next frame: at most `fps` a second, fewer when drawing is slow or the process busy.

Drawing shares one core (the GIL) with the pipeline. Two rules keep it from slowing capture:
a frame that cost t seconds of CPU is followed by at least (BUDGET - 1) * t of rest, and while
the process uses more than half a core (the consumer is busy keeping up with a fast stream: 0.55
of a core at 50,000 events/s on the benchmark VM), the rate drops to LOADED_FPS.
Keys still get a frame within 1 / MAX_FPS (see run_tui), so the display is never starved.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MAX_FPS = 10.0
BUDGET = 10  # drawing takes at most 1/BUDGET of the time
LOADED_SHARE = 0.5  # CPU seconds per second of the process above which it counts as busy
LOADED_FPS = 4.0


class FramePacer:
    """Measures the process's CPU share between frames and says how long to wait for the next."""

    def __init__(
        self,
        fps: float,
        *,
        wall: Callable[[], float] = time.monotonic,
        cpu: Callable[[], float] = time.process_time,
    ) -> None:
        self.fps = max(0.5, min(fps, MAX_FPS))
        self._wall, self._cpu = wall, cpu
        self._last = (wall(), cpu())
        self.share = 0.0  # CPU share over the last frame period
        self.loaded = False

    def interval(self, cost: float) -> float:
        """Seconds from the start of the frame just drawn (which cost `cost` s) to the next one."""
        wall, cpu = self._wall(), self._cpu()
        span = wall - self._last[0]
        if span > 0:
            self.share = (cpu - self._last[1]) / span
        self._last = (wall, cpu)
        self.loaded = self.share >= LOADED_SHARE
        fps = min(self.fps, LOADED_FPS) if self.loaded else self.fps
        return max(1 / fps, cost * BUDGET)

    def min_interval(self, cost: float) -> float:
        """The shortest time between two frames, even when a key asks for one sooner."""
        return max(1 / MAX_FPS, cost * BUDGET)
