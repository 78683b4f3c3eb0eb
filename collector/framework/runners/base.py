"""The Runner base: read a byte source, frame lines, decode Events, run analyzers, yield batches.

Everything happens in the consumer's task, batch by batch: a consumer that stops pulling stops
the reading, and the child blocks on its full pipe (backpressure, bounded memory). Use
`async with runner:` so that the child is always stopped and reaped, whatever happens.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Generic, Self, TypeVar

import anyio

from ..core.analyzer import Analyzer, AnalyzerChain
from ..core.errors import ConfigError, ParseError
from ..core.events import Event
from ..core.framing import DEFAULT_MAX_LINE, LineFramer
from ..core.stats import RunnerStats
from ..decoders.base import Decoder

log = logging.getLogger("collector.runners")

TICK_SECONDS = 1.0

# While a runner streams, the cyclic GC's youngest generation is collected every
# GC_GEN0_THRESHOLD container allocations instead of CPython's default 700. Each event allocates
# several containers that live until its batch is consumed, so at 700 they are traversed by a
# collection or more before they die by reference counting (measured with
# scripts/bench_pipeline.py: see docs/BENCHMARKS.md). Cyclic garbage is still found within
# 10,000 allocations. The setting is process-wide: applied once however many runners stream,
# restored when the last one ends (unless someone else changed it meanwhile).
GC_GEN0_THRESHOLD = 10_000
_gc_users = 0
_gc_saved: tuple[int, int, int] | None = None


def _gc_enter() -> None:
    global _gc_users, _gc_saved
    if _gc_users == 0:
        current = gc.get_threshold()
        if 0 < current[0] < GC_GEN0_THRESHOLD:
            _gc_saved = current
            gc.set_threshold(GC_GEN0_THRESHOLD, current[1], current[2])
    _gc_users += 1


def _gc_exit() -> None:
    global _gc_users, _gc_saved
    _gc_users -= 1
    if _gc_users == 0 and _gc_saved is not None:
        if gc.get_threshold()[0] == GC_GEN0_THRESHOLD:
            gc.set_threshold(*_gc_saved)
        _gc_saved = None


@contextlib.asynccontextmanager
async def closing_batches(runner: Any) -> AsyncIterator[AsyncIterator[list[Event]]]:
    """`runner.batches()`, closed when the block ends, so a consumer that leaves early (a signal,
    `q` in the TUI) runs the generator's cleanup now rather than at garbage collection."""
    batches = runner.batches()
    try:
        yield batches
    finally:
        aclose = getattr(batches, "aclose", None)
        if aclose is not None:
            await aclose()


@dataclass(frozen=True)
class RunnerConfig:
    """Settings common to every runner; tool runners add their own fields in subclasses."""

    buffer: int = 1024
    read_size: int = 256 * 1024
    max_line: int = DEFAULT_MAX_LINE
    stderr_lines: int = 50
    grace_sigint: float = 2.0
    grace_sigterm: float = 2.0
    strict: bool = False
    args: tuple[str, ...] = ()
    analyzers: tuple[Analyzer, ...] = ()
    tool_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        for name in ("buffer", "read_size", "max_line", "stderr_lines"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be a positive number, got {getattr(self, name)}")
        for name in ("grace_sigint", "grace_sigterm"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative, got {getattr(self, name)}")


C = TypeVar("C", bound=RunnerConfig)
R = TypeVar("R", bound="Runner[Any]")


class RunnerBuilder(Generic[R, C]):
    """Chained configuration of a runner: `X.builder().buffer(1024).analyzer(a).build()`."""

    def __init__(self, runner_cls: type[R], config: C) -> None:
        self._runner_cls = runner_cls
        self._config = config

    def _set(self, **changes: Any) -> Self:
        self._config = replace(self._config, **changes)
        return self

    def buffer(self, events: int) -> Self:
        """The most events decoded ahead of the consumer in one batch."""
        return self._set(buffer=events)

    def read_size(self, nbytes: int) -> Self:
        return self._set(read_size=nbytes)

    def max_line(self, nbytes: int) -> Self:
        """Lines longer than this are skipped whole and counted as oversize."""
        return self._set(max_line=nbytes)

    def stderr_lines(self, n: int) -> Self:
        return self._set(stderr_lines=n)

    def grace(self, sigint: float = 2.0, sigterm: float = 2.0) -> Self:
        """Seconds to wait after SIGINT, then after SIGTERM, before SIGKILL."""
        return self._set(grace_sigint=sigint, grace_sigterm=sigterm)

    def args(self, args: Sequence[str]) -> Self:
        """Extra command-line arguments passed to the tool."""
        return self._set(args=(*self._config.args, *args))

    def analyzer(self, analyzer: Analyzer) -> Self:
        """Append an analyzer; analyzers run in the order they were added."""
        if not isinstance(analyzer, Analyzer):
            raise ConfigError(f"not an Analyzer: {analyzer!r}")
        return self._set(analyzers=(*self._config.analyzers, analyzer))

    def analyzers(self, *analyzers: Analyzer) -> Self:
        for a in analyzers:
            self.analyzer(a)
        return self

    def strict(self, enabled: bool = True) -> Self:
        """Fail the stream on the first analyzer exception instead of isolating it."""
        return self._set(strict=enabled)

    def tool_path(self, path: str) -> Self:
        return self._set(tool_path=path)

    @property
    def config(self) -> C:
        return self._config

    def build(self) -> R:
        self._config.validate()
        return self._runner_cls(self._config)


class Runner(Generic[C]):
    """Base of every runner. Subclasses provide `_open`, `_read`, `_make_decoder` and `_close`."""

    source: ClassVar[str] = "runner"
    config_class: ClassVar[type[RunnerConfig]] = RunnerConfig
    # After stop(), keep reading until the source ends (a tool flushes its last events and
    # summary on SIGINT); a replay instead stops at once.
    drain_on_stop: ClassVar[bool] = True

    def __init__(self, config: C) -> None:
        config.validate()
        self.config = config
        self.stats = RunnerStats()
        self.chain = AnalyzerChain(config.analyzers, strict=config.strict)
        self._started = False
        self._stopped = False
        self._stop_done: anyio.Event | None = None
        self._framer = LineFramer(config.max_line)
        self._reading = False

    @classmethod
    def builder(cls) -> RunnerBuilder[Self, Any]:
        return RunnerBuilder(cls, cls.config_class())

    @property
    def name(self) -> str:
        return self.source

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        await self.stop()
        return None

    async def start(self) -> None:
        """Start the source (spawn the tool); idempotent."""
        if self._started:
            return
        self._started = True
        await self._open()

    async def stop(self) -> None:
        """Stop the source and release everything; idempotent and safe under cancellation."""
        if self._stop_done is not None:
            with anyio.CancelScope(shield=True):
                await self._stop_done.wait()
            return
        self._stop_done = anyio.Event()
        self._stopped = True
        try:
            with anyio.CancelScope(shield=True):
                if self._started:
                    await self._close()
                    if not self._reading:
                        self._release()
                self.chain.close()
        finally:
            self._stop_done.set()

    @property
    def stopping(self) -> bool:
        return self._stopped

    def summary_stats(self) -> RunnerStats:
        """The counters to report for this runner (a combined runner adds up its parts)."""
        self._sync_stats()
        return self.stats

    # -- streams -------------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[Event]:
        """Every event, one at a time, after the analyzer chain."""
        async for batch in self.batches():
            for event in batch:
                yield event

    async def batches(self) -> AsyncIterator[list[Event]]:
        """Events in batches (cheaper than one at a time), after the analyzer chain."""
        await self.start()
        decoder = self._make_decoder()
        self._reading = True
        _gc_enter()
        try:
            next_tick = time.monotonic() + TICK_SECONDS
            while not self._abandoned:
                timeout = max(0.0, next_tick - time.monotonic())
                chunk = await self._read(self.config.read_size, timeout)
                if chunk is None or time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + TICK_SECONDS
                    ticked = self.chain.tick() if self.chain else []
                    self.stats.analyzers = self.chain.counters()  # about once a second, for live views
                    if ticked:
                        self.stats.events += len(ticked)
                        yield ticked
                    if chunk is None:
                        continue
                if not chunk:
                    break
                self.stats.bytes += len(chunk)
                lines = self._framer.feed(chunk)
                async for batch in self._decode_lines(decoder, lines):
                    yield batch
            tail = self._framer.close()
            out: list[Event] = []
            if tail and not self._abandoned:
                out = self._decode([tail], decoder)
            try:
                decoder.finish(out)
            except (ParseError, ValueError, KeyError, TypeError) as exc:
                self.stats.parse_errors += 1
                self.stats.last_parse_error = f"at end of input: {exc}"
            if out:
                out = self.chain.process(out) if self.chain else out
            out.extend(self.chain.finish())
            self._sync_stats()
            if out:
                self.stats.events += len(out)
                yield out
            await self._after_eof()
        finally:
            _gc_exit()
            self._reading = False
            self._sync_stats()
            await self.stop()
            self._release()

    @property
    def _abandoned(self) -> bool:
        """Stopped, and the rest of the input is not wanted."""
        return self._stopped and not self.drain_on_stop

    async def _decode_lines(self, decoder: Decoder, lines: list[bytes]) -> AsyncIterator[list[Event]]:
        step = self.config.buffer
        for start in range(0, len(lines), step):
            if self._abandoned:
                return
            events = self._decode(lines[start : start + step], decoder)
            async for paced in self._pace(events):
                if self.chain:
                    paced = self.chain.process(paced)
                if paced:
                    self.stats.events += len(paced)
                    yield paced

    def _decode(self, lines: list[bytes], decoder: Decoder) -> list[Event]:
        out: list[Event] = []
        stats = self.stats
        stats.lines += len(lines)
        decode = decoder.decode
        for line in lines:
            try:
                decode(line, out)
            except (ParseError, ValueError) as exc:
                stats.parse_errors += 1
                stats.last_parse_error = _describe_parse_error(exc, line)
                if stats.parse_errors == 1:
                    log.warning("%s: skipped a line: %s", self.name, stats.last_parse_error)
        return out

    def _sync_stats(self) -> None:
        self.stats.oversize_lines = self._framer.oversize_lines
        self.stats.analyzer_errors = self.chain.error_count
        self.stats.last_analyzer_error = self.chain.last_error
        self.stats.analyzers = self.chain.counters()

    async def _pace(self, events: list[Event]) -> AsyncIterator[list[Event]]:
        """Hook for replay at recorded pace; by default events go on at once."""
        yield events

    # -- subclass hooks ------------------------------------------------------------------------

    async def _open(self) -> None:
        raise NotImplementedError

    async def _read(self, max_bytes: int, timeout: float) -> bytes | None:
        """Next bytes; b'' at end of input; None if nothing arrived within `timeout` seconds."""
        raise NotImplementedError

    def _make_decoder(self) -> Decoder:
        raise NotImplementedError

    async def _close(self) -> None:
        """Stop the source (signal the child and reap it); the reader may still drain it."""
        return None

    def _release(self) -> None:
        """Free what the reader used (file descriptors); called once nobody reads any more."""
        return None

    async def _after_eof(self) -> None:
        """Called after the last batch; raise here to report how the source ended."""
        return None


def _describe_parse_error(exc: Exception, line: bytes) -> str:
    preview = line[:80].decode("utf-8", "backslashreplace")
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{msg} (line starts {preview!r}, {len(line)} bytes)"
