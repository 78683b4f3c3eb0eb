"""FilterAnalyzer: keeps (include) or drops (exclude) events matching a filter expression.

Each `--include`/`--exclude` is one stage, so every filter counts what it passed and dropped;
several filters in a chain all apply (an event must pass each one).
"""

from __future__ import annotations

from typing import Literal

from ..core.analyzer import Analyzer
from ..core.events import Event
from ..filters import Filter, compile_filter

Mode = Literal["include", "exclude"]


class FilterAnalyzer(Analyzer):
    """`include`: pass only matching events; `exclude`: drop matching events."""

    def __init__(self, expression: str | Filter, mode: Mode = "include") -> None:
        if mode not in ("include", "exclude"):
            raise ValueError(f"mode must be include or exclude, got {mode!r}")
        self.filter = compile_filter(expression) if isinstance(expression, str) else expression
        self.mode: Mode = mode
        self.name = f"{mode} {self.filter.expression}"
        self.passed = 0
        self.dropped = 0

    @classmethod
    def include(cls, expression: str | Filter) -> FilterAnalyzer:
        return cls(expression, "include")

    @classmethod
    def exclude(cls, expression: str | Filter) -> FilterAnalyzer:
        return cls(expression, "exclude")

    def process(self, event: Event) -> tuple[Event, ...]:
        keep = self.filter.predicate(event) is (self.mode == "include")
        if keep:
            self.passed += 1
            return (event,)
        self.dropped += 1
        return ()

    def process_batch(self, events: list[Event]) -> list[Event]:
        pred = self.filter.predicate
        if self.mode == "include":
            out = [ev for ev in events if pred(ev)]
        else:
            out = [ev for ev in events if not pred(ev)]
        self.passed += len(out)
        self.dropped += len(events) - len(out)
        return out
