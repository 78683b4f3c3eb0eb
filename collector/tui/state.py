"""The TUI's data model: everything the screen shows, updated batch by batch, nothing rendered.

`TuiState.apply_batch(events)` does O(len(events)) work, most of it in C: counters, the process
tree, and bounded deques of the events the panes list (the event log lists at most LOG_PER_FRAME
events a frame). It never formats or renders; the renderer reads the state at its own (bounded)
frame rate. All of it runs on the event loop's thread only.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import compress
from operator import attrgetter, is_

from ..framework.core.events import PAYLOAD_TYPES, Event, FileOpen, LlmCall, TlsData, ToolStatus
from ..framework.core.process_tree import ProcessNode, ProcessTree
from ..framework.core.stats import RunnerStats
from .filtering import DisplayFilter

HIGHLIGHT_SECONDS = 3.0
# The event log lists at most this many events a frame (the newest, more than a screen shows);
# above that rate it lists them with gaps (LogGap rows) instead of keeping every event alive
# until it scrolls out. At 50,000 events/s (paced replay) keeping every event for 2,000 more
# cost ~1.5 µs an event (freed cold, long after the pipeline's own references), keeping the last
# 500 a frame 0.58 µs, the last 200 0.24 µs.
LOG_PER_FRAME = 200
RATE_WINDOW = 2.0
_PROCESS_KINDS = frozenset({"exec", "exit", "fork"})
# Kinds that change more than counters (see TuiState._special).
_LISTED = _PROCESS_KINDS | {"http_exchange", "llm_call", "lost", "status"}
_PAYLOAD = attrgetter("payload")
_LENGTH = attrgetter("length")
_COUNT = attrgetter("payload.count")
_PID = attrgetter("pid")
_KIND_OF: dict[type, str] = {cls: cls.model_fields["kind"].default for cls in PAYLOAD_TYPES}
_KNOWN_TYPES = frozenset(_KIND_OF)
_LISTED_TYPES = frozenset(cls for cls, kind in _KIND_OF.items() if kind in _LISTED)
_IS_TLS = partial(is_, TlsData)
_IS_OPEN = partial(is_, FileOpen)


@dataclass
class RunnerInfo:
    """One runner shown in the header: its name, state, and (if known) its live counters."""

    name: str
    state: str = "running"
    message: str = ""
    stats: RunnerStats | None = None
    # Reads the state from the runner itself (e.g. CombinedRunner.states); wins over events.
    probe: Callable[[], tuple[str, str]] | None = field(default=None, repr=False)

    def current(self) -> tuple[str, str]:
        if self.probe is not None:
            try:
                return self.probe()
            except Exception:
                pass
        return self.state, self.message


@dataclass
class LlmTotals:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    errors: int = 0
    duration_ns: int = 0


@dataclass(eq=False)
class LogGap:
    """A row of the event log standing for `count` events that arrived too fast to be listed."""

    count: int
    kind: str = "gap"


@dataclass
class TreeRows:
    """The process tree in display order (depth-first), computed once per change of the tree."""

    rows: list[tuple[int, ProcessNode]]
    pids: list[int]
    running: int

    @classmethod
    def of(cls, tree: ProcessTree) -> TreeRows:
        rows = list(tree.walk())
        return cls(rows, [n.pid for _, n in rows], sum(1 for n in tree.nodes.values() if n.running))


@dataclass
class DataView:
    """What the panes list: the live deques, or copies frozen when the display is paused."""

    tree: ProcessTree
    tree_rows: Callable[[], TreeRows]
    new_pids: dict[int, float]
    llm: Sequence[Event]
    http: Sequence[Event]
    log: Sequence[Event | LogGap]
    http_shown: Sequence[Event]
    log_shown: Sequence[Event | LogGap]
    frozen: bool = False

    def refilter(self, flt: DisplayFilter | None) -> None:
        """Recompute the filtered lists of a frozen view (the live view follows the state)."""
        self.http_shown = [e for e in self.http if flt(e)] if flt else self.http
        self.log_shown = [e for e in self.log if isinstance(e, Event) and flt(e)] if flt else self.log


class TuiState:
    """Aggregates and bounded lists of a session, fed with `apply_batch`."""

    def __init__(
        self,
        title: str = "",
        *,
        max_llm: int = 500,
        max_http: int = 500,
        max_log: int = 2000,
        max_exited: int = 2000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.title = title
        self.clock = clock
        self.started = clock()
        self.ended_at: float | None = None
        self.runners: dict[str, RunnerInfo] = {}
        self.events = 0
        # The newest timestamp (ns), from the last event of each batch (streams are in time order,
        # CombinedRunner reorders within a small window): "now" for lifetimes of running processes.
        self.last_ts = 0
        self._tls_seen = 0  # lengths of the TlsData events that reached the UI
        self.lost = 0
        self.counts: dict[str, int] = {}
        self.tree = ProcessTree(max_exited=max_exited)
        self.tree_version = 0  # bumped on every change of the tree: the renderer's rows cache
        self.list_version = 0  # bumped on every change of the LLM or HTTP list: the panes' cache
        self._tree_rows: tuple[int, TreeRows] | None = None
        self.new_pids: dict[int, float] = {}
        self.files_opened: Counter[int] = Counter()  # pid -> opens seen (pruned with the tree)
        self.llm: deque[Event] = deque(maxlen=max_llm)
        self.http: deque[Event] = deque(maxlen=max_http)
        self._log: deque[Event | LogGap] = deque(maxlen=max_log)
        self._recent: deque[Event] = deque(maxlen=min(max_log, LOG_PER_FRAME))
        self._skipped = 0  # events pushed out of _recent since the last flush
        self.unlisted = 0  # events never listed in the log (all gaps)
        self.http_matched: deque[Event] = deque(maxlen=max_http)
        self.log_matched: deque[Event] = deque(maxlen=max_log)
        self.llm_totals = LlmTotals()
        self.filter: DisplayFilter | None = None
        self.filtered = 0
        self.messages: deque[str] = deque(maxlen=50)
        self.event_rate = 0.0
        self.tls_rate = 0.0
        self._samples: deque[tuple[float, int, int]] = deque()

    # -- runners -------------------------------------------------------------------------------

    def add_runner(
        self,
        name: str,
        stats: RunnerStats | None = None,
        probe: Callable[[], tuple[str, str]] | None = None,
    ) -> RunnerInfo:
        info = self.runners.get(name)
        if info is None:
            info = self.runners[name] = RunnerInfo(name, stats=stats, probe=probe)
        else:
            info.stats = stats or info.stats
            info.probe = probe or info.probe
        return info

    def set_runner_state(self, name: str, state: str, message: str = "") -> None:
        info = self.add_runner(name)
        info.state, info.message = state, message

    def finish(self, state: str = "ended", message: str = "") -> None:
        """The consumer stopped: mark every runner still running as `state`."""
        self.ended_at = self.clock()
        for info in self.runners.values():
            if info.state == "running":
                info.state, info.message = state, message

    @property
    def tls_bytes(self) -> int:
        """TLS plaintext captured: the runners' count (which sees the TLS events the HTTP
        analyzers consume), or the TLS events shown, whichever is more."""
        from_stats = sum(i.stats.tls_bytes for i in self.runners.values() if i.stats is not None)
        return max(self._tls_seen, from_stats)

    @property
    def parse_errors(self) -> int:
        return sum(i.stats.parse_errors for i in self.runners.values() if i.stats is not None)

    @property
    def unparsed_bytes(self) -> int:
        """TLS bytes the HTTP analyzers passed over (not HTTP, or joined mid-message), as the
        runners last counted them (`RunnerStats.analyzers`, refreshed about once a second)."""
        return sum(
            counted.get("unparsed_bytes", 0)
            for i in self.runners.values()
            if i.stats is not None
            for counted in i.stats.analyzers.values()
        )

    @property
    def lost_events(self) -> int:
        from_stats = sum(i.stats.lost_events for i in self.runners.values() if i.stats is not None)
        return max(self.lost, from_stats)

    def running_count(self) -> int:
        return self.tree_rows().running

    def tree_rows(self) -> TreeRows:
        """The tree in display order; walked again only after it changed (not every frame)."""
        cached = self._tree_rows
        if cached is None or cached[0] != self.tree_version:
            cached = self._tree_rows = (self.tree_version, TreeRows.of(self.tree))
        return cached[1]

    @property
    def elapsed(self) -> float:
        end = self.ended_at if self.ended_at is not None else self.clock()
        return end - self.started

    # -- the hot path --------------------------------------------------------------------------

    def apply_batch(self, events: Iterable[Event]) -> None:
        """Fold a batch into the state: the same result as `apply_event` on each, in order.

        Most events (TLS data, file opens) only change counters, so they are counted by payload
        type with C-level iteration (attrgetter, Counter, compress), touching as little of each
        event as possible (at 50,000 events/s the cost is memory, not bytecode). Python code runs
        per event only for file opens (per-process counts), for the kinds the panes list
        (processes, HTTP, LLM calls, losses, statuses) and, when a display filter is set, for
        the filter.
        """
        batch = events if isinstance(events, list) else list(events)
        if not batch:
            return
        payloads = list(map(_PAYLOAD, batch))
        types = list(map(type, payloads))
        seen = Counter(types)
        if not _KNOWN_TYPES.issuperset(seen):  # a payload subclass: rare, take the simple path
            for ev in batch:
                self.apply_event(ev)
            return
        counts = self.counts
        for cls, n in seen.items():
            kind = _KIND_OF[cls]
            counts[kind] = counts.get(kind, 0) + n
        self._to_log(batch)
        n_tls = seen.get(TlsData, 0)
        if n_tls:
            tls = payloads if n_tls == len(batch) else compress(payloads, map(_IS_TLS, types))
            self._tls_seen += sum(map(_LENGTH, tls))
        n_open = seen.get(FileOpen, 0)
        if n_open:
            opens = batch if n_open == len(batch) else list(compress(batch, map(_IS_OPEN, types)))
            files = self.files_opened
            if set(map(_COUNT, opens)) == {1}:  # no aggregated repeats: count pids in C
                files.update(map(_PID, opens))
            else:
                get = files.get
                for ev in opens:
                    pid = ev.pid
                    files[pid] = get(pid, 0) + ev.payload.count  # type: ignore[union-attr]
        if not _LISTED_TYPES.isdisjoint(seen):
            now = self.clock()
            special = self._special
            for ev in compress(batch, map(_LISTED_TYPES.__contains__, types)):
                special(ev, now)
        if self.filter is not None:
            self._filter_batch(batch)
        self.events += len(batch)
        self.last_ts = max(self.last_ts, batch[-1].timestamp_ns)

    def apply_event(self, ev: Event) -> None:
        """Fold one event into the state (the reference for `apply_batch`)."""
        p = ev.payload
        kind = p.kind
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self._to_log([ev])
        if kind == "tls_data":
            self._tls_seen += p.length  # type: ignore[union-attr]
        elif kind == "file_open":
            # Counted only: the tree's per-process file lists cost ~1 µs an open, the
            # hottest kind after TLS data; the opens themselves are in the event log.
            self.files_opened[ev.pid] = self.files_opened.get(ev.pid, 0) + p.count  # type: ignore[union-attr]
        elif kind in _LISTED:
            self._special(ev, self.clock())
        if self.filter is not None:
            self._filter_batch((ev,))
        self.events += 1
        self.last_ts = max(self.last_ts, ev.timestamp_ns)

    def _to_log(self, batch: list[Event]) -> None:
        recent = self._recent
        keep = recent.maxlen or 0
        over = len(recent) + len(batch) - keep
        if over > 0:
            self._skipped += over
            self.unlisted += over
        recent.extend(batch if len(batch) <= keep else batch[-keep:])

    @property
    def log(self) -> deque[Event | LogGap]:
        """The event log: the newest events of each frame, a LogGap where some were left out."""
        self.flush_log()
        return self._log

    def flush_log(self) -> None:
        """Move the events of this frame into the log (the renderer calls it once a frame)."""
        if self._skipped:
            self._log.append(LogGap(self._skipped))
            self._skipped = 0
        if self._recent:
            self._log.extend(self._recent)
            self._recent.clear()

    def _special(self, ev: Event, now: float) -> None:
        """The kinds that change more than counters: processes, HTTP, LLM calls, losses, statuses."""
        p = ev.payload
        kind = p.kind
        if kind in _PROCESS_KINDS:
            self.tree.apply(ev)
            self.tree_version += 1
            if kind == "exec":
                self.new_pids[ev.pid] = now
            elif kind == "fork":
                self.new_pids[p.child_pid] = now  # type: ignore[union-attr]
        elif kind == "http_exchange":
            self.http.append(ev)
            self.list_version += 1
        elif kind == "llm_call":
            self.llm.append(ev)
            self.list_version += 1
            self._count_llm(p)  # type: ignore[arg-type]
        elif kind == "lost":
            self.lost += p.count  # type: ignore[union-attr]
        elif kind == "status":
            self._status(ev, p)  # type: ignore[arg-type]

    def _filter_batch(self, batch: Iterable[Event]) -> None:
        """The display filter's lists and count; it has to see every event."""
        flt = self.filter
        assert flt is not None
        for ev in batch:
            if flt(ev):
                self.log_matched.append(ev)
                if ev.payload.kind == "http_exchange":
                    self.http_matched.append(ev)
            else:
                self.filtered += 1

    def _count_llm(self, p: LlmCall) -> None:
        t = self.llm_totals
        t.calls += 1
        t.input_tokens += p.usage.input_tokens or 0
        t.output_tokens += p.usage.output_tokens or 0
        t.cache_read_tokens += p.usage.cache_read_tokens or 0
        t.duration_ns += p.duration_ns
        if p.error or (p.status is not None and p.status >= 400):
            t.errors += 1

    def _status(self, ev: Event, p: ToolStatus) -> None:
        name = p.info.get("runner") if isinstance(p.info, dict) else None
        if p.status in ("runner_failed", "runner_exited") and isinstance(name, str):
            self.set_runner_state(name, "failed" if p.status == "runner_failed" else "exited", p.message)
        elif p.status in ("error", "failed", "fatal"):
            self.messages.append(f"{ev.source}: {p.message}")

    # -- display filter ------------------------------------------------------------------------

    def set_filter(self, flt: DisplayFilter | None) -> None:
        """Apply a display filter to the HTTP and log lists (O(buffered events), once)."""
        self.filter = flt
        self.list_version += 1
        self.http_matched.clear()
        self.log_matched.clear()
        self.filtered = 0
        if flt is None:
            return
        self.http_matched.extend(e for e in self.http if flt(e))
        for e in self.log:
            if not isinstance(e, Event):
                continue
            if flt(e):
                self.log_matched.append(e)
            else:
                self.filtered += 1

    # -- views for the renderer ----------------------------------------------------------------

    def sample(self, now: float | None = None) -> None:
        """Update the rates and expire highlights; the renderer calls this once per frame."""
        now = self.clock() if now is None else now
        self.flush_log()
        samples = self._samples
        tls_bytes = self.tls_bytes
        samples.append((now, self.events, tls_bytes))
        while len(samples) > 2 and now - samples[0][0] > RATE_WINDOW:
            samples.popleft()
        t0, e0, b0 = samples[0]
        dt = now - t0
        if dt >= 0.2:
            self.event_rate = (self.events - e0) / dt
            self.tls_rate = (tls_bytes - b0) / dt
        elif len(samples) == 1:
            self.event_rate = self.tls_rate = 0.0
        if len(self.files_opened) > 2 * len(self.tree.nodes) + 1000:
            nodes = self.tree.nodes
            self.files_opened = Counter({p: n for p, n in self.files_opened.items() if p in nodes})
        if self.new_pids:
            expired = [pid for pid, t in self.new_pids.items() if now - t > HIGHLIGHT_SECONDS]
            for pid in expired:
                del self.new_pids[pid]

    def view(self) -> DataView:
        """The live lists, shared (no copy): read them on the loop's thread, never keep them."""
        flt = self.filter
        return DataView(
            tree=self.tree,
            tree_rows=self.tree_rows,
            new_pids=self.new_pids,
            llm=self.llm,
            http=self.http,
            log=self.log,
            http_shown=self.http_matched if flt else self.http,
            log_shown=self.log_matched if flt else self.log,
        )

    def freeze(self) -> DataView:
        """A copy of the lists and tree as they are now, for a paused display."""
        tree = ProcessTree(max_exited=self.tree.max_exited)
        tree.nodes = {
            pid: replace(node, children=list(node.children)) for pid, node in self.tree.nodes.items()
        }
        rows = TreeRows.of(tree)
        view = DataView(
            tree=tree,
            tree_rows=lambda: rows,
            new_pids={},
            llm=list(self.llm),
            http=list(self.http),
            log=list(self.log),
            http_shown=[],
            log_shown=[],
            frozen=True,
        )
        view.refilter(self.filter)
        return view
