"""A slow consumer stops the reading: memory stays bounded and no line is lost."""

from __future__ import annotations

import resource

import anyio
import pytest

from collector import CommandRunner
from tests.conftest import emitter_cmd

pytestmark = pytest.mark.usefixtures("no_leftover_children")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


async def test_slow_consumer_bounds_memory_and_loses_nothing() -> None:
    total = 1_000_000
    runner = CommandRunner.builder().command(emitter_cmd("many", total)).build()
    count = 0
    expected_i = 0
    rss_before = rss_bytes()
    peak = rss_before
    async with runner:
        async for batch in runner.batches():
            for e in batch:
                assert e.payload.data["i"] == expected_i  # type: ignore[union-attr]
                expected_i = (expected_i + 1) % 1000
            count += len(batch)
            if count < 5000:
                await anyio.sleep(0.2)  # stall: the emitter fills the pipe and blocks
                peak = max(peak, rss_bytes())
    peak = max(peak, rss_bytes())
    assert count == total
    assert runner.stats.parse_errors == 0
    # 1M lines are ~190 MB of JSON; held at once we must stay far below that.
    assert peak - rss_before < 64 * 1024 * 1024, f"RSS grew by {(peak - rss_before) >> 20} MiB"
