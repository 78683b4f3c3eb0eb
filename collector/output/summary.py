"""The summary printed on exit: events per kind, filters, redaction, log file, losses, time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..framework.core.stats import RunnerStats
from .escape import escape_text

if TYPE_CHECKING:
    from ..cli.options import OutputPlan


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def _count(name: str, n: int) -> str:
    """`unparsed_bytes`, 3548 -> "unparsed 3.5 KiB"; `exchanges`, 9 -> "exchanges 9"."""
    if name.endswith("_bytes"):
        return f"{name[: -len('_bytes')].replace('_', ' ')} {_size(n)}"
    return f"{name.replace('_', ' ')} {n:,}"


def analyzer_lines(stats: RunnerStats) -> list[str]:
    """A line per analyzer with its non-zero counters (`RunnerStats.analyzers`)."""
    lines = []
    for label, counted in stats.analyzers.items():
        shown = [_count(name, n) for name, n in counted.items() if n]
        if shown:
            lines.append(f"  {escape_text(label, 40)}: " + ", ".join(shown))
    return lines


def format_summary(
    counts: Mapping[str, int],
    elapsed: float,
    stats: RunnerStats,
    plan: OutputPlan | None = None,
    *,
    interrupted: bool = False,
) -> str:
    by_kind = ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none"
    how = " (interrupted)" if interrupted else ""
    lines = [f"collector: {sum(counts.values())} events in {elapsed:.1f}s{how} ({by_kind})"]
    if plan is not None:
        for f in plan.filters:
            lines.append(
                f"  {f.mode} {escape_text(f.filter.expression, 80)!s}: "
                f"passed {f.passed}, dropped {f.dropped}"
            )
        if plan.filters:
            dropped = sum(f.dropped for f in plan.filters)
            lines.append(f"  filtered out: {dropped} events")
        r = plan.redactor
        if r is None:
            lines.append("  redaction: OFF (--no-redact)")
        else:
            kinds = ", ".join(f"{k}={v}" for k, v in sorted(r.stats.by_kind.items()))
            lines.append(
                f"  redacted: {r.stats.secrets} secrets in {r.stats.events} events"
                + (f" ({kinds})" if kinds else "")
            )
        log = plan.filelog
        if log is not None:
            s = log.stats
            text = f"  log file {escape_text(log.path)}: {s.lines} lines, {_size(s.bytes)}" + (
                f", {s.rotations} rotations" if s.rotations else ""
            )
            if s.error:
                text += f"; ERROR: {escape_text(s.error)}; {s.dropped} events not written"
            lines.append(text)
    lines.append(
        f"  lost: {stats.lost_events} events ({stats.lost_bytes} B) in the kernel; "
        f"parse errors: {stats.parse_errors}; oversize lines: {stats.oversize_lines}; "
        f"analyzer errors: {stats.analyzer_errors}; input: {stats.lines} lines, {_size(stats.bytes)}"
        + (f" ({_size(stats.tls_bytes)} of TLS plaintext)" if stats.tls_bytes else "")
    )
    lines += analyzer_lines(stats)
    if stats.last_parse_error:
        lines.append(f"  last parse error: {escape_text(stats.last_parse_error, 200)}")
    if stats.last_analyzer_error:
        lines.append(f"  last analyzer error: {escape_text(stats.last_analyzer_error, 200)}")
    probes = stats.tool_summary.get("probes") if stats.tool_summary else None
    if probes:
        ran = [p for p in probes if p.get("run_cnt", 0)]  # probes that never ran say nothing
        total_ns = sum(p.get("run_time_ns", 0) for p in ran)
        cost = ", ".join(
            f"{escape_text(str(p.get('name')))} {p['run_cnt']} x "
            f"{p.get('run_time_ns', 0) / p['run_cnt']:.0f} ns"
            for p in ran
        )
        lines.append(
            f"  probe cost: {total_ns / 1e6:.1f} ms in the kernel over "
            f"{sum(p['run_cnt'] for p in ran)} runs" + (f" ({cost})" if cost else "")
        )
    return "\n".join(lines)
