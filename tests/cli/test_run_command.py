"""`collector run -- CMD` with the real tools: exit status, the tree and its TLS, nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.llm_server import LlmServer

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "bpf_programs" / "build"

pytestmark = [
    pytest.mark.bpf,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(
        not (BUILD / "process").exists() or not (BUILD / "sslsniff").exists(), reason="tools not built"
    ),
]


@pytest.fixture(scope="module")
def server() -> Iterator[LlmServer]:
    with LlmServer() as s:
        yield s


def collector(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "collector.cli.main", *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )


def test_run_traces_the_tree_and_exits_with_cmds_status(server: LlmServer, tmp_path: Path) -> None:
    body = json.dumps({"model": "gpt-test", "messages": [{"role": "user", "content": "hello there"}]})
    script = (
        f"curl -s --http1.1 --cacert {server.ca_path} -H 'content-type: application/json' "
        f"-H 'authorization: Bearer sk-proj-SECRETSECRETSECRETSECRET1234' "
        f"-d '{body}' {server.base_url}/v1/chat/completions > /dev/null; exit 7"
    )
    stop = threading.Event()

    def unrelated() -> None:  # TLS traffic outside the traced tree, at the same time
        while not stop.is_set():
            subprocess.run(["curl", "-s", "--cacert", server.ca_path, f"{server.base_url}/v1/models"],
                           capture_output=True)
            time.sleep(0.05)

    t = threading.Thread(target=unrelated)
    t.start()
    try:
        r = collector("run", "--json", "--", "sh", "-c", script)
    finally:
        stop.set()
        t.join()
    assert r.returncode == 7, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    execs = [e for e in events if e["payload"]["kind"] == "exec"]
    root = next(e for e in execs if e["payload"]["argv"][:2] == ["sh", "-c"])
    curl = next(e for e in execs if e["payload"]["filename"].endswith("/curl"))
    tree = {root["pid"], curl["pid"]} | {
        e["payload"]["child_pid"] for e in events if e["payload"]["kind"] == "fork"
    }
    assert curl["payload"]["ppid"] == root["pid"]
    # nothing outside the tree
    assert {e["pid"] for e in events if e["pid"]} <= tree
    http = [e for e in events if e["payload"]["kind"] == "http_exchange"]
    assert len(http) == 1 and http[0]["pid"] == curl["pid"]
    assert http[0]["payload"]["method"] == "POST" and http[0]["payload"]["status"] == 200
    assert http[0]["payload"]["path"] == "/v1/chat/completions"
    llm = [e for e in events if e["payload"]["kind"] == "llm_call"]
    assert len(llm) == 1 and llm[0]["payload"]["model"] == "gpt-test"
    # the key never reaches the output
    assert "SECRETSECRETSECRET" not in r.stdout
    exits = {e["pid"]: e["payload"] for e in events if e["payload"]["kind"] == "exit"}
    assert exits[root["pid"]]["exit_code"] == 7


def test_run_without_a_command_is_a_clear_error() -> None:
    r = collector("run")
    assert r.returncode != 0
    assert "needs a command" in r.stderr
    assert "Traceback" not in r.stderr


def test_run_as_another_user(tmp_path: Path) -> None:
    out = tmp_path / "id.txt"
    tmp_path.chmod(0o777)
    r = collector("run", "--json", "--no-ssl", "--user", "nobody", "--cmd-output", str(out), "--", "id", "-u")
    assert r.returncode == 0, r.stderr
    assert out.read_text().strip() == "65534"
    events = [json.loads(line) for line in r.stdout.splitlines()]
    execs = [e["payload"] for e in events if e["payload"]["kind"] == "exec"]
    assert execs and execs[0]["argv"] == ["id", "-u"] and execs[0]["uid"] == 65534
