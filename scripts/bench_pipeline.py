#!/usr/bin/env python3
"""Pipeline throughput: replay recorded tool output through Runner -> Event -> analyzer chain.

Three benchmarks, each comparing variants side by side in the same run (shared machines are noisy:
trust the ratios within one run more than absolute figures):

- process: 1,000,000 process-tool lines (EXEC / FILE_OPEN) through ReplayRunner and two
  pass-through analyzers, next to a bare loop that only reads the file and orjson-parses each line;
- tls: 100,000 sslsniff SSL_DATA lines with 4 KB payloads, same comparison;
- llm: a recorded trace of 10,000 streaming LLM calls (OpenAI chat, Anthropic, Gemini; exact
  wire bytes from the test fixture's encoders) as raw sslsniff lines, replayed through
  `tls_analyzers()` (reassembly -> HTTP -> SSE -> LLM extraction), default chain and
  `keep_sse=True` (every SSE event materialised as an SseMessage Event) side by side; calls/s and
  MB/s of TLS plaintext; then the peak RSS of a fresh process replaying a trace in which 1,000
  connections are all open and mid-stream before any finishes.

`--only instructions` (not run by default; needs valgrind): the analyzers' instructions per call
over a small trace under callgrind, a count that repeats run after run where times do not.
`--only readers` (not run by default): the LLM extraction alone over a 2,000-call trace's
exchanges, with the readers' event shapes and without, alternating in one process.

Rates are per second of the process's CPU time (`--wall` for wall-clock time): on a shared
machine that stays meaningful when other work competes for the cores.

Usage: .venv/bin/python scripts/bench_pipeline.py [--small N] [--tls N] [--llm N] [--conns N]
       [--repeat R] [--only process,tls,llm,rss,instructions,readers] [--instr-calls N] [--wall]
       [--baseline REV] [--python PATH]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import orjson

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # after PYTHONPATH: --baseline children import an older collector/

from collector import Analyzer, AnalyzerChain, Event, ReplayRunner, RunnerStats  # noqa: E402
from collector.framework.analyzers.pipeline import tls_analyzers  # noqa: E402
from collector.framework.decoders.auto import AutoDecoder  # noqa: E402

try:  # absent from revisions measured with --baseline
    from collector.framework.runners.base import _gc_enter, _gc_exit
except ImportError:
    def _gc_enter() -> None: ...
    def _gc_exit() -> None: ...
from tests.fixtures.llm_server import ENCODERS, _sse_bytes, make_plan  # noqa: E402


class NoOp(Analyzer):
    """Passes each event on (a per-event analyzer): the cost measured is the chain's."""

    def process(self, event: Event) -> tuple[Event, ...]:
        return (event,)


# --- process and TLS traces -------------------------------------------------------------------


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


# --- LLM trace: streaming calls as raw sslsniff lines -----------------------------------------

WORDS = ("the of and to in is that for it as with was on be by this are from at or an have not "
         "which but all were when we there can more if will one about into has so some would "
         "function return value request stream token model agent tool result error cache file "
         "résumé naïve café — ✓ 東京 данные").split()

TOOLS_OPENAI: list[dict[str, Any]] = [
    {"type": "function", "function": {"name": "read_file", "description": "Read a file of the workspace.",
     "parameters": {"type": "object", "properties": {"path": {"type": "string"}, "max_lines": {"type": "integer"}},
                    "required": ["path"]}}},
    {"type": "function", "function": {"name": "run_shell", "description": "Run a shell command and return its output.",
     "parameters": {"type": "object", "properties": {"command": {"type": "string"}, "timeout": {"type": "number"}},
                    "required": ["command"]}}},
]


def prose(rng: random.Random, n_chars: int) -> str:
    out: list[str] = []
    size = 0
    while size < n_chars:
        w = rng.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out) + "."


def conversation(rng: random.Random, turns: int) -> list[tuple[str, str]]:
    return [("user" if i % 2 == 0 else "assistant", prose(rng, rng.randint(80, 900))) for i in range(turns)]


def build_request(api: str, rng: random.Random, scenario: str) -> tuple[str, str, list[tuple[str, str]], dict[str, Any]]:
    """(path, host, headers, body) of a streaming request in the API's format."""
    system = "You are a coding agent. " + prose(rng, rng.randint(300, 1500))
    turns = conversation(rng, rng.choice((1, 3, 5)))
    last = prose(rng, 60) + f" scenario:{scenario}"
    tools = scenario == "tool" or rng.random() < 0.5
    if api == "openai_chat":
        msgs: list[dict[str, Any]] = [{"role": "system", "content": system}]
        msgs += [{"role": r, "content": t} for r, t in turns]
        msgs.append({"role": "user", "content": last})
        body: dict[str, Any] = {"model": "gpt-4o-2024-08-06", "messages": msgs, "stream": True,
                                "stream_options": {"include_usage": True}, "temperature": 0.2}
        if tools:
            body["tools"] = TOOLS_OPENAI
        return "/v1/chat/completions", "api.openai.com", [
            ("authorization", "Bearer sk-proj-xxxxxxxxxxxxxxxxxxxxxxxx"), ("x-stainless-lang", "python"),
            ("x-stainless-package-version", "1.54.0"), ("openai-organization", "org-bench")], body
    if api == "anthropic":
        msgs = [{"role": r, "content": t} for r, t in turns]
        msgs.append({"role": "user", "content": [{"type": "text", "text": last}]})
        body = {"model": "claude-sonnet-4-5", "max_tokens": 8192, "system": system, "messages": msgs, "stream": True}
        if tools:
            body["tools"] = [{"name": t["function"]["name"], "description": t["function"]["description"],
                              "input_schema": t["function"]["parameters"]} for t in TOOLS_OPENAI]
        return "/v1/messages", "api.anthropic.com", [
            ("x-api-key", "sk-ant-xxxxxxxxxxxxxxxxxxxx"), ("anthropic-version", "2023-06-01"),
            ("x-stainless-lang", "python")], body
    contents = [{"role": "user" if r == "user" else "model", "parts": [{"text": t}]} for r, t in turns]
    contents.append({"role": "user", "parts": [{"text": last}]})
    body = {"contents": contents, "systemInstruction": {"parts": [{"text": system}]},
            "generationConfig": {"temperature": 0.2, "maxOutputTokens": 8192}}
    if tools:
        body["tools"] = [{"functionDeclarations": [
            {"name": t["function"]["name"], "description": t["function"]["description"],
             "parameters": t["function"]["parameters"]} for t in TOOLS_OPENAI]}]
    return ("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            "generativelanguage.googleapis.com", [("x-goog-api-key", "AIzaSyxxxxxxxxxxxxxxxxxxxx")], body)


def one_call(api: str, rng: random.Random, n: int) -> tuple[bytes, list[bytes], int]:
    """(request bytes, response chunks as the server wrote them, SSE events) of one streaming call."""
    scenario = rng.choices(("text", "tool", "thinking"), (0.6, 0.25, 0.15))[0]
    path, host, headers, body = build_request(api, rng, scenario)
    model = "gemini-2.5-flash" if api == "gemini" else body["model"]
    plan = make_plan(api, body, model, True, n, None)
    if scenario != "tool":
        plan.text = prose(rng, rng.randint(200, 1600))
    if scenario == "thinking":
        plan.thinking = prose(rng, rng.randint(200, 800))
    events = ENCODERS[api].events(plan, body)
    raw_body = orjson.dumps(body)
    head = [f"POST {path} HTTP/1.1", f"host: {host}", "accept: text/event-stream" if api != "gemini" else "accept: */*",
            "accept-encoding: gzip, deflate", "content-type: application/json", "user-agent: bench-agent/1.0",
            *(f"{k}: {v}" for k, v in headers), f"content-length: {len(raw_body)}"]
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + raw_body
    rid = f"req_{n:08d}"
    resp_head = ("HTTP/1.1 200 OK\r\ndate: Mon, 23 Nov 2026 03:00:00 GMT\r\n"
                 "content-type: text/event-stream; charset=utf-8\r\ntransfer-encoding: chunked\r\n"
                 f"connection: keep-alive\r\ncache-control: no-cache\r\nx-request-id: {rid}\r\n"
                 "server: cloudflare\r\n\r\n").encode()
    chunks = [resp_head]
    for event, obj in events:
        data = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        raw = _sse_bytes(event, data)
        chunks.append(b"%x\r\n%s\r\n" % (len(raw), raw))
    chunks.append(b"0\r\n\r\n")
    return request, chunks, len(events)


def reads_of(chunks: list[bytes], rng: random.Random) -> list[bytes]:
    """SSL_read results: 1-3 server writes coalesced per record, sometimes split in two reads."""
    reads: list[bytes] = [chunks[0]]
    i = 1
    while i < len(chunks):
        k = rng.choice((1, 1, 1, 2, 3))
        rec = b"".join(chunks[i : i + k])
        i += k
        if len(rec) > 64 and rng.random() < 0.1:
            cut = rng.randint(1, len(rec) - 1)
            reads += [rec[:cut], rec[cut:]]
        else:
            reads.append(rec)
    return reads


class SslTrace:
    """Writes sslsniff lines: one SSL_DATA call (chunked at 16 KiB like the tool), SSL_CLOSE."""

    CHUNK = 16384

    def __init__(self, f: Any) -> None:
        self.f = f
        self.ts = 10**12
        self.call_id = 0
        self.plaintext = 0

    def data(self, pid: int, tid: int, conn: int, direction: str, data: bytes) -> None:
        self.ts += 20_000
        self.call_id += 1
        self.plaintext += len(data)
        func = "SSL_write" if direction == "write" else "SSL_read"
        pieces = [data[i : i + self.CHUNK] for i in range(0, len(data), self.CHUNK)] or [b""]
        for seq, piece in enumerate(pieces):
            line = {"type": "SSL_DATA", "ts_ns": self.ts, "pid": pid, "tid": tid, "uid": 1000, "comm": "agent",
                    "dir": direction, "func": func, "conn": conn, "fd": 7, "call_id": self.call_id,
                    "latency_ns": 4_000, "len": len(data), "seq": seq, "offset": seq * self.CHUNK,
                    "last": seq == len(pieces) - 1, "truncated": 0, "data": base64.b64encode(piece).decode()}
            self.f.write(orjson.dumps(line) + b"\n")

    def close(self, pid: int, tid: int, conn: int) -> None:
        self.ts += 20_000
        line = {"type": "SSL_CLOSE", "ts_ns": self.ts, "pid": pid, "tid": tid, "uid": 1000, "comm": "agent",
                "conn": conn, "func": "SSL_free"}
        self.f.write(orjson.dumps(line) + b"\n")


APIS = ("openai_chat", "anthropic", "gemini")


def connection_calls(
    rng: random.Random, conn_no: int, ncalls: int, first: int
) -> Iterator[tuple[str, bytes] | None]:
    """The TLS calls of one keep-alive connection doing `ncalls` streaming calls; None = close."""
    api = APIS[conn_no % len(APIS)]
    for k in range(ncalls):
        request, chunks, _ = one_call(api, rng, first + k)
        yield "write", request
        for rec in reads_of(chunks, rng):
            yield "read", rec
    yield None


def write_llm_trace(path: Path, ncalls: int, concurrency: int = 8, seed: int = 1) -> dict[str, int]:
    """`ncalls` streaming calls over keep-alive connections (1-8 calls each), `concurrency`
    connections interleaved call by call at any time, across 4 processes."""
    rng = random.Random(seed)
    with path.open("wb") as f:
        w = SslTrace(f)
        active: list[tuple[int, int, int, Iterator[tuple[str, bytes] | None]]] = []
        made = conn_no = 0
        while made < ncalls or active:
            while made < ncalls and len(active) < concurrency:
                k = min(rng.randint(1, 8), ncalls - made)
                pid = 4000 + conn_no % 4
                active.append((pid, pid + 1 + conn_no % 3, 0x7F00_0000_0000 + conn_no * 0x1000,
                               connection_calls(rng, conn_no, k, made)))
                made += k
                conn_no += 1
            i = rng.randrange(len(active))
            pid, tid, conn, calls = active[i]
            step = next(calls)
            if step is None:
                w.close(pid, tid, conn)
                active.pop(i)
            else:
                w.data(pid, tid, conn, *step)
    return {"calls": ncalls, "connections": conn_no, "plaintext": w.plaintext}


def write_open_conns_trace(path: Path, nconns: int, seed: int = 2) -> dict[str, int]:
    """`nconns` connections, each sends its request and reads half of its streamed response
    before any finishes; then each finishes and closes."""
    rng = random.Random(seed)
    conns = []
    with path.open("wb") as f:
        w = SslTrace(f)
        for c in range(nconns):
            request, chunks, _ = one_call(APIS[c % 3], rng, c)
            reads = reads_of(chunks, rng)
            pid, conn = 5000 + c % 16, 0x7E00_0000_0000 + c * 0x1000
            w.data(pid, pid, conn, "write", request)
            half = max(2, len(reads) // 2)
            for rec in reads[:half]:
                w.data(pid, pid, conn, "read", rec)
            conns.append((pid, conn, reads[half:]))
        for pid, conn, rest in conns:
            for rec in rest:
                w.data(pid, pid, conn, "read", rec)
            w.close(pid, pid, conn)
    return {"calls": nconns, "connections": nconns, "plaintext": w.plaintext}


# --- measurement ------------------------------------------------------------------------------


# Rates are per second of this process's CPU time by default: the machines are shared, and CPU
# time counts only our own work (wall-clock figures with --wall).
clock = time.process_time


def bare_loop(path: Path) -> tuple[int, float]:
    """Read the file in 256 KiB chunks, split lines, orjson-parse each: the floor."""
    t0 = clock()
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
    return n, clock() - t0


def pipeline(path: Path, analyzers: Callable[[], list[Analyzer]]) -> tuple[int, dict[str, int], float]:
    """Replay `path` through a ReplayRunner with the analyzers; (events out, kinds, seconds)."""
    kinds: dict[str, int] = {}

    async def run() -> int:
        n = 0
        runner = ReplayRunner.builder().file(path).analyzers(*analyzers()).build()
        async with runner:
            async for batch in runner.batches():
                n += len(batch)
                for ev in batch:
                    k = ev.payload.kind
                    if k != "exec" and k != "file_open" and k != "tls_data":
                        kinds[k] = kinds.get(k, 0) + 1
        return n

    t0 = clock()
    n = anyio.run(run)
    return n, kinds, clock() - t0


def analyzers_only(path: Path, analyzers: Callable[[], list[Analyzer]]) -> tuple[int, dict[str, int], float]:
    """Decode `path` batch by batch (untimed), time only the analyzer chain over the batches."""
    decoder = AutoDecoder(RunnerStats())
    chain = AnalyzerChain(analyzers(), strict=True)
    kinds: dict[str, int] = {}
    n = 0
    spent = 0.0
    with gc_like_runner():
        for batch in line_batches(path, 1024):
            events: list[Event] = []
            for line in batch:
                decoder.decode(line, events)
            t0 = clock()
            out = chain.process(events)
            spent += clock() - t0
            n += len(out)
            for ev in out:
                kinds[ev.payload.kind] = kinds.get(ev.payload.kind, 0) + 1
            del events, out
        t0 = clock()
        out = chain.finish()
        spent += clock() - t0
    for ev in out:
        kinds[ev.payload.kind] = kinds.get(ev.payload.kind, 0) + 1
    return n + len(out), kinds, spent


def line_batches(path: Path, size: int) -> Iterator[list[bytes]]:
    with path.open("rb") as f:
        rest = b""
        while chunk := f.read(256 * 1024):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for i in range(0, len(lines), size):
                yield lines[i : i + size]


@contextmanager
def gc_like_runner() -> Iterator[None]:
    """The GC setting a Runner applies while it streams (runners/base.py)."""
    _gc_enter()
    try:
        yield
    finally:
        _gc_exit()


def best(runs: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """The fastest run (the last element of each tuple is the time)."""
    return min(runs, key=lambda r: r[-1])


class ChildTree:
    """A `collector/` package under `root`, measured in child processes run by `python`."""

    python: str
    root: Path
    label: str

    def measure(self, what: str, path: Path, wall: bool) -> tuple[int, dict[str, int], float]:
        env = {**os.environ, "PYTHONPATH": f"{self.root}{os.pathsep}{REPO}"}
        cmd = [self.python, __file__, "--child", what, str(path)] + (["--wall"] if wall else [])
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=self.root).stdout
        r = json.loads(out.strip().splitlines()[-1])
        assert r["collector"].startswith(str(self.root)), r
        return r["n"], r["kinds"], r["seconds"]


class Baseline(ChildTree):
    """An older revision's `collector/` package, measured in child processes of this run."""

    def __init__(self, rev: str, tmp: str) -> None:
        self.python = sys.executable
        self.rev = rev
        self.root = Path(tmp) / "baseline"
        self.root.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "collector"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(self.root)], input=archive, check=True)
        self.label = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", rev], check=True,
                                    capture_output=True, text=True).stdout.strip()


class ThisTree(ChildTree):
    """This tree's `collector/` under this Python, measured in child processes: a process that
    has only imported and read the trace, as the baseline's, rather than this one after it wrote
    the trace and ran the other variants (which measured ~15-25 % slower per call, session 7)."""

    def __init__(self) -> None:
        self.python = sys.executable
        self.root = REPO
        self.label = "this tree"


class Interpreter(ChildTree):
    """This tree's `collector/` under another Python (`--python`), measured in child processes."""

    def __init__(self, python: str) -> None:
        self.python = python
        self.root = REPO
        out = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"], check=True,
                             capture_output=True, text=True).stdout.strip()
        self.label = f"python {out}"


CHILD_MEASURES: dict[str, Callable[[Path], tuple[int, dict[str, int], float]]] = {
    "noop": lambda p: pipeline(p, lambda: [NoOp(), NoOp()]),
    "llm": lambda p: pipeline(p, lambda: tls_analyzers()),
    "llm-keep-sse": lambda p: pipeline(p, lambda: tls_analyzers(keep_sse=True)),
    "llm-analyzers": lambda p: analyzers_only(p, lambda: tls_analyzers()),
    "llm-analyzers-keep-sse": lambda p: analyzers_only(p, lambda: tls_analyzers(keep_sse=True)),
}


def child_measure(what: str, path: str) -> None:
    import collector

    n, kinds, t = CHILD_MEASURES[what](Path(path))
    print(json.dumps({"n": n, "kinds": kinds, "seconds": t, "collector": collector.__file__}))


def report_events(name: str, path: Path, repeat: int, baseline: Baseline | None, wall: bool) -> None:
    size_mb = path.stat().st_size / 1e6
    bare, pipe, base = [], [], []
    for _ in range(repeat):  # interleaved, best of `repeat`
        bare.append(bare_loop(path))
        pipe.append(pipeline(path, lambda: [NoOp(), NoOp()]))
        if baseline:
            base.append(baseline.measure("noop", path, wall))
    bn, bt = best(bare)
    pn, _, pt = best(pipe)
    assert bn == pn, (bn, pn)
    print(f"{name}: {pn:,} events, {size_mb:.0f} MB, best of {repeat}")
    print(f"  bare orjson loop  : {bn / bt:>10,.0f} events/s {size_mb / bt:8.1f} MB/s")
    print(f"  runner pipeline   : {pn / pt:>10,.0f} events/s {size_mb / pt:8.1f} MB/s  ({pt / bt:.2f}x the bare loop)")
    if baseline:
        xn, _, xt = best(base)
        assert xn == pn, (xn, pn)
        print(f"  same, at {baseline.label:8s}: {xn / xt:>10,.0f} events/s {size_mb / xt:8.1f} MB/s  ({xt / bt:.2f}x the bare loop)")


def report_llm(
    path: Path, info: dict[str, int], repeat: int, baseline: Baseline | None, wall: bool,
    other: Interpreter | None = None,
) -> None:
    size_mb = path.stat().st_size / 1e6
    plain_mb = info["plaintext"] / 1e6
    ncalls = info["calls"]
    variants: dict[str, Callable[[], list[Analyzer]]] = {
        "tls_analyzers()": lambda: tls_analyzers(),
        "tls_analyzers(keep_sse=True)": lambda: tls_analyzers(keep_sse=True),
    }
    results: dict[str, list[tuple[int, dict[str, int], float]]] = {k: [] for k in variants}
    chain_only: dict[str, list[tuple[int, dict[str, int], float]]] = {k: [] for k in variants}
    alone = {"tls_analyzers()": "llm-analyzers", "tls_analyzers(keep_sse=True)": "llm-analyzers-keep-sse"}
    here = ThisTree()
    bare = []
    for _ in range(repeat):
        bare.append(bare_loop(path))
        for name, make in variants.items():
            results[name].append(pipeline(path, make))
        for name, what in alone.items():
            chain_only[name].append(here.measure(what, path, wall))
        if baseline:
            results.setdefault(f"tls_analyzers() at {baseline.label}", []).append(baseline.measure("llm", path, wall))
            chain_only.setdefault(f"tls_analyzers() at {baseline.label}", []).append(
                baseline.measure("llm-analyzers", path, wall))
        if other:
            chain_only.setdefault(f"tls_analyzers() on {other.label}", []).append(
                other.measure("llm-analyzers", path, wall))
    bn, bt = best(bare)
    print(f"LLM trace: {ncalls:,} streaming calls on {info['connections']:,} connections, {bn:,} sslsniff lines, "
          f"{size_mb:.0f} MB of lines, {plain_mb:.0f} MB of TLS plaintext, best of {repeat}")
    print(f"  bare orjson loop             : {bn / bt:>9,.0f} lines/s  {plain_mb / bt:7.1f} MB/s plaintext")
    for name, runs in results.items():
        _, kinds, t = best(runs)
        calls = kinds.get("llm_call", 0)
        assert calls == ncalls, (name, kinds)
        extra = f", {kinds['sse_event']:,} SseMessage events" if kinds.get("sse_event") else ""
        print(f"  {name:29s}: {calls / t:>9,.0f} calls/s  {plain_mb / t:7.1f} MB/s plaintext  "
              f"({t:.2f} s, {t / bt:.1f}x the bare loop{extra})")
    print("  analyzers alone (a fresh child process each run; TlsData Events decoded beforehand, untimed):")
    for name, runs in chain_only.items():
        _, kinds, t = best(runs)
        calls = kinds.get("llm_call", 0)
        assert calls == ncalls, (name, kinds)
        print(f"  {name:29s}: {calls / t:>9,.0f} calls/s  {plain_mb / t:7.1f} MB/s plaintext  ({t:.2f} s)")


def peak_rss_kib() -> int:
    """This process's peak RSS (VmHWM; ru_maxrss would carry the parent's peak over fork+exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def rss_child(path: str, keep_sse: bool) -> None:
    """Run in a fresh process: replay `path` through tls_analyzers(); print peak RSS (KiB)."""
    base = peak_rss_kib()
    _, kinds, t = pipeline(Path(path), lambda: tls_analyzers(keep_sse=keep_sse))
    peak = peak_rss_kib()
    print(json.dumps({"base_kib": base, "peak_kib": peak, "calls": kinds.get("llm_call", 0), "seconds": t}))


def report_rss(path: Path, info: dict[str, int], baseline: Baseline | None) -> None:
    size_mb = path.stat().st_size / 1e6
    print(f"Open connections: {info['connections']:,} streaming calls all mid-stream at once "
          f"({size_mb:.0f} MB of lines, {info['plaintext'] / 1e6:.0f} MB plaintext), fresh process each")
    runs: list[tuple[str, list[str], dict[str, str]]] = [
        ("tls_analyzers()", [], {}),
        ("tls_analyzers(keep_sse=True)", ["--keep-sse"], {}),
    ]
    if baseline:
        runs.append((f"tls_analyzers() at {baseline.label}", [],
                     {"PYTHONPATH": f"{baseline.root}{os.pathsep}{REPO}"}))
    for name, flags, env in runs:
        out = subprocess.run([sys.executable, __file__, "--rss-child", str(path), *flags], check=True,
                             capture_output=True, text=True, env={**os.environ, **env}).stdout
        r = json.loads(out.strip().splitlines()[-1])
        assert r["calls"] == info["calls"], r
        print(f"  {name:29s}: peak RSS {r['peak_kib'] / 1024:6.1f} MiB (after imports {r['base_kib'] / 1024:.1f} MiB, "
              f"+{(r['peak_kib'] - r['base_kib']) / 1024:.1f} MiB), {r['calls']:,} calls in {r['seconds']:.2f} s")


# --- instruction counts (callgrind) -----------------------------------------------------------


def count_child(mode: str, path: str) -> None:
    """Run under callgrind: decode `path` batch by batch and, for mode "chain", run
    tls_analyzers() over each batch. "chain" minus "decode" is the analyzers' count."""
    decoder = AutoDecoder(RunnerStats())
    chain = AnalyzerChain(tls_analyzers(), strict=True) if mode == "chain" else None
    calls = 0
    with gc_like_runner():
        for batch in line_batches(Path(path), 1024):
            events: list[Event] = []
            for line in batch:
                decoder.decode(line, events)
            if chain is not None:
                calls += sum(ev.payload.kind == "llm_call" for ev in chain.process(events))
        if chain is not None:
            calls += sum(ev.payload.kind == "llm_call" for ev in chain.finish())
    print(json.dumps({"calls": calls}))


def start_count(tree: ChildTree | None, mode: str, path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # str hashes, so dict layouts, the same every run
    if tree is not None:
        env["PYTHONPATH"] = f"{tree.root}{os.pathsep}{REPO}"
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
           sys.executable, __file__, "--count-child", mode, str(path)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=tree.root if tree is not None else REPO)


def collected(proc: subprocess.Popen[str]) -> tuple[int, int]:
    """(instructions, LLM calls emitted) of a `start_count` run."""
    out, err = proc.communicate()
    found = re.search(r"Collected : (\d+)", err)
    if proc.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind run failed ({proc.returncode}): {err[-2000:]}")
    return int(found.group(1)), json.loads(out.strip().splitlines()[-1])["calls"]


def report_instructions(path: Path, info: dict[str, int], baseline: Baseline | None) -> None:
    """Instructions the analyzers execute per call: a count, not a time, so the same on a noisy
    host run after run (it does not see cache misses: times still decide, side by side)."""
    if shutil.which("valgrind") is None:
        print("Instructions: valgrind is not installed (apt-get install valgrind); skipped")
        return
    trees: list[tuple[str, ChildTree | None]] = [("tls_analyzers()", None)]
    if baseline:
        trees.append((f"tls_analyzers() at {baseline.label}", baseline))
    runs = [(name, start_count(tree, "chain", path), start_count(tree, "decode", path)) for name, tree in trees]
    print(f"Instructions (callgrind, PYTHONHASHSEED=0): {info['calls']:,} streaming calls, "
          f"{info['plaintext'] / 1e6:.1f} MB of TLS plaintext, analyzers alone (decoding subtracted)")
    for name, chain, decode in runs:
        total, calls = collected(chain)
        assert calls == info["calls"], (name, calls)
        n = total - collected(decode)[0]
        print(f"  {name:29s}: {n / info['calls'] / 1e6:6.3f} M instructions per call, "
              f"{n / info['plaintext']:6.1f} per byte of plaintext")


def report_readers(path: Path, info: dict[str, int], repeat: int) -> None:
    """The LLM extraction alone, with the readers' event shapes (`llm/shape.py`) and without
    (`LEARN_MAX = 0`: every event decoded), alternating in this process over the same exchanges."""
    from collector.framework.analyzers.http import HttpAnalyzer
    from collector.framework.core.events import HttpExchange
    from collector.framework.llm import extract, shape
    from collector.framework.protocols.message import SseColumns

    handed: list[tuple[HttpExchange, SseColumns, bool]] = []

    class Keep:
        def sse_begin_pass(self) -> None:
            pass

        def sse_for_exchange(self, exchange: HttpExchange, events: SseColumns, complete: bool) -> None:
            handed.append((exchange, events, complete))

    http = HttpAnalyzer(keep_tls=False, sse=False)
    http.send_sse_to(Keep())
    decoder = AutoDecoder(RunnerStats())
    chain = AnalyzerChain([http], strict=True)
    for batch in line_batches(path, 1024):
        events: list[Event] = []
        for line in batch:
            decoder.decode(line, events)
        chain.process(events)
    chain.finish()

    def run() -> float:
        t0 = clock()
        for exchange, columns, complete in handed:
            extract(exchange, columns, sse_complete=complete)
        return clock() - t0

    learn_max = shape.LEARN_MAX
    on: list[float] = []
    off: list[float] = []
    try:
        for _ in range(repeat):
            shape.LEARN_MAX = learn_max
            on.append(run())
            shape.LEARN_MAX = 0
            off.append(run())
    finally:
        shape.LEARN_MAX = learn_max
    n = len(handed)
    print(f"LLM extraction alone: {n:,} streamed exchanges of the LLM trace ({info['calls']:,} calls), best of {repeat}")
    print(f"  event shapes on             : {min(on) / n * 1e6:8.1f} µs per call")
    print(f"  off (every event decoded)   : {min(off) / n * 1e6:8.1f} µs per call  "
          f"(on/off: {min(on) / min(off):.3f} best, {statistics.median(a / b for a, b in zip(on, off, strict=True)):.3f} median pair)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=1_000_000, help="process-like events")
    ap.add_argument("--tls", type=int, default=100_000, help="TLS-like events (4 KB payloads)")
    ap.add_argument("--llm", type=int, default=10_000, help="streaming LLM calls")
    ap.add_argument("--conns", type=int, default=1_000, help="connections open at once (RSS)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per variant; the best is reported")
    ap.add_argument("--only", default="process,tls,llm,rss",
                    help="comma-separated: process, tls, llm, rss, instructions (callgrind; not by default), "
                         "readers (the LLM extraction with and without event shapes; not by default)")
    ap.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time")
    ap.add_argument("--baseline", metavar="REV", help="also measure this git revision's collector/ (child processes)")
    ap.add_argument("--python", metavar="PATH",
                    help="also run the LLM analyzers alone under this interpreter (child processes, interleaved)")
    ap.add_argument("--instr-calls", type=int, default=300,
                    help="streaming LLM calls of the trace counted under callgrind (--only instructions)")
    ap.add_argument("--rss-child", help=argparse.SUPPRESS)
    ap.add_argument("--count-child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--keep-sse", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    global clock
    if args.wall:
        clock = time.perf_counter
    if args.rss_child:
        rss_child(args.rss_child, args.keep_sse)
        return
    if args.child:
        child_measure(*args.child)
        return
    if args.count_child:
        count_child(*args.count_child)
        return
    only = set(args.only.split(","))
    print(f"python {sys.version.split()[0]} ({sys.executable}), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
          f"rates per second of {'wall-clock' if args.wall else 'CPU'} time")
    with tempfile.TemporaryDirectory() as d:
        baseline = Baseline(args.baseline, d) if args.baseline else None
        if "process" in only:
            p = Path(d) / "process.jsonl"
            write_process_trace(p, args.small)
            report_events("process-like events", p, args.repeat, baseline, args.wall)
            p.unlink()
        if "tls" in only:
            t = Path(d) / "tls.jsonl"
            write_tls_trace(t, args.tls)
            report_events("TLS-like events (4 KB payloads)", t, args.repeat, baseline, args.wall)
            t.unlink()
        if "llm" in only:
            q = Path(d) / "llm.jsonl"
            info = write_llm_trace(q, args.llm)
            other = Interpreter(args.python) if args.python else None
            report_llm(q, info, args.repeat, baseline, args.wall, other)
            q.unlink()
        if "readers" in only:
            q = Path(d) / "llm-readers.jsonl"
            info = write_llm_trace(q, 2_000)
            report_readers(q, info, max(args.repeat, 8))
            q.unlink()
        if "instructions" in only:
            q = Path(d) / "llm-small.jsonl"
            info = write_llm_trace(q, args.instr_calls)
            report_instructions(q, info, baseline)
            q.unlink()
        if "rss" in only:
            r = Path(d) / "open.jsonl"
            info = write_open_conns_trace(r, args.conns)
            report_rss(r, info, baseline)


if __name__ == "__main__":
    main()
