"""The standard chain that turns TLS data into HTTP exchanges and LLM calls."""

from __future__ import annotations

from collections.abc import Iterable

from ..core.analyzer import Analyzer
from ..core.events import Event
from .http import HttpAnalyzer
from .llm import LlmAnalyzer


class DropKinds(Analyzer):
    """Drops events of the given kinds (e.g. the per-chunk SSE events once LLM calls are built)."""

    def __init__(self, *kinds: str) -> None:
        self.kinds = frozenset(kinds)
        self.name = f"drop({','.join(sorted(kinds))})"

    def process(self, event: Event) -> Iterable[Event]:
        return () if event.payload.kind in self.kinds else (event,)

    def process_batch(self, events: list[Event]) -> list[Event]:
        kinds = self.kinds
        return [e for e in events if e.payload.kind not in kinds]


def tls_analyzers(*, keep_tls: bool = False, keep_sse: bool = False) -> list[Analyzer]:
    """Reassembly + HTTP/1.1 + HTTP/2 + SSE, then LLM-call extraction.

    By default the raw TLS data and per-chunk SSE events are dropped once analysed, leaving
    HTTP exchanges, LLM calls and the connection/tool events.
    """
    http = HttpAnalyzer(keep_tls=keep_tls, sse=keep_sse)
    llm = LlmAnalyzer()
    if not keep_sse:
        # The LLM analyzer takes the SSE events straight from the HTTP one: no SseMessage Event
        # is built per SSE event only to be dropped at the end of the chain.
        llm.attach(http)
        return [http, llm, DropKinds("sse_event")]
    return [http, llm]
