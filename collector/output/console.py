"""One human-readable line per event, with every captured string escaped."""

from __future__ import annotations

import json
import time

from ..framework.core.events import (
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
    ToolLost,
    ToolStatus,
)
from .escape import escape_bytes, escape_text

PREVIEW = 120


def _time(ts_ns: int) -> str:
    secs, ns = divmod(ts_ns, 1_000_000_000)
    return time.strftime("%H:%M:%S", time.localtime(secs)) + f".{ns // 1_000_000:03d}"


def _v(value: object) -> str:
    return "-" if value is None else str(value)


def _ms(ns: int | None) -> str:
    return "-" if ns is None else f"{ns / 1e6:.1f}ms"


def summarize(event: Event) -> str:
    """What happened, in a few words (already escaped)."""
    p = event.payload
    if isinstance(p, ProcessExec):
        args = " ".join(escape_text(a, 200) for a in p.argv)
        more = " …(argv truncated)" if p.argv_truncated else ""
        return f"EXEC  {escape_text(p.filename)} [{args}]{more} ppid={p.ppid} uid={p.uid}"
    if isinstance(p, ProcessExit):
        how = f"signal {p.signal}" if p.signal else f"code {p.exit_code}"
        core = " (core dumped)" if p.core_dumped else ""
        return f"EXIT  {how}{core} after {_ms(p.duration_ns)}"
    if isinstance(p, ProcessFork):
        return f"FORK  child {p.child_pid}"
    if isinstance(p, FileOpen):
        result = f"fd={p.ret}" if p.ret >= 0 else f"error={-p.ret}"
        count = f" x{p.count}" if p.aggregate or p.count > 1 else ""
        rel = " (relative)" if p.relative else ""
        return f"OPEN  {escape_text(p.path, 300)}{rel} {result} flags={p.flags:#o}{count}"
    if isinstance(p, TlsData):
        arrow = "->" if p.direction == "write" else "<-"
        trunc = f" (+{p.truncated} B truncated)" if p.truncated else ""
        peer = f" {escape_text(p.peer, 60)}" if p.peer else ""
        return f"TLS {arrow} conn={p.conn:#x}{peer} {p.length} B{trunc} {escape_bytes(p.data, PREVIEW)}"
    if isinstance(p, TlsHandshake):
        return f"TLS handshake conn={p.conn:#x} {_ms(p.latency_ns)} ret={p.ret}"
    if isinstance(p, TlsClose):
        return f"TLS close conn={p.conn:#x} ({escape_text(p.func)})"
    if isinstance(p, HttpExchange):
        status = p.status if p.status is not None else "---"
        why = f" ({escape_text(p.error, 80)})" if p.error else ""
        flags = "".join([" partial" if p.partial else "", "" if p.complete else f" incomplete{why}"])
        peer = f" ({escape_text(p.peer, 60)})" if p.peer else ""
        return (
            f"HTTP  {escape_text(p.method)} {escape_text(p.url, 200)}{peer} -> {status} "
            f"req={p.request_body_size} B resp={p.response_body_size} B "
            f"{_ms(p.end_ns - p.request_start_ns if p.end_ns else None)}{flags}"
        )
    if isinstance(p, SseMessage):
        return f"SSE   {escape_text(p.event)} {escape_text(p.data, PREVIEW)}"
    if isinstance(p, LlmCall):
        u = p.usage
        err = f" error={escape_text(p.error, 80)}" if p.error else ""
        text = escape_text(p.response_text, 80)
        tools = (
            f" tools={','.join(escape_text(t.name) for t in p.tool_calls)}" if p.tool_calls else ""
        )
        return (
            f"LLM   {escape_text(p.provider)} {escape_text(p.model)} status={_v(p.status)} "
            f"in={_v(u.input_tokens)} out={_v(u.output_tokens)} ttft={_ms(p.ttft_ns)} "
            f"dur={_ms(p.duration_ns)}{tools}{err} {text}"
        )
    if isinstance(p, ToolLost):
        return f"LOST  {p.count} events ({p.bytes} B) dropped by the kernel, {p.total} in all"
    if isinstance(p, ToolStatus):
        return f"{escape_text(p.status.upper())} {escape_text(_status_detail(event.source, p), 300)}".rstrip()
    if isinstance(p, Custom):
        data = json.dumps(p.data, ensure_ascii=False, default=str) if p.data else ""
        return f"CUSTOM {escape_text(p.name)} {escape_text(data, PREVIEW)}".rstrip()
    return f"{escape_text(p.kind.upper())} {escape_text(getattr(p, 'name', ''))}"


def _status_detail(source: str, p: ToolStatus) -> str:
    """The few facts worth a line from a tool's or runner's own report."""
    info = p.info
    if p.status == "start":
        filters = info.get("filters") or {}
        shown = {k: v for k, v in filters.items() if v not in (None, [], "")}
        return f"{info.get('tool', source)} {info.get('version', '')} attached {shown}".strip()
    if p.status == "attach":
        return f"{source}: probes on {info.get('path', '?')} ({info.get('reason', '')})"
    if p.status == "summary":
        extra = f", {info['lost']} lost" if info.get("lost") else ""
        return f"{source}: {info.get('events', 0)} events{extra}"
    if p.status.startswith("runner_"):
        return f"{info.get('runner', source)} {p.message}".strip()
    return p.message


def format_event(event: Event) -> str:
    comm = escape_text(event.comm, 16)
    return f"{_time(event.timestamp_ns)} {event.pid:>7} {comm:<15} {summarize(event)}"
