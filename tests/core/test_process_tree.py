"""ProcessTree: links, reparenting, exit status, files, eviction, /proc seeding."""

from __future__ import annotations

import subprocess
import time

from collector import Event, FileOpen, ProcessExec, ProcessExit, ProcessFork, ProcessTree


def ev(pid: int, payload: object, ts: int = 0, comm: str = "c") -> Event:
    return Event(timestamp_ns=ts, source="process", pid=pid, comm=comm, payload=payload)  # type: ignore[arg-type]


def test_fork_exec_exit_builds_the_tree() -> None:
    t = ProcessTree()
    t.apply(ev(10, ProcessExec(ppid=1, uid=0, filename="/bin/sh", argv=["sh", "-c", "x"]), ts=100))
    t.apply(ev(10, ProcessFork(child_pid=11), ts=200))
    t.apply(ev(11, ProcessExec(ppid=10, uid=0, filename="/bin/ls", argv=["ls", "-l"]), ts=300, comm="ls"))
    t.apply(ev(11, FileOpen(path="/etc/passwd", ret=3, count=5, aggregate=True)))
    t.apply(ev(11, FileOpen(path="/etc/passwd", ret=3)))
    t.apply(ev(11, ProcessExit(ppid=10, exit_code=0, signal=9), ts=900))
    root = t.nodes[10]
    child = t.nodes[11]
    assert root.children == [11] and child.ppid == 10
    assert child.argv == ["ls", "-l"] and child.comm == "ls"
    assert child.files == {"/etc/passwd": 6}
    assert not child.running and child.signal == 9 and child.lifetime_ns == 700
    assert [(d, n.pid) for d, n in t.walk()] == [(0, 1), (1, 10), (2, 11)]


def test_reparenting_moves_the_child() -> None:
    t = ProcessTree()
    t.apply(ev(10, ProcessFork(child_pid=12)))
    t.apply(ev(12, ProcessExit(ppid=1, exit_code=0)))
    assert t.nodes[10].children == [] and 12 in t.nodes[1].children


def test_exited_processes_are_evicted_beyond_the_bound() -> None:
    t = ProcessTree(max_exited=100)
    for pid in range(1000, 1500):
        t.apply(ev(1, ProcessFork(child_pid=pid)))
        t.apply(ev(pid, ProcessExit(ppid=1, exit_code=0)))
    assert len([n for n in t.nodes.values() if not n.running]) == 100
    assert len(t.nodes[1].children) == 100


def test_seed_from_proc_finds_a_real_subtree() -> None:
    proc = subprocess.Popen(["sh", "-c", "sleep 30 & wait"])
    try:
        for _ in range(200):
            with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                if f.read().strip():
                    break
            time.sleep(0.025)
        t = ProcessTree()
        n = t.seed_from_proc(proc.pid)
        assert n == 2
        node = t.nodes[proc.pid]
        assert node.argv[:2] == ["sh", "-c"] and node.seeded
        (child,) = node.children
        assert t.nodes[child].argv == ["sleep", "30"]
    finally:
        subprocess.run(["pkill", "-P", str(proc.pid)], check=False)
        proc.kill()
        proc.wait()
