"""The LLM analyzer chain of this tree against another revision's, in one process, interleaved.

On a shared VM the speed of the same code moves by 20-40 % from one minute to the next, so two
runs one after the other compare the moments more than the code. Here both trees' `collector`
packages are loaded side by side (copied under other names: the package imports itself only
relatively), each decodes the trace with its own decoder (untimed), and their analyzer chains
take the same batches in turn, batch by batch, the order swapped every round. The CPU time of
each is summed per round; the best round of each and the per-round ratios are reported.

    .venv/bin/python scripts/bench_llm_ab.py --baseline 2f1216f --calls 10000 --rounds 3
"""

from __future__ import annotations

import argparse
import gc
import importlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import bench_pipeline as bp  # noqa: E402


def load(name: str, tree: Path, into: Path) -> Any:
    shutil.copytree(tree / "collector", into / name, ignore=shutil.ignore_patterns("__pycache__"))
    return importlib.import_module(name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True, metavar="REV", help="git revision to compare with")
    ap.add_argument("--calls", type=int, default=2000, help="streaming LLM calls in the trace (made, or in --trace)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--trace", type=Path, help="an existing trace (bench_pipeline's LLM trace)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        base = d / "base"
        base.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "collector"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        pkgs = d / "pkgs"
        pkgs.mkdir()
        sys.path.insert(0, str(pkgs))
        mods = {"base": load("collector_base", base, pkgs), "this": load("collector_this", ROOT, pkgs)}
        trace = args.trace
        if trace is None:
            trace = d / "llm.jsonl"
            bp.write_llm_trace(trace, args.calls)
        lines = list(bp.line_batches(trace, 1024))
        batches: dict[str, list[list[Any]]] = {}
        for key, mod in mods.items():
            auto = importlib.import_module(mod.__name__ + ".framework.decoders.auto")
            stats = importlib.import_module(mod.__name__ + ".framework.core.stats")
            decoder = auto.AutoDecoder(stats.RunnerStats())
            batches[key] = []
            for chunk in lines:
                events: list[Any] = []
                for line in chunk:
                    decoder.decode(line, events)
                batches[key].append(events)
        ncalls = args.calls
        spent: dict[str, list[float]] = {"base": [], "this": []}
        gc.set_threshold(10_000, 10, 10)  # what a Runner sets while it streams
        clock = time.thread_time
        for r in range(args.rounds):
            chains = {
                k: importlib.import_module(m.__name__ + ".framework.core.analyzer").AnalyzerChain(m.tls_analyzers(), strict=True)
                for k, m in mods.items()
            }
            order = ("base", "this") if r % 2 == 0 else ("this", "base")
            total = dict.fromkeys(order, 0.0)
            for i in range(len(lines)):
                for k in order:
                    t = clock()
                    chains[k].process(batches[k][i])
                    total[k] += clock() - t
            for k in order:
                t = clock()
                chains[k].finish()
                total[k] += clock() - t
            for k in order:
                spent[k].append(total[k])
            print(f"round {r}: base {total['base'] / ncalls * 1e3:.3f} ms/call, "
                  f"this {total['this'] / ncalls * 1e3:.3f} ms/call, ratio {total['this'] / total['base']:.3f}",
                  flush=True)
        b, t = min(spent["base"]), min(spent["this"])
        print(f"best: base ({args.baseline}) {b / ncalls * 1e3:.3f} ms/call, this {t / ncalls * 1e3:.3f} ms/call, "
              f"this/base {t / b:.3f}")


if __name__ == "__main__":
    main()
