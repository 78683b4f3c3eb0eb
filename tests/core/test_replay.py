"""Replay: events -> JSONL -> ReplayRunner -> identical events; recorded pace; raw tool lines."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

from collector import (
    Event,
    FileOpen,
    HttpExchange,
    LlmCall,
    ProcessExec,
    ReplayRunner,
    TlsData,
    TokenUsage,
    ToolCall,
)


def sample_events() -> list[Event]:
    t = 1_700_000_000_000_000_000
    return [
        Event(timestamp_ns=t, source="process", pid=10, tid=10, comm="sh",
              payload=ProcessExec(ppid=1, uid=0, filename="/bin/true", argv=["true", 'a "b"', "c\nd"])),
        Event(timestamp_ns=t + 1, source="process", pid=10, comm="sh",
              payload=FileOpen(path="/etc/\u00e9t\u00e9", ret=3, flags=0o2000000, count=5, aggregate=True)),
        Event(timestamp_ns=t + 2, source="ssl", pid=11, tid=12, comm="curl",
              payload=TlsData(direction="write", conn=0x7F00DEAD, data=b"\x00\xff\xfe GET / \x1b[31m", length=11)),
        Event(timestamp_ns=t + 3, source="http", pid=11, comm="curl",
              payload=HttpExchange(method="POST", url="https://x/v1", status=200,
                                   request_headers=[("a", "1"), ("a", "2")], response_body=b"\x89PNG")),
        Event(timestamp_ns=t + 4, source="llm", pid=11, comm="python3",
              payload=LlmCall(provider="anthropic", model="m", usage=TokenUsage(input_tokens=3),
                              tool_calls=[ToolCall(id="1", name="sh", arguments='{"cmd":"ls"}')])),
    ]


async def test_round_trip_is_identical(tmp_path: Path) -> None:
    events = sample_events()
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"".join(e.to_json() + b"\n" for e in events))
    runner = ReplayRunner.open(path)
    async with runner:
        replayed = [e async for e in runner.events()]
    assert replayed == events
    assert runner.stats.parse_errors == 0


async def test_partial_last_line_is_counted_not_fatal(tmp_path: Path) -> None:
    events = sample_events()
    path = tmp_path / "crashed.jsonl"
    path.write_bytes(b"".join(e.to_json() + b"\n" for e in events) + events[0].to_json()[:40])
    runner = ReplayRunner.open(path)
    async with runner:
        replayed = [e async for e in runner.events()]
    assert replayed == events
    assert runner.stats.parse_errors == 1


async def test_recorded_pace(tmp_path: Path) -> None:
    t0 = 1_700_000_000_000_000_000
    base = sample_events()[0]
    events = [base.model_copy(update={"timestamp_ns": t0 + i * 100_000_000}) for i in range(6)]
    path = tmp_path / "paced.jsonl"
    path.write_bytes(b"".join(e.to_json() + b"\n" for e in events))
    arrivals = []
    runner = ReplayRunner.open(path, speed=2.0)  # 0.5 s of recording in 0.25 s
    start = time.monotonic()
    async with runner:
        async for _ in runner.events():
            arrivals.append(time.monotonic() - start)
    assert len(arrivals) == 6
    assert 0.2 <= arrivals[-1] <= 1.0
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert all(g >= 0.03 for g in gaps), gaps


async def test_raw_process_tool_lines_replay(tmp_path: Path) -> None:
    path = tmp_path / "raw.jsonl"
    path.write_bytes(
        b'{"type":"EXEC","ts_ns":1000,"pid":5,"tid":5,"ppid":1,"uid":0,"comm":"true","filename":"/bin/true","argv":["true","x"],"argv_truncated":false}\n'
        b'{"type":"EXIT","ts_ns":2000,"pid":5,"tid":5,"ppid":1,"uid":0,"comm":"true","exit_code":3,"signal":0,"core_dumped":false,"duration_ns":1000}\n'
        b'{"type":"SSL_DATA","ts_ns":3000,"pid":6,"tid":6,"uid":0,"comm":"curl","dir":"write","func":"SSL_write","conn":1,"fd":3,"call_id":1,"latency_ns":5,"len":6,"seq":0,"offset":0,"last":false,"truncated":0,"data":"aGVs"}\n'
        b'{"type":"SSL_DATA","ts_ns":3000,"pid":6,"tid":6,"uid":0,"comm":"curl","dir":"write","func":"SSL_write","conn":1,"fd":3,"call_id":1,"latency_ns":5,"len":6,"seq":1,"offset":3,"last":true,"truncated":0,"data":"bG8h"}\n'
        b'{"type":"LOST","ts_ns":4000,"count":7,"bytes":100,"total":7}\n'
    )
    runner = ReplayRunner.open(path)
    async with runner:
        out = [e async for e in runner.events()]
    kinds = [e.kind for e in out]
    assert kinds == ["exec", "exit", "tls_data", "lost"]
    assert out[0].payload.argv == ["true", "x"]  # type: ignore[union-attr]
    assert out[1].payload.exit_code == 3  # type: ignore[union-attr]
    assert out[2].payload.data == b"hello!"  # type: ignore[union-attr]
    assert runner.stats.lost_events == 7
    assert runner.stats.tls_bytes == 6
    assert out[0].timestamp_ns > 1_600_000_000_000_000_000  # converted from boot time to wall clock

    # the same lines written again with other spacing (json.dumps' default, indentation-free)
    spaced = tmp_path / "spaced.jsonl"
    spaced.write_text("".join(json.dumps(json.loads(line)) + "\n" for line in path.read_text().splitlines()))
    assert spaced.read_text().startswith('{"type": "EXEC", ')
    again = ReplayRunner.open(spaced)
    async with again:
        out2 = [e async for e in again.events()]
    assert [(e.kind, e.source, e.payload) for e in out2] == [(e.kind, e.source, e.payload) for e in out]
    assert again.stats.parse_errors == 0 and again.stats.lost_events == 7


async def test_stop_interrupts_paced_replay(tmp_path: Path) -> None:
    t0 = 1_700_000_000_000_000_000
    base = sample_events()[0]
    events = [base.model_copy(update={"timestamp_ns": t0 + i * 1_000_000_000}) for i in range(20)]
    path = tmp_path / "slow.jsonl"
    path.write_bytes(b"".join(e.to_json() + b"\n" for e in events))
    runner = ReplayRunner.open(path, speed=1.0)  # 19 s of recording
    got = 0
    start = time.monotonic()
    async with runner:
        async for _ in runner.events():
            got += 1
            if got == 2:
                await runner.stop()
    assert got == 2
    assert time.monotonic() - start < 5


async def test_unfinished_chunked_call_with_a_bad_field_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(
        b'{"type":"SSL_DATA","ts_ns":3000,"pid":6,"tid":1.5,"uid":0,"comm":"curl","dir":"write","func":"SSL_write","conn":1,"fd":3,"call_id":1,"latency_ns":5,"len":6,"seq":0,"offset":0,"last":false,"truncated":0,"data":"aGVs"}\n'
    )
    runner = ReplayRunner.open(path)
    async with runner:
        out = [e async for e in runner.events()]
    assert out == []
    assert runner.stats.parse_errors == 1
