"""A small recorded session for the TUI tests: a process tree, LLM calls, HTTP, hostile strings."""

from __future__ import annotations

from pathlib import Path

from collector.framework.core.events import (
    Event,
    FileOpen,
    HttpExchange,
    LlmCall,
    ProcessExec,
    ProcessExit,
    ProcessFork,
    SseMessage,
    TlsData,
    TokenUsage,
    ToolCall,
    ToolLost,
    ToolStatus,
)

T0 = 1_700_000_000_000_000_000
MS = 1_000_000

HOSTILE_ANSI = "\x1b[31mRED\x1b[0m\x1b]0;pwned\x07"
HOSTILE_MARKUP = "[bold red]x[/]"
HOSTILE_CR = "fine\rEVIL"


def ev(t_ms: int, pid: int, comm: str, payload: object, source: str = "process") -> Event:
    return Event(timestamp_ns=T0 + t_ms * MS, source=source, pid=pid, comm=comm, payload=payload)  # type: ignore[arg-type]


def session_events() -> list[Event]:
    out: list[Event] = [
        ev(0, 100, "agent", ProcessExec(ppid=1, uid=1000, filename="/usr/bin/agent", argv=["agent", "--task", "fix bug"])),
        ev(5, 100, "agent", ProcessFork(child_pid=101)),
        ev(6, 101, "bash", ProcessExec(ppid=100, uid=1000, filename="/bin/bash", argv=["bash", "-c", "ls -la"])),
        ev(7, 101, "bash", ProcessFork(child_pid=102)),
        ev(8, 102, "ls", ProcessExec(ppid=101, uid=1000, filename="/bin/ls", argv=["ls", "-la", HOSTILE_ANSI])),
        ev(20, 102, "ls", ProcessExit(ppid=101, exit_code=0, duration_ns=12 * MS)),
        ev(30, 101, "bash", ProcessExit(ppid=100, exit_code=2, duration_ns=24 * MS)),
        ev(31, 100, "agent", ProcessFork(child_pid=103)),
        ev(32, 103, "curl", ProcessExec(ppid=100, uid=1000, filename="/usr/bin/curl", argv=["curl", HOSTILE_MARKUP, HOSTILE_CR])),
        ev(40, 103, "curl", ProcessExit(ppid=100, exit_code=0, signal=9, duration_ns=8 * MS)),
        ev(41, 100, "agent", ProcessFork(child_pid=104)),
        ev(42, 104, "python3", ProcessExec(ppid=100, uid=1000, filename="/usr/bin/python3", argv=["python3", "tool.py"])),
    ]
    for i in range(3):
        t = 100 + i * 100
        out.append(ev(t, 100, "agent", TlsData(direction="write", conn=7, data=b"POST /v1/messages HTTP/1.1\r\n", length=29), "ssl"))
        out.append(
            ev(
                t + 50,
                100,
                "agent",
                HttpExchange(
                    conn=7,
                    method="POST",
                    url=f"https://api.anthropic.com/v1/messages?n={i}",
                    host="api.anthropic.com",
                    path="/v1/messages",
                    status=200,
                    request_headers=[("content-type", "application/json"), ("x-evil", HOSTILE_ANSI)],
                    response_headers=[("content-type", "text/event-stream")],
                    request_body=b'{"model":"claude-sonnet-4"}',
                    response_body=b"event: message_start\ndata: {}\n\n",
                    request_body_size=27,
                    response_body_size=30,
                    request_start_ns=T0 + t * MS,
                    end_ns=T0 + (t + 45) * MS,
                ),
                "ssl",
            )
        )
        out.append(ev(t + 51, 100, "agent", SseMessage(conn=7, data="{}"), "ssl"))
        out.append(
            ev(
                t + 52,
                100,
                "agent",
                LlmCall(
                    provider="anthropic",
                    endpoint="messages",
                    model=f"claude-sonnet-4-{i}",
                    stream=True,
                    status=200,
                    system=f"You are a helpful agent. {HOSTILE_MARKUP}",
                    messages=[
                        {"role": "user", "content": f"question {i}: list files {HOSTILE_ANSI}"},
                        {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
                    ],
                    response_text=f"answer number {i}\nsecond line {HOSTILE_CR}",
                    thinking=f"thinking about {i}",
                    tool_calls=[ToolCall(id=f"toolu_{i}", name="bash", arguments='{"cmd": "ls -la"}')],
                    usage=TokenUsage(input_tokens=1000 + i, output_tokens=200 + i),
                    request_start_ns=T0 + t * MS,
                    ttft_ns=300 * MS,
                    duration_ns=1500 * MS,
                    host="api.anthropic.com",
                    path="/v1/messages",
                ),
                "llm",
            )
        )
    out.append(
        ev(
            450,
            100,
            "agent",
            HttpExchange(
                method="GET",
                url="https://example.com/" + HOSTILE_MARKUP,
                host="example.com",
                path="/" + HOSTILE_MARKUP,
                status=404,
                request_start_ns=T0 + 450 * MS,
                end_ns=T0 + 460 * MS,
            ),
            "ssl",
        )
    )
    out.append(
        ev(
            500,
            100,
            "agent",
            LlmCall(
                provider="openai",
                model="gpt-4o",
                status=429,
                error="rate limited " + HOSTILE_ANSI,
                error_type="rate_limit_error",
                usage=TokenUsage(input_tokens=50),
                request_start_ns=T0 + 500 * MS,
                duration_ns=80 * MS,
            ),
            "llm",
        )
    )
    out.append(ev(510, 0, "", ToolLost(count=7, total=7), "ssl"))
    out.append(ev(520, 0, "", ToolStatus(status="runner_exited", message="done", info={"runner": "ssl"}), "collector"))
    return out


def write_session(path: Path, events: list[Event] | None = None) -> Path:
    with path.open("wb") as f:
        for e in events if events is not None else session_events():
            f.write(e.to_json() + b"\n")
    return path


def big_session(n: int, spacing_ns: int = 20_000) -> list[Event]:
    """`n` events shaped like a busy capture: mostly TLS data and file opens, with processes
    starting and exiting, HTTP exchanges and LLM calls; 20 µs apart (50,000 events/s) by default."""
    base = session_events()
    llm = next(e for e in base if e.kind == "llm_call")
    http = next(e for e in base if e.kind == "http_exchange")
    out: list[Event] = []
    pid = 1000
    for i in range(n):
        t = T0 + i * spacing_ns
        r = i % 100
        if r == 0:
            pid += 1
            e = Event(timestamp_ns=t, source="process", pid=pid, comm="worker",
                      payload=ProcessExec(ppid=100, uid=0, filename="/bin/w", argv=["w", str(i)]))
        elif r == 50:
            e = Event(timestamp_ns=t, source="process", pid=pid, comm="worker",
                      payload=ProcessExit(ppid=100, exit_code=i % 3))
        elif r == 10:
            e = http.model_copy(update={"timestamp_ns": t})
        elif r == 20:
            e = llm.model_copy(update={"timestamp_ns": t})
        elif r < 40:
            e = Event(timestamp_ns=t, source="process", pid=pid, comm="worker",
                      payload=FileOpen(path=f"/usr/lib/x{r}.so", ret=3))
        else:
            e = Event(timestamp_ns=t, source="ssl", pid=100, comm="agent",
                      payload=TlsData(direction="read", conn=7, data=b"data: {\"x\": 1}\n\n", length=16))
        out.append(e)
    return out
