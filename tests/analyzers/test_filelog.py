from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from collector.framework.analyzers.filelog import FileLogAnalyzer
from collector.framework.core.errors import ConfigError
from collector.framework.core.events import Event, ProcessExit, ProcessFork, TlsData
from collector.framework.runners.replay import ReplayRunner


def fork(i: int) -> Event:
    return Event(
        timestamp_ns=1_700_000_000_000_000_000 + i,
        source="t",
        pid=i,
        comm="c",
        payload=ProcessFork(child_pid=i),
    )


def read_all(path: Path, keep: int, compress: bool) -> list[bytes]:
    """Lines of FILE.keep ... FILE.1, FILE in that order."""
    lines: list[bytes] = []
    for n in range(keep, 0, -1):
        p = Path(f"{path}.{n}" + (".gz" if compress else ""))
        if p.exists():
            data = gzip.decompress(p.read_bytes()) if compress else p.read_bytes()
            assert data.endswith(b"\n")
            lines.extend(data.splitlines())
    if path.exists():
        lines.extend(path.read_bytes().splitlines())
    return lines


def test_lines_mode_and_replay(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text("old content\n")
    path.chmod(0o644)
    log = FileLogAnalyzer(path)
    evs = [fork(i) for i in range(10)]
    assert log.process_batch(evs) is evs
    log.finish()
    log.close()
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert [Event.from_json(x) for x in path.read_bytes().splitlines()] == evs
    assert log.stats.lines == 10


def test_new_file_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        log = FileLogAnalyzer(tmp_path / "new.jsonl")
        log.close()
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "new.jsonl").st_mode & 0o777 == 0o600


def test_bad_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot open log file"):
        FileLogAnalyzer(tmp_path / "missing-dir" / "log.jsonl")


def test_buffered_until_tick(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    log = FileLogAnalyzer(path)
    log.process_batch([fork(1), fork(2)])
    assert path.read_bytes() == b""  # buffered
    log.tick(time.time_ns())
    assert len(path.read_bytes().splitlines()) == 2
    log.process(fork(3))
    log.close()
    assert len(path.read_bytes().splitlines()) == 3


def test_flushes_by_itself_after_a_second(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "log.jsonl"
    log = FileLogAnalyzer(path)
    log.process(fork(1))
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + 1.5)
    log.process(fork(2))
    assert len(path.read_bytes().splitlines()) == 2
    log.close()


def test_events_after_close_are_appended(tmp_path: Path) -> None:
    """Ctrl-C closes the chain before other stages' final flush: late events still land."""
    path = tmp_path / "log.jsonl"
    log = FileLogAnalyzer(path)
    log.process(fork(1))
    log.close()
    log.process(fork(2))
    log.finish()
    assert [Event.from_json(x).pid for x in path.read_bytes().splitlines()] == [1, 2]


@pytest.mark.parametrize("compress", [False, True])
def test_rotation_keeps_every_line_in_order_at_100k_events_per_second(
    tmp_path: Path, compress: bool
) -> None:
    path = tmp_path / "log.jsonl"
    log = FileLogAnalyzer(path, rotate_size=256 * 1024, rotate_keep=1000, compress=compress)
    total, batch = 100_000, 1000
    evs = [fork(i) for i in range(total)]
    start = time.monotonic()
    next_tick = start + 1.0
    for i in range(0, total, batch):
        # deliver at 100,000 events/s: batch i is due at start + i / 100_000
        due = start + i / 100_000
        if (delay := due - time.monotonic()) > 0:
            time.sleep(delay)
        log.process_batch(evs[i : i + batch])
        if time.monotonic() >= next_tick:
            log.tick(time.time_ns())
            next_tick += 1.0
    log.finish()
    log.close()
    elapsed = time.monotonic() - start
    assert elapsed < 3.0, f"the log could not keep up with 100k events/s: {elapsed:.2f}s"
    assert log.stats.rotations > 10
    lines = read_all(path, 1000, compress)
    assert len(lines) == total
    assert [Event.from_json(x).timestamp_ns for x in lines] == [e.timestamp_ns for e in evs]
    for n in range(1, log.stats.rotations + 1):
        rotated = Path(f"{path}.{n}" + (".gz" if compress else ""))
        assert os.stat(rotated).st_mode & 0o777 == 0o600
        if not compress:
            assert rotated.stat().st_size <= 256 * 1024
    assert not list(tmp_path.glob("*.tmp"))


def test_rotate_keep_limits_files(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    log = FileLogAnalyzer(path, rotate_size=2000, rotate_keep=2)
    for i in range(200):
        log.process(fork(i))
        log.flush()
    log.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["log.jsonl", "log.jsonl.1", "log.jsonl.2"]
    pids = [Event.from_json(x).pid for x in read_all(path, 2, False)]
    assert pids == list(range(pids[0], 200))  # the newest lines, contiguous


def test_line_bigger_than_rotate_size_is_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    log = FileLogAnalyzer(path, rotate_size=100, rotate_keep=5)
    big = Event(
        timestamp_ns=1,
        source="t",
        payload=TlsData(direction="read", conn=1, data=b"x" * 500, length=500),
    )
    log.process_batch([fork(1), big, fork(2)])
    log.close()
    lines = read_all(path, 5, False)
    assert [Event.from_json(x) for x in lines] == [fork(1), big, fork(2)]


@pytest.fixture
def tiny_fs(tmp_path: Path):  # type: ignore[no-untyped-def]
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {proc.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_is_reported_once_and_the_stream_goes_on(tiny_fs: Path) -> None:
    path = tiny_fs / "log.jsonl"
    errors: list[str] = []
    log = FileLogAnalyzer(path, on_error=errors.append, buffer_bytes=4096)
    passed = 0
    for i in range(5000):  # ~700 KB of lines into 64 KB
        passed += len(log.process_batch([fork(i)]))
    log.finish()
    log.close()
    assert passed == 5000  # every event went on to the next stages
    assert len(errors) == 1
    assert "no space left on the device" in errors[0] and str(path) in errors[0]
    data = path.read_bytes()
    assert data.endswith(b"\n")  # cut back to the last whole line
    lines = data.splitlines()
    assert [Event.from_json(x).pid for x in lines] == list(range(len(lines)))
    assert log.stats.lines == len(lines)
    assert log.stats.dropped == 5000 - len(lines)
    assert log.stats.error


def test_disk_full_through_the_cli(tiny_fs: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(fork(i).to_json() + b"\n" for i in range(5000)))
    out = tiny_fs / "out.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "collector.cli.main", "replay", str(src), "-o", str(out), "--json"],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.count(b"\n") == 5000  # the console got everything
    err = proc.stderr.decode()
    assert err.count("no space left on the device") == 2  # the report, and the summary
    assert "events not written" in err
    lines = out.read_bytes().splitlines()
    assert all(Event.from_json(x) for x in lines)


def test_replay_tolerates_a_partial_last_line(tmp_path: Path) -> None:
    import anyio

    path = tmp_path / "crashed.jsonl"
    evs = [fork(i) for i in range(5)]
    path.write_bytes(b"".join(e.to_json() + b"\n" for e in evs) + fork(5).to_json()[:30])

    async def collect() -> tuple[list[Event], int]:
        runner = ReplayRunner.open(path)
        got = [e async for e in runner.events()]
        return got, runner.stats.parse_errors

    got, errors = anyio.run(collect)
    assert got == evs
    assert errors == 1


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_flushes_and_syncs_the_log(tmp_path: Path, sig: int) -> None:
    src = tmp_path / "in.jsonl"
    # events 0.2 s apart, replayed at recorded pace: the run takes ~20 s unless stopped
    src.write_bytes(
        b"".join(
            Event(
                timestamp_ns=1_700_000_000_000_000_000 + i * 200_000_000,
                source="t",
                pid=i,
                payload=ProcessExit(exit_code=0),
            ).to_json()
            + b"\n"
            for i in range(100)
        )
    )
    out = tmp_path / f"out-{uuid.uuid4().hex}.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "collector.cli.main",
            "replay",
            str(src),
            "--speed",
            "1",
            "-o",
            str(out),
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(2.5)
    assert proc.poll() is None
    # nothing forced a flush yet except the 1 s tick: lines are whole either way
    proc.send_signal(sig)
    sent = time.monotonic()
    _, err = proc.communicate(timeout=20)
    assert time.monotonic() - sent < 5, "the signal did not stop the run promptly"
    assert proc.returncode in (0, 130), err.decode()
    lines = out.read_bytes().splitlines()
    assert out.read_bytes().endswith(b"\n")
    pids = [Event.from_json(x).pid for x in lines]
    assert len(pids) >= 5 and pids == list(range(len(pids)))
    assert f"log file {out}: {len(pids)} lines" in err.decode()
    assert "(interrupted)" in err.decode()
