"""FramePacer: the frame interval from the requested rate, the frame's cost and the CPU share."""

from __future__ import annotations

import pytest

from collector.tui.pacing import BUDGET, BUSY_FPS, LOADED_FPS, MAX_FPS, FramePacer, demand_seconds


class Clocks:
    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    def advance(self, wall: float, cpu: float) -> None:
        self.wall += wall
        self.cpu += cpu


def pacer(fps: float) -> tuple[FramePacer, Clocks]:
    c = Clocks()
    return FramePacer(fps, wall=lambda: c.wall, cpu=lambda: c.cpu), c


def test_an_idle_process_gets_the_requested_rate() -> None:
    p, c = pacer(8)
    c.advance(0.125, 0.03)
    assert p.interval(0.002) == pytest.approx(1 / 8)
    assert not p.loaded and p.share == pytest.approx(0.24)


def test_the_rate_never_passes_the_maximum() -> None:
    p, c = pacer(1000)
    c.advance(0.1, 0.0)
    assert p.interval(0.0) == pytest.approx(1 / MAX_FPS)


def test_a_busy_process_draws_fewer_frames_and_recovers() -> None:
    p, c = pacer(8)
    c.advance(0.125, 0.08)  # the loop thread ran or waited for a CPU 64% of the time
    assert p.interval(0.002) == pytest.approx(1 / LOADED_FPS)
    assert p.loaded
    c.advance(0.25, 0.24)  # 96%: saturated, or starved by other processes
    assert p.interval(0.002) == pytest.approx(1 / BUSY_FPS)
    c.advance(0.5, 0.1)
    assert p.interval(0.002) == pytest.approx(1 / 8)
    assert not p.loaded


def test_demand_grows_with_work() -> None:
    before = demand_seconds()
    sum(range(2_000_000))
    assert demand_seconds() > before


def test_a_slow_frame_is_followed_by_a_longer_rest() -> None:
    p, c = pacer(8)
    c.advance(0.125, 0.0)
    assert p.interval(0.05) == pytest.approx(0.05 * BUDGET)
    assert p.min_interval(0.05) == pytest.approx(0.05 * BUDGET)
    assert p.min_interval(0.001) == pytest.approx(1 / MAX_FPS)
