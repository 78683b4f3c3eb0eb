"""The typed `Event` that flows through every stage, and its payloads discriminated by `kind`.

An Event is one JSON line (`Event.to_json()`), and parses back identically (`Event.from_json()`).
Bytes fields are base64 in JSON. Timestamps are wall-clock nanoseconds since the Unix epoch.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .construct import constructor

Direction = Literal["read", "write"]
Header = tuple[str, str]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        ser_json_bytes="base64",
        val_json_bytes="base64",
        ser_json_inf_nan="constants",
    )


# --- process tool -----------------------------------------------------------------------------


class ProcessExec(_Model):
    """A process replaced its image (execve)."""

    kind: Literal["exec"] = "exec"
    ppid: int
    uid: int
    filename: str
    argv: list[str]
    argv_truncated: bool = False


class ProcessExit(_Model):
    """A whole process (thread group) exited."""

    kind: Literal["exit"] = "exit"
    ppid: int = 0
    uid: int = 0
    exit_code: int
    signal: int = 0
    core_dumped: bool = False
    duration_ns: int = 0


class ProcessFork(_Model):
    """A process created a child process (not a thread)."""

    kind: Literal["fork"] = "fork"
    ppid: int = 0
    uid: int = 0
    child_pid: int
    child_tid: int = 0


class FileOpen(_Model):
    """An openat/openat2 with its result; `count` > 1 when repeats in a window were aggregated."""

    kind: Literal["file_open"] = "file_open"
    uid: int = 0
    path: str
    relative: bool = False
    dirfd: int = -100
    flags: int = 0
    ret: int
    count: int = 1
    aggregate: bool = False


# --- sslsniff tool ----------------------------------------------------------------------------


class TlsData(_Model):
    """The plaintext of one TLS read or write call, reassembled from the tool's chunks."""

    kind: Literal["tls_data"] = "tls_data"
    direction: Direction
    conn: int
    data: bytes
    length: int
    truncated: int = 0
    fd: int = -1
    peer: str | None = None  # "ip:port" of the socket's remote end, when the fd is known
    uid: int = 0
    func: str = ""
    latency_ns: int = 0
    call_id: int = 0


class TlsHandshake(_Model):
    """A TLS handshake finished (or failed) with its latency."""

    kind: Literal["tls_handshake"] = "tls_handshake"
    conn: int
    latency_ns: int = 0
    ret: int = 1


class TlsClose(_Model):
    """A TLS connection was shut down or freed."""

    kind: Literal["tls_close"] = "tls_close"
    conn: int
    func: str = ""


# --- tool status ------------------------------------------------------------------------------


class ToolLost(_Model):
    """The tool dropped records (kernel ring buffer full); counts since the previous report."""

    kind: Literal["lost"] = "lost"
    count: int
    bytes: int = 0
    total: int = 0


class ToolStatus(_Model):
    """A tool's or runner's own report: start, attach, summary, failure."""

    kind: Literal["status"] = "status"
    status: str
    message: str = ""
    info: dict[str, Any] = Field(default_factory=dict)


# --- derived events ---------------------------------------------------------------------------


class HttpExchange(_Model):
    """One HTTP request and its response (HTTP/1.x or HTTP/2), reassembled from TLS data."""

    kind: Literal["http_exchange"] = "http_exchange"
    conn: int = 0
    peer: str | None = None  # "ip:port" of the server (or client), when the socket is known
    protocol: str = "HTTP/1.1"
    stream_id: int | None = None
    method: str = ""
    url: str = ""
    scheme: str = "https"
    host: str = ""
    path: str = ""
    query: str = ""
    status: int | None = None
    reason: str = ""
    request_headers: list[Header] = Field(default_factory=list)
    response_headers: list[Header] = Field(default_factory=list)
    request_trailers: list[Header] = Field(default_factory=list)
    response_trailers: list[Header] = Field(default_factory=list)
    request_body: bytes = b""
    response_body: bytes = b""
    request_body_size: int = 0
    response_body_size: int = 0
    request_body_sha256: str = ""
    response_body_sha256: str = ""
    request_body_truncated: bool = False
    response_body_truncated: bool = False
    request_start_ns: int = 0
    response_first_byte_ns: int = 0
    end_ns: int = 0
    complete: bool = True
    partial: bool = False
    error: str = ""


class SseMessage(_Model):
    """One server-sent event of a `text/event-stream` response."""

    kind: Literal["sse_event"] = "sse_event"
    conn: int = 0
    stream_id: int | None = None
    index: int = 0
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class ToolCall(_Model):
    """A tool (function) call an LLM asked for, with its raw JSON arguments."""

    id: str = ""
    name: str = ""
    arguments: str = ""


class TokenUsage(_Model):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_creation_tokens: int | None = None
    reasoning_tokens: int | None = None


class LlmCall(_Model):
    """One call to an LLM API, extracted from an HTTP exchange."""

    kind: Literal["llm_call"] = "llm_call"
    provider: str
    endpoint: str = ""
    model: str = ""
    stream: bool = False
    conn: int = 0
    status: int | None = None
    system: str = ""
    messages: list[dict[str, Any]] = Field(default_factory=list)
    tools: list[dict[str, Any]] = Field(default_factory=list)
    response_text: str = ""
    thinking: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    stop_reason: str = ""
    usage: TokenUsage = Field(default_factory=TokenUsage)
    request_start_ns: int = 0
    ttft_ns: int | None = None
    duration_ns: int = 0
    error: str = ""
    # Optional details (all default empty): where the call went, what answered, how it ended.
    host: str = ""
    path: str = ""
    stream_id: int | None = None
    request_id: str = ""
    response_id: str = ""
    response_model: str = ""
    error_type: str = ""
    partial: bool = False


class Custom(_Model):
    """An event from a user's own tool or analyzer."""

    kind: Literal["custom"] = "custom"
    name: str
    data: dict[str, Any] = Field(default_factory=dict)


Payload = Annotated[
    ProcessExec
    | ProcessExit
    | ProcessFork
    | FileOpen
    | TlsData
    | TlsHandshake
    | TlsClose
    | ToolLost
    | ToolStatus
    | HttpExchange
    | SseMessage
    | LlmCall
    | Custom,
    Field(discriminator="kind"),
]


class Event(_Model):
    """Something observed at `timestamp_ns` (wall clock, ns) by `source`, about process `pid`."""

    timestamp_ns: int
    source: str
    pid: int = 0
    tid: int | None = None
    comm: str = ""
    payload: Payload

    @property
    def kind(self) -> str:
        return self.payload.kind

    def to_json(self) -> bytes:
        """Serialise to one JSON line (no trailing newline)."""
        return self.__pydantic_serializer__.to_json(self)

    @classmethod
    def from_json(cls, line: bytes | str) -> Event:
        return cls.model_validate_json(line)


EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
new_event = constructor(Event)
"""An Event from its six fields, in order, each already of its type (no validation: see construct)."""
PAYLOAD_TYPES: tuple[type[BaseModel], ...] = (
    ProcessExec,
    ProcessExit,
    ProcessFork,
    FileOpen,
    TlsData,
    TlsHandshake,
    TlsClose,
    ToolLost,
    ToolStatus,
    HttpExchange,
    SseMessage,
    LlmCall,
    Custom,
)


def event_json_schema() -> dict[str, Any]:
    """The JSON schema of one log line."""
    return Event.model_json_schema(mode="serialization")
