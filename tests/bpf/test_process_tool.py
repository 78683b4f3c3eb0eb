"""Real-eBPF tests of bpf_programs/build/process (see docs/TOOL-PROCESS.md).

Needs root and a built tool (make -C bpf_programs). One scenario script is
traced with --pid; it has a child that already exists when the tool starts
(seeded from /proc), execs /bin/true with awkward argv, opens a known file
1,000 times from Python, opens missing files (one with a newline and a quote
in its name), and runs children exiting 3 and killed by SIGKILL. An unrelated
process runs at the same time and must not show up.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "bpf_programs" / "build" / "process"
PYTHON = os.path.realpath(sys.executable)

pytestmark = [
    pytest.mark.bpf,
    pytest.mark.skipif(os.geteuid() != 0, reason="process tool needs root"),
    pytest.mark.skipif(not TOOL.exists(), reason="process not built (make -C bpf_programs)"),
]

# ------------------------------------------------------------------ contract

U64 = "u64"
INT = "int"
STR = "str"
BOOL = "bool"
COMMON = {"type": STR, "ts_ns": U64, "pid": U64, "tid": U64, "ppid": U64, "uid": U64, "comm": STR}
CONTRACT: dict[str, dict[str, object]] = {
    "EXEC": {**COMMON, "filename": STR, "argv": list, "argv_truncated": BOOL},
    "EXIT": {**COMMON, "exit_code": U64, "signal": U64, "core_dumped": BOOL, "duration_ns": U64},
    "FORK": {**COMMON, "child_pid": U64, "child_tid": U64},
    "FILE_OPEN": {
        **COMMON,
        "path": STR,
        "relative": BOOL,
        "dirfd": INT,
        "flags": U64,
        "ret": INT,
        "count": U64,
        "aggregate": BOOL,
    },
    "LOST": {"type": STR, "ts_ns": U64, "count": U64, "total": U64},
    "START": {
        "type": STR,
        "ts_ns": U64,
        "tool": STR,
        "version": STR,
        "tool_pid": U64,
        "filters": dict,
        "dedup_window_s": (int, float),
        "ringbuf_size": U64,
    },
    "SUMMARY": {
        "type": STR,
        "ts_ns": U64,
        "events": U64,
        "lost": U64,
        "by_type": dict,
        "opens": U64,
    },
}


def check_type(val: object, want: object) -> bool:
    if want == U64:
        return type(val) is int and val >= 0
    if want == INT:
        return type(val) is int
    if want == STR:
        return type(val) is str
    if want == BOOL:
        return type(val) is bool
    if isinstance(want, tuple):
        return isinstance(val, want) and type(val) is not bool
    return isinstance(val, want)  # type: ignore[arg-type]


def check_contract(ev: dict) -> None:
    spec = CONTRACT.get(ev.get("type"))  # type: ignore[arg-type]
    assert spec is not None, f"unknown type: {ev}"
    extra = set(ev) - set(spec)
    if ev["type"] == "FILE_OPEN" and ev["aggregate"]:
        assert "first_ts_ns" in ev and check_type(ev["first_ts_ns"], U64), ev
        assert ev["first_ts_ns"] <= ev["ts_ns"], ev
        extra -= {"first_ts_ns"}
    assert not extra, f"unexpected fields {extra} in {ev}"
    for k, t in spec.items():
        assert k in ev, f"missing {k} in {ev}"
        assert check_type(ev[k], t), f"{k}={ev[k]!r} is not {t} in {ev}"
    if ev["type"] == "EXEC":
        assert all(type(a) is str for a in ev["argv"])
        assert len(ev["argv"]) <= 64
    if ev["type"] == "EXIT":
        assert 0 <= ev["exit_code"] <= 255 and 0 <= ev["signal"] <= 127
    if ev["type"] == "FILE_OPEN":
        assert ev["count"] >= 1
        assert ev["aggregate"] or ev["count"] == 1
        assert ev["relative"] or ev["path"].startswith("/")


# ------------------------------------------------------------------ helpers


def proc_prog_ids() -> set[int]:
    out = subprocess.run(
        ["bpftool", "prog", "list", "-j"], capture_output=True, text=True, check=True
    ).stdout
    return {p["id"] for p in json.loads(out) if p.get("name", "").startswith("proc_")}


def start_tool(args: list[str]) -> subprocess.Popen:
    p = subprocess.Popen(
        [str(TOOL), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    line = read_line(p, timeout=20)
    assert line, f"no START line; stderr: {p.stderr.read().decode() if p.poll() is not None else ''}"
    ev = json.loads(line)
    assert ev["type"] == "START", ev
    check_contract(ev)
    p.start_event = ev  # type: ignore[attr-defined]
    return p


def read_line(p: subprocess.Popen, timeout: float) -> bytes:
    assert p.stdout is not None
    fd = p.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            return b""
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return b""
        ch = os.read(fd, 1)
        if not ch:
            return buf
        buf += ch
    return buf


def stop_tool(p: subprocess.Popen) -> tuple[int, list[dict], bytes, str]:
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    lines = out.splitlines()
    events = [json.loads(line) for line in lines]
    return p.returncode, events, out, err.decode(errors="replace")


# ------------------------------------------------------------------ scenario

N_OPENS = 1000

SCRIPT = r"""#!/bin/bash
# child that exists before the tool starts: found by the /proc seeding
( while [ ! -e "$GO" ]; do sleep 0.02; done; exec cat "$SEED" ) > /dev/null &
while [ ! -e "$GO" ]; do sleep 0.02; done
/bin/true "a b" 'q"uote' $'new\nline' 'back\slash'
/bin/true $'\xff\xfeok' $'ctl\x01\x1f' 'é'
"$PY" -c '
import os, sys
known, missing, weird = sys.argv[1:4]
for _ in range(int(sys.argv[4])):
    open(known).close()
for p in (missing, weird):
    try:
        open(p)
    except OSError:
        pass
' "$KNOWN" "$MISSING" "$WEIRD" "$N"
sh -c 'exit 3'
sh -c 'kill -9 $$'
wait
"""


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    d = tmp_path_factory.mktemp("proc")
    known = d / "known.txt"
    known.write_text("hello\n")
    seed = d / "seed.txt"
    seed.write_text("seed\n")
    script = d / "scenario.sh"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    env = dict(
        os.environ,
        GO=str(d / "go"),
        SEED=str(seed),
        KNOWN=str(known),
        MISSING=str(d / "missing-file"),
        WEIRD=str(d / 'we"ird\nname'),
        N=str(N_OPENS),
        PY=PYTHON,
    )
    target = subprocess.Popen([str(script)], env=env)
    time.sleep(0.3)  # let the pre-existing child start
    before = proc_prog_ids()
    tool = start_tool(["--pid", str(target.pid)])
    ours = proc_prog_ids() - before
    # an unrelated process opening files while we trace
    unrelated = subprocess.Popen(
        ["sh", "-c", f'for i in 1 2 3 4 5; do cat "{known}" > /dev/null; done; /bin/true x']
    )
    (d / "go").write_text("")
    assert target.wait(timeout=60) == 0
    unrelated.wait(timeout=30)
    time.sleep(1.5)  # let dedup windows close
    rc, events, raw, err = stop_tool(tool)
    time.sleep(0.2)
    left = proc_prog_ids() & ours
    return dict(
        start=tool.start_event,  # type: ignore[attr-defined]
        rc=rc,
        events=events,
        raw=raw,
        stderr=err,
        target=target.pid,
        unrelated=unrelated.pid,
        known=str(known),
        seed=str(seed),
        missing=str(d / "missing-file"),
        weird=str(d / 'we"ird\nname'),
        ours=ours,
        left=left,
    )


def test_sigint_exits_zero_with_summary(scenario):
    assert scenario["rc"] == 0, scenario["stderr"]
    evs = scenario["events"]
    start = scenario["start"]
    assert start["tool"] == "process" and start["tool_pid"] > 0
    assert start["filters"]["mode"] == "filtered"
    assert start["filters"]["pid"] == scenario["target"]
    assert all(e["type"] != "START" for e in evs)
    assert evs[-1]["type"] == "SUMMARY"
    s = evs[-1]
    assert s["lost"] == 0
    counted = sum(1 for e in evs if e["type"] not in ("START", "SUMMARY", "LOST"))
    assert s["events"] == counted
    assert s["opens"] == sum(e["count"] for e in evs if e["type"] == "FILE_OPEN")
    for t in ("EXEC", "EXIT", "FORK", "FILE_OPEN"):
        assert s["by_type"][t] == sum(1 for e in evs if e["type"] == t)


def test_every_line_is_json_matching_contract(scenario):
    raw = scenario["raw"]
    assert raw.endswith(b"\n")
    for line in raw.split(b"\n")[:-1]:
        line.decode("utf-8")  # valid UTF-8
        check_contract(json.loads(line))


def test_programs_detached_after_exit(scenario):
    assert len(scenario["ours"]) >= 7, scenario["ours"]
    assert not scenario["left"], f"programs still loaded: {scenario['left']}"


def test_only_traced_tree(scenario):
    evs = scenario["events"]
    # the tree: the target, FORK children, and (for processes that already
    # existed at start, seeded from /proc) anything whose parent is in it
    tree = {scenario["target"]}
    grew = True
    while grew:
        n = len(tree)
        for e in evs:
            if e["type"] == "FORK" and e["pid"] in tree:
                tree.add(e["child_pid"])
            if "ppid" in e and e["ppid"] in tree:
                tree.add(e["pid"])
        grew = len(tree) != n
    for e in evs:
        if "pid" in e:
            assert e["pid"] in tree, f"unrelated pid in {e}"
    assert scenario["unrelated"] not in tree
    assert not any(e.get("pid") == scenario["unrelated"] for e in evs)


def test_exec_argv_exact(scenario):
    execs = [e for e in scenario["events"] if e["type"] == "EXEC" and e["filename"] == "/bin/true"]
    argvs = [e["argv"] for e in execs]
    assert ["/bin/true", "a b", 'q"uote', "new\nline", "back\\slash"] in argvs
    # invalid UTF-8 bytes -> one U+FFFD each; control bytes survive escaping
    assert ["/bin/true", "\ufffd\ufffdok", "ctl\x01\x1f", "é"] in argvs
    for e in execs:
        assert e["argv_truncated"] is False
        assert e["comm"] == "true"
        assert e["ppid"] == scenario["target"]
    assert b"\\u0001" in scenario["raw"] and b"\\n" in scenario["raw"]


def test_exit_code_and_signal(scenario):
    exits = [e for e in scenario["events"] if e["type"] == "EXIT" and e["comm"] == "sh"]
    assert any(e["exit_code"] == 3 and e["signal"] == 0 and not e["core_dumped"] for e in exits)
    assert any(e["signal"] == 9 and e["exit_code"] == 0 for e in exits)
    root = [e for e in scenario["events"] if e["type"] == "EXIT" and e["pid"] == scenario["target"]]
    assert len(root) == 1 and root[0]["exit_code"] == 0
    assert root[0]["duration_ns"] > 300_000_000  # the script lived >= 0.3 s


def test_fork_events(scenario):
    forks = [e for e in scenario["events"] if e["type"] == "FORK"]
    assert any(e["pid"] == scenario["target"] for e in forks)
    for e in forks:
        assert e["child_pid"] != e["pid"]


def test_known_file_counts_sum_exactly(scenario):
    opens = [
        e for e in scenario["events"] if e["type"] == "FILE_OPEN" and e["path"] == scenario["known"]
    ]
    assert sum(e["count"] for e in opens) == N_OPENS
    assert len({e["pid"] for e in opens}) == 1
    assert len(opens) < 20, f"dedup did not aggregate: {len(opens)} lines"
    assert any(e["aggregate"] for e in opens)
    for e in opens:
        assert e["ret"] >= 0 and e["relative"] is False and e["dirfd"] == -100
        assert e["flags"] & 0o3 == os.O_RDONLY


def test_missing_file_enoent(scenario):
    opens = [
        e for e in scenario["events"] if e["type"] == "FILE_OPEN" and e["path"] == scenario["missing"]
    ]
    assert opens and all(e["ret"] == -2 for e in opens)
    assert sum(e["count"] for e in opens) == 1


def test_weird_path_escaped(scenario):
    opens = [
        e for e in scenario["events"] if e["type"] == "FILE_OPEN" and e["path"] == scenario["weird"]
    ]
    assert len(opens) == 1 and opens[0]["ret"] == -2


def test_preexisting_child_seeded_from_proc(scenario):
    opens = [
        e for e in scenario["events"] if e["type"] == "FILE_OPEN" and e["path"] == scenario["seed"]
    ]
    assert opens and opens[0]["comm"] == "cat"


# ------------------------------------------------------------------ lifecycle


def test_closed_pipe_makes_tool_exit():
    before = proc_prog_ids()
    p = start_tool(["--mode", "all"])
    ours = proc_prog_ids() - before
    assert ours
    p.stdout.close()
    # generate some activity so there is something to write
    for _ in range(5):
        subprocess.run(["/bin/true"])
    p.wait(timeout=10)
    assert p.returncode == 0
    time.sleep(0.2)
    assert not (proc_prog_ids() & ours)


def test_dedup_disabled_reports_every_open(tmp_path):
    f = tmp_path / "f.txt"
    f.write_text("x")
    script = tmp_path / "s.sh"
    script.write_text(
        f'#!/bin/sh\nwhile [ ! -e "{tmp_path}/go" ]; do sleep 0.02; done\n'
        f'"{PYTHON}" -c \'import sys\nfor _ in range(50): open(sys.argv[1]).close()\' "{f}"\n'
    )
    script.chmod(0o755)
    target = subprocess.Popen([str(script)])
    tool = start_tool(["--pid", str(target.pid), "--dedup-window", "0"])
    (tmp_path / "go").write_text("")
    target.wait(timeout=30)
    rc, evs, _, _ = stop_tool(tool)
    assert rc == 0
    opens = [e for e in evs if e["type"] == "FILE_OPEN" and e["path"] == str(f)]
    assert len(opens) == 50 and all(e["count"] == 1 and not e["aggregate"] for e in opens)


def test_relative_path_resolved(tmp_path):
    (tmp_path / "rel.txt").write_text("x")
    script = tmp_path / "s.sh"
    # a long-lived opener: resolution reads /proc/PID/cwd when the event is read
    script.write_text(
        f'#!/bin/sh\nwhile [ ! -e "{tmp_path}/go" ]; do sleep 0.02; done\n'
        f'cd "{tmp_path}" && "{PYTHON}" -c \'import os, time\n'
        f'open("./rel.txt").close()\nfd = os.open(".", os.O_RDONLY)\n'
        f'os.close(os.open("rel.txt", os.O_RDONLY, dir_fd=fd))\ntime.sleep(1)\'\n'
        # a short-lived one: may be gone before the event is read
        f'cd "{tmp_path}" && cat ./rel.txt > /dev/null\n'
    )
    script.chmod(0o755)
    target = subprocess.Popen([str(script)], stdout=subprocess.DEVNULL)
    tool = start_tool(["--pid", str(target.pid)])
    (tmp_path / "go").write_text("")
    target.wait(timeout=30)
    rc, evs, _, _ = stop_tool(tool)
    assert rc == 0
    want = str(tmp_path / "rel.txt")
    py = [e for e in evs if e["type"] == "FILE_OPEN" and e["comm"].startswith("python")]
    cwd_opens = [e for e in py if e["path"] == want and e["dirfd"] == -100]
    assert cwd_opens and not cwd_opens[0]["relative"], py
    dirfd_opens = [e for e in py if e["path"] == want and e["dirfd"] >= 0]
    assert dirfd_opens and not dirfd_opens[0]["relative"], py
    cat = [e for e in evs if e["type"] == "FILE_OPEN" and e["comm"] == "cat"
           and e["path"].endswith("rel.txt")]
    assert len(cat) == 1
    assert cat[0]["path"] == want or (cat[0]["relative"] and cat[0]["path"] == "./rel.txt")


def test_comm_filter():
    tool = start_tool(["--comm", "proctest-xyz"])
    exe = Path("/tmp") / "proctest-xyz"
    shutil.copy("/bin/true", exe)
    try:
        subprocess.run([str(exe), "arg1"], check=True)
        subprocess.run(["/bin/true"], check=True)
        time.sleep(0.3)
    finally:
        exe.unlink()
    rc, evs, _, _ = stop_tool(tool)
    assert rc == 0
    procs = [e for e in evs if "comm" in e]
    assert procs and all(e["comm"] == "proctest-xyz" for e in procs)
    assert any(e["type"] == "EXEC" and e["argv"] == [str(exe), "arg1"] for e in procs)


def test_bad_usage_and_missing_pid():
    r = subprocess.run([str(TOOL), "--mode", "bogus"], capture_output=True, text=True)
    assert r.returncode != 0 and r.stdout == ""
    r = subprocess.run([str(TOOL), "--pid", "999999999"], capture_output=True, text=True)
    assert r.returncode != 0 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv")
def test_unprivileged_one_line_error():
    r = subprocess.run(
        ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", str(TOOL)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode != 0
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "permission denied" in lines[0] and "root" in lines[0]


def test_threads_are_not_processes(tmp_path):
    script = tmp_path / "s.sh"
    script.write_text(
        f'#!/bin/sh\nwhile [ ! -e "{tmp_path}/go" ]; do sleep 0.02; done\n'
        f'"{PYTHON}" -c \'import threading, os, sys\n'
        f'ts = [threading.Thread(target=lambda: open("/dev/null").close()) for _ in range(4)]\n'
        f'[t.start() for t in ts]; [t.join() for t in ts]\n'
        f'os._exit(5)\'\n'
    )
    script.chmod(0o755)
    target = subprocess.Popen([str(script)])
    tool = start_tool(["--pid", str(target.pid)])
    (tmp_path / "go").write_text("")
    target.wait(timeout=30)
    time.sleep(0.2)
    rc, evs, _, _ = stop_tool(tool)
    assert rc == 0
    py = {e["pid"] for e in evs if e["type"] == "EXEC" and e["comm"].startswith("python")}
    assert len(py) == 1
    pid = py.pop()
    exits = [e for e in evs if e["type"] == "EXIT" and e["pid"] == pid]
    assert len(exits) == 1 and exits[0]["exit_code"] == 5
    assert not [e for e in evs if e["type"] == "FORK" and e["pid"] == pid]
    devnull = [e for e in evs if e["type"] == "FILE_OPEN" and e["pid"] == pid
               and e["path"] == "/dev/null"]
    assert sum(e["count"] for e in devnull) == 4
