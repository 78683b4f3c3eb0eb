"""CombinedRunner: several runners merged into one time-ordered stream, each failing on its own.

Each runner is pumped by its own task into one bounded stream of batches; a small reorder window
puts events from different runners back in timestamp order. A runner that fails or exits is
reported in the stream (a ToolStatus event) and the others go on.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, fields
from typing import Any, Self

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..core.errors import CollectorError, ConfigError, RunnerError
from ..core.events import Event, ToolStatus
from ..core.stats import RunnerStats
from .base import Runner, RunnerBuilder, RunnerConfig

STATUS_SOURCE = "collector"


@dataclass(frozen=True)
class CombinedConfig(RunnerConfig):
    runners: tuple[Runner[Any], ...] = ()
    reorder_window: float = 0.2
    stream_batches: int = 64

    def validate(self) -> None:
        super().validate()
        if not self.runners:
            raise ConfigError("CombinedRunner needs at least one runner: .add(runner)")
        if self.reorder_window < 0:
            raise ConfigError(f"reorder window must not be negative, got {self.reorder_window}")
        if len({id(r) for r in self.runners}) != len(self.runners):
            raise ConfigError("the same runner was added twice")


class CombinedBuilder(RunnerBuilder["CombinedRunner", CombinedConfig]):
    def add(self, runner: Runner[Any]) -> Self:
        return self._set(runners=(*self._config.runners, runner))

    def reorder_window(self, seconds: float) -> Self:
        """How long events are held to put several runners' events in timestamp order."""
        return self._set(reorder_window=seconds)


@dataclass
class RunnerState:
    name: str
    state: str = "starting"
    message: str = ""
    returncode: int | None = None


class CombinedRunner(Runner[CombinedConfig]):
    """Use as `async with CombinedRunner.builder().add(a).add(b).build() as runner:`."""

    source = "combined"
    config_class = CombinedConfig

    def __init__(self, config: CombinedConfig) -> None:
        super().__init__(config)
        self.runners = list(config.runners)
        self.states = {self._label(i, r): RunnerState(self._label(i, r)) for i, r in enumerate(self.runners)}
        self._tg: TaskGroup | None = None
        self._send: MemoryObjectSendStream[list[Event]] | None = None
        self._receive: MemoryObjectReceiveStream[list[Event]] | None = None

    @classmethod
    def builder(cls) -> CombinedBuilder:
        return CombinedBuilder(cls, CombinedConfig())

    def _label(self, index: int, runner: Runner[Any]) -> str:
        names = [r.name for r in self.runners]
        return runner.name if names.count(runner.name) == 1 else f"{runner.name}#{index}"

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._started = True
        self._send, self._receive = anyio.create_memory_object_stream[list[Event]](
            self.config.stream_batches
        )
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        for index, runner in enumerate(self.runners):
            self._tg.start_soon(self._pump, self._label(index, runner), runner, self._send.clone())
        self._send.close()
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        await self.stop()
        assert self._tg is not None
        return await self._tg.__aexit__(*exc_info)

    async def start(self) -> None:
        if self._tg is None:
            raise CollectorError("use CombinedRunner as `async with runner:` before reading events")

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        with anyio.CancelScope(shield=True):
            async with anyio.create_task_group() as tg:
                for runner in self.runners:
                    tg.start_soon(runner.stop)
            self.chain.close()

    async def _pump(
        self, label: str, runner: Runner[Any], send: MemoryObjectSendStream[list[Event]]
    ) -> None:
        state = self.states[label]
        async with send:
            try:
                async with runner:
                    state.state = "running"
                    async for batch in runner.batches():
                        try:
                            await send.send(batch)
                        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                            await runner.stop()  # nobody reads the merged stream any more
                            return
                state.state = "stopped" if self._stopped else "exited"
                state.returncode = getattr(runner, "returncode", None)
            except RunnerError as exc:
                state.state, state.message, state.returncode = "failed", str(exc), exc.returncode
            except CollectorError as exc:
                state.state, state.message = "failed", str(exc)
            except anyio.get_cancelled_exc_class():
                state.state = "stopped"
                raise
            except Exception as exc:  # a bug in one runner must not take the others down
                state.state, state.message = "failed", f"{type(exc).__name__}: {exc}"
            with anyio.CancelScope(shield=True), anyio.move_on_after(1):
                try:
                    await send.send([self._status_event(state)])
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    pass

    def _status_event(self, state: RunnerState) -> Event:
        return Event(
            timestamp_ns=time.time_ns(),
            source=STATUS_SOURCE,
            payload=ToolStatus(
                status=f"runner_{state.state}",
                message=state.message.splitlines()[0] if state.message else "",
                info={"runner": state.name, "returncode": state.returncode, "detail": state.message},
            ),
        )

    # -- the merged stream ---------------------------------------------------------------------

    async def batches(self) -> AsyncIterator[list[Event]]:
        await self.start()
        assert self._receive is not None
        window_ns = int(self.config.reorder_window * 1e9)
        heap: list[tuple[int, int, Event]] = []
        seq = 0
        next_tick = time.monotonic() + 1.0
        async with self._receive:
            done = False
            while not done:
                with anyio.move_on_after(max(0.01, self.config.reorder_window / 2)):
                    try:
                        batch = await self._receive.receive()
                    except anyio.EndOfStream:
                        done = True
                        batch = []
                    for ev in batch:
                        heapq.heappush(heap, (ev.timestamp_ns, seq, ev))
                        seq += 1
                cutoff = None if done else time.time_ns() - window_ns
                ready = _pop_until(heap, cutoff)
                if self.chain:
                    if ready:
                        ready = self.chain.process(ready)
                    if time.monotonic() >= next_tick:
                        next_tick = time.monotonic() + 1.0
                        ready.extend(self.chain.tick())
                if ready:
                    self.stats.events += len(ready)
                    yield ready
        tail = self.chain.finish()
        if tail:
            self.stats.events += len(tail)
            yield tail

    def summary_stats(self) -> RunnerStats:
        """The sub-runners' counters added up (and this runner's analyzer errors)."""
        total = RunnerStats()
        for runner in self.runners:
            s = runner.summary_stats()
            _add_counters(total, s.analyzers)
            for name in _SUMMED:
                setattr(total, name, getattr(total, name) + getattr(s, name))
            if s.last_parse_error:
                total.last_parse_error = s.last_parse_error
            if s.tool_summary.get("probes"):
                total.tool_summary.setdefault("probes", []).extend(s.tool_summary["probes"])
        total.events = self.stats.events
        total.analyzer_errors += self.chain.error_count
        _add_counters(total, self.chain.counters())
        return total

    def describe(self) -> dict[str, Any]:
        return {name: {"state": s.state, "message": s.message} for name, s in self.states.items()}


# every int counter of RunnerStats adds up across sub-runners; `events` is this runner's own
_SUMMED = tuple(
    f.name for f in fields(RunnerStats) if f.type in (int, "int") and f.name != "events"
)


def _add_counters(total: RunnerStats, analyzers: dict[str, dict[str, int]]) -> None:
    """Add analyzers' counters (`RunnerStats.analyzers`) into `total`'s, label by label."""
    for label, counted in analyzers.items():
        into = total.analyzers.setdefault(label, {})
        for name, n in counted.items():
            into[name] = into.get(name, 0) + n


def _pop_until(heap: list[tuple[int, int, Event]], cutoff: int | None) -> list[Event]:
    out: list[Event] = []
    while heap and (cutoff is None or heap[0][0] <= cutoff):
        out.append(heapq.heappop(heap)[2])
    return out


def combine(runners: Sequence[Runner[Any]], **options: Any) -> CombinedRunner:
    builder = CombinedRunner.builder()
    for runner in runners:
        builder.add(runner)
    if "reorder_window" in options:
        builder.reorder_window(options["reorder_window"])
    return builder.build()
