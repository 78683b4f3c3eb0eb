#!/usr/bin/env python3
"""Pipeline throughput: replay recorded tool output through Runner -> Event -> analyzer chain.

Reports events/s and MB/s next to a bare loop that only reads the same file and parses each line
with orjson, in the same run. Usage: .venv/bin/python scripts/bench_pipeline.py [--small N] [--tls N]
"""

from __future__ import annotations

import argparse
import base64
import os
import tempfile
import time
from pathlib import Path

import anyio
import orjson

from collector import Analyzer, ReplayRunner


class NoOp(Analyzer):
    """Passes events on; the cost measured is the chain's, not an analyzer's."""


def write_process_trace(path: Path, n: int) -> None:
    with path.open("wb") as f:
        for i in range(n):
            if i % 4 == 0:
                line = {"type": "EXEC", "ts_ns": 10**12 + i, "pid": 1000 + i % 500, "tid": 1000 + i % 500,
                        "ppid": 1, "uid": 0, "comm": "python3", "filename": "/usr/bin/python3",
                        "argv": ["python3", "agent.py", "--step", str(i)], "argv_truncated": False}
            else:
                line = {"type": "FILE_OPEN", "ts_ns": 10**12 + i, "pid": 1000 + i % 500, "tid": 1000 + i % 500,
                        "ppid": 1, "uid": 0, "comm": "python3", "path": f"/usr/lib/python3.11/m{i % 97}.py",
                        "relative": False, "dirfd": -100, "flags": 524288, "ret": 3, "count": 1, "aggregate": False}
            f.write(orjson.dumps(line) + b"\n")


def write_tls_trace(path: Path, n: int, size: int = 4096) -> None:
    payload = base64.b64encode(os.urandom(size)).decode()
    with path.open("wb") as f:
        for i in range(n):
            line = {"type": "SSL_DATA", "ts_ns": 10**12 + i, "pid": 2000, "tid": 2000 + i % 8, "uid": 0,
                    "comm": "node", "dir": "read" if i % 2 else "write", "func": "SSL_read", "conn": 0x5500 + i % 8,
                    "fd": 5, "call_id": i, "latency_ns": 1000, "len": size, "seq": 0, "offset": 0, "last": True,
                    "truncated": 0, "data": payload}
            f.write(orjson.dumps(line) + b"\n")


def bare_loop(path: Path) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = 0
    loads = orjson.loads
    with path.open("rb") as f:
        rest = b""
        while chunk := f.read(256 * 1024):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                loads(line)
                n += 1
    return n, time.perf_counter() - t0


def pipeline(path: Path) -> tuple[int, float]:
    async def run() -> int:
        n = 0
        runner = ReplayRunner.builder().file(path).analyzer(NoOp()).analyzer(NoOp()).build()
        async with runner:
            async for batch in runner.batches():
                n += len(batch)
        return n

    t0 = time.perf_counter()
    n = anyio.run(run)
    return n, time.perf_counter() - t0


def report(name: str, path: Path) -> None:
    size_mb = path.stat().st_size / 1e6
    bn, bt = bare_loop(path)
    pn, pt = pipeline(path)
    assert bn == pn, (bn, pn)
    print(f"{name}: {pn} events, {size_mb:.0f} MB")
    print(f"  bare orjson loop : {bn / bt:>10,.0f} events/s {size_mb / bt:8.1f} MB/s")
    print(f"  runner pipeline  : {pn / pt:>10,.0f} events/s {size_mb / pt:8.1f} MB/s  ({pt / bt:.2f}x the bare loop)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=1_000_000)
    ap.add_argument("--tls", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "process.jsonl"
        write_process_trace(p, args.small)
        report("process-like events", p)
        t = Path(d) / "tls.jsonl"
        write_tls_trace(t, args.tls)
        report("TLS-like events (4 KB payloads)", t)


if __name__ == "__main__":
    main()
