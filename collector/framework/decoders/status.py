"""Lines every tool prints about itself: START, ATTACH, LOST, SUMMARY."""

from __future__ import annotations

from typing import Any

from ..core.events import Event, ToolLost, ToolStatus
from ..core.stats import RunnerStats

STATUS_TYPES = frozenset({"START", "ATTACH", "SUMMARY", "ERROR", "INFO"})


def status_event(d: dict[str, Any], source: str, ts: int, stats: RunnerStats) -> Event:
    kind = d["type"]
    if kind == "LOST":
        count = int(d.get("count", 0))
        nbytes = int(d.get("bytes", 0))
        stats.lost_events += count
        stats.lost_bytes += nbytes
        payload: ToolLost | ToolStatus = ToolLost(
            count=count, bytes=nbytes, total=int(d.get("total", stats.lost_events))
        )
    else:
        info = {k: v for k, v in d.items() if k not in ("type", "ts_ns")}
        if kind == "SUMMARY":
            stats.tool_summary = info
        payload = ToolStatus(status=kind.lower(), message=str(info.get("message", "")), info=info)
    return Event(timestamp_ns=ts, source=source, pid=int(d.get("pid", 0)), payload=payload)
