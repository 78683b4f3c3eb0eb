"""Helpers for the sslsniff tests: a logging TLS/HTTP server, TLS clients and
parsers for sslsniff output.

Run as a script for the server / client processes:

  python3 tls_helpers.py serve CERT KEY LOGFILE PORTFILE
      HTTP/1.1 over TLS; GET/POST /size/N[/...] answers with N bytes of
      binary_pattern(N); every connection is logged (one JSON line, after
      close) with the exact bytes received and sent, base64.
  python3 tls_helpers.py clients CAFILE PORT N BODY_SIZE
      N threads of one process, each one http.client POST with a unique body;
      prints one JSON line per request with the exact request/response bytes
      are not known to http.client, so the server log is the reference.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import sys
import threading
import time

# every byte value, incl. NUL and bytes that are invalid UTF-8, plus a
# 3-byte UTF-8 char that chunk boundaries (16384 % 3 != 0) split
_PATTERN = bytes(range(256)) + "€ü漢".encode() * 20 + b"\x00\xff\xfe\xc3\x28"


def binary_pattern(n: int, salt: int = 0) -> bytes:
    base = _PATTERN[salt % len(_PATTERN):] + _PATTERN[: salt % len(_PATTERN)]
    reps = n // len(base) + 1
    return (base * reps)[:n]


# ---------------------------------------------------------------- server


def _serve_conn(raw: socket.socket, ctx: ssl.SSLContext, log, lock) -> None:
    recv = bytearray()
    sent = bytearray()
    path = ""
    try:
        c = ctx.wrap_socket(raw, server_side=True)
        while b"\r\n\r\n" not in recv:
            d = c.recv(65536)
            if not d:
                return
            recv += d
        head, _, _body = bytes(recv).partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "/"
        clen = 0
        for h in lines[1:]:
            k, _, v = h.partition(":")
            if k.strip().lower() == "content-length":
                clen = int(v.strip())
        need = len(head) + 4 + clen
        while len(recv) < need:
            d = c.recv(65536)
            if not d:
                break
            recv += d
        size = 5
        parts = path.split("/")
        if len(parts) > 2 and parts[1] == "size":
            size = int(parts[2])
        salt = sum(path.encode()) % 251
        payload = binary_pattern(size, salt)
        resp = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % size
        ) + payload
        c.sendall(resp)
        sent += resp
        try:
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        # drain until the client closes (so the client reads everything)
        c.settimeout(5)
        try:
            while c.recv(65536):
                pass
        except (OSError, ssl.SSLError):
            pass
        c.close()
    except (OSError, ssl.SSLError) as e:  # pragma: no cover - logged for debugging
        sys.stderr.write(f"server conn error: {e!r}\n")
    finally:
        with lock:
            log.write(
                json.dumps(
                    {
                        "path": path,
                        "recv": base64.b64encode(bytes(recv)).decode(),
                        "sent": base64.b64encode(bytes(sent)).decode(),
                    }
                )
                + "\n"
            )
            log.flush()


def serve(cert: str, key: str, logfile: str, portfile: str) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    log = open(logfile, "a")
    lock = threading.Lock()
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(tmp, portfile)
    while True:
        raw, _ = s.accept()
        threading.Thread(target=_serve_conn, args=(raw, ctx, log, lock), daemon=True).start()


# ---------------------------------------------------------------- clients


def clients(cafile: str, port: int, n: int, body_size: int) -> None:
    import http.client

    ctx = ssl.create_default_context(cafile=cafile)
    barrier = threading.Barrier(n)
    errors = []

    def one(i: int) -> None:
        try:
            conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=30)
            conn.connect()
            barrier.wait(timeout=30)
            body = binary_pattern(body_size, i)
            conn.request("POST", f"/size/{1000 + i * 37}/thread{i}", body=body,
                         headers={"Content-Type": "application/octet-stream"})
            r = conn.getresponse()
            data = r.read()
            assert len(data) == 1000 + i * 37, len(data)
            conn.close()
        except Exception as e:  # pragma: no cover
            errors.append(repr(e))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)


# ---------------------------------------------------------------- parsing


def parse_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def streams(events: list[dict], pid: int | None = None) -> dict:
    """Group SSL_DATA by connection: key (pid, conn, epoch) where epoch
    increments when the connection pointer is freed (SSL_free) and possibly
    reused. Value: {"read": bytes, "write": bytes}, chunks ordered by
    (call_id, seq)."""
    epoch: dict = {}
    groups: dict = {}
    for e in events:
        if pid is not None and e.get("pid") != pid:
            continue
        if e["type"] == "SSL_CLOSE" and e["func"] in ("SSL_free", "gnutls_deinit"):
            k = (e["pid"], e["conn"])
            epoch[k] = epoch.get(k, 0) + 1
        elif e["type"] == "SSL_DATA":
            k = (e["pid"], e["conn"])
            key = (e["pid"], e["conn"], epoch.get(k, 0))
            groups.setdefault(key, {"read": [], "write": []})[e["dir"]].append(e)
    out = {}
    for key, d in groups.items():
        out[key] = {
            dirn: b"".join(
                base64.b64decode(c["data"]) for c in sorted(chunks, key=lambda c: (c["call_id"], c["seq"]))
            )
            for dirn, chunks in d.items()
        }
    return out


def read_server_log(path: str) -> list[dict]:
    out = []
    try:
        with open(path) as f:
            for line in f:
                # a big entry may be visible half-written (a concurrent read of a file being
                # appended to can see part of the write): skip it until it parses whole
                if not line.strip() or not line.endswith("\n"):
                    continue
                try:
                    d = json.loads(line)
                    d["recv"] = base64.b64decode(d["recv"], validate=True)
                    d["sent"] = base64.b64decode(d["sent"], validate=True)
                except (ValueError, KeyError):
                    continue
                out.append(d)
    except FileNotFoundError:
        pass
    return out


def wait_server_log(path: str, pred, timeout: float = 15.0) -> list[dict]:
    deadline = time.time() + timeout
    while True:
        log = read_server_log(path)
        if pred(log) or time.time() > deadline:
            return log
        time.sleep(0.05)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(*sys.argv[2:6])
    elif sys.argv[1] == "clients":
        clients(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(f"unknown mode {sys.argv[1]}")
