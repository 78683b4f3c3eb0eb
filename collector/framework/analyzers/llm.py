"""LlmAnalyzer: adds an `LlmCall` Event right after each HttpExchange that is an LLM API call.

Put it after the HTTP analyzer. It passes every event through unchanged, keeps the SseMessage
Events of each in-flight response per (pid, conn, stream_id) until that request's final
HttpExchange arrives, then runs the pure extractor (`collector.framework.llm.extract`).
Attached to an HttpAnalyzer (`attach`, as `tls_analyzers()` does), it gets each response's SSE
events directly with its exchange instead, and no SseMessage Event need be built per SSE event.
State is bounded: at most `max_calls` responses tracked (oldest evicted), at most
`max_events_per_call` events / `max_bytes_per_call` data bytes kept per response (beyond that
the call is extracted from the exchange's body when whole, and marked partial otherwise), and
responses idle for `idle_timeout_s` are dropped on `tick`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core.analyzer import Analyzer
from ..core.events import Event, HttpExchange, SseMessage, new_event
from ..llm import extract
from ..protocols.message import SseColumns

if TYPE_CHECKING:
    from .http import HttpAnalyzer

log = logging.getLogger("collector.analyzers.llm")

Key = tuple[int, int, int | None]


@dataclass
class _Pending:
    events: list[Event] = field(default_factory=list)
    nbytes: int = 0
    overflow: bool = False
    last_ns: int = 0


@dataclass
class LlmStats:
    calls: int = 0
    partial: int = 0  # calls marked partial: events or body incomplete, or an event unreadable
    errors: int = 0
    evicted: int = 0
    timed_out: int = 0
    overflowed: int = 0
    restarted: int = 0
    last_error: str = ""


class LlmAnalyzer(Analyzer):
    name = "llm"

    def __init__(
        self,
        *,
        max_calls: int = 256,
        max_events_per_call: int = 50_000,
        max_bytes_per_call: int = 64 * 1024 * 1024,
        idle_timeout_s: float = 600.0,
        source: str = "llm",
    ) -> None:
        if max_calls <= 0 or max_events_per_call <= 0 or max_bytes_per_call <= 0:
            raise ValueError("LlmAnalyzer limits must be positive")
        self.max_calls = max_calls
        self.max_events_per_call = max_events_per_call
        self.max_bytes_per_call = max_bytes_per_call
        self.idle_timeout_ns = int(idle_timeout_s * 1e9)
        self.source = source
        self.stats = LlmStats()
        self._pending: OrderedDict[Key, _Pending] = OrderedDict()
        # Exchanges handed over by an attached HttpAnalyzer in its current pass, by id().
        self._direct: dict[int, tuple[HttpExchange, SseColumns, bool]] = {}

    def attach(self, http: HttpAnalyzer) -> None:
        """Take SSE events straight from `http` (which must run before this analyzer, in the same
        chain) with each finished exchange: no SseMessage Events are needed for LLM extraction.
        The per-response limits apply there; `http` may still emit SseMessage Events (`sse`).
        The events are matched to the HttpExchange payload object itself: an analyzer in between
        that replaces it leaves the call to be read from the body (without per-event timing)."""
        http.send_sse_to(self, max_events=self.max_events_per_call, max_bytes=self.max_bytes_per_call)

    def sse_begin_pass(self) -> None:
        if self._direct:
            self._direct.clear()

    def sse_for_exchange(self, exchange: HttpExchange, events: SseColumns, complete: bool) -> None:
        self._direct[id(exchange)] = (exchange, events, complete)

    def counters(self) -> dict[str, int]:
        s = self.stats
        return {
            "calls": s.calls,
            "partial": s.partial,
            "errors": s.errors,
            "overflowed": s.overflowed,
            "evicted": s.evicted,
            "timed_out": s.timed_out,
            "restarted": s.restarted,
        }

    @property
    def tracked(self) -> int:
        """Responses whose SSE events are currently held."""
        return len(self._pending)

    def process(self, event: Event) -> Iterable[Event]:
        payload = event.payload
        if isinstance(payload, SseMessage):
            self._add_sse(event, payload)
            return (event,)
        if isinstance(payload, HttpExchange):
            call = self._call_for(event, payload)
            return (event,) if call is None else (event, call)
        return (event,)

    def _add_sse(self, event: Event, sse: SseMessage) -> None:
        key = (event.pid, sse.conn, sse.stream_id)
        pending = self._pending.get(key)
        if pending is None:
            while len(self._pending) >= self.max_calls:
                self._pending.popitem(last=False)
                self.stats.evicted += 1
            pending = self._pending[key] = _Pending()
            if sse.index > 0:
                # This response's first events were dropped (evicted or timed out): what is
                # left is not the whole stream, so prefer the body when it is whole.
                pending.overflow = True
        else:
            if sse.index == 0 and pending.events:
                # A new response began on this stream without the previous one's exchange.
                self.stats.restarted += 1
                pending.events.clear()
                pending.nbytes = 0
                pending.overflow = False
            self._pending.move_to_end(key)
        pending.last_ns = event.timestamp_ns
        size = len(sse.data)
        if (
            len(pending.events) >= self.max_events_per_call
            or pending.nbytes + size > self.max_bytes_per_call
        ):
            if not pending.overflow:
                self.stats.overflowed += 1
            pending.overflow = True
            return
        pending.events.append(event)
        pending.nbytes += size

    def _call_for(self, event: Event, exchange: HttpExchange) -> Event | None:
        pending = self._pending.pop((event.pid, exchange.conn, exchange.stream_id), None) if self._pending else None
        direct = self._direct.pop(id(exchange), None) if self._direct else None
        if direct is not None and direct[0] is not exchange:
            direct = None
        if exchange.method and exchange.method.upper() != "POST":
            return None
        try:
            if direct is not None:
                _, columns, complete = direct
                if not complete:
                    self.stats.overflowed += 1
                call = extract(exchange, columns, sse_complete=complete)
            else:
                call = extract(
                    exchange,
                    pending.events if pending else (),
                    sse_complete=not (pending and pending.overflow),
                )
        except Exception as exc:  # a malformed body must not stop the stream
            self.stats.errors += 1
            self.stats.last_error = repr(exc)
            if self.stats.errors == 1:
                log.warning("LLM extraction failed for %s: %r", exchange.path, exc)
            return None
        if call is None:
            return None
        self.stats.calls += 1
        if call.partial:
            self.stats.partial += 1
        fields = event.__dict__  # the exchange's Event: its values are already typed
        return new_event(
            {
                "timestamp_ns": fields["timestamp_ns"],
                "source": self.source,
                "pid": fields["pid"],
                "tid": fields["tid"],
                "comm": fields["comm"],
                "payload": call,
            }
        )

    def tick(self, now_ns: int) -> Iterable[Event]:
        if self._pending:
            limit = now_ns - self.idle_timeout_ns
            stale = [k for k, p in self._pending.items() if p.last_ns < limit]
            for key in stale:
                del self._pending[key]
            self.stats.timed_out += len(stale)
        return ()

    def finish(self) -> Iterable[Event]:
        self._pending.clear()
        return ()
