"""The analyzer chain: Builder order, isolation of a failing analyzer, strict mode, tick/finish."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from collector import Analyzer, AnalyzerChain, AnalyzerError, Custom, Event, FunctionAnalyzer


def ev(i: int) -> Event:
    return Event(timestamp_ns=i, source="t", payload=Custom(name="n", data={"i": i, "trail": []}))


class Tag(Analyzer):
    def __init__(self, tag: str) -> None:
        self.name = tag

    def process(self, event: Event) -> Iterable[Event]:
        event.payload.data.setdefault("trail", []).append(self.name)  # type: ignore[union-attr]
        return (event,)


class FailOn(Analyzer):
    name = "fail"

    def __init__(self, bad: int) -> None:
        self.bad = bad

    def process(self, event: Event) -> Iterable[Event]:
        if event.payload.data["i"] == self.bad:  # type: ignore[union-attr]
            raise RuntimeError("boom")
        return (event,)


class Buffering(Analyzer):
    """Holds events until finish, emits a count on tick."""

    def __init__(self) -> None:
        self.held: list[Event] = []

    def process(self, event: Event) -> Iterable[Event]:
        self.held.append(event)
        return ()

    def tick(self, now_ns: int) -> Iterable[Event]:
        return [Event(timestamp_ns=now_ns, source="t", payload=Custom(name="tick", data={"n": len(self.held), "trail": []}))]

    def finish(self) -> Iterable[Event]:
        held, self.held = self.held, []
        return held


def trails(events: list[Event]) -> list[list[str]]:
    return [e.payload.data["trail"] for e in events]  # type: ignore[union-attr]


def test_chain_runs_in_order() -> None:
    chain = AnalyzerChain([Tag("a"), Tag("b"), Tag("c")])
    out = chain.process([ev(1), ev(2)])
    assert trails(out) == [["a", "b", "c"], ["a", "b", "c"]]


def test_failing_event_passes_through_unchanged_and_is_counted() -> None:
    chain = AnalyzerChain([Tag("a"), FailOn(2), Tag("c")])
    out = chain.process([ev(1), ev(2), ev(3)])
    assert [e.payload.data["i"] for e in out] == [1, 2, 3]  # type: ignore[union-attr]
    assert trails(out) == [["a", "c"], ["a", "c"], ["a", "c"]]
    assert chain.errors == {"fail": 1}
    assert "boom" in chain.last_error


def test_strict_mode_fails_fast() -> None:
    chain = AnalyzerChain([FailOn(2)], strict=True)
    with pytest.raises(AnalyzerError, match="boom"):
        chain.process([ev(1), ev(2)])


def test_function_analyzer_drops_and_replaces() -> None:
    chain = AnalyzerChain([FunctionAnalyzer(lambda e: None if e.timestamp_ns % 2 else e)])
    assert [e.timestamp_ns for e in chain.process([ev(1), ev(2), ev(3), ev(4)])] == [2, 4]


def test_tick_and_finish_flow_through_later_analyzers() -> None:
    chain = AnalyzerChain([Tag("a"), Buffering(), Tag("z")])
    assert chain.process([ev(1), ev(2)]) == []
    ticked = chain.tick(99)
    assert [e.payload.name for e in ticked] == ["tick"]  # type: ignore[union-attr]
    assert trails(ticked) == [["z"]]
    flushed = chain.finish()
    assert trails(flushed) == [["a", "z"], ["a", "z"]]


async def test_builder_order_is_chain_order() -> None:
    from collector import CommandRunner
    from tests.conftest import emitter_cmd

    runner = (
        CommandRunner.builder()
        .command(emitter_cmd("exit0", 2))
        .analyzer(Tag("first"))
        .analyzer(FailOn(1))
        .analyzer(Tag("second"))
        .build()
    )
    async with runner:
        out = [e async for e in runner.events()]
    assert trails(out) == [["first", "second"], ["first", "second"]]
    assert runner.stats.analyzer_errors == 1
