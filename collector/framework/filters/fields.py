"""The field namespace of filters: names over the Event model, each with a type and a getter.

A getter returns the field's value for an event, or None when the field does not apply to the
event's kind ("absent"). Every comparison with an absent field is false.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from ..core.events import PAYLOAD_TYPES, Event, Header

FieldType = Literal["str", "int", "bool", "strlist", "any"]
Getter = Callable[[Event], Any]

KINDS: frozenset[str] = frozenset(str(t.model_fields["kind"].default) for t in PAYLOAD_TYPES)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    kinds: frozenset[str] | None  # None: every event
    getter: Getter
    doc: str = ""


FIELDS: dict[str, FieldSpec] = {}


def _add(
    name: str, type_: FieldType, kinds: Iterable[str] | None, getter: Getter, doc: str
) -> None:
    FIELDS[name] = FieldSpec(name, type_, None if kinds is None else frozenset(kinds), getter, doc)


def _payload_attr(kinds: frozenset[str], attr: str) -> Getter:
    def get(ev: Event) -> Any:
        p = ev.payload
        return getattr(p, attr) if p.kind in kinds else None

    return get


def _payload_fn(kinds: frozenset[str], fn: Callable[[Any], Any]) -> Getter:
    def get(ev: Event) -> Any:
        p = ev.payload
        return fn(p) if p.kind in kinds else None

    return get


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _attrs(prefix: str, kinds: Iterable[str], spec: dict[str, tuple[FieldType, str, str]]) -> None:
    k = frozenset(kinds)
    for name, (type_, attr, doc) in spec.items():
        _add(f"{prefix}.{name}", type_, k, _payload_attr(k, attr), doc)


# -- common ------------------------------------------------------------------------------------

_add("kind", "str", None, lambda ev: ev.payload.kind, "event kind: " + ", ".join(sorted(KINDS)))
_add(
    "source",
    "str",
    None,
    lambda ev: ev.source,
    "what produced the event (process, ssl, replay, ...)",
)
_add("pid", "int", None, lambda ev: ev.pid, "process id (thread group id)")
_add("tid", "int", None, lambda ev: ev.tid, "thread id, when known")
_add("comm", "str", None, lambda ev: ev.comm, "process name (at most 15 characters)")
_add("timestamp_ns", "int", None, lambda ev: ev.timestamp_ns, "wall clock, ns since the epoch")
_UID_KINDS = frozenset({"exec", "exit", "fork", "file_open", "tls_data"})
_add("uid", "int", _UID_KINDS, _payload_attr(_UID_KINDS, "uid"), "user id")

# -- process -----------------------------------------------------------------------------------

_PROC = frozenset({"exec", "exit", "fork"})
_add("process.pid", "int", _PROC, lambda ev: ev.pid if ev.payload.kind in _PROC else None, "pid")
_add("process.comm", "str", _PROC, lambda ev: ev.comm if ev.payload.kind in _PROC else None, "comm")
_attrs("process", _PROC, {"ppid": ("int", "ppid", "parent pid"), "uid": ("int", "uid", "user id")})
_attrs(
    "process",
    ["exec"],
    {
        "filename": ("str", "filename", "executed file"),
        "argv": ("strlist", "argv", "arguments (a list: matches when any argument matches)"),
        "argv_truncated": ("bool", "argv_truncated", "the tool cut the argument list"),
    },
)
_EXEC = frozenset({"exec"})
_add(
    "process.cmdline",
    "str",
    _EXEC,
    _payload_fn(_EXEC, lambda p: " ".join(p.argv)),
    "argv joined by spaces",
)
_attrs(
    "process",
    ["exit"],
    {
        "exit_code": ("int", "exit_code", "exit status"),
        "signal": ("int", "signal", "killing signal, 0 if none"),
        "core_dumped": ("bool", "core_dumped", "a core was dumped"),
        "duration_ns": ("int", "duration_ns", "lifetime"),
    },
)
_attrs("process", ["fork"], {"child_pid": ("int", "child_pid", "the new process")})

# -- file --------------------------------------------------------------------------------------

_attrs(
    "file",
    ["file_open"],
    {
        "path": ("str", "path", "opened path"),
        "flags": ("int", "flags", "open flags"),
        "ret": ("int", "ret", "fd, or -errno"),
        "count": ("int", "count", "repeats aggregated in this event"),
        "relative": ("bool", "relative", "path is relative to dirfd"),
    },
)
_FILE = frozenset({"file_open"})
_add("file.error", "bool", _FILE, _payload_fn(_FILE, lambda p: p.ret < 0), "the open failed")

# -- tls ---------------------------------------------------------------------------------------

_TLS_ALL = frozenset({"tls_data", "tls_handshake", "tls_close"})
_TLS_DATA = frozenset({"tls_data"})
_add("tls.conn", "int", _TLS_ALL, _payload_attr(_TLS_ALL, "conn"), "connection id (SSL* address)")
_add(
    "tls.data",
    "str",
    _TLS_DATA,
    _payload_fn(_TLS_DATA, lambda p: _text(p.data)),
    "plaintext (bytes as UTF-8, invalid bytes kept)",
)
_attrs(
    "tls",
    ["tls_data"],
    {
        "direction": ("str", "direction", '"read" or "write"'),
        "length": ("int", "length", "bytes in the call"),
        "truncated": ("int", "truncated", "bytes not captured"),
        "fd": ("int", "fd", "socket fd, -1 if unknown"),
        "func": ("str", "func", "hooked function (SSL_read, ...)"),
        "latency_ns": ("int", "latency_ns", "call latency"),
    },
)
_add(
    "tls.peer",
    "str",
    _TLS_DATA,
    _payload_fn(_TLS_DATA, lambda p: p.peer or ""),
    'remote "ip:port" when the socket is known, else ""',
)
_HS = frozenset({"tls_handshake"})
_add("tls.handshake.latency_ns", "int", _HS, _payload_attr(_HS, "latency_ns"), "handshake latency")
_add("tls.handshake.ret", "int", _HS, _payload_attr(_HS, "ret"), "handshake result (1 = ok)")

# -- http --------------------------------------------------------------------------------------

_HTTP = frozenset({"http_exchange"})
_attrs(
    "http",
    _HTTP,
    {
        "conn": ("int", "conn", "connection id"),
        "protocol": ("str", "protocol", "HTTP/1.1, HTTP/2, ..."),
        "stream_id": ("int", "stream_id", "HTTP/2 stream id"),
        "complete": ("bool", "complete", "request and response were both seen whole"),
        "partial": ("bool", "partial", "capture started mid-exchange"),
        "error": ("str", "error", "why the exchange is incomplete"),
    },
)
_add(
    "http.peer",
    "str",
    _HTTP,
    _payload_fn(_HTTP, lambda p: p.peer or ""),
    'remote "ip:port" when the socket is known, else ""',
)
_attrs(
    "http.request",
    _HTTP,
    {
        "method": ("str", "method", "GET, POST, ..."),
        "url": ("str", "url", "full URL"),
        "scheme": ("str", "scheme", "https, http"),
        "host": ("str", "host", "host (and port)"),
        "path": ("str", "path", "path without the query"),
        "query": ("str", "query", "query string without '?'"),
        "body_size": ("int", "request_body_size", "body bytes"),
        "body_truncated": ("bool", "request_body_truncated", "body was cut"),
    },
)
_attrs(
    "http.response",
    _HTTP,
    {
        "status": ("int", "status", "status code (absent if no response)"),
        "reason": ("str", "reason", "reason phrase"),
        "body_size": ("int", "response_body_size", "body bytes"),
        "body_truncated": ("bool", "response_body_truncated", "body was cut"),
    },
)
_add(
    "http.request.body",
    "str",
    _HTTP,
    _payload_fn(_HTTP, lambda p: _text(p.request_body)),
    "request body (decoded as UTF-8)",
)
_add(
    "http.response.body",
    "str",
    _HTTP,
    _payload_fn(_HTTP, lambda p: _text(p.response_body)),
    "response body (decoded as UTF-8)",
)
_add(
    "http.duration_ns",
    "int",
    _HTTP,
    _payload_fn(
        _HTTP, lambda p: p.end_ns - p.request_start_ns if p.end_ns and p.request_start_ns else None
    ),
    "request start to response end",
)


def _header_getter(attr: str, name: str) -> Getter:
    lname = name.lower()

    def get(ev: Event) -> Any:
        p = ev.payload
        if p.kind != "http_exchange":
            return None
        headers: list[Header] = getattr(p, attr)
        values = [v for k, v in headers if k.lower() == lname]
        return ", ".join(values) if values else None

    return get


# -- sse ---------------------------------------------------------------------------------------

_attrs(
    "sse",
    ["sse_event"],
    {
        "conn": ("int", "conn", "connection id"),
        "event": ("str", "event", "event type (message by default)"),
        "data": ("str", "data", "data lines joined by newlines"),
        "id": ("str", "id", "last event id"),
        "index": ("int", "index", "position in the stream"),
    },
)

# -- llm ---------------------------------------------------------------------------------------

_LLM = frozenset({"llm_call"})
_attrs(
    "llm",
    _LLM,
    {
        "provider": ("str", "provider", "anthropic, openai, google, ..."),
        "endpoint": ("str", "endpoint", "API endpoint"),
        "model": ("str", "model", "model name"),
        "stream": ("bool", "stream", "streamed response"),
        "conn": ("int", "conn", "connection id"),
        "status": ("int", "status", "HTTP status"),
        "system": ("str", "system", "system prompt"),
        "response_text": ("str", "response_text", "the answer"),
        "thinking": ("str", "thinking", "reasoning text"),
        "stop_reason": ("str", "stop_reason", "why generation stopped"),
        "ttft_ns": ("int", "ttft_ns", "time to first token"),
        "duration_ns": ("int", "duration_ns", "call duration"),
        "error": ("str", "error", "error message"),
    },
)


def _usage(attr: str) -> Callable[[Any], Any]:
    return lambda p: getattr(p.usage, attr)


for _tok in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens"):
    _add(
        f"llm.{_tok}",
        "int",
        _LLM,
        _payload_fn(_LLM, _usage(_tok)),
        f"usage: {_tok.replace('_', ' ')}",
    )
_add(
    "llm.tool",
    "strlist",
    _LLM,
    _payload_fn(_LLM, lambda p: [t.name for t in p.tool_calls]),
    "names of requested tool calls (a list)",
)
_add(
    "llm.messages",
    "int",
    _LLM,
    _payload_fn(_LLM, lambda p: len(p.messages)),
    "number of request messages",
)

# -- tool status, lost, custom -----------------------------------------------------------------

_attrs(
    "lost",
    ["lost"],
    {"count": ("int", "count", "records dropped"), "bytes": ("int", "bytes", "bytes dropped")},
)
_attrs(
    "status",
    ["status"],
    {"status": ("str", "status", "status word"), "message": ("str", "message", "message")},
)
_attrs("custom", ["custom"], {"name": ("str", "name", "custom event name")})


def _custom_getter(key: str) -> Getter:
    parts = key.split(".")

    def get(ev: Event) -> Any:
        p = ev.payload
        if p.kind != "custom":
            return None
        value: Any = p.data
        for part in parts:
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value

    return get


DYNAMIC_PREFIXES = {
    "http.request.header.": "request header by name (case-insensitive; repeats joined by ', ')",
    "http.response.header.": "response header by name",
    "custom.data.": "a key of a custom event's data (dots go deeper)",
}


def resolve(path: str) -> FieldSpec | None:
    """The field named `path`, or None if there is no such field."""
    spec = FIELDS.get(path)
    if spec is not None:
        return spec
    for prefix, attr in (
        ("http.request.header.", "request_headers"),
        ("http.response.header.", "response_headers"),
    ):
        if path.startswith(prefix) and len(path) > len(prefix):
            return FieldSpec(path, "str", _HTTP, _header_getter(attr, path[len(prefix) :]))
    if path.startswith("custom.data.") and len(path) > len("custom.data."):
        return FieldSpec(
            path, "any", frozenset({"custom"}), _custom_getter(path[len("custom.data.") :])
        )
    return None


def suggest(path: str) -> list[str]:
    """Known field names close to `path`, for error messages."""
    import difflib

    names = [*FIELDS, *(p + "<name>" for p in DYNAMIC_PREFIXES)]
    return difflib.get_close_matches(path, names, n=3, cutoff=0.6)
