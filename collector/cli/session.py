"""Runs one runner to the console and a log file until it ends or the user presses Ctrl-C."""

from __future__ import annotations

import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

import anyio

from ..framework.core.events import Event
from ..framework.runners.base import Runner
from ..output.console import format_event


@dataclass
class OutputOptions:
    json: bool = False
    quiet: bool = False
    log_path: str | None = None


@dataclass
class Session:
    """Counts what passed, for the summary printed on exit."""

    runner: Runner[Any]
    options: OutputOptions
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    err: IO[str] = field(default_factory=lambda: sys.stderr)
    counts: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    interrupted: bool = False

    async def run(self) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._watch_signals, tg.cancel_scope)
            try:
                async with self.runner:
                    async for batch in self.runner.batches():
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
        for event in batch:
            self.counts[event.kind] += 1
        if self.options.quiet:
            return
        write = self.out.write
        if self.options.json:
            for event in batch:
                write(event.to_json().decode())
                write("\n")
        else:
            for event in batch:
                write(format_event(event))
                write("\n")
        self.out.flush()

    def summary(self) -> str:
        s = self.runner.stats
        elapsed = time.monotonic() - self.started
        by_kind = ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items())) or "none"
        lines = [
            f"collector: {sum(self.counts.values())} events in {elapsed:.1f}s ({by_kind})",
            f"  lines={s.lines} bytes={s.bytes} parse_errors={s.parse_errors} "
            f"oversize_lines={s.oversize_lines} lost_events={s.lost_events} "
            f"lost_bytes={s.lost_bytes} analyzer_errors={s.analyzer_errors}",
        ]
        if s.last_parse_error:
            lines.append(f"  last parse error: {s.last_parse_error}")
        probes = s.tool_summary.get("probes") if s.tool_summary else None
        if probes:
            cost = ", ".join(
                f"{p.get('name')}: {p.get('run_cnt', 0)} runs, "
                f"{p.get('run_time_ns', 0) / max(1, p.get('run_cnt', 0)):.0f} ns/run"
                for p in probes
            )
            lines.append(f"  probe cost: {cost}")
        return "\n".join(lines)
