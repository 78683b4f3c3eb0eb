"""The real CLI (`collector replay FILE`) on crafted logs: escaping, redaction, filters, -o."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from collector.framework.core.events import Event, ProcessExec, SseMessage, TlsData, ToolStatus
from tests.output.redact_corpus import SECRETS, events, leaks

HOSTILE = "\x1b[31mRED\x1b[0m \x1b]0;title\x07 \r overwrite [bold red]x[/] [link=http://e.vil]y[/link] \x9b2J \u202eevil"


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(
        [sys.executable, "-m", "collector.cli.main", *args],
        capture_output=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "", "TERM": "xterm-256color"},
    )
    if check:
        assert proc.returncode == 0, proc.stderr.decode()
    return proc


def write_log(path: Path, evs: list[Event]) -> Path:
    path.write_bytes(b"".join(e.to_json() + b"\n" for e in evs))
    return path


def hostile_events() -> list[Event]:
    def ev(p: object, ts: int, comm: str = "py\x1b[2Jthon") -> Event:
        return Event(
            timestamp_ns=1_700_000_000_000_000_000 + ts, source="test", pid=7, comm=comm, payload=p
        )  # type: ignore[arg-type]

    return [
        ev(
            TlsData(direction="read", conn=1, data=HOSTILE.encode(), length=len(HOSTILE.encode())),
            1,
        ),
        ev(ProcessExec(ppid=1, uid=0, filename="/bin/\x1b[1msh", argv=["sh", "-c", HOSTILE]), 2),
        ev(SseMessage(data=HOSTILE), 3),
        ev(ToolStatus(status="info", message=HOSTILE), 4),
    ]


def _no_raw_controls(text: str) -> None:
    for bad in ("\x1b", "\r", "\x07", "\x9b", "\u202e"):
        assert bad not in text, repr(bad)


def test_human_output_shows_hostile_text_literally(tmp_path: Path) -> None:
    log = write_log(tmp_path / "in.jsonl", hostile_events())
    proc = run_cli("replay", str(log))
    out = proc.stdout.decode()
    _no_raw_controls(out)
    lines = out.splitlines()
    assert len(lines) == 4
    assert "\\x1b[31mRED\\x1b[0m" in out and "\\r overwrite" in out and "\\x07" in out
    assert "[bold red]x[/]" in out and "[link=http://e.vil]y[/link]" in out  # markup printed as is
    assert "\\x9b2J" in out and "\\u202eevil" in out
    assert "py\\x1b[2Jthon" in out
    _no_raw_controls(proc.stderr.decode())


def test_json_output_is_escaped_and_round_trips(tmp_path: Path) -> None:
    evs = hostile_events()
    log = write_log(tmp_path / "in.jsonl", evs)
    proc = run_cli("replay", str(log), "--json")
    out = proc.stdout.decode()
    _no_raw_controls(out)
    lines = out.splitlines()
    assert [Event.from_json(line) for line in lines] == evs
    assert all(json.loads(line) for line in lines)
    assert "[bold red]x[/]" in out


def test_quiet_prints_only_the_summary(tmp_path: Path) -> None:
    log = write_log(tmp_path / "in.jsonl", hostile_events())
    proc = run_cli("replay", str(log), "--quiet")
    assert proc.stdout == b""
    err = proc.stderr.decode()
    assert "collector: 4 events" in err and "exec=1" in err and "tls_data=1" in err
    assert "redacted: 0 secrets" in err and "lost: 0 events" in err and "parse errors: 0" in err


@pytest.mark.parametrize("mode", [[], ["--json"]])
def test_no_secret_reaches_stdout_or_the_log_file(tmp_path: Path, mode: list[str]) -> None:
    log = write_log(tmp_path / "in.jsonl", events())
    out_file = tmp_path / "out.jsonl"
    proc = run_cli("replay", str(log), "-o", str(out_file), *mode)
    stdout = proc.stdout.decode()
    assert stdout.count("\n") == len(events())
    assert leaks(stdout) == []
    assert leaks(proc.stderr.decode()) == []
    written = out_file.read_text()
    assert leaks(written) == []
    # bytes are base64 in JSON: check the decoded events too
    decoded = [Event.from_json(line) for line in written.splitlines()]
    assert len(decoded) == len(events())
    assert leaks(repr([e.model_dump() for e in decoded])) == []
    if mode:
        assert leaks(repr([Event.from_json(x).model_dump() for x in stdout.splitlines()])) == []
    assert "redacted:" in proc.stderr.decode()
    assert os.stat(out_file).st_mode & 0o777 == 0o600


def test_no_redact_warns_and_passes_secrets(tmp_path: Path) -> None:
    log = write_log(tmp_path / "in.jsonl", events())
    proc = run_cli("replay", str(log), "--json", "--no-redact")
    err = proc.stderr.decode()
    assert "warning: redaction is off" in err
    assert "redaction: OFF" in err
    assert SECRETS["anthropic"] in proc.stdout.decode()


def test_filters_and_their_counts(tmp_path: Path) -> None:
    log = write_log(tmp_path / "in.jsonl", events())
    proc = run_cli(
        "replay", str(log), "--json",
        "--exclude", 'kind = "tls_data"',
        "--include", 'kind in ("exec", "http_exchange", "llm_call")',
        "--exclude", 'http.request.method = "POST"',
    )  # fmt: skip
    kinds = [Event.from_json(line).kind for line in proc.stdout.decode().splitlines()]
    assert kinds == ["llm_call", "exec"]
    err = proc.stderr.decode()
    assert 'exclude kind = "tls_data": passed 6, dropped 2' in err
    assert 'include kind in ("exec", "http_exchange", "llm_call"): passed 3, dropped 3' in err
    assert 'exclude http.request.method = "POST": passed 2, dropped 1' in err
    assert "filtered out: 6 events" in err


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("pid >", "column 6: expected a value"),
        ("nosuch = 1", "unknown field 'nosuch'"),
        ("comm ~ '('", "valid regular expression"),
    ],
)
def test_bad_filter_is_rejected_before_anything_starts(
    tmp_path: Path, expr: str, fragment: str
) -> None:
    log = write_log(tmp_path / "in.jsonl", events())
    out_file = tmp_path / "never.jsonl"
    proc = run_cli("replay", str(log), "--include", expr, "-o", str(out_file), check=False)
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert "collector: error: bad filter expression" in err and fragment in err
    assert proc.stdout == b""
    assert not out_file.exists()


def test_every_command_has_the_output_options() -> None:
    for cmd in ("replay", "process", "ssl"):
        help_text = run_cli(cmd, "--help").stdout.decode()
        for opt in (
            "--include",
            "--exclude",
            "--no-redact",
            "--output",
            "--rotate-size",
            "--rotate-keep",
            "--rotate-compress",
            "--json",
            "--quiet",
        ):
            assert opt in help_text, (cmd, opt)


def test_rotate_options_need_output(tmp_path: Path) -> None:
    log = write_log(tmp_path / "in.jsonl", events())
    proc = run_cli("replay", str(log), "--rotate-size", "1M", check=False)
    assert proc.returncode == 1 and "need -o FILE" in proc.stderr.decode()
    proc = run_cli(
        "replay", str(log), "-o", str(tmp_path / "x"), "--rotate-size", "lots", check=False
    )
    assert proc.returncode == 2 and "expected a size" in proc.stderr.decode()
