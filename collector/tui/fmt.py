"""Small formatters for the TUI (numbers, sizes, durations, times); none takes captured text."""

from __future__ import annotations

import signal
import time


def fmt_time(ts_ns: int, short: bool = False) -> str:
    if not ts_ns:
        return "-"
    secs, ns = divmod(ts_ns, 1_000_000_000)
    clock = time.strftime("%H:%M:%S", time.localtime(secs))
    return clock if short else f"{clock}.{ns // 1_000_000:03d}"


def fmt_duration(ns: int | None) -> str:
    if ns is None or ns < 0:
        return "-"
    if ns < 1_000_000:
        return f"{ns / 1000:.0f}µs"
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.0f}ms"
    s = ns / 1e9
    if s < 60:
        return f"{s:.1f}s"
    if s < 3600:
        return f"{int(s // 60)}m{int(s % 60):02d}s"
    return f"{int(s // 3600)}h{int(s % 3600 // 60):02d}m"


def fmt_elapsed(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def fmt_count(n: float) -> str:
    n = float(n)
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.1f}{unit}"
    return f"{n:.0f}"


def fmt_bytes(n: float) -> str:
    n = float(n)
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):  # binary units, binary labels
        if abs(n) >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n:.0f} B"


def signal_name(sig: int | None) -> str:
    if not sig:
        return "-"
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"
