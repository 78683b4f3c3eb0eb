"""Shared helpers of the tool benchmarks (bench_process.py, bench_ssl.py).

Benchmarks, not tests: they print tables and exit 0. The machine is shared and noisy, so every
variant runs in the same invocation, interleaved round by round (the order rotates each round),
and the figures reported are medians and per-round ratios (each traced run divided by the
untraced run of the same round), never absolute times alone.

A workload is a child process that prints one JSON line {"ready": true} when set up, waits for a
line on stdin ("go"), does its work, and prints one JSON line with its own measured `elapsed`
(perf_counter from "go" to done) and exact counts of what it did. A traced run starts the tracer
on the workload's pid, waits until the tracer says it is attached, then sends "go".
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def rounds(variants: Sequence[str], reps: int) -> list[tuple[int, str]]:
    """(round, variant) pairs: every variant once per round, order rotated each round."""
    out = []
    for r in range(reps):
        k = r % len(variants)
        for v in list(variants[k:]) + list(variants[:k]):
            out.append((r, v))
    return out


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (also readable on a terminal)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(cells):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def command_line() -> str:
    return " ".join(
        shlex.quote(a)
        for a in [os.path.relpath(PYTHON, REPO) if PYTHON.startswith(REPO) else PYTHON, *sys.argv]
    )


def machine_line() -> str:
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} vCPU, Linux {os.uname().release}, load average at start "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def source_line() -> str:
    """The commit measured, and files of the pipeline changed in the working tree (not committed)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "collector", "bpf_programs"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "source: unknown (no git)"
    changed = [line[3:] for line in dirty if line.strip()]
    return f"source: commit {head}" + (
        f"; uncommitted changes in {', '.join(changed)}" if changed else ""
    )


# --- workloads -----------------------------------------------------------------------------------


class Workload:
    """A workload child: spawned, ready, started with 'go', result read at the end."""

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=REPO
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise RuntimeError(
                f"workload {self.argv} failed before ready (exit {self.proc.returncode})"
            )
        msg = json.loads(line)
        assert msg.get("ready"), msg
        self.pid = self.proc.pid
        self.t_go = 0.0

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.t_go = time.perf_counter()
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()

    def result(self) -> dict[str, Any]:
        out, _ = self.proc.communicate()
        if self.proc.returncode != 0:
            raise RuntimeError(f"workload {self.argv} exited {self.proc.returncode}")
        return json.loads(out.splitlines()[-1])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def workload_main(setup: Callable[[], Any], work: Callable[[Any], dict[str, Any]]) -> None:
    """Body of a workload child: setup, say ready, wait for go, work, print the result."""
    state = setup()
    sys.stdout.write(json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    sys.stdin.readline()
    t0 = time.perf_counter()
    result = work(state) or {}
    result["elapsed"] = time.perf_counter() - t0
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


# --- tracing a workload with a collector runner (the whole Python pipeline) -----------------------


@dataclass
class RunnerResult:
    workload: dict[str, Any]
    events: int = 0  # events delivered to the consumer, status/lost lines excluded
    by_kind: dict[str, int] = field(default_factory=dict)
    t_first: float = 0.0  # perf_counter of go
    t_last: float = 0.0  # perf_counter when the last data event reached the consumer
    t_end: float = 0.0  # perf_counter when the workload's result was read
    lost_events: int = 0
    lost_bytes: int = 0
    tool_summary: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def delivered_rate(self) -> float:
        span = self.t_last - self.t_first
        return self.events / span if span > 0 else 0.0


def run_with_runner(
    make_runner: Callable[[int], Any],
    workload_argv: Sequence[str],
    on_batch: Callable[[list[Any], RunnerResult], None] | None = None,
    env: dict[str, str] | None = None,
    start_timeout: float = 30.0,
) -> RunnerResult:
    """Start the workload, trace it with `make_runner(pid)`, consume every event, drain at the end.

    The tool is stopped with SIGINT after the workload ended and read to EOF, so every event it
    printed and its SUMMARY line are consumed (runner.stop() would discard what is still in the pipe).
    """
    wl = Workload(workload_argv, env=env)
    res = RunnerResult(workload={})

    async def main() -> None:
        runner = make_runner(wl.pid)
        started = anyio.Event()
        done = anyio.Event()

        async def consume() -> None:
            async for batch in runner.batches():
                now = time.perf_counter()
                data = 0
                for ev in batch:
                    k = ev.kind
                    if k == "status":
                        if ev.payload.status == "start":
                            started.set()
                    elif k != "lost":
                        data += 1
                    res.by_kind[k] = res.by_kind.get(k, 0) + 1
                if data:
                    res.events += data
                    res.t_last = now
                if on_batch is not None:
                    on_batch(batch, res)

        async with runner:
            async with anyio.create_task_group() as tg:
                tg.start_soon(consume)
                with anyio.fail_after(start_timeout):
                    await started.wait()
                # the tool's CPU and wakeups before go (start-up: BTF, maps, verifier, attach)
                # are left out, as the consumer's are: both figures cover the timed run only
                tool0 = proc_counters(runner.child.pid)
                cpu0 = time.process_time()
                wl.go()
                res.t_first = wl.t_go
                res.workload = await anyio.to_thread.run_sync(wl.result)
                res.t_end = time.perf_counter()
                done.set()
                tool1 = proc_counters(runner.child.pid)
                res.extra.update({k: v - tool0.get(k, 0) for k, v in tool1.items()})
                res.extra["consumer_cpu_s"] = time.process_time() - cpu0
                # Graceful stop: SIGINT the tool, keep reading to EOF (events + SUMMARY).
                runner.child.signal_group(signal.SIGINT)
        st = runner.summary_stats()
        res.lost_events = st.lost_events
        res.lost_bytes = st.lost_bytes
        res.tool_summary = dict(st.tool_summary)

    try:
        anyio.run(main)
    finally:
        wl.kill()
    return res


def proc_counters(pid: int) -> dict[str, float]:
    """CPU seconds and voluntary context switches (= wakeups) of a process so far."""
    out: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        out["tool_cpu_s"] = (int(fields[11]) + int(fields[12])) / tick
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches:"):
                    out["tool_wakeups"] = int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return out


def run_untraced(workload_argv: Sequence[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    wl = Workload(workload_argv, env=env)
    try:
        wl.go()
        return wl.result()
    finally:
        wl.kill()


# --- tracing with an external command (bpftrace) ----------------------------------------------------


def run_with_command(
    tracer_argv: Sequence[str],
    workload_argv: Sequence[str],
    ready_path: str,
    ready_marker: bytes | None,
    env: dict[str, str] | None = None,
    start_timeout: float = 30.0,
    settle: float = 1.0,
) -> tuple[dict[str, Any], int]:
    """Trace with a command; go once `ready_marker` is in the file `ready_path` (None: once it exists).

    Returns the workload's result and the tracer's exit status (stopped with SIGINT at the end).
    """
    wl = Workload(workload_argv, env=env)
    argv = [a.replace("{pid}", str(wl.pid)) for a in tracer_argv]
    tracer = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                with open(ready_path, "rb") as f:
                    if ready_marker is None or ready_marker in f.read(4096):
                        break
            except FileNotFoundError:
                pass
            if tracer.poll() is not None or time.monotonic() > deadline:
                err = tracer.stderr.read().decode() if tracer.stderr else ""
                raise RuntimeError(f"tracer {argv} did not start: {err[-500:]}")
            time.sleep(0.01)
        wl.go()
        result = wl.result()
        # Let the tracer drain its buffers before SIGINT (bpftrace exits without reading the rest).
        time.sleep(settle)
    finally:
        wl.kill()
        if tracer.poll() is None:
            os.killpg(tracer.pid, signal.SIGINT)
        try:
            tracer.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(tracer.pid, signal.SIGKILL)
            tracer.wait()
        if tracer.stderr:
            result["_tracer_stderr"] = tracer.stderr.read().decode(errors="replace")
    return result, tracer.returncode
