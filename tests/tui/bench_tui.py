"""Replay a big generated file at full speed, plain and through run_tui, and print both rates.

    .venv/bin/python -m tests.tui.bench_tui [EVENTS] [--rounds N] [--size 120x40] [--speed 1]

Generated events are 20 µs apart: `--speed 1` replays them at 50,000 events/s, the rate the
TUI must keep up with; without --speed both runs go as fast as they can.

The TUI run draws to a real terminal-like console (force_terminal, truecolor) writing to
/dev/null, or to this terminal with --screen. The plain run only iterates the batches.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import anyio
from rich.console import Console

from collector.framework.runners.replay import ReplayRunner
from collector.tui import TuiState, run_tui
from tests.tui.trace import big_session, write_session


async def plain(path: Path, speed: float | None) -> tuple[int, float]:
    runner = ReplayRunner.open(path, speed=speed)
    n = 0
    t0 = time.perf_counter()
    async with runner:
        async for batch in runner.batches():
            n += len(batch)
    return n, time.perf_counter() - t0


async def tui(
    path: Path, speed: float | None, width: int, height: int, screen: bool
) -> tuple[int, float]:
    runner = ReplayRunner.open(path, speed=speed)
    if screen:
        console = Console()
    else:
        sink = open(os.devnull, "w")
        console = Console(
            file=sink, width=width, height=height, force_terminal=True, color_system="truecolor"
        )
    state = TuiState("bench")
    await run_tui(runner, title="bench", console=console, state=state, linger=False, input_fd=None)
    return state.events, state.elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("events", type=int, nargs="?", default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size", default="120x40")
    ap.add_argument("--screen", action="store_true")
    ap.add_argument("--file")
    ap.add_argument("--speed", type=float, default=None, help="replay at recorded pace x SPEED")
    args = ap.parse_args()
    width, height = (int(x) for x in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        path = (
            Path(args.file)
            if args.file
            else write_session(Path(tmp) / "big.jsonl", big_session(args.events))
        )
        results: dict[str, list[float]] = {"plain": [], "tui": []}
        for _ in range(args.rounds):
            for name in ("plain", "tui"):
                if name == "plain":
                    n, dt = anyio.run(plain, path, args.speed)
                else:
                    n, dt = anyio.run(tui, path, args.speed, width, height, args.screen)
                results[name].append(n / dt)
                print(f"{name:5}: {n} events in {dt:.2f}s = {n / dt:,.0f} events/s", flush=True)
        best = {k: max(v) for k, v in results.items()}
        print(
            f"best: plain {best['plain']:,.0f}/s, tui {best['tui']:,.0f}/s "
            f"({100 * best['tui'] / best['plain']:.0f}% of plain)"
        )


if __name__ == "__main__":
    main()
