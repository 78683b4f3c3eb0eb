#!/usr/bin/env python3
"""Python CPU per sslsniff SSL_DATA event: the decoder alone, and SslRunner end to end.

Modes, each for 64-byte and 16 KiB calls (lines built as the tool writes them):

- decode: `SslToolDecoder.decode` over pre-built lines in batches of 1024 (no I/O, no framing;
  the cyclic GC off, as its cost depends on what else the process holds);
- runner: an `SslRunner` (no analyzers) fed the same lines from a file in 256 KiB reads, as it is
  fed by the tool's pipe: framing, decoding, batching, a consumer that touches each event;
- floor (64-byte lines only): the two parts of `decode` no decoder of this design can avoid,
  apart: parse-64 (the typed msgspec parse of a line plus its base64 payload) and objects-64
  (building the TlsData and Event of one call from already-parsed values). Their sum is the
  least CPU one typed pydantic Event per SSL call can cost here (issue 5's budget, BENCHMARKS.md).

Figures are µs of this process's CPU time per event, best of `--repeat` runs. `--baseline DIR`
also measures, in a child process, the `collector` package found in DIR (e.g. the tree of an older
commit from `git archive REV collector | tar -x -C DIR`), so both figures come from the same
minutes of a shared machine (`--rounds K`: the trees alternate K times, best round kept).

Usage: .venv/bin/python scripts/bench_decode.py [--mode decode,runner,floor] [--n N] [--repeat R]
       [--baseline DIR] [--rounds K]
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

SIZES = (64, 16384)


def tool_line(rng: random.Random, i: int, size: int) -> bytes:
    """One SSL_DATA line with the tool's field order (`data` last)."""
    data = rng.randbytes(size)
    d: dict[str, Any] = {
        "type": "SSL_DATA",
        "ts_ns": 1_000_000 + i * 1000,
        "pid": 4242,
        "tid": 4243,
        "uid": 1000,
        "comm": "python3",
        "dir": "write" if i % 2 else "read",
        "func": "SSL_write_ex",
        "conn": 94_000_000_000_000 + i % 7,
        "fd": 5,
        "peer": "127.0.0.1:8443",
        "call_id": i + 1,
        "latency_ns": 2100,
        "len": size,
        "seq": 0,
        "offset": 0,
        "last": True,
        "truncated": 0,
        "data": base64.b64encode(data).decode(),
    }
    return orjson.dumps(d)


def make_lines(n: int, size: int) -> list[bytes]:
    rng = random.Random(size)
    return [tool_line(rng, i, size) for i in range(n)]


def bench_decode(lines: list[bytes], repeat: int) -> float:
    from collector.framework.decoders.ssl_tool import SslToolDecoder

    best = float("inf")
    for _ in range(repeat):
        dec = SslToolDecoder(boot_offset_ns=0)
        decode = dec.decode
        got = 0
        gc.collect()
        gc.disable()
        t0 = time.process_time()
        for start in range(0, len(lines), 1024):
            out: list[Any] = []
            for line in lines[start : start + 1024]:
                decode(line, out)
            got += len(out)
        best = min(best, time.process_time() - t0)
        gc.enable()
        assert got == len(lines)
    return best / len(lines) * 1e6


def bench_floor(lines: list[bytes], repeat: int) -> dict[str, float]:
    from collector.framework.core.events import new_event
    from collector.framework.decoders import ssl_tool

    parse = ssl_tool._decode_data_line
    b64 = ssl_tool._b64decode
    new_tls_data = ssl_tool._new_tls_data
    parsed = [parse(line) for line in lines]
    payloads = [b64(s.data, validate=True) for s in parsed]
    best = {"parse": float("inf"), "objects": float("inf")}
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        t0 = time.process_time()
        for line in lines:
            b64(parse(line).data, validate=True)
        t1 = time.process_time()
        for start in range(0, len(parsed), 1024):
            out: list[Any] = []
            for s, data in zip(parsed[start : start + 1024], payloads[start : start + 1024], strict=True):
                payload = new_tls_data(
                    {
                        "kind": "tls_data",
                        "direction": s.dir,
                        "conn": s.conn,
                        "data": data,
                        "length": s.len,
                        "truncated": s.truncated,
                        "fd": s.fd,
                        "peer": s.peer,
                        "uid": s.uid,
                        "func": s.func,
                        "latency_ns": s.latency_ns,
                        "call_id": s.call_id,
                    }
                )
                out.append(
                    new_event(
                        {
                            "timestamp_ns": s.ts_ns,
                            "source": "ssl",
                            "pid": s.pid,
                            "tid": s.tid,
                            "comm": s.comm,
                            "payload": payload,
                        }
                    )
                )
        t2 = time.process_time()
        gc.enable()
        best = {"parse": min(best["parse"], t1 - t0), "objects": min(best["objects"], t2 - t1)}
    return {k: v / len(lines) * 1e6 for k, v in best.items()}


def bench_runner(path: str, n: int, repeat: int) -> float:
    import anyio

    from collector.framework.runners.ssl import SslConfig, SslRunner

    class FileSslRunner(SslRunner):
        """SslRunner's per-event path, fed from a file instead of the tool's pipe."""

        async def _open(self) -> None:
            self._f = open(path, "rb")

        async def _read(self, max_bytes: int, timeout: float) -> bytes | None:
            return self._f.read(max_bytes)

        async def _close(self) -> None:
            return None

        def _release(self) -> None:
            if hasattr(self, "_f"):
                self._f.close()

        async def _after_eof(self) -> None:
            return None

    async def run() -> int:
        runner = FileSslRunner(SslConfig())
        total = 0
        async with runner:
            async for batch in runner.batches():
                for ev in batch:
                    total += len(ev.payload.data)
        return total

    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.process_time()
        total = anyio.run(run)
        best = min(best, time.process_time() - t0)
        assert total > 0 or n == 0
    return best / n * 1e6


def measure(modes: list[str], n: int, repeat: int, tmp: str) -> dict[str, float]:
    res: dict[str, float] = {}
    for size in SIZES:
        count = n if size <= 1024 else max(n // 20, 1000)
        lines = make_lines(count, size)
        if "decode" in modes:
            res[f"decode-{size}"] = bench_decode(lines, repeat)
        if "floor" in modes and size <= 1024:
            for part, value in bench_floor(lines, repeat).items():
                res[f"{part}-{size}"] = value
        if "runner" in modes:
            path = os.path.join(tmp, f"ssl-{size}.jsonl")
            with open(path, "wb") as f:
                f.write(b"\n".join(lines) + b"\n")
            res[f"runner-{size}"] = bench_runner(path, count, repeat)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--mode", default="decode,runner")
    ap.add_argument(
        "--n", type=int, default=100_000, help="64-byte lines (16 KiB: n/20, at least 1000)"
    )
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--baseline", help="a directory holding an older collector/ to compare with")
    ap.add_argument("--rounds", type=int, default=1, help="alternate the trees this many times")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # child output
    args = ap.parse_args()
    modes = args.mode.split(",")
    if args.json:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(measure(modes, args.n, args.repeat, tmp)))
        return
    trees = {"this tree": str(Path(__file__).resolve().parent.parent)}
    if args.baseline:
        trees["baseline"] = os.path.abspath(args.baseline)
    cmd = [sys.executable, __file__, "--json", "--mode", args.mode, "--n", str(args.n)]
    cmd += ["--repeat", str(args.repeat)]
    best: dict[str, dict[str, float]] = {name: {} for name in trees}
    for _ in range(args.rounds):  # alternate the trees; each figure's best round is kept
        for name, path in trees.items():
            env = {**os.environ, "PYTHONPATH": path}
            run = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
            for key, value in json.loads(run.stdout).items():
                best[name][key] = min(value, best[name].get(key, value))
    ours, base = best["this tree"], best.get("baseline", {})
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}; "
        f"µs of CPU per event, best of {args.repeat} x {args.rounds}"
    )
    print(f"{'what':<14} {'this tree':>10}" + (f" {'baseline':>10} {'ratio':>7}" if base else ""))
    for key, value in ours.items():
        line = f"{key:<14} {value:>10.2f}"
        if key in base:
            line += f" {base[key]:>10.2f} {value / base[key]:>6.2f}x"
        print(line)


if __name__ == "__main__":
    main()
