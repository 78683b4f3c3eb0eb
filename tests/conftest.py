from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = Path(__file__).resolve().parent / "programs"


def emitter_cmd(mode: str, n: int | None = None) -> list[str]:
    cmd = [sys.executable, str(PROGRAMS / "emitter.py"), mode]
    if n is not None:
        cmd.append(str(n))
    return cmd


def children_of(pid: int) -> list[int]:
    """Live (or zombie) processes whose parent is `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def proc_state(pid: int) -> str | None:
    """The state letter of /proc/PID/stat (R, S, T, Z, ...), None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def process_exists(pid: int) -> bool:
    state = proc_state(pid)
    return state is not None and state != "X"


SSLSNIFF = ROOT / "bpf_programs" / "build" / "sslsniff"
# pytestmark of the tests that run the real sslsniff
needs_sslsniff = [
    pytest.mark.bpf,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not SSLSNIFF.exists(), reason="sslsniff not built"),
]


@pytest.fixture
def no_leftover_children():
    before = set(children_of(os.getpid()))
    yield
    left = set(children_of(os.getpid())) - before
    assert not left, f"child processes left behind: {left}"
