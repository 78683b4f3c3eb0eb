"""The subprocess runner against real child programs: framing, errors, exit statuses, reaping."""

from __future__ import annotations

import os
import time

import anyio
import pytest

from collector import CommandRunner, ConfigError, Event, RunnerError, TlsData, ToolNotFoundError
from tests.conftest import children_of, emitter_cmd, process_exists

pytestmark = pytest.mark.usefixtures("no_leftover_children")


def runner_for(mode: str, n: int | None = None, **grace: float) -> CommandRunner:
    b = CommandRunner.builder().command(emitter_cmd(mode, n)).max_line(1024 * 1024)
    if grace:
        b.grace(**grace)
    return b.build()


async def collect(runner: CommandRunner) -> list[Event]:
    async with runner:
        return [e async for e in runner.events()]


async def test_clean_exit_yields_every_event() -> None:
    runner = runner_for("exit0", 5)
    events = await collect(runner)
    assert [e.payload.data["i"] for e in events] == [0, 1, 2, 3, 4]  # type: ignore[union-attr]
    assert runner.returncode == 0
    assert runner.stats.lines == 5 and runner.stats.events == 5 and runner.stats.parse_errors == 0


async def test_bad_lines_are_counted_and_skipped() -> None:
    runner = runner_for("mixed")
    events = await collect(runner)
    # lines: ev0, truncated JSON, not json, invalid UTF-8, ev1, oversize, ev2, empty, partial ev3
    assert [e.payload.data["i"] for e in events] == [0, 1, 2, 3]  # type: ignore[union-attr]
    s = runner.stats
    assert s.oversize_lines == 1
    assert s.parse_errors == 3  # truncated, not json, invalid utf-8; the empty line is skipped
    assert s.events == 4
    assert "line starts" in s.last_parse_error


async def test_nonzero_exit_delivers_events_then_raises() -> None:
    runner = runner_for("exit3", 4)
    seen: list[Event] = []
    with pytest.raises(RunnerError) as info:
        async with runner:
            async for e in runner.events():
                seen.append(e)
    assert len(seen) == 4
    assert info.value.returncode == 3
    assert "exited with status 3" in str(info.value)
    assert "something went wrong" in info.value.stderr_tail


async def test_death_by_signal_is_reported() -> None:
    runner = runner_for("segv", 2)
    with pytest.raises(RunnerError) as info:
        await collect(runner)
    assert info.value.returncode == -11
    assert "SIGSEGV" in str(info.value)


async def test_stop_escalates_to_sigterm_for_a_child_ignoring_sigint() -> None:
    runner = runner_for("hang", 2, sigint=0.3, sigterm=2.0)
    seen = []
    async with runner:
        async for e in runner.events():
            seen.append(e)
            if len(seen) == 2:
                t0 = time.monotonic()
                await runner.stop()
                elapsed = time.monotonic() - t0
    assert len(seen) == 2
    assert runner.returncode == -15
    assert elapsed < 5
    assert not process_exists(runner.child.pid)  # type: ignore[union-attr]


async def test_stop_escalates_to_sigkill() -> None:
    runner = runner_for("hang-all", 1, sigint=0.2, sigterm=0.2)
    async with runner:
        async for _ in runner.events():
            break
    assert runner.returncode == -9


async def test_stop_is_idempotent_and_concurrent_safe() -> None:
    runner = runner_for("hang", 1, sigint=0.1, sigterm=1.0)
    await runner.start()
    async for _ in runner.events():
        break  # the child has installed its SIGINT handler once it prints
    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(runner.stop)
    await runner.stop()
    assert runner.returncode == -15


async def test_cancelling_the_consumer_stops_and_reaps_the_child() -> None:
    runner = runner_for("hang", 3, sigint=0.2, sigterm=1.0)
    got = []
    with anyio.move_on_after(1.0):
        async with runner:
            async for e in runner.events():
                got.append(e)
    assert len(got) == 3
    assert runner.child is not None and runner.child.returncode is not None
    assert not process_exists(runner.child.pid)
    assert children_of(os.getpid()) == [] or runner.child.pid not in children_of(os.getpid())


async def test_grandchild_holding_the_pipe_does_not_hang_the_stream() -> None:
    runner = runner_for("orphan", 2)
    with anyio.fail_after(10):
        events = await collect(runner)
    assert len(events) == 2
    assert runner.returncode == 0


def test_builder_rejects_bad_configuration() -> None:
    with pytest.raises(ConfigError, match="buffer must be a positive"):
        CommandRunner.builder().command(["true"]).buffer(-1).build()
    with pytest.raises(ConfigError, match="needs a command"):
        CommandRunner.builder().build()
    with pytest.raises(ToolNotFoundError, match="command not found"):
        CommandRunner.builder().command(["/no/such/tool"]).build()
    with pytest.raises(ConfigError, match="grace_sigint must not be negative"):
        CommandRunner.builder().command(["true"]).grace(sigint=-1).build()
    with pytest.raises(ConfigError, match="not an Analyzer"):
        CommandRunner.builder().analyzer(lambda e: e)  # type: ignore[arg-type]


async def test_stderr_tail_is_kept() -> None:
    runner = runner_for("exit0", 1)
    await collect(runner)
    assert "wrote 1 lines" in runner.stderr_tail()


async def test_a_custom_line_function_counts_the_tls_plaintext_it_yields() -> None:
    """`CommandRunner.parse(fn)`: TlsData events from the user's function are counted in
    `stats.tls_bytes` as the tool decoders count theirs (the TUI header and summary read it)."""

    def parse(line: bytes) -> list[Event]:
        n = int(line)
        data = b"x" * n
        tls = Event(timestamp_ns=n, source="mine", payload=TlsData(direction="read", conn=1, data=data, length=n))
        return [tls, Event(timestamp_ns=n, source="mine", payload=TlsData(direction="write", conn=1, data=b"", length=0))]

    runner = CommandRunner.builder().command(["printf", "3\\n40\\n500\\n"]).parse(parse).build()
    events = await collect(runner)
    assert len(events) == 6
    assert runner.stats.tls_bytes == 543
