"""Runs one runner to the console until it ends or the user presses Ctrl-C (or sends SIGTERM).

The log file, filters and redaction are analyzers in the runner's chain (see options.py);
the Session is the last stage: it prints each batch and counts it for the summary. On
SIGINT/SIGTERM it stops the runner, which closes the chain: the log file is flushed and fsynced.
"""

from __future__ import annotations

import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

import anyio

from ..framework.core.events import Event
from ..framework.runners.base import Runner, closing_batches
from ..output.console import format_event
from ..output.escape import safe_json_line
from ..output.summary import format_summary
from .options import OutputOptions, OutputPlan

__all__ = ["OutputOptions", "OutputPlan", "Session"]


@dataclass
class Session:
    """Counts what passed, for the summary printed on exit."""

    runner: Runner[Any]
    options: OutputOptions
    plan: OutputPlan | None = None
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    err: IO[str] = field(default_factory=lambda: sys.stderr)
    counts: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    interrupted: bool = False

    async def run(self) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._watch_signals, tg.cancel_scope)
            try:
                async with self.runner, closing_batches(self.runner) as batches:
                    # After a signal, stop() has asked the tools to finish: keep reading
                    # their last events and summaries until the stream ends.
                    async for batch in batches:
                        self._emit(batch)
            finally:
                tg.cancel_scope.cancel()

    async def _watch_signals(self, scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                self.interrupted = True
                await self.runner.stop()
                return

    def _emit(self, batch: list[Event]) -> None:
        counts = self.counts
        for event in batch:
            counts[event.kind] += 1
        if self.options.quiet:
            return
        write = self.out.write
        if self.options.json:
            for event in batch:
                write(safe_json_line(event.to_json()))
                write("\n")
        else:
            for event in batch:
                write(format_event(event))
                write("\n")
        self.out.flush()

    def summary(self) -> str:
        return format_summary(
            self.counts,
            time.monotonic() - self.started,
            self.runner.summary_stats(),
            self.plan,
            interrupted=self.interrupted,
        )
