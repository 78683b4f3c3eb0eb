#!/usr/bin/env python3
"""Cost and completeness of TLS capture with `sslsniff`, whole pipeline included (issue 5).

A Python HTTPS client (the traced process) talks HTTP/1.1 keep-alive to a local Python TLS server
(self-signed certificate made with `openssl req`). The server loads a private copy of libssl.so.3
(LD_LIBRARY_PATH), so uprobes on the system libssl fire in the client only, as they would with a
remote server. Workloads (each timed by the client itself, connection set up before "go"):

  get-4k     5,000 GETs, 4 KiB response bodies
  get-256k   500 GETs, 256 KiB bodies
  get-2m     50 GETs, 2 MiB bodies
  write-64   one POST whose body is sent as 200,000 SSL_write_ex calls of 64 bytes (tight loop)

The client counts its own successful SSL calls and bytes per direction: the exact expected
capture. Variants, interleaved round by round in the same run:

  untraced   the client alone
  ours       collector.SslRunner(pid=client), raw TLS events (= `collector ssl --pid P --raw`):
             the sslsniff tool plus the Python pipeline (framing, decoding, chunk reassembly, Events)
             with a consumer summing every event's bytes; loss from the tool's LOST/SUMMARY lines
  tool-only  bpf_programs/build/sslsniff --pid P > file (no Python)
  bpftrace   an equivalent bpftrace 0.17 script: uprobe+uretprobe on SSL_read_ex/SSL_write_ex,
             printing pid, len and up to 64 bytes of data (bpftrace's string limit) to a file
  empty      bpftrace with empty uprobe+uretprobe bodies on the same functions: the mechanism's
             own cost (trap in, trap out)
  ours-idle  (with --idle) `ours` with the consumer and the tool under SCHED_IDLE: does the
             pipeline's cost leave the traced client if it may only use idle CPU?

Then an agent-like session end to end: an `openai` SDK client making streaming chat calls with
tool calls to tests/fixtures/llm_server.py and running shell commands (ls, cat, wc, grep) as the
tools, untraced vs `collector trace --pid P --quiet` vs `collector run --quiet -- agent`.

Usage: .venv/bin/python scripts/bench_ssl.py [--quick] [--reps N] [--only get-4k,...] [--no-agent] [--idle]
Root, bpftrace, openssl and the built tool (bpf_programs/build/sslsniff) are needed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_common as bc

LIBSSL = "/usr/lib/x86_64-linux-gnu/libssl.so.3"
SSLSNIFF = os.path.join(bc.REPO, "bpf_programs", "build", "sslsniff")
COLLECTOR = os.path.join(os.path.dirname(bc.PYTHON), "collector")

# name: (requests, body size); write-64: (calls, 64)
FULL = {
    "get-4k": (5000, 4096),
    "get-256k": (500, 256 * 1024),
    "get-2m": (50, 2 * 1024 * 1024),
    "write-64": (200_000, 64),
}
QUICK = {
    "get-4k": (1000, 4096),
    "get-256k": (100, 256 * 1024),
    "get-2m": (10, 2 * 1024 * 1024),
    "write-64": (20_000, 64),
}
VARIANTS = ["untraced", "ours", "tool-only", "bpftrace", "empty"]

BPFTRACE_PEER = r"""
BEGIN { system("touch READYFILE"); }
uprobe:LIB:SSL_read_ex, uprobe:LIB:SSL_write_ex
/pid == $1/
{
  @buf[tid] = arg1;
  @lenp[tid] = arg3;
}
uretprobe:LIB:SSL_read_ex, uretprobe:LIB:SSL_write_ex
/pid == $1 && @lenp[tid] != 0/
{
  if (retval == 1) {
    $len = *(uint64 *)@lenp[tid];
    printf("%d %d %r\n", pid, $len, buf(@buf[tid], $len < 64 ? $len : 64));
  }
  delete(@buf[tid]);
  delete(@lenp[tid]);
}
""".replace("LIB", LIBSSL)

BPFTRACE_EMPTY = r"""
BEGIN { system("touch READYFILE"); }
uprobe:LIB:SSL_read_ex, uprobe:LIB:SSL_write_ex, uretprobe:LIB:SSL_read_ex, uretprobe:LIB:SSL_write_ex
{
}
""".replace("LIB", LIBSSL)


# --- server (child process, private libssl copy) ------------------------------------------------


def server_main(cert: str, key: str) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    print(json.dumps({"port": lsock.getsockname()[1]}), flush=True)
    bodies: dict[int, bytes] = {}

    def serve(conn: socket.socket) -> None:
        # No Nagle: the last, short TLS record of a response would otherwise wait for the
        # client's delayed ACK (a stall of milliseconds per response that tracing can hide).
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            s = ctx.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        pending = b""
        try:
            while True:
                while b"\r\n\r\n" not in pending:
                    n = s.recv_into(buf)
                    if not n:
                        return
                    pending += bytes(view[:n])
                head, _, pending = pending.partition(b"\r\n\r\n")
                first = head.split(b"\r\n", 1)[0].split()
                if first[0] == b"GET":
                    size = int(first[1][1:])
                    if size not in bodies:
                        bodies[size] = (
                            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size
                        ) + os.urandom(size)
                    s.sendall(bodies[size])
                else:
                    clen = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
                    got = len(pending)
                    pending = b""
                    while got < clen:
                        n = s.recv_into(buf)
                        if not n:
                            return
                        got += n
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except (OSError, ssl.SSLError):
            pass
        finally:
            s.close()

    while True:
        conn, _ = lsock.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


# --- client (the traced workload) ---------------------------------------------------------------


def client_main(port: int, cert: str, kind: str, n: int, size: int) -> None:
    counts = {"read_calls": 0, "read_bytes": 0, "write_calls": 0, "write_bytes": 0}

    def setup() -> Any:
        ctx = ssl.create_default_context(cafile=cert)
        s = ctx.wrap_socket(
            socket.create_connection(("127.0.0.1", port)), server_hostname="localhost"
        )
        return s  # blocking, no timeout: one SSL_read_ex / SSL_write_ex per recv_into / send

    def send(s: ssl.SSLSocket, data: bytes) -> None:
        view = memoryview(data)
        while view:
            k = s.send(view)
            counts["write_calls"] += 1
            counts["write_bytes"] += k
            view = view[k:]

    buf = bytearray(1 << 20)

    def read_response(s: ssl.SSLSocket) -> None:
        pending = b""
        while b"\r\n\r\n" not in pending:
            k = s.recv_into(buf)
            assert k, "server closed"
            counts["read_calls"] += 1
            counts["read_bytes"] += k
            pending += bytes(buf[:k])
        head, _, rest = pending.partition(b"\r\n\r\n")
        clen = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
        got = len(rest)
        while got < clen:
            k = s.recv_into(buf)
            assert k, "server closed"
            counts["read_calls"] += 1
            counts["read_bytes"] += k
            got += k
        assert got == clen

    def work(s: ssl.SSLSocket) -> dict[str, Any]:
        if kind == "write-64":
            send(
                s,
                b"POST /sink HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n"
                % (n * size),
            )
            chunk = b"x" * size
            w = s.send
            for _ in range(n):
                w(chunk)  # 64 bytes always go in one call on a blocking socket
            counts["write_calls"] += n
            counts["write_bytes"] += n * size
            read_response(s)
        else:
            req = b"GET /%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % size
            for _ in range(n):
                send(s, req)
                read_response(s)
        return dict(counts)

    bc.workload_main(setup, work)


# --- agent-like session (the traced workload of the end-to-end run) ------------------------------


def agent_main(base_url: str, ca: str, steps: int, workdir: str, wait: bool) -> None:
    import httpx
    import openai

    tools = [
        {
            "type": "function",
            "function": {
                "name": "shell",
                "description": "run a shell command",
                "parameters": {
                    "type": "object",
                    "properties": {"command": {"type": "string"}},
                    "required": ["command"],
                },
            },
        }
    ]
    commands = [
        ["ls", "-la", workdir],
        ["cat", os.path.join(workdir, "notes.txt")],
        ["sh", "-c", f"grep -c line {workdir}/notes.txt; wc -l {workdir}/notes.txt"],
        ["uname", "-a"],
    ]
    counts = {"llm_calls": 0, "commands": 0}

    def setup() -> Any:
        ctx = ssl.create_default_context(cafile=ca)
        return openai.OpenAI(
            base_url=base_url + "/v1",
            api_key="sk-bench-fixture",
            http_client=httpx.Client(verify=ctx, timeout=30),
            max_retries=0,
        )

    def stream(client: Any, messages: list[Any]) -> tuple[str, list[Any]]:
        counts["llm_calls"] += 1
        text, calls = [], {}
        s = client.chat.completions.create(
            model="gpt-bench",
            messages=messages,
            tools=tools,
            stream=True,
            stream_options={"include_usage": True},
        )
        for chunk in s:
            for ch in chunk.choices:
                if ch.delta.content:
                    text.append(ch.delta.content)
                for tc in ch.delta.tool_calls or []:
                    c = calls.setdefault(tc.index, {"id": "", "name": "", "args": ""})
                    c["id"] = tc.id or c["id"]
                    if tc.function:
                        c["name"] = tc.function.name or c["name"]
                        c["args"] += tc.function.arguments or ""
        return "".join(text), list(calls.values())

    def work(client: Any) -> dict[str, Any]:
        for step in range(steps):
            messages: list[Any] = [
                {"role": "user", "content": f"step {step}: look around scenario:tool"}
            ]
            text, calls = stream(client, messages)
            messages.append(
                {
                    "role": "assistant",
                    "content": text or None,
                    "tool_calls": [
                        {
                            "id": c["id"],
                            "type": "function",
                            "function": {"name": c["name"], "arguments": c["args"]},
                        }
                        for c in calls
                    ],
                }
            )
            for i, c in enumerate(calls):
                cmd = commands[(step + i) % len(commands)]
                out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
                counts["commands"] += 1
                messages.append({"role": "tool", "tool_call_id": c["id"], "content": out[:2000]})
            stream(client, messages)
        return dict(counts)

    if wait:
        bc.workload_main(setup, work)
    else:
        state = setup()
        t0 = time.perf_counter()
        result = work(state)
        result["elapsed"] = time.perf_counter() - t0
        print(json.dumps(result), flush=True)


# --- driver ----------------------------------------------------------------------------------------


class Env:
    """Temp dir, certificate, libssl copy and the server process, for the whole run."""

    def __init__(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="bench-ssl-")
        self.cert = os.path.join(self.tmp, "cert.pem")
        self.key = os.path.join(self.tmp, "key.pem")
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                self.key,
                "-out",
                self.cert,
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )
        libdir = os.path.join(self.tmp, "lib")
        os.makedirs(libdir)
        shutil.copy(LIBSSL, os.path.join(libdir, "libssl.so.3"))
        self.server_env = dict(os.environ, LD_LIBRARY_PATH=libdir)
        self.server = subprocess.Popen(
            [bc.PYTHON, os.path.abspath(__file__), "--_server", self.cert, self.key],
            stdout=subprocess.PIPE,
            env=self.server_env,
        )
        assert self.server.stdout is not None
        self.port = json.loads(self.server.stdout.readline())["port"]
        check_private_libssl(self.server.pid)
        self.out = os.path.join(self.tmp, "tracer.out")
        self.ready = os.path.join(self.tmp, "tracer.ready")
        for name, text in (("peer.bt", BPFTRACE_PEER), ("empty.bt", BPFTRACE_EMPTY)):
            with open(os.path.join(self.tmp, name), "w") as f:
                f.write(text.replace("READYFILE", self.ready))

    def close(self) -> None:
        self.server.kill()
        self.server.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def check_private_libssl(pid: int) -> None:
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read()
    if LIBSSL in maps or "/lib/x86_64-linux-gnu/libssl.so.3" in maps:
        print(
            "warning: the server maps the system libssl: probes fire in the server too",
            file=sys.stderr,
        )


def run_variant(env: Env, variant: str, argv: list[str]) -> dict[str, Any]:
    if variant == "untraced":
        w = bc.run_untraced(argv)
        return {"w": w}
    if variant in ("ours", "ours-idle"):
        from collector import SslRunner

        got = {"read_calls": 0, "read_bytes": 0, "write_calls": 0, "write_bytes": 0, "truncated": 0}

        def on_batch(batch: list[Any], _res: bc.RunnerResult) -> None:
            for ev in batch:
                p = ev.payload
                if p.kind == "tls_data":
                    d = p.direction
                    got[d + "_calls"] += 1
                    got[d + "_bytes"] += len(p.data)
                    got["truncated"] += p.truncated

        def make_runner(pid: int) -> Any:
            # called once the workload is spawned, so only the consumer and the tool it forks
            # run under SCHED_IDLE, never the traced client
            if variant == "ours-idle":
                os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return SslRunner.builder().pid(pid).build()

        try:
            res = bc.run_with_runner(make_runner, argv, on_batch)
        finally:
            if variant == "ours-idle":
                os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        bpf_ns = sum(
            p.get("run_time_ns", 0)
            for p in res.tool_summary.get("probes", [])
            if p.get("name") in ("ssl_data_enter", "ssl_data_exit")
        )
        return {
            "w": res.workload,
            "got": got,
            "lost": res.lost_events,
            "lost_bytes": res.lost_bytes,
            "summary": res.tool_summary,
            "rate": res.delivered_rate,
            "lag": res.t_last - res.t_end,
            "bpf_ns": bpf_ns,
            **res.extra,
        }
    if os.path.exists(env.out):
        os.unlink(env.out)
    if variant == "tool-only":
        cmd = ["/bin/sh", "-c", f"exec {SSLSNIFF} --pid {{pid}} > {env.out}"]
        w, rc = bc.run_with_command(cmd, argv, env.out, b'"type":"START"')
        summary: dict[str, Any] = {}
        with open(env.out, "rb") as f:
            for line in f:
                if line.startswith(b'{"type":"SUMMARY"'):
                    summary = json.loads(line)
        return {
            "w": w,
            "lost": summary.get("lost"),
            "lost_bytes": summary.get("lost_bytes"),
            "calls": summary.get("calls"),
            "summary": summary,
        }
    script = os.path.join(env.tmp, "peer.bt" if variant == "bpftrace" else "empty.bt")
    if os.path.exists(env.ready):
        os.unlink(env.ready)
    # --unsafe only for BEGIN's system("touch READYFILE"): BEGIN fires once every probe is attached
    cmd = ["bpftrace", "--unsafe", "-o", env.out, script] + (
        ["{pid}"] if variant == "bpftrace" else []
    )
    w, rc = bc.run_with_command(cmd, argv, env.ready, None)
    out: dict[str, Any] = {"w": w, "rc": rc}
    if variant == "bpftrace":
        calls = nbytes = lost = 0
        with open(env.out, "rb") as f:
            for line in f:
                if line.startswith(b"Lost "):
                    lost += int(line.split()[1])
                    continue
                parts = line.split(b" ", 2)
                if len(parts) == 3 and parts[0].isdigit():
                    calls += 1
                    nbytes += int(parts[1])
        out.update(calls=calls, bytes=nbytes, lost=lost)
    return out


def bench_tls(env: Env, sizes: dict[str, tuple[int, int]], kinds: list[str], reps: int) -> str:
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for kind in kinds:
        n, size = sizes[kind]
        argv = [
            bc.PYTHON,
            os.path.abspath(__file__),
            "--_client",
            str(env.port),
            env.cert,
            kind,
            str(n),
            str(size),
        ]
        for r, variant in bc.rounds(VARIANTS, reps):
            out = run_variant(env, variant, argv)
            out["round"] = r
            results.setdefault((kind, variant), []).append(out)
            w = out["w"]
            extra = ""
            if variant.startswith("ours"):
                g = out["got"]
                extra = (
                    f" calls {g['read_calls'] + g['write_calls']}/{w['read_calls'] + w['write_calls']}"
                    f" bytes {g['read_bytes'] + g['write_bytes']}/{w['read_bytes'] + w['write_bytes']}"
                    f" lost={out['lost']} ({out['lost_bytes']} B) lag={out['lag']:.3f}s"
                )
            elif variant == "bpftrace":
                extra = (
                    f" calls {out['calls']}/{w['read_calls'] + w['write_calls']} lost={out['lost']}"
                )
            elif variant == "tool-only":
                extra = (
                    f" calls {out['calls']}/{w['read_calls'] + w['write_calls']} lost={out['lost']}"
                )
            print(f"  {kind:8} round {r} {variant:9} {w['elapsed']:.3f}s{extra}", flush=True)

    lines = []
    rows, cost_rows, cap_rows = [], [], []
    for kind in kinds:
        n, size = sizes[kind]
        base = {o["round"]: o["w"]["elapsed"] for o in results[(kind, "untraced")]}
        calls = results[(kind, "untraced")][0]["w"]
        ncalls = calls["read_calls"] + calls["write_calls"]
        med = {v: bc.median([o["w"]["elapsed"] for o in results[(kind, v)]]) for v in VARIANTS}
        ratio = {
            v: bc.median([o["w"]["elapsed"] / base[o["round"]] for o in results[(kind, v)]])
            for v in VARIANTS
        }
        added = {
            v: bc.median(
                [
                    (o["w"]["elapsed"] - base[o["round"]])
                    / (o["w"]["read_calls"] + o["w"]["write_calls"])
                    for o in results[(kind, v)]
                ]
            )
            for v in VARIANTS
        }
        rows.append(
            [kind, f"{n:,} x {size:,} B", f"{ncalls:,}", f"{med['untraced']:.3f} s"]
            + [f"{ratio[v]:.3f}x" for v in VARIANTS[1:]]
            + [
                f"{ratio['ours'] / ratio['empty']:.3f}x",
                f"{ratio['ours'] / ratio['bpftrace']:.3f}x",
            ]
        )
        ours = results[(kind, "ours")]
        per = [(o["w"]["read_calls"] + o["w"]["write_calls"]) for o in ours]
        cost_rows.append(
            [kind]
            + [f"{added[v] * 1e6:.2f}" for v in VARIANTS[1:]]
            + [
                f"{added['ours'] / added['empty']:.2f}x"
                if added["empty"] > 0
                else "n/a (empty <= 0)",
                f"{bc.median([o['bpf_ns'] / c / 1e3 for o, c in zip(ours, per, strict=True)]):.2f}",
                f"{bc.median([o.get('tool_cpu_s', 0) / c * 1e6 for o, c in zip(ours, per, strict=True)]):.2f}",
                f"{bc.median([o.get('consumer_cpu_s', 0) / c * 1e6 for o, c in zip(ours, per, strict=True)]):.2f}",
                f"{bc.median([o.get('tool_wakeups', 0) / c for o, c in zip(ours, per, strict=True)]):.2f}",
            ]
        )
        ours = results[(kind, "ours")]
        exp_calls = [o["w"]["read_calls"] + o["w"]["write_calls"] for o in ours]
        exp_bytes = [o["w"]["read_bytes"] + o["w"]["write_bytes"] for o in ours]
        got_calls = [o["got"]["read_calls"] + o["got"]["write_calls"] for o in ours]
        got_bytes = [o["got"]["read_bytes"] + o["got"]["write_bytes"] for o in ours]
        worst = min(range(len(ours)), key=lambda i: got_bytes[i] / max(1, exp_bytes[i]))
        peer = results[(kind, "bpftrace")]
        pw = min(
            peer, key=lambda o: o["calls"] / max(1, o["w"]["read_calls"] + o["w"]["write_calls"])
        )
        pexp = pw["w"]["read_calls"] + pw["w"]["write_calls"]
        cap_rows.append(
            [
                kind,
                f"{got_calls[worst]:,} / {exp_calls[worst]:,} ({100 * got_calls[worst] / exp_calls[worst]:.2f}%)",
                f"{got_bytes[worst]:,} / {exp_bytes[worst]:,} ({100 * got_bytes[worst] / exp_bytes[worst]:.2f}%)",
                f"{max(o['lost'] for o in ours)} ({max(o['lost_bytes'] for o in ours):,} B)",
                f"{max(o['got']['truncated'] for o in ours):,}",
                f"{max(o['summary'].get('failed_calls', 0) for o in ours)}",
                f"{bc.median([o['rate'] for o in ours]):,.0f}",
                f"{pw['calls']:,} / {pexp:,} ({100 * pw['calls'] / pexp:.2f}%), lost {max(o['lost'] for o in peer)}",
                f"{max(o['lost'] or 0 for o in results[(kind, 'tool-only')])}",
            ]
        )
    lines.append("Wall time, median of per-round ratios to untraced (same round):\n")
    lines.append(
        bc.table(
            ["workload", "requests", "SSL calls", "untraced (median)"]
            + [f"{v}" for v in VARIANTS[1:]]
            + ["ours / empty", "ours / bpftrace"],
            rows,
        )
    )
    lines.append(
        "\nAdded cost per SSL call, median over rounds of (traced - untraced) / calls, in us:\n"
    )
    lines.append(
        bc.table(
            [
                "workload",
                *VARIANTS[1:],
                "ours / empty",
                "ours: BPF us/call",
                "ours: tool CPU us/call",
                "ours: Python CPU us/call",
                "ours: tool wakeups/call",
            ],
            cost_rows,
        )
    )
    lines.append(
        "\nCapture vs the client's own counts (worst round of `ours`; every TLS call and byte):\n"
    )
    lines.append(
        bc.table(
            [
                "workload",
                "ours: calls",
                "ours: bytes",
                "lost (max)",
                "truncated",
                "failed calls",
                "events/s to Python",
                "bpftrace peer: calls (worst)",
                "tool-only lost",
            ],
            cap_rows,
        )
    )
    return "\n".join(lines)


# --- agent end to end --------------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def bpf_links(pid: int) -> int:
    n = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:bpf_link":
                    n += 1
            except OSError:
                pass
    except OSError:
        pass
    return n


def wait_tools_attached(cli_pid: int, names: tuple[str, ...], timeout: float = 30.0) -> None:
    """Until each tool child of the CLI holds BPF links and their number has been stable for 0.5 s.

    (`collector trace --quiet` prints nothing when it is ready; the tools print START only after
    attaching, and attach within a few ms once they start creating links.)
    """
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        tools = {}
        for c in children_of(cli_pid):
            try:
                exe = os.path.basename(os.readlink(f"/proc/{c}/exe"))
            except OSError:
                continue
            if exe in names:
                tools[exe] = bpf_links(c)
        state = tuple(sorted(tools.items()))
        if len(tools) == len(names) and all(tools.values()):
            if state != last:
                last, since = state, time.monotonic()
            elif time.monotonic() - since >= 0.5:
                return
        time.sleep(0.05)
    raise RuntimeError("collector trace did not attach in time")


SUMMARY_RE = re.compile(r"collector: (\d+) events in [\d.]+s.*\(([^()]*)\)\s*$", re.M)


def parse_summary(text: str) -> dict[str, int]:
    m = SUMMARY_RE.search(text)
    if not m:
        return {}
    out = {"total": int(m.group(1))}
    for part in m.group(2).split(", "):
        k, _, v = part.partition("=")
        if v.isdigit():
            out[k] = int(v)
    return out


def bench_agent(env: Env, steps: int, reps: int) -> str:
    fixture = subprocess.Popen(
        [
            bc.PYTHON,
            "-m",
            "tests.fixtures.llm_server",
            "--port",
            "0",
            "--ca-out",
            os.path.join(env.tmp, "llm-ca.pem"),
        ],
        stdout=subprocess.PIPE,
        env=env.server_env,
        cwd=bc.REPO,
    )
    assert fixture.stdout is not None
    info = json.loads(fixture.stdout.readline())
    check_private_libssl(fixture.pid)
    workdir = os.path.join(env.tmp, "agentdir")
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "notes.txt"), "w") as f:
        f.write("".join(f"line {i}: some notes\n" for i in range(200)))
    argv = [
        bc.PYTHON,
        os.path.abspath(__file__),
        "--_agent",
        info["base_url"],
        info["ca_path"],
        str(steps),
        workdir,
    ]
    results: dict[str, list[dict[str, Any]]] = {}
    try:
        for r, variant in bc.rounds(["untraced", "trace --pid", "run"], reps):
            summ: dict[str, int] = {}
            rc = 0
            t0 = time.perf_counter()
            if variant == "untraced":
                w = bc.run_untraced(argv)
            elif variant == "trace --pid":
                wl = bc.Workload(argv)
                cli = subprocess.Popen(
                    [COLLECTOR, "trace", "--pid", str(wl.pid), "--quiet"],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                try:
                    wait_tools_attached(cli.pid, ("sslsniff", "process"))
                    wl.go()
                    w = wl.result()
                finally:
                    wl.kill()
                    os.killpg(cli.pid, signal.SIGINT)
                    text = cli.communicate(timeout=60)[0].decode(errors="replace")
                rc = cli.returncode
                summ = parse_summary(text)
                if rc != 0:
                    summ["_error"] = text.strip().splitlines()[-1][:200]
            else:
                log = os.path.join(env.tmp, "agent-run.out")
                cli = subprocess.run(
                    [COLLECTOR, "run", "--quiet", "--cmd-output", log, "--", *argv, "--no-wait"],
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                rc = cli.returncode
                with open(log) as f:
                    w = json.loads(f.read().splitlines()[-1])
                os.unlink(log)
                summ = parse_summary(cli.stdout + cli.stderr)
            total = time.perf_counter() - t0
            results.setdefault(variant, []).append(
                {"round": r, "w": w, "summary": summ, "rc": rc, "total": total}
            )
            print(
                f"  agent    round {r} {variant:11} {w['elapsed']:.3f}s (whole command {total:.2f}s, rc {rc})"
                f" {summ}",
                flush=True,
            )
    finally:
        fixture.send_signal(signal.SIGINT)
        try:
            fixture.wait(timeout=10)
        except subprocess.TimeoutExpired:
            fixture.kill()
            fixture.wait()
    base = {o["round"]: o["w"]["elapsed"] for o in results["untraced"]}
    w0 = results["untraced"][0]["w"]
    rows = []
    for v in ("untraced", "trace --pid", "run"):
        os_ = results[v]
        ratios = [o["w"]["elapsed"] / base[o["round"]] for o in os_]
        s = os_[-1]["summary"]
        cap = (
            ""
            if v == "untraced"
            else (
                f"llm_call={s.get('llm_call', 0)} http_exchange={s.get('http_exchange', 0)} exec={s.get('exec', 0)}"
            )
        )
        rcs = sorted({o["rc"] for o in os_})
        rows.append(
            [
                v,
                f"{bc.median([o['w']['elapsed'] for o in os_]):.2f} s",
                f"{bc.median(ratios):.3f}x ({min(ratios):.2f}-{max(ratios):.2f})",
                f"{bc.median([o['total'] for o in os_]):.2f} s",
                cap,
                ",".join(map(str, rcs)),
            ]
        )
    head = (
        f"Agent session: {steps} steps x (streaming chat call with 2 tool calls -> 2 shell commands -> "
        f"streaming chat call) = {w0['llm_calls']} LLM calls, {w0['commands']} commands per run.\n"
    )
    return (
        head
        + "\n"
        + bc.table(
            [
                "variant",
                "agent wall (median)",
                "ratio (median, min-max)",
                "whole command incl. tracer start/stop",
                "captured (last round)",
                "exit codes",
            ],
            rows,
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="small sizes, 2 rounds")
    ap.add_argument("--reps", type=int, help="rounds (default 5, quick 2)")
    ap.add_argument("--only", help="comma-separated TLS workloads: " + ",".join(FULL))
    ap.add_argument("--no-agent", action="store_true", help="skip the agent session")
    ap.add_argument("--idle", action="store_true", help="add the ours-idle variant (SCHED_IDLE)")
    ap.add_argument("--no-tls", action="store_true", help="only the agent session")
    ap.add_argument("--agent-steps", type=int, help="agent steps per run (default 40, quick 5)")
    ap.add_argument("--_server", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--_client", nargs=5, help=argparse.SUPPRESS)
    ap.add_argument("--_agent", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--no-wait", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._server:
        server_main(*args._server)
        return 0
    if args._client:
        port, cert, kind, n, size = args._client
        client_main(int(port), cert, kind, int(n), int(size))
        return 0
    if args._agent:
        base_url, ca, steps, workdir = args._agent
        agent_main(base_url, ca, int(steps), workdir, wait=not args.no_wait)
        return 0

    sizes = QUICK if args.quick else FULL
    reps = args.reps or (2 if args.quick else 5)
    kinds = args.only.split(",") if args.only else list(sizes)
    steps = args.agent_steps or (5 if args.quick else 40)
    if args.idle:
        VARIANTS.insert(2, "ours-idle")
    print(f"command: {bc.command_line()}")
    print(f"machine: {bc.machine_line()}")
    print(bc.source_line())
    print(f"rounds: {reps}; variants in rotating order: {', '.join(VARIANTS)}")
    env = Env()
    try:
        if not args.no_tls:
            report = bench_tls(env, sizes, kinds, reps)
            print()
            print(report)
            print()
        if not args.no_agent:
            report = bench_agent(env, steps, reps)
            print()
            print(report)
    finally:
        env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
