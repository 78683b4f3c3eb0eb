"""Real-eBPF tests of bpf_programs/build/sslsniff with real TLS traffic.

Needs root, a built tool (make -C bpf_programs) and curl / openssl / node.
Every test starts its own sslsniff, drives real clients against a local TLS
server (tls_helpers.py serve, a separate process that logs the exact bytes of
every connection), stops the tool with SIGINT and compares the captured
plaintext, byte for byte, with the server's log.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import tls_helpers as th  # noqa: E402

from tests.conftest import proc_state  # noqa: E402

ROOT = HERE.parents[1]
TOOL = ROOT / "bpf_programs" / "build" / "sslsniff"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="sslsniff needs root"),
    pytest.mark.skipif(not TOOL.exists(), reason="sslsniff not built (make -C bpf_programs)"),
]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "2",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True, capture_output=True,
    )
    return d / "cert.pem", d / "key.pem"


class Server:
    def __init__(self, proc, port, log):
        self.proc, self.port, self.log = proc, port, log

    def entries(self, pred=lambda log: True, timeout=15.0):
        return th.wait_server_log(str(self.log), pred, timeout)

    def entry_for(self, path_prefix, timeout=15.0):
        log = self.entries(lambda lg: any(e["path"].startswith(path_prefix) for e in lg), timeout)
        found = [e for e in log if e["path"].startswith(path_prefix)]
        assert len(found) == 1, f"server log has {len(found)} entries for {path_prefix}"
        return found[0]


@pytest.fixture(scope="module")
def server(certs, tmp_path_factory):
    d = tmp_path_factory.mktemp("server")
    cert, key = certs
    log, portfile = d / "conns.jsonl", d / "port"
    proc = subprocess.Popen([sys.executable, str(HERE / "tls_helpers.py"), "serve", str(cert), str(key),
                             str(log), str(portfile)])
    deadline = time.time() + 10
    while not portfile.exists():
        assert time.time() < deadline, "TLS server did not start"
        assert proc.poll() is None, "TLS server died"
        time.sleep(0.02)
    yield Server(proc, int(portfile.read_text()), log)
    proc.kill()
    proc.wait()


class Sniffer:
    """A running sslsniff; stdout collected by a thread."""

    def __init__(self, args):
        self.proc = subprocess.Popen([str(TOOL), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: list[str] = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        deadline = time.time() + 20
        while not self.lines:
            if self.proc.poll() is not None:
                raise AssertionError(f"sslsniff exited {self.proc.returncode}: {self.proc.stderr.read().decode()}")
            assert time.time() < deadline, "sslsniff printed nothing"
            time.sleep(0.02)
        time.sleep(0.1)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.decode())

    def stop(self, timeout=30):
        self.proc.send_signal(signal.SIGINT)
        rc = self.proc.wait(timeout)
        self.t.join(10)
        self.stderr = self.proc.stderr.read().decode()
        assert rc == 0, f"sslsniff exit {rc}: {self.stderr}"
        self.events = [json.loads(x) for x in self.lines]
        assert self.events[0]["type"] == "START"
        assert self.events[-1]["type"] == "SUMMARY", self.events[-1]
        return self.events

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def sniff():
    started = []

    def start(*args):
        s = Sniffer(list(args))
        started.append(s)
        return s

    yield start
    for s in started:
        s.kill()


def data_events(events, pid=None):
    return [e for e in events if e["type"] == "SSL_DATA" and (pid is None or e["pid"] == pid)]


def assert_conn_matches(events, pid, entry):
    """The client pid has exactly one connection whose write stream is what the
    server received and whose read stream is what the server sent."""
    st = th.streams(events, pid)
    matches = [k for k, v in st.items() if v["write"] == entry["recv"]]
    assert matches, (
        f"no connection of pid {pid} wrote exactly the {len(entry['recv'])} bytes the server got; "
        f"captured write lens: {[len(v['write']) for v in st.values()]}"
    )
    assert len(matches) == 1
    got = st[matches[0]]["read"]
    assert got == entry["sent"], f"read stream: {len(got)} bytes captured, server sent {len(entry['sent'])}"
    return matches[0]


def check_chunks(events):
    """Chunk structure invariants for every call."""
    calls = {}
    for e in data_events(events):
        calls.setdefault(e["call_id"], []).append(e)
    for cid, chunks in calls.items():
        chunks.sort(key=lambda c: c["seq"])
        assert [c["seq"] for c in chunks] == list(range(len(chunks))), cid
        assert chunks[-1]["last"] and not any(c["last"] for c in chunks[:-1])
        off = 0
        for c in chunks:
            assert c["offset"] == off
            off += len(base64.b64decode(c["data"]))
            assert c["len"] == chunks[0]["len"] and c["conn"] == chunks[0]["conn"]
        assert off + chunks[-1]["truncated"] == chunks[0]["len"]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, timeout=60, **kw)


def curl_cmd(certs, server, path, upload=None):
    cmd = ["curl", "-sS", "--cacert", str(certs[0]), "-o", "/dev/null", "-H", "Expect:",
           f"https://localhost:{server.port}{path}"]
    if upload is not None:
        cmd += ["--data-binary", f"@{upload}", "-H", "Content-Type: application/octet-stream"]
    return cmd


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("size", [0, 1, 4096, 100 * 1024, 5 * 1024 * 1024])
def test_curl_download_and_upload_whole(sniff, server, certs, tmp_path, size):
    up = tmp_path / "up.bin"
    up.write_bytes(th.binary_pattern(size, 7))
    s = sniff()
    path = f"/size/{size}/curl-{size}-{time.time_ns()}"
    p = subprocess.Popen(curl_cmd(certs, server, path, upload=up))
    assert p.wait(60) == 0
    entry = server.entry_for(path)
    events = s.stop()
    assert_conn_matches(events, p.pid, entry)
    check_chunks(events)
    # the server (Python ssl: SSL_read_ex/SSL_write_ex) is captured too
    srv = th.streams(events, server.proc.pid)
    assert any(v["read"] == entry["recv"] and v["write"] == entry["sent"] for v in srv.values())
    mine = data_events(events, p.pid)
    assert {e["func"] for e in mine} <= {"SSL_read", "SSL_write"}
    assert {e["func"] for e in data_events(events, server.proc.pid)} <= {"SSL_read_ex", "SSL_write_ex"}
    if size == 5 * 1024 * 1024:
        big = [e for e in data_events(events, server.proc.pid) if e["dir"] == "write" and e["len"] > size]
        assert big and max(e["seq"] for e in big) >= size // 16384 - 1, "5 MB write not chunked in one call"
    summ = events[-1]
    assert summ["lost"] == 0
    probes = {p["name"]: p for p in summ["probes"]}
    assert probes["ssl_data_enter"]["run_cnt"] > 0 and probes["ssl_data_exit"]["run_time_ns"] > 0


def test_python_http_client_20_threads(sniff, server, certs):
    s = sniff()
    before = len(server.entries())
    p = subprocess.Popen([sys.executable, str(HERE / "tls_helpers.py"), "clients", str(certs[0]),
                          str(server.port), "20", "30000"])
    assert p.wait(60) == 0
    log = server.entries(lambda lg: len(lg) >= before + 20)
    entries = [e for e in log if "/thread" in e["path"]][-20:]
    assert len(entries) == 20
    events = s.stop()
    st = th.streams(events, p.pid)
    used = set()
    for entry in entries:
        k = assert_conn_matches(events, p.pid, entry)
        assert k not in used
        used.add(k)
    # 20 distinct connections, no stray bytes under any other conn id
    assert len({k[1] for k in used}) == 20
    for k, v in st.items():
        if k not in used:
            assert not v["write"] and not v["read"], f"stray bytes under {k}"
    funcs = {e["func"] for e in data_events(events, p.pid)}
    assert funcs <= {"SSL_read_ex", "SSL_write_ex"}
    assert all(e["fd"] >= 0 for e in data_events(events, p.pid)), "Python sets the fd with SSL_set_fd"
    # ... and from the fd the tool finds the server's address
    peers = {e.get("peer") for e in data_events(events, p.pid)}
    assert peers and all(pe in (f"127.0.0.1:{server.port}", f"[::1]:{server.port}") for pe in peers), peers
    check_chunks(events)


def test_openssl_s_client(sniff, server, certs):
    s = sniff()
    path = f"/size/70000/s_client-{time.time_ns()}"
    req = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    p = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-servername",
                          "localhost", "-CAfile", str(certs[0]), "-quiet", "-ign_eof"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p.communicate(req, timeout=30)
    entry = server.entry_for(path)
    events = s.stop()
    assert_conn_matches(events, p.pid, entry)


def node_cmd(server, path):
    js = (
        "const https=require('https');"
        f"https.get({{host:'localhost',port:{server.port},path:'{path}',agent:false}},r=>{{"
        "let n=0;r.on('data',d=>n+=d.length);r.on('end',()=>{console.log(n)})})"
        ".on('error',e=>{console.error(e);process.exit(1)});"
    )
    return ["node", "-e", js]


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_node_binary_static_openssl(sniff, server, certs):
    path = f"/size/200000/node-bin-{time.time_ns()}"
    s = sniff("--binary", shutil.which("node"))
    envv = dict(os.environ, NODE_EXTRA_CA_CERTS=str(certs[0]))
    p = subprocess.Popen(node_cmd(server, path), env=envv, stdout=subprocess.PIPE)
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0 and out.strip() == b"200000"
    entry = server.entry_for(path)
    events = s.stop()
    att = [e for e in events if e["type"] == "ATTACH" and e["reason"] == "binary"]
    assert att and "SSL_write" in att[0]["symbols"]
    assert_conn_matches(events, p.pid, entry)


def _go_shell(tmp_path, body):
    """A shell that waits for file GO, then runs body."""
    go = tmp_path / "GO"
    sh = subprocess.Popen(["sh", "-c", f"while [ ! -e {go} ]; do sleep 0.05; done; {body}"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return sh, go


def _child_pids(events, parent_comm):
    return {e["pid"] for e in data_events(events) if e["comm"] == parent_comm}


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_pid_follows_exec_of_node_first_request_whole(sniff, server, certs, tmp_path):
    """A traced shell starts node only after tracing began: node is attached at
    exec (process held with SIGSTOP until then) and its first request is
    captured whole."""
    path = f"/size/300000/node-exec-{time.time_ns()}"
    js = node_cmd(server, path)[2].replace("'", "'\"'\"'")
    sh, go = _go_shell(tmp_path, f"NODE_EXTRA_CA_CERTS={certs[0]} exec node -e '{js}'")
    s = sniff("--pid", str(sh.pid), "--no-system")
    go.touch()
    out, err = sh.communicate(timeout=60)
    assert sh.returncode == 0, err
    assert out.strip() == b"300000"
    entry = server.entry_for(path)
    events = s.stop()
    att = [e for e in events if e["type"] == "ATTACH" and e["reason"] == "exec"]
    assert att and att[0]["path"].endswith("/node") and att[0]["pid"] == sh.pid, att
    # node exec'd in place of the shell: same pid
    assert_conn_matches(events, sh.pid, entry)
    # nothing else traced
    assert {e["pid"] for e in data_events(events)} == {sh.pid}


def test_pid_filter_children_only(sniff, server, certs, tmp_path):
    """--pid of a parent shell captures its child curl; unrelated concurrent
    TLS traffic is not captured."""
    path = f"/size/50000/pid-child-{time.time_ns()}"
    other = f"/size/50000/unrelated-{time.time_ns()}"
    cmd = " ".join(curl_cmd(certs, server, path))
    sh, go = _go_shell(tmp_path, f"{cmd} && {cmd.replace('/size/50000/pid-child', '/size/10/pid-child2')}")
    s = sniff("--pid", str(sh.pid))
    stop_unrelated = threading.Event()
    unrelated = []

    def noise():
        while not stop_unrelated.is_set():
            unrelated.append(subprocess.run(curl_cmd(certs, server, other + f"-{len(unrelated)}")).returncode)

    t = threading.Thread(target=noise)
    t.start()
    go.touch()
    _out, err = sh.communicate(timeout=60)
    stop_unrelated.set()
    t.join()
    assert sh.returncode == 0, err
    entry = server.entry_for(path)
    events = s.stop()
    pids = {e["pid"] for e in data_events(events)}
    assert len(pids) == 2, pids  # the two curls, children of the shell
    assert sh.pid not in pids
    matched = [pid for pid in pids if any(v["write"] == entry["recv"] for v in th.streams(events, pid).values())]
    assert len(matched) == 1
    assert_conn_matches(events, matched[0], entry)
    for e in data_events(events):
        assert b"unrelated" not in base64.b64decode(e["data"])
    assert unrelated and all(rc == 0 for rc in unrelated)


def test_truncation_and_max_payload(sniff, server, certs, tmp_path):
    up = tmp_path / "up.bin"
    up.write_bytes(th.binary_pattern(100000, 3))
    s = sniff("--max-payload", "1000")
    p = subprocess.Popen(curl_cmd(certs, server, f"/size/20/trunc-{time.time_ns()}", upload=up))
    assert p.wait(60) == 0
    events = s.stop()
    assert events[0]["max_payload"] == 1000
    writes = [e for e in data_events(events, p.pid) if e["dir"] == "write"]
    big = [e for e in writes if e["len"] > 1000]
    assert big
    for e in big:
        assert e["last"] and e["seq"] == 0
        assert len(base64.b64decode(e["data"])) == 1000
        assert e["truncated"] == e["len"] - 1000
    check_chunks(events)


def test_losses_reported(sniff, server, certs, tmp_path):
    """A tiny ring buffer must lose records, and say so (LOST + SUMMARY)."""
    s = sniff("--ringbuf-size", "8192")
    p = subprocess.Popen(curl_cmd(certs, server, f"/size/{2 * 1024 * 1024}/lossy-{time.time_ns()}"))
    assert p.wait(60) == 0
    time.sleep(0.3)
    events = s.stop()
    lost = [e for e in events if e["type"] == "LOST"]
    assert lost and sum(e["count"] for e in lost) == events[-1]["lost"] > 0
    assert sum(e["bytes"] for e in lost) == events[-1]["lost_bytes"] > 0


def test_handshake_and_close_events(sniff, server, certs):
    s = sniff("--handshake")
    p = subprocess.Popen([sys.executable, str(HERE / "tls_helpers.py"), "clients", str(certs[0]),
                          str(server.port), "1", "10"])
    assert p.wait(60) == 0
    events = s.stop()
    hs = [e for e in events if e["type"] == "SSL_HANDSHAKE" and e["pid"] == p.pid]
    # http.client with a timeout uses a non-blocking socket: SSL_do_handshake
    # may return -1 (WANT_READ) before the final call that returns 1
    assert hs and hs[-1]["ret"] == 1 and all(e["latency_ns"] > 0 for e in hs)
    conns = {e["conn"] for e in data_events(events, p.pid)}
    assert hs[-1]["conn"] in conns
    closes = [e for e in events if e["type"] == "SSL_CLOSE" and e["pid"] == p.pid]
    assert {e["func"] for e in closes} >= {"SSL_free"}


def tool_prog_ids(pid):
    """BPF program ids held by a process (from /proc/PID/fdinfo; other
    sslsniff instances may run on the machine at the same time)."""
    ids = set()
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            for line in Path(f"/proc/{pid}/fdinfo/{fd}").read_text().splitlines():
                if line.startswith("prog_id:"):
                    ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def ssl_prog_ids():
    out = subprocess.run(["bpftool", "-j", "prog", "list"], capture_output=True, text=True, check=True).stdout
    return {p["id"] for p in json.loads(out) if p.get("name", "").startswith("ssl_")}


def test_no_leftovers_and_errors(sniff, tmp_path):
    s = sniff()
    pid = s.proc.pid
    mine = tool_prog_ids(pid)
    assert len(mine) >= 6 and mine <= ssl_prog_ids()
    events = s.stop()
    assert events[-1]["type"] == "SUMMARY"
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
    assert not (mine & ssl_prog_ids()), "programs left loaded after exit"
    r = subprocess.run([str(TOOL), "--no-system", "--lib", str(tmp_path / "nope.so")], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0 and "nope.so" in r.stderr and len(r.stderr.strip().splitlines()) <= 2
    notls = tmp_path / "libnotls.so"
    shutil.copy("/bin/true", notls)
    r = subprocess.run([str(TOOL), "--no-system", "--lib", str(notls)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode != 0 and "no SSL_read/SSL_write symbols" in r.stderr


def test_exits_when_stdout_closed():
    p = subprocess.Popen([str(TOOL)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert p.stdout.read(10)
        mine = tool_prog_ids(p.pid)
        p.stdout.close()
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
    assert mine and not (mine & ssl_prog_ids())


def test_pid_follows_open_of_new_libssl(sniff, server, certs, tmp_path):
    """A traced shell starts Python with a private copy of libssl (not the
    system one): the openat of it stops the process until sslsniff attached,
    so the very first request is captured whole."""
    libdir = tmp_path / "lib"
    libdir.mkdir()
    sys_ssl = next(p for p in ["/lib/x86_64-linux-gnu/libssl.so.3", "/usr/lib/x86_64-linux-gnu/libssl.so.3",
                               "/usr/lib64/libssl.so.3", "/lib/aarch64-linux-gnu/libssl.so.3"] if Path(p).exists())
    shutil.copy(sys_ssl, libdir / "libssl.so.3")
    path = f"/size/100000/open-follow-{time.time_ns()}"
    script = tmp_path / "client.py"
    script.write_text(
        "import ssl,http.client,sys\n"
        f"ctx=ssl.create_default_context(cafile={str(certs[0])!r})\n"
        f"c=http.client.HTTPSConnection('localhost',{server.port},context=ctx)\n"
        f"c.request('POST',{path!r},body=b'\\x00\\xff'*5000)\n"
        "print(len(c.getresponse().read()))\n"
    )
    sh, go = _go_shell(tmp_path, f"LD_LIBRARY_PATH={libdir} exec {sys.executable} {script}")
    s = sniff("--pid", str(sh.pid), "--no-system")
    go.touch()
    out, err = sh.communicate(timeout=60)
    assert sh.returncode == 0, err
    assert out.strip() == b"100000"
    entry = server.entry_for(path)
    events = s.stop()
    att = [e for e in events if e["type"] == "ATTACH" and e["reason"] == "open"]
    assert att and att[0]["path"] == str(libdir / "libssl.so.3"), [e for e in events if e["type"] == "ATTACH"]
    assert_conn_matches(events, sh.pid, entry)


def test_pid_discovers_mapped_libssl(sniff, server, certs, tmp_path):
    """--pid of a process that already has libssl mapped attaches to it (reason maps)."""
    path = f"/size/1234/maps-{time.time_ns()}"
    script = tmp_path / "client.py"
    go = tmp_path / "GO"
    script.write_text(
        "import ssl,http.client,os,time\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.02)\n"
        f"ctx=ssl.create_default_context(cafile={str(certs[0])!r})\n"
        f"c=http.client.HTTPSConnection('localhost',{server.port},context=ctx)\n"
        f"c.request('GET',{path!r})\n"
        "print(len(c.getresponse().read()))\n"
    )
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE)
    time.sleep(0.5)  # ssl imported, libssl mapped
    s = sniff("--pid", str(p.pid), "--no-system")
    go.touch()
    out, _ = p.communicate(timeout=60)
    assert out.strip() == b"1234"
    entry = server.entry_for(path)
    events = s.stop()
    att = [e for e in events if e["type"] == "ATTACH"]
    assert any(e["reason"] == "maps" and "libssl" in e["path"] for e in att), att
    assert_conn_matches(events, p.pid, entry)


@pytest.mark.skipif(shutil.which("gnutls-cli") is None, reason="gnutls-cli not installed (apt gnutls-bin)")
def test_gnutls_cli(sniff, server, certs):
    s = sniff("--gnutls", "--handshake")
    path = f"/size/40000/gnutls-{time.time_ns()}"
    req = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    p = subprocess.Popen(["gnutls-cli", "--x509cafile", str(certs[0]), "-p", str(server.port), "localhost"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p.communicate(req, timeout=30)  # exit status 1: the server closes without close_notify
    entry = server.entry_for(path)
    events = s.stop()
    assert any(e["type"] == "ATTACH" and "gnutls_record_send" in e["symbols"] for e in events)
    assert_conn_matches(events, p.pid, entry)
    assert {e["func"] for e in data_events(events, p.pid)} == {"gnutls_record_send", "gnutls_record_recv"}
    assert all(e["fd"] >= 0 for e in data_events(events, p.pid))
    hs = [e for e in events if e["type"] == "SSL_HANDSHAKE" and e["pid"] == p.pid]
    assert hs and hs[-1]["func"] == "gnutls_handshake" and hs[-1]["ret"] == 0


def test_gnutls_not_traced_without_flag(sniff, server, certs):
    if shutil.which("gnutls-cli") is None:
        pytest.skip("gnutls-cli not installed")
    s = sniff()
    req = b"GET /size/10/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    p = subprocess.Popen(["gnutls-cli", "--x509cafile", str(certs[0]), "-p", str(server.port), "localhost"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p.communicate(req, timeout=30)
    events = s.stop()
    assert not data_events(events, p.pid)
    assert not any(e["type"] == "ATTACH" and "gnutls" in e["path"] for e in events)


def test_comm_and_uid_filters(sniff, server, certs):
    s = sniff("--comm", "nosuchcomm,curl", "--uid", "0")
    pc = subprocess.Popen(curl_cmd(certs, server, f"/size/100/comm-{time.time_ns()}"))
    assert pc.wait(60) == 0
    pp = subprocess.Popen([sys.executable, str(HERE / "tls_helpers.py"), "clients", str(certs[0]),
                           str(server.port), "1", "10"])
    assert pp.wait(60) == 0
    events = s.stop()
    assert events[0]["filters"]["comm"] == ["nosuchcomm", "curl"]
    assert data_events(events, pc.pid)
    assert {e["comm"] for e in data_events(events)} == {"curl"}
    s = sniff("--uid", "12345")
    pc = subprocess.Popen(curl_cmd(certs, server, f"/size/100/uid-{time.time_ns()}"))
    assert pc.wait(60) == 0
    assert not data_events(s.stop())


def _guards() -> set[int]:
    found = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() == "sslsniff-guard":
                    found.add(int(d.name))
            except OSError:
                pass
    return found


def test_kill_9_of_the_tool_leaves_no_process_stopped(sniff, tmp_path):
    """A process held stopped (exec of a new binary, waiting to be attached) is resumed by the
    tool's guardian when the tool itself is SIGKILLed at that moment."""
    prog = tmp_path / "fresh-true"
    shutil.copy("/bin/true", prog)  # an inode the tool has never seen
    shell = subprocess.Popen(["/bin/sh", "-c", f"read x; exec {prog}"], stdin=subprocess.PIPE)
    guards_before = _guards()
    s = sniff("--pid", str(shell.pid))
    try:
        assert _guards() - guards_before, "the tool runs a guardian under --pid"
        s.proc.send_signal(signal.SIGSTOP)  # the loader cannot resume anyone now
        shell.stdin.write(b"go\n")
        shell.stdin.close()
        deadline = time.time() + 10
        while proc_state(shell.pid) != "T":
            assert time.time() < deadline, f"exec was not stopped: state {proc_state(shell.pid)}"
            time.sleep(0.02)
        s.proc.kill()
        s.proc.wait(10)
        assert shell.wait(10) == 0, "the stopped process was not resumed after the tool died"
        deadline = time.time() + 10
        while _guards() - guards_before:
            assert time.time() < deadline, "guardian left behind"
            time.sleep(0.02)
    finally:
        s.kill()
        if shell.poll() is None:
            shell.kill()
            shell.wait()


def test_normal_exit_reaps_the_guardian(sniff):
    guards_before = _guards()
    s = sniff("--pid", str(os.getpid()))
    mine = _guards() - guards_before
    assert mine
    s.stop()
    assert not (mine & _guards()), "guardian still running after a clean exit"


def test_nested_and_abandoned_calls(sniff, tmp_path):
    """A library whose SSL_write calls SSL_write_ex (both probed): one event, the outer call. An
    SSL_read left by longjmp (its return never seen): the next SSL_read is still captured."""
    src = HERE / "fake_tls"
    lib, drv = tmp_path / "libfakessl.so", tmp_path / "driver"
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", str(src / "fakessl.c"), "-o", str(lib)], check=True)
    subprocess.run(["cc", "-O2", str(src / "driver.c"), "-o", str(drv), f"-L{tmp_path}", "-lfakessl",
                    f"-Wl,-rpath,{tmp_path}"], check=True)
    p = subprocess.Popen([str(drv)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        s = sniff("--no-system", "--lib", str(lib), "--pid", str(p.pid))
        out, _ = p.communicate(b"go\n", timeout=30)
        assert p.returncode == 0 and out == b"done\n"
        time.sleep(0.2)
        events = s.stop()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    data = data_events(events, p.pid)
    got = [(e["func"], e["dir"], base64.b64decode(e["data"])) for e in data]
    assert got == [("SSL_write", "write", b"nested-outer"), ("SSL_read", "read", b"r" * 7)], got
