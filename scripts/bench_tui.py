#!/usr/bin/env python3
"""Does the TUI slow capture? The same stream consumed plainly and through run_tui (issue 8).

Replay (default): a generated session shaped like a busy capture (tests/tui/trace.py
`big_session`: TLS data, file opens, processes, HTTP, LLM calls; events 20 µs apart) is replayed
at recorded pace x SPEED (SPEED 1 = 50,000 events/s) and at full speed. Every run is a fresh
child process. Variants, interleaved round by round in the same run (order rotating):
  plain     iterate the runner's batches, nothing else
  state     TuiState.apply_batch only, no screen (tells state work from drawing)
  tui       run_tui drawing 120x40 (--size) to a truecolor terminal console writing to /dev/null
  tui@base  the same with collector/tui/ taken from --baseline REV (the rest as measured)
--busy N runs N busy-looping processes alongside each run (a machine shared with other work).
Per run: events/s from the first batch delivered to the last, lag (how far the last event was
delivered after its due time at pace; it grows when the consumer falls behind), CPU seconds per
second of the whole process, and time in the cyclic GC while events stream. Reported: medians,
the median of the per-round ratios variant/plain, and the CPU per event over plain.

Live (--live, --live-only): the real `process` tool traces a child opening distinct missing paths
at --rate opens/s for --seconds (one FILE_OPEN line each), consumed by a plain loop or by run_tui;
reported: opens seen, events/s, LOST (must be 0), drain after the workload's end, consumer CPU.
Root and bpf_programs/build/process are needed.

    flock /tmp/collector-bench.lock .venv/bin/python scripts/bench_tui.py [--events N]
        [--rounds R] [--speed S] [--no-full] [--busy N] [--baseline REV]
        [--live | --live-only] [--rate R] [--seconds S]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# After PYTHONPATH: a --baseline child imports the baseline's collector/ from there.
sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import anyio
import bench_common as bc
from rich.console import Console

from collector.framework.core.events import Event
from collector.framework.runners.replay import ReplayRunner
from collector.tui import TuiState, run_tui
from tests.tui.trace import big_session, write_session

VARIANTS = ("plain", "state", "tui")


# --- measuring ------------------------------------------------------------------------------------


@dataclass
class Meter:
    """What the consumer saw: counts, first/last delivery, lag behind the recorded pace, GC time."""

    speed: float | None = None
    events: int = 0
    t_first: float = 0.0
    t_last: float = 0.0
    ts0: int = 0
    lag_max: float = 0.0
    lag_end: float = 0.0
    cpu0: float = 0.0
    cpu: float = 0.0
    gc_s: float = 0.0
    gc_runs: dict[int, int] = field(default_factory=dict)
    _gc_t: float = 0.0

    def see(self, batch: list[Event]) -> None:
        now = time.monotonic()
        if not self.events:
            self.t_first = now
            self.ts0 = batch[0].timestamp_ns
            self.cpu0 = time.process_time()
        self.events += len(batch)
        self.t_last = now
        self.cpu = time.process_time() - self.cpu0
        if self.speed is not None:
            due = self.t_first + (batch[-1].timestamp_ns - self.ts0) / 1e9 / self.speed
            self.lag_end = now - due
            self.lag_max = max(self.lag_max, self.lag_end)

    @property
    def rate(self) -> float:
        span = self.t_last - self.t_first
        return self.events / span if span > 0 else 0.0

    def gc_callback(self, phase: str, info: dict[str, Any]) -> None:
        """Collections while events stream (not run_tui's start-up gc.collect)."""
        if not self.events:
            return
        if phase == "start":
            self._gc_t = time.perf_counter()
        else:
            self.gc_s += time.perf_counter() - self._gc_t
            g = int(info["generation"])
            self.gc_runs[g] = self.gc_runs.get(g, 0) + 1


class MeteredReplay(ReplayRunner):
    """A ReplayRunner whose batches pass through a Meter on their way to the consumer."""

    meter: Meter

    async def batches(self) -> AsyncIterator[list[Event]]:
        see = self.meter.see
        async for batch in super().batches():
            if batch:
                see(batch)
            yield batch


def console_to_null(width: int, height: int) -> Console:
    sink = open(os.devnull, "w")
    return Console(
        file=sink, width=width, height=height, force_terminal=True, color_system="truecolor"
    )


async def replay_once(variant: str, path: Path, speed: float | None, size: tuple[int, int]) -> Meter:
    runner = MeteredReplay(ReplayRunner.builder().file(path).speed(speed).config)
    meter = runner.meter = Meter(speed=speed)
    gc.callbacks.append(meter.gc_callback)
    try:
        if variant == "tui":
            state = TuiState("bench")
            await run_tui(
                runner,
                title="bench",
                console=console_to_null(*size),
                state=state,
                linger=False,
                input_fd=None,
            )
            assert state.events == meter.events, (state.events, meter.events)
        else:
            state = TuiState("bench")
            async with runner:
                async for batch in runner.batches():
                    if variant == "state":
                        state.apply_batch(batch)
    finally:
        gc.callbacks.remove(meter.gc_callback)
    return meter


class Spinners:
    """`n` busy-looping processes for the duration of a run: a machine shared with other work."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Spinners:
        for _ in range(self.n):
            self.procs.append(subprocess.Popen([bc.PYTHON, "-c", "while True: pass"]))
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            p.kill()
            p.wait()


class Trees:
    """Where each variant's `collector` comes from: this tree, or (`@base`) a copy of it with
    collector/tui/ taken from the --baseline revision (the same pipeline, the old UI)."""

    def __init__(self, tmp: str, rev: str | None) -> None:
        self.label = ""
        self.root: str | None = None
        if rev is None:
            return
        self.root = os.path.join(tmp, "baseline")
        shutil.copytree(
            os.path.join(bc.REPO, "collector"),
            os.path.join(self.root, "collector"),
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        shutil.rmtree(os.path.join(self.root, "collector", "tui"))
        archive = subprocess.run(
            ["git", "-C", bc.REPO, "archive", rev, "collector/tui"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", self.root], input=archive, check=True)
        self.label = subprocess.run(
            ["git", "-C", bc.REPO, "rev-parse", "--short", rev],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def run(self, variant: str, path: Path, speed: float | None, size: tuple[int, int]) -> Meter:
        """One run in a fresh child process (no heap or GC state carried over between runs)."""
        name, _, tree = variant.partition("@")
        env = dict(os.environ)
        if tree:
            assert self.root is not None
            env["PYTHONPATH"] = self.root
        cmd = [bc.PYTHON, os.path.abspath(__file__), "--_replay", name, str(path),
               str(speed or 0), f"{size[0]}x{size[1]}"]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=bc.REPO)
        fields = json.loads(out.stdout.strip().splitlines()[-1])
        if tree:
            assert fields.pop("collector").startswith(self.root or "?"), fields
        else:
            fields.pop("collector")
        fields["gc_runs"] = {int(k): v for k, v in fields["gc_runs"].items()}
        return Meter(**fields)


def replay_child(variant: str, path: str, speed: float, size: str) -> None:
    import collector

    width, height = (int(x) for x in size.split("x"))
    m = anyio.run(replay_once, variant, Path(path), speed or None, (width, height))
    out = {k: v for k, v in m.__dict__.items() if not k.startswith("_")}
    print(json.dumps({**out, "collector": collector.__file__}))


def replay_bench(args: argparse.Namespace, size: tuple[int, int]) -> None:
    variants = [v for v in VARIANTS if v in args.variants.split(",")]
    paces: list[float | None] = [args.speed] + ([] if args.no_full else [None])
    with tempfile.TemporaryDirectory() as tmp:
        trees = Trees(tmp, args.baseline)
        if args.baseline:
            variants.append("tui@base")
            print(f"tui@base: collector/tui at {trees.label}, the rest of collector/ as measured")
        path = write_session(Path(tmp) / "big.jsonl", big_session(args.events))
        for speed in paces:
            label = f"paced x{speed:g} ({50_000 * speed:,.0f} events/s offered)" if speed else "full speed"
            busy = f", {args.busy} busy-looping processes alongside" if args.busy else ""
            print(f"\n## replay, {label}: {args.events:,} events, {args.rounds} rounds{busy}", flush=True)
            res: dict[str, list[Meter]] = {v: [] for v in variants}
            for r, v in bc.rounds(variants, args.rounds):
                with Spinners(args.busy):
                    m = trees.run(v, path, speed, size)
                res[v].append(m)
                print(
                    f"  round {r} {v:8}: {m.events} events, {m.rate:,.0f}/s, lag end {m.lag_end * 1e3:.1f} ms"
                    f" max {m.lag_max * 1e3:.1f} ms, CPU {m.cpu / max(1e-9, m.t_last - m.t_first):.2f} s/s,"
                    f" GC {m.gc_s * 1e3:.0f} ms {dict(sorted(m.gc_runs.items()))}",
                    flush=True,
                )
            print()
            rows = []
            for v in variants:
                ms = res[v]
                ratios = [a.rate / b.rate for a, b in zip(ms, res["plain"], strict=True)]
                cpu = [(a.cpu / a.events - b.cpu / b.events) * 1e6 for a, b in zip(ms, res["plain"], strict=True)]
                rows.append(
                    [
                        v,
                        f"{bc.median([m.rate for m in ms]):,.0f}",
                        f"{bc.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})",
                        f"{bc.median([m.lag_end * 1e3 for m in ms]):.1f} / {max(m.lag_max for m in ms) * 1e3:.1f}"
                        if speed
                        else "-",
                        f"{bc.median([m.cpu / (m.t_last - m.t_first) for m in ms]):.2f}",
                        f"{bc.median([m.cpu / m.events * 1e6 for m in ms]):.2f}",
                        f"{bc.median(cpu):+.2f}",
                        f"{bc.median([m.gc_s * 1e3 for m in ms]):.0f}",
                    ]
                )
            print(
                bc.table(
                    [
                        "variant",
                        "events/s (median)",
                        "ratio to plain (median, min-max)",
                        "lag ms: end median / max",
                        "CPU s/s",
                        "CPU µs/event",
                        "over plain (median)",
                        "GC ms",
                    ],
                    rows,
                )
            )


# --- live: the process tool under a paced open() workload ------------------------------------------


def child(rate: int, seconds: float, tmpdir: str) -> None:
    """Open distinct missing paths at `rate` per second for `seconds` (in 1 ms steps)."""
    n = int(rate * seconds)
    base = os.path.join(tmpdir, "missing").encode()

    def setup() -> list[bytes]:
        return [b"%s/m%d" % (base, i) for i in range(n)]

    def work(paths: list[bytes]) -> dict[str, Any]:
        o, rd = os.open, os.O_RDONLY
        step = max(1, rate // 1000)
        t0 = time.perf_counter()
        for start in range(0, n, step):
            for p in paths[start : start + step]:
                try:
                    o(p, rd)
                except FileNotFoundError:
                    pass
            due = t0 + (start + step) / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        return {"opens": n}

    bc.workload_main(setup, work)


def live_once(variant: str, argv: list[str], size: tuple[int, int]) -> dict[str, Any]:
    from collector import ProcessRunner

    wl = bc.Workload(argv)
    out: dict[str, Any] = {}

    async def main() -> None:
        runner = ProcessRunner.builder().pid(wl.pid).build()
        started = anyio.Event()
        seen = {"events": 0, "t_last": 0.0}

        def see(batch: list[Event]) -> None:
            data = 0
            for ev in batch:
                if ev.kind == "status":
                    if ev.payload.status == "start":  # type: ignore[union-attr]
                        started.set()
                elif ev.kind == "file_open":
                    data += ev.payload.count  # type: ignore[union-attr]
            if data:
                seen["events"] += data
                seen["t_last"] = time.perf_counter()

        class Tap:
            """Counts what reaches the consumer without changing how it is pulled."""

            def __init__(self, inner: Any) -> None:
                self.inner = inner

            def __getattr__(self, name: str) -> Any:
                return getattr(self.inner, name)

            async def batches(self) -> AsyncIterator[list[Event]]:
                async for batch in self.inner.batches():
                    see(batch)
                    yield batch

        tapped: Any = Tap(runner)

        async def drive() -> None:
            with anyio.fail_after(30):
                await started.wait()
            cpu0 = time.process_time()
            wl.go()
            out["workload"] = await anyio.to_thread.run_sync(wl.result)
            out["t_end"] = time.perf_counter()
            out["cpu"] = (time.process_time() - cpu0) / (out["t_end"] - wl.t_go)
            runner.child.signal_group(signal.SIGINT)  # the tool flushes and prints its summary

        async with runner:
            async with anyio.create_task_group() as tg:
                tg.start_soon(drive)
                if variant == "tui":
                    await run_tui(
                        tapped,
                        title="bench",
                        console=console_to_null(*size),
                        linger=False,
                        input_fd=None,
                    )
                else:
                    async for _ in tapped.batches():
                        pass
        st = runner.summary_stats()
        out["lost"] = st.lost_events
        out["tool_lost"] = st.tool_summary.get("lost")
        out["events"] = seen["events"]
        span = seen["t_last"] - wl.t_go
        out["rate"] = seen["events"] / span if span > 0 else 0.0
        out["drain"] = seen["t_last"] - out["t_end"]

    try:
        anyio.run(main)
    finally:
        wl.kill()
    return out


def live_bench(args: argparse.Namespace, size: tuple[int, int]) -> None:
    print(
        f"\n## live: process tool, {args.rate:,} distinct missing opens/s for {args.seconds:g} s,"
        f" {args.rounds} rounds",
        flush=True,
    )
    res: dict[str, list[dict[str, Any]]] = {"plain": [], "tui": []}
    with tempfile.TemporaryDirectory(prefix="bench-tui-") as tmp:
        os.makedirs(os.path.join(tmp, "missing"))
        argv = [
            bc.PYTHON,
            os.path.abspath(__file__),
            "--_child",
            str(args.rate),
            str(args.seconds),
            tmp,
        ]
        for r, v in bc.rounds(["plain", "tui"], args.rounds):
            o = live_once(v, argv, size)
            res[v].append(o)
            print(
                f"  round {r} {v:5}: {o['events']}/{o['workload']['opens']} opens seen,"
                f" {o['rate']:,.0f}/s, LOST {o['lost']} (tool summary {o['tool_lost']}),"
                f" drain {o['drain'] * 1e3:.0f} ms, workload {o['workload']['elapsed']:.2f} s,"
                f" consumer CPU {o['cpu']:.2f} s/s",
                flush=True,
            )
    rows = []
    for v, os_ in res.items():
        ratios = [a["rate"] / b["rate"] for a, b in zip(os_, res["plain"], strict=True)]
        rows.append(
            [
                v,
                f"{bc.median([o['rate'] for o in os_]):,.0f}",
                f"{bc.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})",
                str(max(o["lost"] for o in os_)),
                "yes" if all(o["events"] == o["workload"]["opens"] for o in os_) else "NO",
                f"{bc.median([o['drain'] * 1e3 for o in os_]):.0f}",
                f"{bc.median([o['cpu'] for o in os_]):.2f}",
            ]
        )
    print()
    print(
        bc.table(
            [
                "variant",
                "events/s (median)",
                "ratio to plain (median, min-max)",
                "LOST (max)",
                "all opens seen",
                "drain ms (median)",
                "consumer CPU s/s",
            ],
            rows,
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--size", default="120x40")
    ap.add_argument("--speed", type=float, default=1.0, help="pace: recorded pace x SPEED")
    ap.add_argument("--no-full", action="store_true", help="skip the full-speed replay")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--busy", type=int, default=0, help="replay: N busy-looping processes alongside")
    ap.add_argument("--live", action="store_true", help="also trace a live workload")
    ap.add_argument("--live-only", action="store_true")
    ap.add_argument("--rate", type=int, default=50_000, help="live: opens per second")
    ap.add_argument("--seconds", type=float, default=4.0, help="live: workload duration")
    ap.add_argument("--baseline", metavar="REV", help="also measure collector/tui/ at REV (tui@base)")
    ap.add_argument("--_child", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--_replay", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        child(int(args._child[0]), float(args._child[1]), args._child[2])
        return 0
    if args._replay:
        v, path, speed, size = args._replay
        replay_child(v, path, float(speed), size)
        return 0
    width, height = (int(x) for x in args.size.split("x"))
    print(f"command: {bc.command_line()}")
    print(f"machine: {bc.machine_line()}")
    print(bc.source_line())
    if not args.live_only:
        replay_bench(args, (width, height))
    if args.live or args.live_only:
        live_bench(args, (width, height))
    return 0


if __name__ == "__main__":
    sys.exit(main())
