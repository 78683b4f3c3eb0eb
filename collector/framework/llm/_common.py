"""Shared pieces of the wire-format parsers: body/JSON/SSE helpers and the LlmCall builder.

Everything here is pure (no I/O). Parsers see server-sent events as `SseTuple`s (event name,
data, wall-clock timestamp when known) so they work on the events an HttpAnalyzer hands over
(`SseColumns`, data as UTF-8 bytes), on analyzer-collected `SseMessage` Events and on an SSE body
split after the fact.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec
import orjson

from ..core.construct import constructor
from ..core.events import Event, Header, HttpExchange, LlmCall, SseMessage, TokenUsage, ToolCall
from ..protocols.message import SseColumns


@dataclass(slots=True)
class SseItem:
    event: str
    data: str
    ts: int | None = None


SseTuple = tuple[str, bytes | str, int | None]
"""(event name, data, when): data as str, or as UTF-8 bytes to decode with "replace"; `when`
is the event's timestamp, or a key `to_items` gives a way to turn into it (None: unknown).
Parsers only pass `when` on to the CallBuilder (`first_content_ts`)."""


def _same(when: int) -> int | None:
    return when


class SseEvents:
    """A response's events as SseTuples, column by column: iterable more than once, without a
    tuple kept per event (parsers unpack each as it comes)."""

    __slots__ = ("datas", "names", "whens")

    def __init__(self, names: list[str], datas: list[bytes | str], whens: Sequence[int | None]) -> None:
        self.names = names
        self.datas = datas
        self.whens = whens

    def __iter__(self) -> Iterator[SseTuple]:
        return zip(self.names, self.datas, self.whens, strict=True)

    def __len__(self) -> int:
        return len(self.names)


class _Tracked:
    """SseEvents read once, noting the index of the event being read (`at`) and whether the
    reader went past the last one (`done`)."""

    __slots__ = ("at", "done", "events")

    def __init__(self, events: SseEvents) -> None:
        self.events = events
        self.at = -1
        self.done = False

    def __iter__(self) -> Iterator[SseTuple]:
        for item in self.events:
            self.at += 1
            yield item
        self.done = True


MAX_BAD_EVENTS = 8
"""Events of one stream `read_stream_skipping` leaves out before it gives up."""


def read_stream_skipping(fmt: WireFormat, events: SseEvents) -> tuple[CallBuilder, int]:
    """`fmt.read_stream` over `events`, leaving out each event its reader fails on (a field of
    an unexpected JSON type, say a number where a list belongs): one malformed event must not
    lose the rest of the call. Returns the builder and how many events were left out (or, when
    the reader fails after the last event or on more than MAX_BAD_EVENTS, what it had read by
    then, counted as one more). Only a stream that fails is read again, once per event left out."""
    b = CallBuilder()
    try:
        fmt.read_stream(events, b)
        return b, 0
    except Exception:
        pass
    names, datas, whens = list(events.names), list(events.datas), list(events.whens)
    skipped = 0
    while True:
        tracked = _Tracked(SseEvents(names, datas, whens))
        b = CallBuilder()
        try:
            fmt.read_stream(tracked, b)
            return b, skipped
        except Exception:
            if tracked.done or tracked.at < 0 or skipped >= MAX_BAD_EVENTS:
                return b, skipped + 1  # not in one event (or too many): what was read
            k = tracked.at
            del names[k], datas[k], whens[k]
            skipped += 1


def header(headers: Sequence[Header], name: str) -> str:
    """The first value of header `name` (case-insensitive), or ""."""
    name = name.lower()
    for key, value in headers:
        if key.lower() == name:
            return value
    return ""


def split_path(exchange: HttpExchange) -> str:
    """The request path without its query string."""
    path = exchange.path or ""
    if not path and exchange.url:
        rest = exchange.url.split("://", 1)[-1]
        slash = rest.find("/")
        path = rest[slash:] if slash >= 0 else "/"
    return path.split("?", 1)[0]


def query_of(exchange: HttpExchange) -> str:
    if exchange.query:
        return exchange.query
    for source in (exchange.path, exchange.url):
        if source and "?" in source:
            return source.split("?", 1)[1]
    return ""


def _maybe_decompress(body: bytes) -> bytes:
    """Bodies should arrive decoded; undo gzip/zlib defensively if they did not."""
    if body[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(body)
        except Exception:
            return body
    if body[:1] == b"\x78":
        try:
            return zlib.decompress(body)
        except Exception:
            return body
    return body


def loads(data: bytes | str) -> Any:
    """Parse JSON, or return None."""
    if not data:
        return None
    if isinstance(data, bytes):
        data = _maybe_decompress(data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def load_data(data: bytes | str) -> Any:
    """An SSE event's data as JSON, or None: the same as `loads` of its text, without decoding
    it first when it is valid JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        if isinstance(data, bytes):
            return loads(data.decode("utf-8", "replace"))
        return None


Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""An int the typed decoders take: orjson gives larger ones as floats, so they go its way."""

TYPED_MAX = 2048
"""Longest event data the typed decoders see: deeper nesting than orjson allows (1,024) needs more
bytes, so whatever orjson rejects for depth never reaches them."""

TYPED_FAIL = (msgspec.DecodeError, ValueError, RecursionError)
"""What a typed decoder raises for data it does not take (invalid UTF-8: UnicodeDecodeError)."""

# The typed decoders (msgspec Structs in openai_chat, anthropic, gemini; `gc=False`: decoded JSON
# holds no reference cycle, so the collector need not track them) read the usual streamed
# events; whatever they reject or do not handle goes to the dict walk over orjson's result, so
# both give the same. Known difference: a number beyond the range of a double (`1e999`, valid
# JSON) in a field the reader does not use. orjson rejects the whole data, so the dict walk drops
# the event; the typed decoder skips the field unconverted and reads the event. (Invalid UTF-8 in
# an unused field gives the same either way: the dict walk reads the data decoded with "replace".)


def data_text(data: bytes | str) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


def dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def parse_sse_body(body: bytes) -> list[SseItem]:
    """Split a `text/event-stream` body into events (no timestamps)."""
    text = _maybe_decompress(body).decode("utf-8", "replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    items: list[SseItem] = []
    event = ""
    data: list[str] = []
    for line in text.split("\n"):
        if not line:
            if data:
                items.append(SseItem(event or "message", "\n".join(data)))
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if data:
        items.append(SseItem(event or "message", "\n".join(data)))
    return items


def to_items(
    sse: Iterable[SseMessage | Event | SseItem] | SseColumns,
) -> tuple[SseEvents, Callable[[int], int | None]]:
    """The events as SseTuples, and what turns their `when` into a timestamp. SseColumns give
    each event's index: its time is looked up only for the event that needs it (the first
    content), as the times of a body split whole are found when asked."""
    if isinstance(sse, SseColumns):
        return SseEvents(sse.names, sse.datas, range(len(sse.names))), sse.times.__getitem__
    names: list[str] = []
    datas: list[bytes | str] = []
    whens: list[int | None] = []
    for entry in sse:
        if isinstance(entry, SseItem):
            names.append(entry.event)
            datas.append(entry.data)
            whens.append(entry.ts)
        elif isinstance(entry, Event):
            payload = entry.payload
            if isinstance(payload, SseMessage):
                names.append(payload.event)
                datas.append(payload.data)
                whens.append(entry.timestamp_ns)
        elif isinstance(entry, SseMessage):
            names.append(entry.event)
            datas.append(entry.data)
            whens.append(None)
    return SseEvents(names, datas, whens), _same


def text_of(content: Any) -> str:
    """Text of a message `content`: a string, or a list of parts with `text`."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    if isinstance(content, dict) and isinstance(content.get("text"), str):
        return str(content["text"])
    return ""


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return None


def error_of(obj: Any) -> tuple[str, str] | None:
    """(type, message) of an API error object in any of the providers' shapes."""
    if isinstance(obj, list):
        for entry in obj:
            found = error_of(entry)
            if found:
                return found
        return None
    if not isinstance(obj, dict):
        return None
    err = obj.get("error")
    if isinstance(err, dict):
        etype = err.get("type") or err.get("status") or err.get("code") or ""
        message = err.get("message") or ""
        return str(etype), str(message) if message else dumps(err)
    if isinstance(err, str) and err:
        return str(obj.get("type") or ""), err
    if obj.get("type") == "error" and (obj.get("message") or obj.get("code")):
        return str(obj.get("code") or "error"), str(obj.get("message") or "")
    return None


@dataclass
class _ToolAcc:
    id: str = ""
    name: str = ""
    parts: list[str] = field(default_factory=list)
    fallback: str = ""

    def result(self) -> ToolCall:
        args = "".join(self.parts) or self.fallback
        return ToolCall(id=self.id, name=self.name, arguments=args)


class CallBuilder:
    """Accumulates what a response says, from one JSON body or from stream deltas."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.thinking: list[str] = []
        self.tools: dict[Any, _ToolAcc] = {}
        self.stop_reason = ""
        self.usage: dict[str, int] = {}  # TokenUsage fields known so far (built once, in build)
        self.response_id = ""
        self.response_model = ""
        self.error = ""
        self.error_type = ""
        self.first_content_ts: int | None = None  # the `when` of the first content (SseTuple)
        self.finished = False  # the stream reached its protocol end (message_stop, [DONE], ...)

    def content(self, ts: int | None) -> None:
        if ts is not None and self.first_content_ts is None:
            self.first_content_ts = ts

    def add_text(self, s: Any, ts: int | None = None) -> None:
        if isinstance(s, str) and s:
            self.text.append(s)
            if ts is not None and self.first_content_ts is None:
                self.first_content_ts = ts

    def add_thinking(self, s: Any, ts: int | None = None) -> None:
        if isinstance(s, str) and s:
            self.thinking.append(s)
            if ts is not None and self.first_content_ts is None:
                self.first_content_ts = ts

    def tool(self, key: Any) -> _ToolAcc:
        """The tool call that `key` (its index or id, as the wire gives it) names."""
        try:
            acc = self.tools.get(key)
        except TypeError:  # a JSON array or object where the index belongs: keyed by its text
            key = ("unhashable", repr(key))
            acc = self.tools.get(key)
        if acc is None:
            acc = self.tools[key] = _ToolAcc()
        return acc

    def add_tool(self, id: Any, name: Any, arguments: Any) -> None:
        acc = self.tool(("#", len(self.tools)))
        acc.id = str(id or "")
        acc.name = str(name or "")
        if isinstance(arguments, str):
            acc.parts.append(arguments)
        elif arguments is not None:
            acc.parts.append(dumps(arguments))

    def set_ids(self, response_id: Any = None, model: Any = None) -> None:
        if isinstance(response_id, str) and response_id and not self.response_id:
            self.response_id = response_id
        if isinstance(model, str) and model and not self.response_model:
            self.response_model = model

    def set_usage(self, **values: int | None) -> None:
        """Set the usage fields that are known (None leaves a field as is)."""
        usage = self.usage
        for key, value in values.items():
            if value is not None:
                usage[key] = value

    def set_error(self, found: tuple[str, str] | None) -> None:
        if found and not self.error:
            self.error_type, self.error = found[0], found[1] or found[0] or "error"

    def build(
        self,
        *,
        provider: str,
        endpoint: str,
        model: str,
        stream: bool,
        conn: int,
        status: int | None,
        system: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        request_start_ns: int,
        ttft_ns: int | None,
        duration_ns: int,
        host: str,
        path: str,
        stream_id: int | None,
        request_id: str,
        partial: bool,
    ) -> LlmCall:
        # Every field in order, each already of its type (the readers check what they take
        # from JSON): built without validating again. tests/analyzers/test_sse_bulk.py checks
        # that validating the same values changes nothing.
        return _new_call(
            {
                "kind": "llm_call",
                "provider": provider,
                "endpoint": endpoint,
                "model": model,
                "stream": stream,
                "conn": conn,
                "status": status,
                "system": system,
                "messages": messages,
                "tools": tools,
                "response_text": "".join(self.text),
                "thinking": "".join(self.thinking),
                "tool_calls": [acc.result() for acc in self.tools.values()],
                "stop_reason": self.stop_reason,
                "usage": TokenUsage(**self.usage),
                "request_start_ns": request_start_ns,
                "ttft_ns": ttft_ns,
                "duration_ns": duration_ns,
                "error": self.error,
                "host": host,
                "path": path,
                "stream_id": stream_id,
                "request_id": request_id,
                "response_id": self.response_id,
                "response_model": self.response_model,
                "error_type": self.error_type,
                "partial": partial,
            }
        )


_new_call = constructor(LlmCall)


class WireFormat:
    """One LLM API wire format: recognise a request, and read the call out of its exchange."""

    provider = ""
    endpoint = ""

    def match_path(self, path: str) -> bool:
        raise NotImplementedError

    def match_body(self, req: dict[str, Any], exchange: HttpExchange) -> bool:
        raise NotImplementedError

    def endpoint_for(self, exchange: HttpExchange) -> str:
        return self.endpoint

    def is_stream(self, exchange: HttpExchange, req: dict[str, Any]) -> bool:
        return bool(req.get("stream"))

    def request_fields(self, exchange: HttpExchange, req: dict[str, Any]) -> dict[str, Any]:
        """model, system, messages, tools of the request."""
        raise NotImplementedError

    def read_stream(self, items: Iterable[SseTuple], b: CallBuilder) -> None:
        raise NotImplementedError

    def read_body(self, body: Any, b: CallBuilder) -> None:
        raise NotImplementedError
