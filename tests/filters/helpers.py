from __future__ import annotations

from typing import Any

from collector.framework.core.events import (
    Custom,
    Event,
    FileOpen,
    HttpExchange,
    LlmCall,
    ProcessExec,
    ProcessExit,
    ProcessFork,
    SseMessage,
    TlsClose,
    TlsData,
    TlsHandshake,
    TokenUsage,
    ToolCall,
    ToolLost,
    ToolStatus,
)


def ev(payload: Any, *, pid: int = 100, comm: str = "python3", source: str = "test") -> Event:
    return Event(
        timestamp_ns=1_700_000_000_000_000_000, source=source, pid=pid, comm=comm, payload=payload
    )


EXEC = ev(
    ProcessExec(ppid=1, uid=1000, filename="/usr/bin/curl", argv=["curl", "-s", "--api-key", "x"]),
    comm="curl",
)
EXIT = ev(ProcessExit(exit_code=3, signal=0, duration_ns=5_000_000), comm="curl")
FORK = ev(ProcessFork(ppid=1, child_pid=101))
OPEN = ev(FileOpen(path="/proc/self/status", ret=3, flags=0))
OPEN_ERR = ev(FileOpen(path="/etc/shadow", ret=-13))
TLS = ev(
    TlsData(direction="write", conn=0x1234, data=b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", length=24)
)
TLS_READ = ev(
    TlsData(direction="read", conn=0x1234, data=b"HTTP/1.1 200 OK\r\n\xff\xfe", length=19)
)
HANDSHAKE = ev(TlsHandshake(conn=0x1234, latency_ns=1000))
CLOSE = ev(TlsClose(conn=0x1234, func="SSL_free"))
HTTP = ev(
    HttpExchange(
        method="POST",
        url="https://api.anthropic.com/v1/messages?beta=true",
        host="api.anthropic.com",
        path="/v1/messages",
        query="beta=true",
        status=529,
        request_headers=[("Content-Type", "application/json"), ("X-Trace", "a"), ("x-trace", "b")],
        response_headers=[("content-type", "text/event-stream")],
        request_body=b'{"model":"claude"}',
        request_body_size=18,
    )
)
HTTP_NORESP = ev(HttpExchange(method="GET", url="https://x/", status=None))
SSE = ev(SseMessage(event="content_block_delta", data='{"delta":"hi"}', index=3))
LLM = ev(
    LlmCall(
        provider="anthropic",
        model="claude-sonnet-4",
        stream=True,
        status=200,
        response_text="Hello",
        tool_calls=[ToolCall(name="bash"), ToolCall(name="read_file")],
        usage=TokenUsage(input_tokens=1200, output_tokens=30),
    )
)
LOST = ev(ToolLost(count=5, bytes=100))
STATUS = ev(ToolStatus(status="started", message="attached 3 probes"))
CUSTOM = ev(Custom(name="mine", data={"a": {"b": 7}, "s": "text"}))

ALL = [
    EXEC,
    EXIT,
    FORK,
    OPEN,
    OPEN_ERR,
    TLS,
    TLS_READ,
    HANDSHAKE,
    CLOSE,
    HTTP,
    HTTP_NORESP,
    SSE,
    LLM,
    LOST,
    STATUS,
    CUSTOM,
]
