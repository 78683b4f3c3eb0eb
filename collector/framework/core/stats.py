"""Counters every runner keeps, reported on exit and shown by front ends."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RunnerStats:
    lines: int = 0
    bytes: int = 0
    events: int = 0
    parse_errors: int = 0
    oversize_lines: int = 0
    lost_events: int = 0
    lost_bytes: int = 0
    analyzer_errors: int = 0
    # TLS plaintext the decoded SSL calls moved (their lengths, truncated bytes included), counted
    # before any analyzer: front ends show it even when the HTTP analyzers consume the TLS events
    tls_bytes: int = 0
    last_parse_error: str = ""
    last_analyzer_error: str = ""
    tool_summary: dict[str, Any] = field(default_factory=dict)
    # the analyzers' own counters by label (`Analyzer.counters`), filled by `summary_stats()`
    analyzers: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
