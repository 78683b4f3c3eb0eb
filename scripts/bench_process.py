#!/usr/bin/env python3
"""Cost of tracing with the `process` tool, whole pipeline included (issue 4).

Workloads (each a child process, timed by itself from "go" to done):
  exec        a /bin/sh loop that runs /bin/true N times (fork + exec + exit each)
  open-few    os.open + os.close N times, round robin over 4 existing files (dedup aggregates)
  open-many   os.open of N distinct missing paths (every open its own FILE_OPEN line)

Variants, interleaved round by round in the same run:
  untraced    the workload alone
  traced      collector.ProcessRunner (process tool --pid <workload>, default buffer sizes and
              dedup window) with a consumer that iterates every batch of Events in Python
  tool-only   bpf_programs/build/process --pid <workload> > file (no Python): tells the tool's
              and kernel's share from the Python pipeline's

Reported: median wall times, the median of per-round ratios traced/untraced, events delivered
to Python and events/s (from "go" to the last event consumed), lost events, and an exactness
check (EXEC of /bin/true, or the sum of FILE_OPEN `count`, against what the workload did).

Usage: .venv/bin/python scripts/bench_process.py [--quick] [--reps N] [--only exec,open-few,open-many]
Root and the built tool (bpf_programs/build/process) are needed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_common as bc

WORKLOADS = ("exec", "open-few", "open-many")
FULL = {"exec": 20_000, "open-few": 1_000_000, "open-many": 1_000_000}
QUICK = {"exec": 2_000, "open-few": 100_000, "open-many": 100_000}


# --- workload children ------------------------------------------------------------------------------


def child(kind: str, n: int, tmpdir: str) -> None:
    if kind == "exec":
        script = f"i=0; while [ $i -lt {n} ]; do /bin/true; i=$((i+1)); done"

        def setup() -> Any:
            return None

        def work(_: Any) -> dict[str, Any]:
            subprocess.run(["/bin/sh", "-c", script], check=True)
            return {"execs": n}

    elif kind == "open-few":

        def setup() -> Any:
            paths = []
            for i in range(4):
                p = os.path.join(tmpdir, f"few{i}")
                with open(p, "wb") as f:
                    f.write(b"x")
                paths.append(p.encode())
            return paths

        def work(paths: Any) -> dict[str, Any]:
            o, c, rd = os.open, os.close, os.O_RDONLY
            for i in range(n):
                c(o(paths[i & 3], rd))
            return {"opens": n}

    else:

        def setup() -> Any:
            base = os.path.join(tmpdir, "missing").encode()
            return [b"%s/m%d" % (base, i) for i in range(n)]

        def work(paths: Any) -> dict[str, Any]:
            o, rd = os.open, os.O_RDONLY
            for p in paths:
                try:
                    o(p, rd)
                except FileNotFoundError:
                    pass
            return {"opens": n}

    bc.workload_main(setup, work)


# --- driver --------------------------------------------------------------------------------------


def traced(kind: str, argv: list[str], tmpdir: str) -> dict[str, Any]:
    from collector import ProcessRunner

    prefix = tmpdir + "/"
    seen = {"match": 0}

    def on_batch(batch: list[Any], _res: bc.RunnerResult) -> None:
        for ev in batch:
            p = ev.payload
            k = p.kind
            if kind == "exec":
                if k == "exec" and p.filename == "/bin/true":
                    seen["match"] += 1
            elif k == "file_open" and p.path.startswith(prefix):
                seen["match"] += p.count

    res = bc.run_with_runner(lambda pid: ProcessRunner.builder().pid(pid).build(), argv, on_batch)
    w = res.workload
    return {
        "elapsed": w["elapsed"],
        "expected": w.get("execs", w.get("opens")),
        "observed": seen["match"],
        "events": res.events,
        "rate": res.delivered_rate,
        "lag": res.t_last - res.t_end,
        "lost": res.lost_events,
        "tool_lost": res.tool_summary.get("lost"),
        "tool_events": res.tool_summary.get("events"),
        "consumer_cpu": res.extra.get("consumer_cpu_s", 0.0),
        "tool_cpu": res.extra.get("tool_cpu_s", 0.0),
    }


def tool_only(argv: list[str], tmpdir: str) -> dict[str, Any]:
    out = os.path.join(tmpdir, "tool-out.jsonl")
    if os.path.exists(out):
        os.unlink(out)
    tool = os.path.join(bc.REPO, "bpf_programs", "build", "process")
    cmd = ["/bin/sh", "-c", f"exec {tool} --pid {{pid}} > {out}"]
    w, rc = bc.run_with_command(cmd, argv, out, b'"type":"START"')
    lost = 0
    with open(out, "rb") as f:
        for line in f:
            if line.startswith(b'{"type":"SUMMARY"'):
                lost = json.loads(line)["lost"]
    return {"elapsed": w["elapsed"], "lost": lost, "rc": rc}


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="small sizes, 2 rounds")
    ap.add_argument("--reps", type=int, help="rounds (default 5, quick 2)")
    ap.add_argument("--only", help="comma-separated workloads: " + ",".join(WORKLOADS))
    ap.add_argument("--n", type=int, help="override the size of every selected workload")
    ap.add_argument("--_child", nargs=3, metavar=("KIND", "N", "TMPDIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        child(args._child[0], int(args._child[1]), args._child[2])
        return 0

    sizes = dict(QUICK if args.quick else FULL)
    reps = args.reps or (2 if args.quick else 5)
    kinds = args.only.split(",") if args.only else list(WORKLOADS)
    if args.n:
        sizes = {k: args.n for k in sizes}
    print(f"command: {bc.command_line()}")
    print(f"machine: {bc.machine_line()}")
    print(bc.source_line())
    print(f"sizes: {', '.join(f'{k}={sizes[k]:,}' for k in kinds)}; rounds: {reps}")

    tmpdir = tempfile.mkdtemp(prefix="bench-process-")
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    try:
        for kind in kinds:
            argv = [
                bc.PYTHON,
                os.path.abspath(__file__),
                "--_child",
                kind,
                str(sizes[kind]),
                tmpdir,
            ]
            if kind == "open-many":
                os.makedirs(os.path.join(tmpdir, "missing"), exist_ok=True)
            for r, variant in bc.rounds(["untraced", "traced", "tool-only"], reps):
                if variant == "untraced":
                    w = bc.run_untraced(argv)
                    out = {"elapsed": w["elapsed"]}
                elif variant == "tool-only":
                    out = tool_only(argv, tmpdir)
                else:
                    out = traced(kind, argv, tmpdir)
                out["round"] = r
                results.setdefault((kind, variant), []).append(out)
                extra = ""
                if variant == "traced":
                    extra = (
                        f" events={out['events']} observed={out['observed']}/{out['expected']}"
                        f" lost={out['lost']} rate={out['rate']:.0f}/s"
                    )
                if variant == "tool-only":
                    extra = f" lost={out['lost']}"
                print(f"  {kind:9} round {r} {variant:9} {out['elapsed']:.3f}s{extra}", flush=True)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)

    rows = []
    for kind in kinds:
        un = results[(kind, "untraced")]
        tr = results[(kind, "traced")]
        to = results[(kind, "tool-only")]
        by_round = {o["round"]: o["elapsed"] for o in un}
        ratios = [o["elapsed"] / by_round[o["round"]] for o in tr]
        tool_ratios = [o["elapsed"] / by_round[o["round"]] for o in to]
        exact = all(o["observed"] == o["expected"] for o in tr)
        rows.append(
            [
                kind,
                f"{sizes[kind]:,}",
                f"{bc.median([o['elapsed'] for o in un]):.2f} s",
                f"{bc.median([o['elapsed'] for o in tr]):.2f} s",
                f"{bc.median(ratios):.3f}x ({min(ratios):.2f}-{max(ratios):.2f})",
                f"{bc.median(tool_ratios):.3f}x",
                f"{bc.median([o['events'] for o in tr]):,.0f}",
                f"{bc.median([o['rate'] for o in tr]):,.0f}"
                if kind != "open-few"
                else "n/a (aggregated)",
                f"{bc.median([o['lag'] for o in tr]):.2f} s",
                f"{max(o['lost'] for o in tr)} / {max(o['lost'] for o in to)}",
                f"{bc.median([o['consumer_cpu'] for o in tr]):.2f} / {bc.median([o['tool_cpu'] for o in tr]):.2f}",
                "yes"
                if exact
                else "NO: " + ", ".join(f"{o['observed']}/{o['expected']}" for o in tr),
            ]
        )
    print()
    print(
        bc.table(
            [
                "workload",
                "n",
                "untraced (median)",
                "traced (median)",
                "ratio (median, min-max)",
                "tool-only ratio",
                "events to Python",
                "events/s to Python",
                "drain after end",
                "lost (max): traced / tool-only",
                "CPU s: Python / tool",
                "exact counts",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
