"""The display filter of the TUI: the filter language when available, a substring match otherwise.

`make_filter(text)` returns a `DisplayFilter` (callable on an Event) or raises `FilterError` with a
message fit for the prompt line. Both implementations sit behind this one interface.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..framework.core.events import Event

Predicate = Callable[[Event], bool]
_BARE_WORD = re.compile(r"[\w.\-/:@]+")


class FilterError(ValueError):
    """The filter text does not compile; `str(exc)` is shown on the prompt line."""


@dataclass
class DisplayFilter:
    text: str
    predicate: Predicate = field(repr=False)
    language: str = "expr"  # "expr" (filter language) or "substring"

    def __call__(self, event: Event) -> bool:
        try:
            return bool(self.predicate(event))
        except Exception:
            return False


def _substring(text: str) -> DisplayFilter:
    needle = text.lower()

    def match(event: Event) -> bool:
        from ..output.console import format_event

        return needle in format_event(event).lower()

    return DisplayFilter(text, match, "substring")


def _compiler() -> Callable[[str], Predicate] | None:
    try:
        from ..framework.filters import compile_filter
    except ImportError:  # the filter package is not there: plain substring search
        return None
    return compile_filter


def make_filter(text: str) -> DisplayFilter | None:
    """None for an empty text (no filter). Text starting with `~` is always a substring search."""
    text = text.strip()
    if not text:
        return None
    if text.startswith("~"):
        return _substring(text[1:].strip())
    compile_ = _compiler()
    if compile_ is None:
        return _substring(text)
    try:
        return DisplayFilter(text, compile_(text), "expr")
    except Exception as exc:
        if _BARE_WORD.fullmatch(text):  # `curl`, `api.openai.com`: not an expression, a search
            return _substring(text)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FilterError(first) from exc
