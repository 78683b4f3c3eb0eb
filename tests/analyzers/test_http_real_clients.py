"""Real clients (curl --http1.1, curl --http2, httpx) against a local TLS server, captured by the
real sslsniff eBPF tool, through HttpAnalyzer. Needs root and bpf_programs/build/sslsniff."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import h2.config
import h2.connection
import h2.events
import pytest
import trustme

from collector.framework.analyzers.http import HttpAnalyzer
from collector.framework.core.events import Event, HttpExchange, SseMessage, ToolStatus
from tests.conftest import needs_sslsniff

ROOT = Path(__file__).resolve().parents[2]

pytestmark = needs_sslsniff

JSON_BODY = json.dumps({"data": [{"id": f"model-{i}"} for i in range(200)]}).encode()
SSE_EVENTS = [b"event: delta\ndata: {\"t\":\"Hel\"}\n\n", b"event: delta\ndata: {\"t\":\"lo\"}\n\n", b"data: [DONE]\n\n"]


def _response(path: str, body: bytes) -> tuple[list[tuple[str, str]], list[bytes]]:
    if path.startswith("/json"):
        return [("content-type", "application/json"), ("content-encoding", "gzip")], [gzip.compress(JSON_BODY)]
    if path.startswith("/sse"):
        return [("content-type", "text/event-stream")], SSE_EVENTS
    return [("content-type", "application/octet-stream")], [b"echo:" + body[:100]]  # small: no h2 flow control


def _serve_h1(c: ssl.SSLSocket) -> None:
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        head, _, buf = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path = lines[0].split(" ")[:2]
        clen = 0
        for h in lines[1:]:
            k, _, v = h.partition(":")
            if k.strip().lower() == "content-length":
                clen = int(v)
        while len(buf) < clen:
            buf += c.recv(65536)
        body, buf = buf[:clen], buf[clen:]
        headers, parts = _response(path, body)
        hdr = "".join(f"{k}: {v}\r\n" for k, v in headers)
        if path.startswith("/sse"):
            c.sendall(f"HTTP/1.1 200 OK\r\n{hdr}Transfer-Encoding: chunked\r\n\r\n".encode())
            for p in parts:
                c.sendall(b"%x\r\n%s\r\n" % (len(p), p))
            c.sendall(b"0\r\n\r\n")
        else:
            data = b"".join(parts)
            payload = b"" if method == "HEAD" else data
            c.sendall(f"HTTP/1.1 200 OK\r\n{hdr}Content-Length: {len(data)}\r\n\r\n".encode() + payload)


def _serve_h2(c: ssl.SSLSocket) -> None:
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    conn.initiate_connection()
    c.sendall(conn.data_to_send())
    reqs: dict[int, dict[str, str]] = {}
    bodies: dict[int, bytes] = {}
    while True:
        d = c.recv(65536)
        if not d:
            return
        for ev in conn.receive_data(d):
            if isinstance(ev, h2.events.RequestReceived):
                reqs[ev.stream_id] = dict(ev.headers)  # type: ignore[arg-type]
                bodies[ev.stream_id] = b""
            elif isinstance(ev, h2.events.DataReceived):
                bodies[ev.stream_id] += ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                sid = ev.stream_id
                headers, parts = _response(reqs[sid][":path"], bodies[sid])
                conn.send_headers(sid, [(":status", "200"), *headers])
                for i, p in enumerate(parts):
                    conn.send_data(sid, p, end_stream=i == len(parts) - 1)
                    c.sendall(conn.data_to_send())
        c.sendall(conn.data_to_send())


@pytest.fixture(scope="module")
def tls_server() -> Iterator[tuple[int, str]]:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    ca_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"collector-http-ca-{os.getpid()}.pem"
    ca.cert_pem.write_to_path(str(ca_dir))
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def handle(raw: socket.socket) -> None:
        try:
            with ctx.wrap_socket(raw, server_side=True) as c:
                if c.selected_alpn_protocol() == "h2":
                    _serve_h2(c)
                else:
                    _serve_h1(c)
        except (OSError, ssl.SSLError, h2.exceptions.ProtocolError):
            pass

    def accept() -> None:
        while True:
            try:
                raw, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(raw,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield port, str(ca_dir)
    srv.close()
    ca_dir.unlink(missing_ok=True)


async def _capture(argv: list[str]) -> tuple[list[Event], bytes]:
    """Start `argv` paused (it waits for a line on stdin), attach sslsniff to it, let it run."""
    client = subprocess.Popen(
        ["sh", "-c", 'read _ && exec "$@"', "sh", *argv],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )
    from collector.framework.runners.ssl import SslRunner

    runner = SslRunner.builder().pid(client.pid).analyzers(HttpAnalyzer(keep_tls=False)).build()
    events: list[Event] = []

    async def stop_when_client_exits() -> None:
        while client.poll() is None:
            await anyio.sleep(0.1)
        await anyio.sleep(1.0)  # let the tool deliver the last records
        await runner.stop()

    try:
        with anyio.fail_after(60):
            async with runner, anyio.create_task_group() as tg:
                started = False
                async for batch in runner.batches():
                    events += batch
                    if not started and any(isinstance(e.payload, ToolStatus) and e.payload.status == "start" for e in batch):
                        started = True
                        assert client.stdin is not None
                        client.stdin.write(b"go\n")
                        client.stdin.close()
                        client.stdin = None
                        tg.start_soon(stop_when_client_exits)
    finally:
        if client.poll() is None:
            client.kill()
    out, err = client.communicate(timeout=30)
    assert client.returncode == 0, err.decode()[-2000:]
    return events, out


def _exchanges(events: list[Event]) -> list[HttpExchange]:
    return [e.payload for e in events if isinstance(e.payload, HttpExchange)]


def _sse(events: list[Event]) -> list[SseMessage]:
    return [e.payload for e in events if isinstance(e.payload, SseMessage)]


@pytest.mark.parametrize("version", ["--http1.1", "--http2"])
async def test_curl(tls_server: tuple[int, str], version: str) -> None:
    if shutil.which("curl") is None:
        pytest.skip("no curl")
    port, ca = tls_server
    base = f"https://localhost:{port}"
    argv = ["curl", version, "-sS", "--cacert", ca, "--resolve", f"localhost:{port}:127.0.0.1",
            f"{base}/json?x=1", f"{base}/sse", "-o", "/dev/null", "-o", "/dev/null",
            "--next", version, "--cacert", ca, "--resolve", f"localhost:{port}:127.0.0.1",
            "-d", "hello body", f"{base}/echo", "-o", "/dev/null"]
    events, _ = await _capture(argv)
    ex = _exchanges(events)
    proto = "HTTP/1.1" if version == "--http1.1" else "HTTP/2"
    assert [(e.method, e.path, e.protocol) for e in ex] == [("GET", "/json", proto), ("GET", "/sse", proto), ("POST", "/echo", proto)], ex
    assert all(e.complete and not e.partial and not e.error for e in ex)
    assert ex[0].response_body == JSON_BODY and ex[0].query == "x=1" and ex[0].host == f"localhost:{port}"
    assert ex[0].url == f"https://localhost:{port}/json?x=1"
    assert ex[2].request_body == b"hello body" and ex[2].response_body == b"echo:hello body"
    if proto == "HTTP/2":
        assert [e.stream_id for e in ex] == [1, 3, 5] or all(e.stream_id for e in ex)
    sse = _sse(events)
    assert [(m.event, m.data) for m in sse] == [("delta", '{"t":"Hel"}'), ("delta", '{"t":"lo"}'), ("message", "[DONE]")]
    assert all(m.conn == ex[1].conn and m.stream_id == ex[1].stream_id for m in sse)
    assert ex[0].request_start_ns <= ex[0].response_first_byte_ns <= ex[0].end_ns
    assert all(e.peer is None for e in ex)  # curl's own BIO: no socket fd, so no peer address


HTTPX_CLIENT = r"""
import sys, httpx
base, ca, http2 = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
with httpx.Client(verify=ca, http2=http2) as c:
    assert c.get(base + "/json?y=2").json()["data"][0]["id"] == "model-0"
    assert c.post(base + "/echo", content=b"x" * 70000).content == b"echo:" + b"x" * 100
    with c.stream("GET", base + "/sse") as r:
        assert b"[DONE]" in r.read()
print("ok")
"""


@pytest.mark.parametrize("http2", [False, True])
async def test_httpx(tls_server: tuple[int, str], http2: bool) -> None:
    port, ca = tls_server
    events, out = await _capture([sys.executable, "-c", HTTPX_CLIENT, f"https://localhost:{port}", ca, "1" if http2 else "0"])
    assert out.strip() == b"ok"
    ex = _exchanges(events)
    assert [(e.method, e.path, e.complete) for e in ex] == [("GET", "/json", True), ("POST", "/echo", True), ("GET", "/sse", True)], ex
    assert ex[0].response_body == JSON_BODY
    assert ex[1].request_body == b"x" * 70000 and ex[1].response_body == b"echo:" + b"x" * 100
    assert ex[0].protocol == ("HTTP/2" if http2 else "HTTP/1.1")
    assert len(_sse(events)) == 3
    # Python's ssl gives OpenSSL the socket fd: the tool reads the server's address from it
    assert {e.peer for e in ex} == {f"127.0.0.1:{port}"}
