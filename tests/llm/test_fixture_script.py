"""The fixture server also runs as a script (sample sessions, benchmarks)."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def test_script_mode(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fixtures.llm_server", "--port", "0", "--ca-out", str(ca)],
        stdout=subprocess.PIPE, cwd=ROOT, text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["ca_path"] == str(ca) and info["base_url"].startswith("https://127.0.0.1:")
        with httpx.Client(verify=ssl.create_default_context(cafile=str(ca))) as client:
            r = client.post(info["base_url"] + "/v1/messages",
                            json={"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 200 and r.json()["content"][0]["type"] == "text"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
