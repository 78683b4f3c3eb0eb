"""Full-screen detail views (LLM call, HTTP exchange, process, any event) as escaped rich Text.

Captured strings only ever enter rich as plain `Text` content, after `escape_text` (per line, so
newlines stay newlines while CR, ESC and other control characters are shown as `\\r`, `\\x1b`).
"""

from __future__ import annotations

from typing import Any

import orjson
from rich.text import Text

from ..framework.core.events import Event, HttpExchange, LlmCall, TlsData
from ..framework.core.process_tree import ProcessNode
from ..output.escape import escape_text
from .fmt import fmt_duration, fmt_time, signal_name
from .state import DataView
from .ui import Detail

MAX_SECTION_CHARS = 64_000
MAX_BODY_BYTES = 16_384


def add_block(out: Text, text: str, style: str = "", limit: int = MAX_SECTION_CHARS) -> None:
    """Append captured multi-line text, every line escaped."""
    cut = len(text) > limit
    if cut:
        text = text[:limit]
    for line in text.split("\n"):
        out.append(escape_text(line), style=style)
        out.append("\n")
    if cut:
        out.append(f"… ({limit} characters shown)\n", style="dim")


def heading(out: Text, title: str) -> None:
    out.append("\n")
    out.append(f"── {title} ", style="bold")
    out.append("─" * 20 + "\n", style="dim")


def field(out: Text, name: str, value: Any) -> None:
    if value in (None, "", [], {}):
        return
    out.append(f"{name}: ", style="bold")
    out.append(escape_text(str(value), 2000))
    out.append("\n")


def _dumps(obj: Any) -> str:
    try:
        return orjson.dumps(obj, option=orjson.OPT_INDENT_2, default=str).decode()
    except TypeError:
        return repr(obj)


def content_text(obj: Any) -> str:
    """The readable text of a message's content, whatever the provider's shape."""
    if obj is None:
        return ""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, list):
        return "\n".join(t for t in (content_text(o) for o in obj) if t)
    if isinstance(obj, dict):
        kind = obj.get("type")
        if isinstance(obj.get("text"), str):
            return str(obj["text"])
        if kind in ("tool_use", "function_call") or "functionCall" in obj:
            call = obj.get("functionCall", obj)
            args = call.get("input", call.get("arguments", call.get("args")))
            return f"[tool call {call.get('name', '')}] {_dumps(args)}"
        if kind in ("tool_result", "function_call_output") or "functionResponse" in obj:
            inner = obj.get("content", obj.get("output", obj.get("functionResponse")))
            return f"[tool result {obj.get('tool_use_id', obj.get('call_id', ''))}]\n{content_text(inner)}"
        if "thinking" in obj:
            return f"[thinking] {obj['thinking']}"
        for key in ("content", "parts"):
            if key in obj:
                return content_text(obj[key])
        return _dumps(obj)
    return str(obj)


def _message(out: Text, i: int, msg: Any) -> None:
    if not isinstance(msg, dict):
        out.append(f"[{i}] ", style="bold")
        add_block(out, content_text(msg))
        return
    role = str(msg.get("role") or msg.get("type") or "?")
    out.append(f"[{i}] ", style="dim")
    out.append(escape_text(role, 40), style="bold cyan")
    out.append("\n")
    body = content_text(msg.get("content", msg.get("parts", msg.get("output"))))
    if body:
        add_block(out, body)
    calls = msg.get("tool_calls")
    if calls:
        add_block(out, f"tool_calls: {_dumps(calls)}", style="yellow")
    if msg.get("tool_call_id"):
        add_block(out, f"tool_call_id: {msg['tool_call_id']}", style="dim")


def llm_detail(ev: Event) -> Detail:
    p = ev.payload
    assert isinstance(p, LlmCall)
    title = Text("LLM call ")
    title.append(escape_text(f"{p.provider} {p.model}", 80), style="bold")
    out = Text()
    field(out, "time", fmt_time(p.request_start_ns or ev.timestamp_ns))
    field(out, "process", f"{ev.pid} {ev.comm}")
    field(out, "provider", p.provider)
    field(out, "model", p.model)
    field(out, "response model", p.response_model)
    field(out, "endpoint", p.endpoint)
    field(out, "host", (p.host + p.path) if p.host else p.path)
    field(out, "status", p.status)
    field(out, "stream", "yes" if p.stream else "no")
    field(out, "stop reason", p.stop_reason)
    u = p.usage
    tokens = f"in {u.input_tokens if u.input_tokens is not None else '-'}, out {u.output_tokens if u.output_tokens is not None else '-'}"
    if u.cache_read_tokens:
        tokens += f", cache read {u.cache_read_tokens}"
    if u.cache_creation_tokens:
        tokens += f", cache write {u.cache_creation_tokens}"
    if u.reasoning_tokens:
        tokens += f", reasoning {u.reasoning_tokens}"
    field(out, "tokens", tokens)
    field(out, "ttft", fmt_duration(p.ttft_ns))
    field(out, "duration", fmt_duration(p.duration_ns))
    field(out, "request id", p.request_id)
    field(out, "response id", p.response_id)
    if p.partial:
        field(out, "partial", "capture started mid-call")
    if p.error:
        out.append("error: ", style="bold red")
        add_block(out, f"{p.error_type + ': ' if p.error_type else ''}{p.error}", style="red")
    if p.system:
        heading(out, "System prompt")
        add_block(out, p.system)
    heading(out, f"Messages ({len(p.messages)})")
    for i, msg in enumerate(p.messages):
        _message(out, i, msg)
    if p.thinking:
        heading(out, "Thinking")
        add_block(out, p.thinking, style="italic")
    heading(out, "Response")
    add_block(out, p.response_text or "(no text)")
    if p.tool_calls:
        heading(out, f"Tool calls ({len(p.tool_calls)})")
        for call in p.tool_calls:
            out.append(escape_text(call.name, 200), style="bold yellow")
            if call.id:
                out.append(f"  {escape_text(call.id, 100)}", style="dim")
            out.append("\n")
            args = call.arguments
            try:
                args = _dumps(orjson.loads(args))
            except orjson.JSONDecodeError:
                pass
            add_block(out, args)
    if p.tools:
        heading(out, f"Tools offered ({len(p.tools)})")
        names = [
            str(t.get("name") or (t.get("function") or {}).get("name") or "?")
            for t in p.tools
            if isinstance(t, dict)
        ]
        add_block(out, ", ".join(names))
    return Detail(title, out)


def _headers(out: Text, headers: list[tuple[str, str]]) -> None:
    for name, value in headers[:200]:
        out.append(escape_text(name, 200), style="cyan")
        out.append(": ")
        out.append(escape_text(value, 2000))
        out.append("\n")


def _body(out: Text, body: bytes, size: int, truncated: bool) -> None:
    if not body:
        out.append(f"(no body, {size} B)\n" if size else "(no body)\n", style="dim")
        return
    add_block(out, body[:MAX_BODY_BYTES].decode("utf-8", "backslashreplace"))
    if len(body) > MAX_BODY_BYTES or truncated:
        out.append(f"… ({size} B in all)\n", style="dim")


def http_detail(ev: Event) -> Detail:
    p = ev.payload
    assert isinstance(p, HttpExchange)
    title = Text("HTTP ")
    title.append(escape_text(f"{p.method} {p.host}{p.path}", 120), style="bold")
    out = Text()
    field(out, "time", fmt_time(p.request_start_ns or ev.timestamp_ns))
    field(out, "process", f"{ev.pid} {ev.comm}")
    field(out, "url", p.url)
    field(out, "peer", p.peer)
    field(out, "protocol", p.protocol)
    field(out, "status", f"{p.status} {p.reason}" if p.status is not None else "(no response)")
    if p.end_ns and p.request_start_ns:
        field(out, "duration", fmt_duration(p.end_ns - p.request_start_ns))
    if p.response_first_byte_ns and p.request_start_ns:
        field(out, "first byte", fmt_duration(p.response_first_byte_ns - p.request_start_ns))
    field(out, "error", p.error)
    if p.partial or not p.complete:
        field(out, "state", "partial" if p.partial else "incomplete")
    heading(out, "Request headers")
    _headers(out, p.request_headers)
    heading(out, f"Request body ({p.request_body_size} B)")
    _body(out, p.request_body, p.request_body_size, p.request_body_truncated)
    heading(out, "Response headers")
    _headers(out, p.response_headers)
    heading(out, f"Response body ({p.response_body_size} B)")
    _body(out, p.response_body, p.response_body_size, p.response_body_truncated)
    return Detail(title, out)


def process_detail(node: ProcessNode, files_opened: int = 0) -> Detail:
    title = Text("Process ")
    title.append(f"{node.pid} ", style="bold")
    title.append(escape_text(node.comm, 16))
    out = Text()
    field(out, "pid", node.pid)
    field(out, "ppid", node.ppid)
    field(out, "comm", node.comm)
    field(out, "file", node.filename)
    if node.start_ns:
        field(out, "started", fmt_time(node.start_ns))
    if node.running:
        field(out, "state", "running" + (" (seen in /proc)" if node.seeded else ""))
    else:
        how = (
            f"killed by {signal_name(node.signal)}"
            if node.signal
            else f"exited with status {node.exit_code}"
        )
        field(out, "state", how)
        if node.exit_ns:
            field(out, "exited", fmt_time(node.exit_ns))
    field(out, "lifetime", fmt_duration(node.lifetime_ns))
    field(out, "children", ", ".join(str(c) for c in node.children[:100]))
    field(out, "files opened", files_opened or None)
    heading(out, f"argv ({len(node.argv)})")
    for i, arg in enumerate(node.argv[:1000]):
        out.append(f"[{i}] ", style="dim")
        out.append(escape_text(arg, 4000))
        out.append("\n")
    if node.files:
        heading(out, f"Files opened ({len(node.files)}{'+' if node.files_dropped else ''})")
        for path, count in list(node.files.items())[:500]:
            out.append(escape_text(path, 500))
            if count > 1:
                out.append(f"  x{count}", style="dim")
            out.append("\n")
    return Detail(title, out)


def event_detail(ev: Event) -> Detail:
    from ..output.console import format_event

    title = Text("Event ")
    title.append(escape_text(ev.kind, 40), style="bold")
    out = Text()
    add_block(out, format_event(ev))
    if isinstance(ev.payload, TlsData):
        heading(out, f"TLS data ({ev.payload.length} B)")
        add_block(out, ev.payload.data[:MAX_BODY_BYTES].decode("utf-8", "backslashreplace"))
    heading(out, "JSON")
    try:
        pretty = _dumps(orjson.loads(ev.to_json()))
    except Exception:
        pretty = ev.to_json().decode("utf-8", "replace")
    add_block(out, pretty)
    return Detail(title, out)


def detail_for(
    pane: str, item: Any, view: DataView, files: dict[int, int] | None = None
) -> Detail | None:
    files = files or {}
    if pane == "procs":
        node = view.tree.nodes.get(item)
        return process_detail(node, files.get(item, 0)) if node is not None else None
    if not isinstance(item, Event):
        return None
    if isinstance(item.payload, LlmCall):
        return llm_detail(item)
    if isinstance(item.payload, HttpExchange):
        return http_detail(item)
    return event_detail(item)
