"""The summary printed on exit: what was captured, lost and what the probes cost."""

from __future__ import annotations

from collector.framework.core.stats import RunnerStats
from collector.output.summary import format_summary


def test_probe_cost_and_tls_plaintext() -> None:
    stats = RunnerStats(lines=10, bytes=4096, tls_bytes=3 * 1024 * 1024)
    stats.tool_summary = {
        "probes": [
            {"name": "ssl_data_enter", "run_cnt": 4, "run_time_ns": 10_000},
            {"name": "ssl_hs_enter", "run_cnt": 0, "run_time_ns": 0},
            {"name": "ssl_data_exit\x1b[2J", "run_cnt": 2, "run_time_ns": 3_000_000},
        ]
    }
    text = format_summary({"tls_data": 4}, 1.0, stats)
    assert "input: 10 lines, 4.0 KiB (3.0 MiB of TLS plaintext)" in text
    probe_line = next(line for line in text.splitlines() if "probe cost" in line)
    assert probe_line == (
        "  probe cost: 3.0 ms in the kernel over 6 runs "
        "(ssl_data_enter 4 x 2500 ns, ssl_data_exit\\x1b[2J 2 x 1500000 ns)"
    )


def test_nothing_said_of_what_did_not_happen() -> None:
    text = format_summary({}, 0.5, RunnerStats())
    assert "TLS plaintext" not in text and "probe cost" not in text
