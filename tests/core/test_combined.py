"""CombinedRunner: merged time order, and one runner dying does not stop the others."""

from __future__ import annotations

import os
import signal
from dataclasses import fields
from pathlib import Path

import anyio
import pytest

from collector import CommandRunner, Event, ReplayRunner, RunnerStats, ToolStatus
from collector.framework.analyzers.pipeline import tls_analyzers
from collector.framework.runners.combined import CombinedRunner
from collector.output.summary import format_summary
from tests.conftest import emitter_cmd
from tests.protocols.helpers import close, tls

pytestmark = pytest.mark.usefixtures("no_leftover_children")


def statuses(events: list[Event]) -> list[tuple[str, str]]:
    return [
        (e.payload.status, e.payload.info["runner"])
        for e in events
        if isinstance(e.payload, ToolStatus)
    ]


async def test_one_runner_killed_mid_run_the_other_continues() -> None:
    victim = CommandRunner.builder().command(emitter_cmd("hang", 2)).source("victim").grace(0.2, 0.5).build()
    survivor = (
        CommandRunner.builder()
        .command(["sh", "-c", "sleep 1; " + " ".join(emitter_cmd("exit0", 5))])
        .source("survivor")
        .build()
    )
    combined = CombinedRunner.builder().add(victim).add(survivor).reorder_window(0.05).build()
    events: list[Event] = []
    killed = False
    with anyio.fail_after(20):
        async with combined:
            async for batch in combined.batches():
                events += batch
                assert victim.child is not None
                from_victim = [e for e in events if e.pid == victim.child.pid]
                if len(from_victim) == 2 and not killed:
                    os.kill(victim.child.pid, signal.SIGKILL)
                    killed = True
    assert victim.child is not None and survivor.child is not None
    assert len([e for e in events if e.pid == victim.child.pid]) == 2
    assert len([e for e in events if e.kind == "custom" and e.pid != victim.child.pid]) == 5
    st = statuses(events)
    assert ("runner_failed", "victim") in st
    assert ("runner_exited", "survivor") in st
    failed = next(e for e in events if isinstance(e.payload, ToolStatus) and e.payload.info["runner"] == "victim")
    assert "SIGKILL" in failed.payload.message  # type: ignore[union-attr]
    assert combined.states["victim"].state == "failed"
    assert combined.summary_stats().lines == 7


async def test_events_come_out_in_timestamp_order() -> None:
    a = CommandRunner.builder().command(emitter_cmd("exit0", 50)).source("a").build()
    b = CommandRunner.builder().command(emitter_cmd("exit0", 50)).source("b").build()
    combined = CombinedRunner.builder().add(a).add(b).build()
    async with combined:
        events = [e async for e in combined.events()]
    data = [e for e in events if not isinstance(e.payload, ToolStatus)]
    assert len(data) == 100
    stamps = [e.timestamp_ns for e in data]
    assert stamps == sorted(stamps)


async def test_stop_stops_every_runner() -> None:
    a = CommandRunner.builder().command(emitter_cmd("hang", 1)).source("a").grace(0.2, 1).build()
    b = CommandRunner.builder().command(emitter_cmd("hang", 1)).source("b").grace(0.2, 1).build()
    combined = CombinedRunner.builder().add(a).add(b).build()
    seen = 0
    async with combined:
        async for batch in combined.batches():
            seen += len(batch)
            if seen >= 2:
                await combined.stop()
    assert a.returncode is not None and b.returncode is not None


def test_the_summary_adds_up_every_counter_of_the_parts(tmp_path: Path) -> None:
    parts = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(b"")
        parts.append(ReplayRunner.open(path))
    counters = [f.name for f in fields(RunnerStats) if f.type in (int, "int") and f.name != "events"]
    assert "tls_bytes" in counters and "lost_bytes" in counters
    for i, name in enumerate(counters):
        setattr(parts[0].stats, name, 10 + i)
        setattr(parts[1].stats, name, 1000 * (i + 1))
    combined = CombinedRunner.builder().add(parts[0]).add(parts[1]).build()
    total = combined.summary_stats()
    assert {n: getattr(total, n) for n in counters} == {
        n: getattr(parts[0].stats, n) + getattr(parts[1].stats, n) for n in counters
    }


async def test_summary_adds_up_the_analyzers_counters(tmp_path: Path) -> None:
    """Each sub-runner's HTTP analyzer counts its exchanges and skipped bytes; the combined
    runner's summary adds them up (and its own chain's), and the printed summary shows them."""
    get = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    runners = []
    for i, junk in enumerate((b"", b"stray bytes\n")):
        events = [tls("read", junk, 1, pid=i)] if junk else []
        events += [tls("write", get, 2, pid=i), tls("read", ok, 3, pid=i), close(4, pid=i)]
        path = tmp_path / f"{i}.jsonl"
        path.write_bytes(b"".join(e.to_json() + b"\n" for e in events))
        runners.append(ReplayRunner.builder().file(path).analyzers(*tls_analyzers()).build())
    builder = CombinedRunner.builder()
    for runner in runners:
        builder.add(runner)
    combined = builder.analyzers(*tls_analyzers()).build()  # sees no TLS data: counts nothing
    async with combined:
        kinds = [e.kind async for e in combined.events()]
    assert kinds.count("http_exchange") == 2
    stats = combined.summary_stats()
    assert stats.analyzers["http"]["exchanges"] == 2
    assert stats.analyzers["http"]["partial"] == 1
    assert stats.analyzers["http"]["unparsed_bytes"] == len(b"stray bytes\n")
    assert stats.analyzers["llm"]["calls"] == 0
    text = format_summary({"http_exchange": 2}, 1.0, stats)
    assert "  http: exchanges 2, partial 1, unparsed 12 B\n" in text + "\n"
    assert "  llm:" not in text  # nothing but zeros: no line
