"""A live model of the traced processes, kept up to date from the event stream; seeded from /proc."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .events import Event, FileOpen, ProcessExec, ProcessExit, ProcessFork

MAX_FILES_PER_PROCESS = 256


@dataclass
class ProcessNode:
    pid: int
    ppid: int = 0
    comm: str = ""
    argv: list[str] = field(default_factory=list)
    filename: str = ""
    start_ns: int | None = None
    exit_ns: int | None = None
    exit_code: int | None = None
    signal: int | None = None
    children: list[int] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)
    files_dropped: int = 0
    seeded: bool = False
    _child_set: set[int] = field(default_factory=set, repr=False, compare=False, init=False)

    def __post_init__(self) -> None:
        self._child_set = set(self.children)

    def add_child(self, pid: int) -> None:
        if pid not in self._child_set:
            self._child_set.add(pid)
            self.children.append(pid)

    def remove_child(self, pid: int) -> None:
        if pid in self._child_set:
            self._child_set.discard(pid)
            self.children.remove(pid)

    @property
    def running(self) -> bool:
        return self.exit_ns is None

    @property
    def lifetime_ns(self) -> int | None:
        if self.start_ns is None or self.exit_ns is None:
            return None
        return self.exit_ns - self.start_ns


class ProcessTree:
    """pid -> ProcessNode with parent/children links, argv, start/exit, exit status, files opened.

    Exited processes are kept (the tree is a record of the session) up to `max_exited`, oldest
    evicted first, so a long session does not grow without bound.
    """

    def __init__(self, max_exited: int = 10_000) -> None:
        self.nodes: dict[int, ProcessNode] = {}
        self.max_exited = max_exited
        self._exited: list[int] = []

    def node(self, pid: int) -> ProcessNode:
        node = self.nodes.get(pid)
        if node is None:
            node = self.nodes[pid] = ProcessNode(pid=pid)
        return node

    def _link(self, child: ProcessNode, ppid: int) -> None:
        if ppid <= 0 or child.ppid == ppid:
            child.ppid = child.ppid or ppid
            if ppid > 0:
                self.node(ppid).add_child(child.pid)
            return
        if child.ppid and child.ppid in self.nodes:
            self.nodes[child.ppid].remove_child(child.pid)
        child.ppid = ppid
        self.node(ppid).add_child(child.pid)

    def apply(self, event: Event) -> None:
        """Update the tree from one event; events of other kinds are ignored."""
        p = event.payload
        if isinstance(p, ProcessExec):
            node = self.node(event.pid)
            node.comm = event.comm
            node.argv = list(p.argv)
            node.filename = p.filename
            if node.start_ns is None:
                node.start_ns = event.timestamp_ns
            self._link(node, p.ppid)
        elif isinstance(p, ProcessFork):
            child = self.node(p.child_pid)
            child.start_ns = event.timestamp_ns
            child.comm = child.comm or event.comm
            parent = self.node(event.pid)
            parent.comm = parent.comm or event.comm
            if not child.argv:
                child.argv = list(parent.argv)
            self._link(child, event.pid)
        elif isinstance(p, ProcessExit):
            node = self.node(event.pid)
            node.comm = node.comm or event.comm
            node.exit_ns = event.timestamp_ns
            node.exit_code = p.exit_code
            node.signal = p.signal
            if node.start_ns is None and p.duration_ns:
                node.start_ns = event.timestamp_ns - p.duration_ns
            if p.ppid:
                self._link(node, p.ppid)
            self._exited.append(node.pid)
            self._evict()
        elif isinstance(p, FileOpen):
            node = self.node(event.pid)
            node.comm = node.comm or event.comm
            if p.path in node.files or len(node.files) < MAX_FILES_PER_PROCESS:
                node.files[p.path] = node.files.get(p.path, 0) + p.count
            else:
                node.files_dropped += p.count

    def apply_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.apply(event)

    def _evict(self) -> None:
        while len(self._exited) > self.max_exited:
            pid = self._exited.pop(0)
            node = self.nodes.get(pid)
            if node is None or node.running:
                continue
            del self.nodes[pid]
            parent = self.nodes.get(node.ppid)
            if parent is not None:
                parent.remove_child(pid)

    def roots(self) -> list[ProcessNode]:
        """Nodes whose parent is not in the tree, oldest first."""
        roots = [n for n in self.nodes.values() if n.ppid not in self.nodes]
        return sorted(roots, key=lambda n: (n.start_ns or 0, n.pid))

    def walk(self) -> Iterator[tuple[int, ProcessNode]]:
        """Depth-first (depth, node) pairs from the roots."""
        stack = [(0, n) for n in reversed(self.roots())]
        seen: set[int] = set()
        while stack:
            depth, node = stack.pop()
            if node.pid in seen:
                continue
            seen.add(node.pid)
            yield depth, node
            for pid in reversed(node.children):
                child = self.nodes.get(pid)
                if child is not None:
                    stack.append((depth + 1, child))

    def seed_from_proc(self, root_pid: int | None = None, proc: str = "/proc") -> int:
        """Add running processes (all, or `root_pid` and its descendants); returns how many."""
        entries: dict[int, tuple[int, str, list[str]]] = {}
        for name in os.listdir(proc):
            if not name.isdigit():
                continue
            info = _read_proc(proc, int(name))
            if info is not None:
                entries[int(name)] = info
        wanted = set(entries)
        if root_pid is not None:
            wanted = {root_pid} if root_pid in entries else set()
            grew = True
            while grew:
                grew = False
                for pid, (ppid, _, _) in entries.items():
                    if ppid in wanted and pid not in wanted:
                        wanted.add(pid)
                        grew = True
        for pid in sorted(wanted):
            ppid, comm, argv = entries[pid]
            node = self.node(pid)
            node.comm = node.comm or comm
            node.argv = node.argv or argv
            node.seeded = True
            self._link(node, ppid)
        return len(wanted)


def _read_proc(proc: str, pid: int) -> tuple[int, str, list[str]] | None:
    try:
        with open(f"{proc}/{pid}/stat", "rb") as f:
            stat = f.read()
        with open(f"{proc}/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        return None
    lparen, rparen = stat.find(b"("), stat.rfind(b")")
    comm = stat[lparen + 1 : rparen].decode("utf-8", "replace")
    ppid = int(stat[rparen + 2 :].split()[1])
    argv = [a.decode("utf-8", "replace") for a in cmdline.split(b"\0")[:-1]]
    return ppid, comm, argv
