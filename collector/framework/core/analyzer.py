"""The analyzer protocol: a stage that turns a stream of Events into a stream of Events.

Analyzers are driven batch by batch in the consumer's task (no per-event task hop): `process`
sees each event and returns what passes on (the same event, a changed one, nothing, or several);
`tick` lets time-based state (idle timeouts) flush; `finish` flushes at end of stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence

from .errors import AnalyzerError
from .events import Event

log = logging.getLogger("collector.analyzers")


class Analyzer:
    """Base class: pass every event through unchanged. Override what you need."""

    name: str = ""

    def process(self, event: Event) -> Iterable[Event]:
        return (event,)

    def process_batch(self, events: list[Event]) -> list[Event]:
        """Process a batch; override for speed when the per-event call is the cost."""
        out: list[Event] = []
        for ev in events:
            out.extend(self.process(ev))
        return out

    def tick(self, now_ns: int) -> Iterable[Event]:
        """Called about once a second with the wall-clock time; emit what timed out."""
        return ()

    def finish(self) -> Iterable[Event]:
        """End of stream: emit everything still held."""
        return ()

    def close(self) -> None:
        """Release resources (files, ...); called once, after `finish`."""

    def counters(self) -> dict[str, int]:
        """What this analyzer counted that a summary should show (what it made, and the input
        it had to skip or drop); read at the end of a run, so it may take a moment."""
        return {}

    @property
    def label(self) -> str:
        return self.name or type(self).__name__


class FunctionAnalyzer(Analyzer):
    """Wraps `fn(event) -> Event | None | Iterable[Event]`: None drops, an Event replaces."""

    def __init__(self, fn: Callable[[Event], Event | Iterable[Event] | None], name: str = "") -> None:
        self._fn = fn
        self.name = name or getattr(fn, "__name__", "function")

    def process(self, event: Event) -> Iterable[Event]:
        result = self._fn(event)
        if result is None:
            return ()
        if isinstance(result, Event):
            return (result,)
        return result


class AnalyzerChain:
    """Runs analyzers in order over batches, isolating failures unless `strict`."""

    def __init__(self, analyzers: Sequence[Analyzer], *, strict: bool = False) -> None:
        self.analyzers = list(analyzers)
        self.strict = strict
        self.errors: dict[str, int] = {}
        self.last_error = ""

    def __bool__(self) -> bool:
        return bool(self.analyzers)

    def process(self, events: list[Event]) -> list[Event]:
        for analyzer in self.analyzers:
            if not events:
                break
            events = self._run(analyzer, events)
        return events

    def _run(self, analyzer: Analyzer, events: list[Event]) -> list[Event]:
        """Run one analyzer over a batch; a failing event passes through unchanged (not strict)."""
        if type(analyzer).process_batch is not Analyzer.process_batch:
            try:
                return analyzer.process_batch(events)
            except Exception as exc:
                if self.strict:
                    raise AnalyzerError(f"analyzer {analyzer.label} failed: {exc!r}") from exc
                self._record(analyzer, exc)
                return events
        out: list[Event] = []
        process = analyzer.process
        for ev in events:
            try:
                out.extend(process(ev))
            except Exception as exc:
                if self.strict:
                    raise AnalyzerError(f"analyzer {analyzer.label} failed: {exc!r}") from exc
                self._record(analyzer, exc)
                out.append(ev)
        return out

    def _record(self, analyzer: Analyzer, exc: BaseException) -> None:
        label = analyzer.label
        self.errors[label] = self.errors.get(label, 0) + 1
        self.last_error = f"{label}: {exc!r}"
        if self.errors[label] == 1:
            log.warning("analyzer %s raised %r; events pass through unchanged", label, exc)

    def _drive(self, start: int, produce: Callable[[Analyzer], Iterable[Event]]) -> list[Event]:
        """Collect events produced by analyzer `start` and feed them through the rest of the chain."""
        analyzer = self.analyzers[start]
        try:
            emitted = list(produce(analyzer))
        except Exception as exc:
            if self.strict:
                raise AnalyzerError(f"analyzer {analyzer.label} failed: {exc!r}") from exc
            self._record(analyzer, exc)
            return []
        for later in self.analyzers[start + 1 :]:
            if not emitted:
                break
            emitted = self._run(later, emitted)
        return emitted

    def counters(self) -> dict[str, dict[str, int]]:
        """Each analyzer's `counters()` that has any, by label."""
        found = {}
        for analyzer in self.analyzers:
            counted = analyzer.counters()
            if counted:
                found[analyzer.label] = counted
        return found

    def tick(self, now_ns: int | None = None) -> list[Event]:
        now = time.time_ns() if now_ns is None else now_ns
        out: list[Event] = []
        for i in range(len(self.analyzers)):
            out.extend(self._drive(i, lambda a: a.tick(now)))
        return out

    def finish(self) -> list[Event]:
        out: list[Event] = []
        for i in range(len(self.analyzers)):
            out.extend(self._drive(i, lambda a: a.finish()))
        return out

    def close(self) -> None:
        for analyzer in self.analyzers:
            try:
                analyzer.close()
            except Exception as exc:
                self._record(analyzer, exc)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())
