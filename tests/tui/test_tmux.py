"""`collector replay FILE --tui` in a real terminal (tmux): keys, screen contents, terminal restored."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.tui.trace import write_session

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")


class Tmux:
    def __init__(self, tmp: Path) -> None:
        self.socket = f"collector-tui-{os.getpid()}-{time.monotonic_ns()}"
        self.tmp = tmp

    def run(self, *args: str) -> str:
        assert TMUX is not None
        done = subprocess.run(
            [TMUX, "-L", self.socket, *args], capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout

    def start(self, command: str, width: int = 120, height: int = 40) -> None:
        self.run("new-session", "-d", "-x", str(width), "-y", str(height), command)

    def screen(self) -> str:
        return self.run("capture-pane", "-p")

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", *(["-l"] if literal else []), *keys)
        time.sleep(0.3)

    def wait_for(self, test: Callable[[str], bool], timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if test(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; the screen is:\n{screen}")
            time.sleep(0.1)

    def kill(self) -> None:
        assert TMUX is not None
        subprocess.run([TMUX, "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    t = Tmux(tmp_path)
    try:
        yield t
    finally:
        t.kill()


def wait_file(path: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def test_replay_tui_in_a_real_terminal(tmux: Tmux, tmp_path: Path) -> None:
    trace = write_session(tmp_path / "session.jsonl")
    before, after, done = tmp_path / "before.txt", tmp_path / "after.txt", tmp_path / "done.txt"
    collector = (
        f"{shlex.quote(sys.executable)} -m collector.cli.main replay {shlex.quote(str(trace))} --tui"
    )
    script = (
        f"stty -a > {before}; {collector} 2> {tmp_path / 'stderr.txt'}; "
        f"echo $? > {done}; stty -a > {after}; sleep 60"
    )
    tmux.start(f"sh -c {shlex.quote(script)}")

    screen = tmux.wait_for(lambda s: "replay: ended" in s)
    lines = screen.split("\n")
    assert "collector ▸ replay" in lines[0]
    for text in ("Processes", "LLM calls", "HTTP", "Events", "agent --task fix bug", "gpt-4o"):
        assert text in screen
    assert "4 calls · in 3.1k · out 603 · 1 err" in screen
    assert "\\x1b[31mRED" in screen and "[bold red]x[/]" in screen  # shown, not interpreted
    assert "q quit" in screen

    # Move to the second call and open it.
    tmux.keys("Down")
    tmux.keys("Enter")
    screen = tmux.wait_for(lambda s: "LLM call anthropic claude-sonnet-4-2" in s)
    assert "System prompt" in screen and "question 2: list files" in screen
    tmux.keys("Escape")
    screen = tmux.wait_for(lambda s: "LLM call anthropic" not in s)

    # Tab to the HTTP pane, filter it.
    tmux.keys("Tab")
    tmux.keys("/")
    tmux.keys("http.response.status >= 400", literal=True)
    tmux.wait_for(lambda s: "filter> http.response.status >= 400" in s)
    tmux.keys("Enter")
    screen = tmux.wait_for(lambda s: "HTTP (filtered)" in s)
    assert "1 of 4 shown" in screen and "filter: http.response.status >= 400" in screen

    tmux.keys("q")
    wait_file(after)
    assert done.read_text().strip() == "0"
    state = after.read_text()
    assert state == before.read_text()
    words = state.split()
    assert "icanon" in words and "echo" in words  # not -icanon / -echo
    final = tmux.screen()
    assert "Processes" not in final  # the alternate screen is gone
    assert "collector: 28 events" in (tmp_path / "stderr.txt").read_text()


def test_ctrl_c_quits_and_restores_the_terminal(tmux: Tmux, tmp_path: Path) -> None:
    from tests.tui.trace import big_session

    trace = write_session(tmp_path / "slow.jsonl", big_session(5_000, spacing_ns=10_000_000))
    after, done = tmp_path / "after.txt", tmp_path / "done.txt"
    collector = (
        f"{shlex.quote(sys.executable)} -m collector.cli.main replay {shlex.quote(str(trace))}"
        " --tui --speed 1"
    )
    script = f"trap true INT; {collector}; echo $? > {done}; stty -a > {after}; sleep 60"
    tmux.start(f"sh -c {shlex.quote(script)}", width=80, height=24)  # trap: sh survives ^C
    tmux.wait_for(lambda s: "replay: running" in s and "LLM calls" in s)
    tmux.keys("C-c")
    wait_file(after)
    words = after.read_text().split()
    assert "icanon" in words and "echo" in words
    assert done.read_text().strip() == "0"
    final = tmux.screen()
    assert "Processes" not in final and "collector: " in final  # screen left, summary printed
