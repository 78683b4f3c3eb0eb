"""run_tui end to end: consuming a runner, keys from a pty, terminal restored, errors, runners."""

from __future__ import annotations

import base64
import io
import json
import os
import pty
import termios
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from rich.console import Console

from collector.framework.core.events import Event
from collector.framework.runners.replay import ReplayRunner
from collector.tui import TuiState, register_runners, run_tui
from tests.tui.trace import big_session, session_events, write_session


def recording_console(width: int = 120, height: int = 40) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=width, height=height, force_terminal=True, color_system=None)
    return console, out


async def test_without_a_keyboard_it_ends_with_the_runner(tmp_path: Path) -> None:
    path = write_session(tmp_path / "s.jsonl")
    runner = ReplayRunner.open(path)
    console, out = recording_console()
    state = TuiState("t")
    with anyio.fail_after(10):
        await run_tui(runner, title="replay s.jsonl", console=console, state=state)
    assert state.events == len(session_events())
    assert state.runners["replay"].state == "ended"
    assert runner.stopping
    screen = out.getvalue()
    assert "replay s.jsonl" in screen and "claude-sonnet-4-2" in screen
    assert "\x1b[31m" not in screen  # no captured escape reached the terminal


async def test_the_header_counts_tls_bytes_the_http_analyzers_consume(tmp_path: Path) -> None:
    """TlsData events do not reach the UI when the HTTP chain turns them into exchanges; the
    header's TLS byte count comes from the runner's decoder instead."""
    from collector import tls_analyzers

    req = b"GET /v1/models HTTP/1.1\r\nHost: h\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000
    lines = [
        json.dumps({"type": "SSL_DATA", "ts_ns": 1000 + i, "pid": 7, "tid": 7, "comm": "c",
                    "dir": d, "conn": 1, "len": len(data), "data": base64.b64encode(data).decode()},
                   separators=(",", ":"))
        for i, (d, data) in enumerate([("write", req), ("read", resp)])
    ]
    path = tmp_path / "tls.jsonl"
    path.write_text("\n".join(lines) + "\n")
    runner = ReplayRunner.builder().file(path).analyzers(*tls_analyzers()).build()
    console, out = recording_console()
    state = TuiState("t")
    with anyio.fail_after(10):
        await run_tui(runner, title="t", console=console, state=state)
    assert state.counts.get("tls_data", 0) == 0 and state.counts["http_exchange"] == 1
    assert state.tls_bytes == len(req) + len(resp)
    assert "TLS 5.0 KiB (" in out.getvalue()  # the header: 5,077 B in binary units


class Pty:
    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()

    def send(self, data: str) -> None:
        os.write(self.master, data.encode())

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def term() -> Any:
    t = Pty()
    yield t
    t.close()


def lflag(fd: int) -> int:
    return int(termios.tcgetattr(fd)[3])


async def test_keys_from_the_terminal_and_q_quits_and_restores_it(tmp_path: Path, term: Pty) -> None:
    path = write_session(tmp_path / "big.jsonl", big_session(20_000, spacing_ns=1_000_000))
    runner = ReplayRunner.open(path, speed=1.0)  # 20 s at recorded pace: still running at `q`
    console, out = recording_console()
    state = TuiState("t")
    before = termios.tcgetattr(term.slave)
    assert lflag(term.slave) & termios.ICANON and lflag(term.slave) & termios.ECHO
    seen_cbreak: list[bool] = []

    async def drive() -> None:
        await anyio.sleep(0.5)
        seen_cbreak.append(not lflag(term.slave) & (termios.ICANON | termios.ECHO))
        term.send("\t\x1b[B")  # Tab to HTTP, down
        await anyio.sleep(0.3)
        term.send("/")
        term.send("curl\r")
        await anyio.sleep(0.3)
        term.send("q")

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(drive)
            await run_tui(runner, title="t", console=console, state=state, input_fd=term.slave)
    assert seen_cbreak == [True]
    assert termios.tcgetattr(term.slave) == before
    assert runner.stopping and state.runners["replay"].state == "stopped"
    assert 0 < state.events < 20_000
    assert state.filter is not None and state.filter.text == "curl"
    assert "filter: curl" in out.getvalue()


async def test_after_the_runner_ends_it_lingers_until_q(tmp_path: Path, term: Pty) -> None:
    path = write_session(tmp_path / "s.jsonl")
    runner = ReplayRunner.open(path)
    console, _ = recording_console()
    state = TuiState("t")
    done = anyio.Event()

    async def ui() -> None:
        await run_tui(runner, title="t", console=console, state=state, input_fd=term.slave)
        done.set()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(ui)
            await anyio.sleep(0.6)
            assert not done.is_set() and state.runners["replay"].state == "ended"
            term.send("q")
            await done.wait()


class BrokenRunner(ReplayRunner):
    """Yields one batch, then fails like a tool that crashed."""

    async def batches(self) -> AsyncIterator[list[Event]]:
        yield session_events()[:5]
        raise RuntimeError("tool crashed: exit status 3")


async def test_a_runner_error_is_raised_after_the_terminal_is_restored(tmp_path: Path, term: Pty) -> None:
    path = write_session(tmp_path / "s.jsonl")
    runner = BrokenRunner(ReplayRunner.builder().file(path).config)
    console, out = recording_console()
    state = TuiState("t")
    before = termios.tcgetattr(term.slave)

    async def quit_soon() -> None:
        await anyio.sleep(0.5)
        term.send("q")

    with anyio.fail_after(10), pytest.raises(BaseExceptionGroup) as info:
        async with anyio.create_task_group() as tg:
            tg.start_soon(quit_soon)
            await run_tui(runner, title="t", console=console, state=state, input_fd=term.slave)
    assert info.group_contains(RuntimeError, match="tool crashed")
    assert termios.tcgetattr(term.slave) == before
    assert state.events == 5
    assert "replay: failed (tool crashed: exit status 3)" in out.getvalue()


async def test_a_crash_in_the_ui_restores_the_terminal(
    tmp_path: Path, term: Pty, monkeypatch: pytest.MonkeyPatch
) -> None:
    import collector.tui.app as app

    def boom(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("renderer bug")

    monkeypatch.setattr(app, "render", boom)
    runner = ReplayRunner.open(write_session(tmp_path / "s.jsonl"))
    console, _ = recording_console()
    before = termios.tcgetattr(term.slave)
    with anyio.fail_after(10), pytest.raises(BaseException) as info:
        await run_tui(runner, title="t", console=console, input_fd=term.slave)
    assert "renderer bug" in repr(info.value) or "renderer bug" in str(info.value.__cause__)
    assert termios.tcgetattr(term.slave) == before
    assert runner.stopping


def test_a_combined_runner_shows_each_of_its_runners() -> None:
    class St:
        def __init__(self, state: str, message: str = "") -> None:
            self.state, self.message = state, message

    class Child:
        def __init__(self, name: str) -> None:
            self.name = name
            self.stats = None

    class Combined:
        name = "combined"
        stats = None
        runners = [Child("process"), Child("ssl")]
        states = {"process": St("running"), "ssl": St("failed", "no libssl found")}

    state = TuiState("t")
    register_runners(state, Combined())  # type: ignore[arg-type]
    assert state.runners["process"].current() == ("running", "")
    assert state.runners["ssl"].current() == ("failed", "no libssl found")
    Combined.states["process"].state = "exited"
    assert state.runners["process"].current()[0] == "exited"


async def test_frames_follow_the_timer_not_the_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import collector.tui.app as app

    frames: list[int] = []
    real_render = app.render

    def counting(state: TuiState, *args: Any, **kwargs: Any) -> Any:
        frames.append(state.events)
        return real_render(state, *args, **kwargs)

    monkeypatch.setattr(app, "render", counting)
    path = write_session(tmp_path / "big.jsonl", big_session(60_000, spacing_ns=20_000))
    runner = ReplayRunner.open(path, speed=1.0)  # 50,000 events/s for 1.2 s
    console, _ = recording_console(80, 24)
    state = TuiState("t")
    with anyio.fail_after(30):
        await run_tui(runner, title="t", console=console, state=state, fps=10)
    assert state.events == 60_000
    assert state.elapsed < 3.0  # kept up with 50k events/s (1.2 s of recorded time)
    assert len(frames) <= state.elapsed * 10 + 2  # <= 10 fps, whatever the event rate
    assert len(frames) >= 3 and frames[-1] == 60_000
