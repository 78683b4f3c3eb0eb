"""SslRunner against the real sslsniff: whole, exact, binary-safe payloads, one event per call."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from collector import Event, SslRunner, TlsData, ToolStatus
from tests.conftest import needs_sslsniff

pytestmark = needs_sslsniff

PAYLOAD = (bytes(range(256)) + "€ü漢".encode() + b"\x00\xff\xfe\xc3\x28") * (5 * 1024 * 1024 // 271)

CLIENT = r"""
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
sys.stdin.readline()  # wait until the tracer is attached
with socket.create_connection(("127.0.0.1", int(sys.argv[2]))) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        data = open(sys.argv[3], "rb").read()
        s.sendall(len(data).to_bytes(8, "big"))
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            got += chunk
        assert got == data[::-1]
print("ok")
"""


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert),
         "-days", "1"], check=True, capture_output=True,
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            with ctx.wrap_socket(raw, server_side=True) as s:
                n = int.from_bytes(_read_exact(s, 8), "big")
                s.sendall(_read_exact(s, n)[::-1])

    threading.Thread(target=serve, daemon=True).start()
    yield port, str(cert)
    listener.close()


def _read_exact(s: ssl.SSLSocket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(1 << 20, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


async def test_five_megabytes_of_binary_arrive_whole_and_exact(
    tls_server: tuple[int, str], tmp_path: Path
) -> None:
    port, ca = tls_server
    payload_file = tmp_path / "payload.bin"
    payload_file.write_bytes(PAYLOAD)
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, ca, str(port), str(payload_file)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    runner = SslRunner.builder().pid(client.pid).build()
    events: list[Event] = []
    with anyio.fail_after(60):
        async with runner:
            async for batch in runner.batches():
                events += batch
                if any(isinstance(e.payload, ToolStatus) and e.payload.status == "start" for e in batch):
                    assert client.stdin is not None
                    client.stdin.write(b"go\n")
                    client.stdin.close()
                data = [e for e in events if isinstance(e.payload, TlsData)]
                read = sum(len(e.payload.data) for e in data if e.payload.direction == "read")  # type: ignore[union-attr]
                if read >= len(PAYLOAD):
                    break
    assert client.stdout is not None
    out = client.stdout.read()
    client.wait(timeout=30)
    assert out.strip() == b"ok"
    tls = [e.payload for e in events if isinstance(e.payload, TlsData)]
    assert tls and all(e.pid == client.pid for e in events if isinstance(e.payload, TlsData))
    conns = {p.conn for p in tls}
    assert len(conns) == 1
    assert {p.peer for p in tls} == {f"127.0.0.1:{port}"}  # Python sets the fd: peer known
    written = b"".join(p.data for p in tls if p.direction == "write")
    read = b"".join(p.data for p in tls if p.direction == "read")
    assert written == len(PAYLOAD).to_bytes(8, "big") + PAYLOAD
    assert read == PAYLOAD[::-1]
    assert all(p.truncated == 0 and p.length == len(p.data) for p in tls)
    # The 5 MB sendall is one SSL_write call: one Event, reassembled from many chunk records.
    assert max(p.length for p in tls if p.direction == "write") == len(PAYLOAD)
    assert runner.stats.lost_events == 0


async def test_max_payload_truncates_with_exact_count(tls_server: tuple[int, str], tmp_path: Path) -> None:
    port, ca = tls_server
    payload_file = tmp_path / "payload.bin"
    payload_file.write_bytes(PAYLOAD[:300_000])
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, ca, str(port), str(payload_file)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    runner = SslRunner.builder().pid(client.pid).max_payload(65536).build()
    events: list[Event] = []

    async def stop_when_client_exits() -> None:
        while client.poll() is None:
            await anyio.sleep(0.05)
        await anyio.sleep(0.5)
        await runner.stop()

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg, runner:
            tg.start_soon(stop_when_client_exits)
            async for batch in runner.batches():
                events += batch
                if any(isinstance(e.payload, ToolStatus) and e.payload.status == "start" for e in batch):
                    assert client.stdin is not None
                    client.stdin.write(b"go\n")
                    client.stdin.close()
    client.wait(timeout=30)
    big = [e.payload for e in events if isinstance(e.payload, TlsData) and e.payload.length == 300_000]
    assert big, "the 300 kB write was not seen"
    call = big[0]
    assert call.direction == "write"
    assert len(call.data) == 65536 and call.truncated == 300_000 - 65536
    assert call.data == PAYLOAD[:65536]
