from __future__ import annotations

import argparse
from pathlib import Path

import anyio
import pytest

from collector.cli.options import add_output_options, build_output, parse_size
from collector.framework.analyzers.filelog import FileLogAnalyzer
from collector.framework.analyzers.filter import FilterAnalyzer
from collector.framework.analyzers.redact import RedactAnalyzer
from collector.framework.core.analyzer import AnalyzerChain
from collector.framework.core.errors import ConfigError, FilterSyntaxError
from collector.framework.core.events import Event
from collector.framework.runners.replay import ReplayRunner
from tests.filters.helpers import ALL, EXEC, EXIT, HTTP
from tests.output.redact_corpus import SECRETS, events


def test_include_and_exclude_count_what_they_pass_and_drop() -> None:
    inc = FilterAnalyzer.include('comm = "curl"')
    exc = FilterAnalyzer.exclude('kind = "exit"')
    chain = AnalyzerChain([inc, exc])
    assert chain.process(list(ALL)) == [EXEC]
    assert (inc.passed, inc.dropped) == (2, len(ALL) - 2)
    assert (exc.passed, exc.dropped) == (1, 1)
    # per-event path gives the same answers
    one = FilterAnalyzer.include('comm = "curl"')
    assert [e for ev in ALL for e in one.process(ev)] == [EXEC, EXIT]
    assert one.name == 'include comm = "curl"'


def test_bad_expression_fails_at_construction() -> None:
    with pytest.raises(FilterSyntaxError):
        FilterAnalyzer.include("pid >")
    with pytest.raises(ValueError):
        FilterAnalyzer("pid = 1", "keep")  # type: ignore[arg-type]


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_output_options(p)
    return p.parse_args(argv)


def test_build_output_orders_the_stages(tmp_path: Path) -> None:
    args = _args("--exclude", "pid = 1", "--include", "pid > 0", "-o", str(tmp_path / "x.jsonl"))
    plan = build_output(args)
    stages = plan.analyzers()
    assert [type(a) for a in stages] == [
        RedactAnalyzer,
        FilterAnalyzer,
        FilterAnalyzer,
        FileLogAnalyzer,
    ]
    assert [(f.mode, f.filter.expression) for f in plan.filters] == [
        ("exclude", "pid = 1"),
        ("include", "pid > 0"),
    ]
    assert plan.filelog is not None
    plan.filelog.close()


def test_no_redact_warns(capsys: pytest.CaptureFixture[str]) -> None:
    plan = build_output(_args("--no-redact"))
    assert plan.redactor is None
    assert "warning: redaction is off" in capsys.readouterr().err


def test_option_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="need -o"):
        build_output(_args("--rotate-compress"))
    with pytest.raises(ConfigError, match="need --rotate-size"):
        build_output(_args("-o", str(tmp_path / "y"), "--rotate-keep", "3"))
    assert not (tmp_path / "y").exists()
    assert (
        parse_size("10M") == 10 << 20 and parse_size("512k") == 512 << 10 and parse_size("77") == 77
    )
    with pytest.raises(argparse.ArgumentTypeError):
        parse_size("0")


def test_filters_see_redacted_events_and_the_log_gets_what_passed(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(e.to_json() + b"\n" for e in [*events(), HTTP]))
    out = tmp_path / "out.jsonl"
    tail = SECRETS["anthropic"][-12:]
    plan = build_output(
        _args(
            "--include", 'kind = "http_exchange"',
            "--exclude", f'http.request.header.x-api-key *= "{tail}"',  # never matches: redacted first
            "-o", str(out),
        )
    )  # fmt: skip

    async def go() -> list[Event]:
        runner = ReplayRunner.builder().file(src).analyzers(*plan.analyzers()).build()
        return [e async for e in runner.events()]

    got = anyio.run(go)
    assert [e.kind for e in got] == ["http_exchange", "http_exchange"]
    assert plan.filters[1].dropped == 0
    assert [Event.from_json(x) for x in out.read_bytes().splitlines()] == got
