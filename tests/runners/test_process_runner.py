"""ProcessRunner and `collector process` against the real eBPF tool (root, built tool)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from collector import (
    ConfigError,
    Event,
    FileOpen,
    PrivilegeError,
    ProcessExec,
    ProcessExit,
    ProcessRunner,
    ToolNotFoundError,
    ToolStatus,
)
from collector.framework.core.process_tree import ProcessTree

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "bpf_programs" / "build" / "process"
COLLECTOR = [sys.executable, "-m", "collector.cli.main"]


SCRIPT = r"""
read go
/bin/true "two words" 'say "hi"' "line
break"
i=0; while [ $i -lt 200 ]; do cat "$1" > /dev/null; i=$((i+1)); done
cat /nonexistent/file 2>/dev/null
sh -c 'exit 3'
sh -c 'kill -9 $$'
exit 0
"""


def our_prog_ids() -> set[int]:
    out = subprocess.run(["bpftool", "prog", "list"], capture_output=True, text=True).stdout
    return {int(line.split(":")[0]) for line in out.splitlines() if "proc_" in line and ":" in line}


@pytest.mark.skipif(os.geteuid() != 0 or not TOOL.exists(), reason="needs root and the built tool")
async def test_runner_traces_a_tree_into_typed_events(tmp_path: Path) -> None:
    before = our_prog_ids()
    ours: set[int] = set()
    known = tmp_path / "known.txt"
    known.write_text("x")
    script = tmp_path / "scenario.sh"
    script.write_text(SCRIPT)
    proc = subprocess.Popen(["sh", str(script), str(known)], stdin=subprocess.PIPE)
    runner = ProcessRunner.builder().pid(proc.pid).dedup_window(0.5).build()
    events: list[Event] = []
    tree = ProcessTree()
    tree.seed_from_proc(proc.pid)
    with anyio.fail_after(30):
        async with runner:
            async for batch in runner.batches():
                events += batch
                tree.apply_all(batch)
                if any(isinstance(e.payload, ToolStatus) and e.payload.status == "start" for e in batch):
                    assert proc.stdin is not None
                    ours = our_prog_ids() - before
                    proc.stdin.write(b"go\n")
                    proc.stdin.close()
                if any(e.pid == proc.pid and isinstance(e.payload, ProcessExit) for e in batch):
                    break
    assert proc.wait() == 0
    pids = {e.pid for e in events if e.pid}
    assert proc.pid in pids
    execs = [e.payload for e in events if isinstance(e.payload, ProcessExec)]
    assert ["/bin/true", "two words", 'say "hi"', "line\nbreak"] in [x.argv for x in execs]
    exits = {e.pid: e.payload for e in events if isinstance(e.payload, ProcessExit)}
    assert any(x.exit_code == 3 for x in exits.values())
    assert any(x.signal == 9 for x in exits.values())
    opens = [e.payload for e in events if isinstance(e.payload, FileOpen) and e.payload.path == str(known)]
    assert sum(o.count for o in opens) == 200
    missing = [e.payload for e in events if isinstance(e.payload, FileOpen) and e.payload.path == "/nonexistent/file"]
    assert missing and missing[0].ret == -2
    # Every event belongs to the traced tree.
    assert all(tree.nodes.get(pid) is not None for pid in pids)
    root = tree.nodes[proc.pid]
    assert not root.running and root.exit_code == 0
    assert len(root.children) >= 5
    # The tool is gone and none of its programs stayed attached.
    assert runner.returncode is not None
    assert ours, "the tool's programs were not seen while it ran"
    assert not ours & our_prog_ids()


@pytest.mark.skipif(os.geteuid() != 0 or not TOOL.exists(), reason="needs root and the built tool")
def test_cli_process_prints_escaped_lines_and_summary_on_sigint(tmp_path: Path) -> None:
    target = subprocess.Popen(["sh", "-c", "read x; /bin/echo 'esc \x1b[31m'; exit 0"], stdin=subprocess.PIPE)
    cli = subprocess.Popen(
        [*COLLECTOR, "process", "--pid", str(target.pid)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert cli.stdout is not None
    import time

    time.sleep(2.0)  # the tool attaches; the test then drives the target
    assert target.stdin is not None
    target.stdin.write(b"go\n")
    target.stdin.close()
    target.wait()
    time.sleep(1.0)
    cli.send_signal(signal.SIGINT)
    out, err = cli.communicate(timeout=20)
    assert cli.returncode == 0, err
    text = out.decode()
    assert "EXEC  /bin/echo" in text
    assert "\x1b" not in text and "\\x1b[31m" in text
    assert "collector:" in err.decode() and "exec=" in err.decode()


def test_missing_tool_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ToolNotFoundError, match="does not exist"):
        ProcessRunner.builder().tool_path(str(tmp_path / "nope")).build()
    env = {**os.environ, "COLLECTOR_PROCESS_PATH": str(tmp_path / "nope")}
    r = subprocess.run([*COLLECTOR, "process", "--all"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 1
    assert r.stderr.strip().startswith("collector: error: the process eBPF tool is not built")
    assert "Traceback" not in r.stderr


def test_conflicting_options_rejected() -> None:
    with pytest.raises(ConfigError, match="conflicts"):
        ProcessRunner.builder().pid(1).mode("all").build()
    with pytest.raises(ConfigError, match="dedup window"):
        ProcessRunner.builder().dedup_window(-1).build()


@pytest.mark.skipif(shutil.which("setpriv") is None or os.geteuid() != 0, reason="needs setpriv and root")
def test_without_privileges_one_clear_sentence() -> None:
    r = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
         sys.executable, "-m", "collector.cli.main", "process", "--all"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "COLLECTOR_PROCESS_PATH": "/bin/true"},
    )
    assert r.returncode == 1, r.stderr
    assert "needs root (or CAP_BPF and CAP_PERFMON)" in r.stderr
    assert "Traceback" not in r.stderr
    assert PrivilegeError.__name__  # the error type behind the message
