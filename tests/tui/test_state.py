"""TuiState.apply_batch (counted by payload type, per-event work only where needed) must leave the
state exactly as apply_event on each event would: totals, process tree, lists, filter, screen."""

from __future__ import annotations

import importlib
import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from collector.framework.core.events import Custom, Event, FileOpen
from collector.framework.runners.replay import ReplayRunner
from collector.tui import LogGap, TuiState, Ui, make_filter, render
from collector.tui.state import LOG_PER_FRAME
from tests.tui.trace import T0, big_session, session_events, write_session


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def snapshot(state: TuiState) -> dict[str, Any]:
    """Everything the screen can show, as plain values (events compared by identity)."""
    return {
        "events": state.events,
        "counts": dict(state.counts),
        "tls_bytes": state.tls_bytes,
        "lost": state.lost,
        "last_ts": state.last_ts,
        "files_opened": dict(state.files_opened),
        "llm_totals": state.llm_totals,
        "llm": [id(e) for e in state.llm],
        "http": [id(e) for e in state.http],
        "log": [("gap", e.count) if isinstance(e, LogGap) else id(e) for e in state.log],
        "unlisted": state.unlisted,
        "http_matched": [id(e) for e in state.http_matched],
        "log_matched": [id(e) for e in state.log_matched],
        "filtered": state.filtered,
        "messages": list(state.messages),
        "runners": {k: (v.state, v.message) for k, v in state.runners.items()},
        "new_pids": dict(state.new_pids),
        "tree": [
            (depth, n.pid, n.ppid, n.comm, tuple(n.argv), n.start_ns, n.exit_ns, n.exit_code, n.signal)
            for depth, n in state.tree.walk()
        ],
    }


def screen(state: TuiState, focus: str, width: int = 160, height: int = 50) -> str:
    console = Console(file=io.StringIO(), width=width, height=height, color_system=None)
    ui = Ui(state, focus=focus)
    return render(state, ui, console).plain


def aggregated_opens(n: int) -> list[Event]:
    """File opens with `count` > 1 (repeats aggregated by the tool), over a few pids."""
    return [
        Event(
            timestamp_ns=T0 + i,
            source="process",
            pid=2000 + i % 5,
            comm="w",
            payload=FileOpen(path=f"/f{i % 7}", ret=3, count=1 + i % 4),
        )
        for i in range(n)
    ]


def in_time_order(events: list[Event]) -> list[Event]:
    """Streams arrive in time order (last_ts is taken from the end of each batch)."""
    return sorted(events, key=lambda e: e.timestamp_ns)


def feed_both(events: list[Event], sizes: list[int], filter_at: int | None = None) -> tuple[TuiState, TuiState]:
    """The same events into two states: in batches of the given sizes (cycled), and one by one."""
    clock = Clock()
    batched = TuiState("t", clock=clock, max_log=300, max_http=40, max_llm=40, max_exited=50)
    single = TuiState("t", clock=clock, max_log=300, max_http=40, max_llm=40, max_exited=50)
    i = k = 0
    while i < len(events):
        if filter_at is not None and i >= filter_at and batched.filter is None:
            batched.set_filter(make_filter('kind = "http_exchange" or comm = "agent"'))
            single.set_filter(make_filter('kind = "http_exchange" or comm = "agent"'))
        n = sizes[k % len(sizes)]
        chunk = events[i : i + n]
        batched.apply_batch(chunk)
        for e in chunk:
            single.apply_event(e)
        clock.now += 0.5
        if k % 3 == 2:  # a frame: the log takes the newest events since the last one
            batched.sample()
            single.sample()
        i += n
        k += 1
    return batched, single


def test_batches_and_single_events_give_the_same_state() -> None:
    events = in_time_order(session_events() + big_session(30_000) + aggregated_opens(500))
    batched, single = feed_both(events, [1, 7, 1000, 3, 250, 4096])
    assert batched.events == len(events)
    assert batched.tls_bytes > 0 and batched.files_opened and batched.llm_totals.calls > 0
    assert snapshot(batched) == snapshot(single)
    for focus in ("procs", "llm", "http", "log"):
        assert screen(batched, focus) == screen(single, focus)


def test_with_a_display_filter_too() -> None:
    events = in_time_order(big_session(5_000) + session_events())
    batched, single = feed_both(events, [13, 500, 1], filter_at=1_000)
    assert batched.filtered > 0 and batched.log_matched and batched.http_matched
    assert snapshot(batched) == snapshot(single)


def test_a_batch_of_only_hot_kinds_or_only_listed_kinds() -> None:
    events = in_time_order(big_session(1_000) + aggregated_opens(50))
    tls = [e for e in events if e.kind == "tls_data"]
    opens = [e for e in events if e.kind == "file_open"]
    procs = [e for e in events if e.kind in ("exec", "exit")]
    for chunk in (tls, opens, procs, []):
        batched, single = feed_both(chunk, [len(chunk) or 1])
        assert snapshot(batched) == snapshot(single)


def test_an_unknown_payload_type_is_counted_by_its_kind() -> None:
    class Mine(Custom):
        pass

    e = Event(timestamp_ns=T0, source="mine", pid=5, payload=Mine(name="x"))
    state = TuiState("t")
    state.apply_batch([e, e])
    assert state.counts == {"custom": 2} and state.events == 2


async def test_a_replayed_trace_gives_the_same_state_as_event_by_event(tmp_path: Path) -> None:
    path = write_session(tmp_path / "big.jsonl", in_time_order(session_events() + big_session(20_000)))
    clock = Clock()
    batched = TuiState("t", clock=clock)
    single = TuiState("t", clock=clock)
    runner = ReplayRunner.open(path)
    async with runner:
        async for batch in runner.batches():
            batched.apply_batch(batch)
            for e in batch:
                single.apply_event(e)
    assert batched.events == 20_000 + len(session_events())
    assert snapshot(batched) == snapshot(single)
    for focus in ("procs", "llm", "http", "log"):
        assert screen(batched, focus) == screen(single, focus)


def test_the_tree_is_walked_again_only_after_it_changed() -> None:
    events = big_session(300)
    state = TuiState("t")
    state.apply_batch(events[:150])
    rows = state.tree_rows()
    assert [pid for pid in rows.pids] == [n.pid for _, n in state.tree.walk()]
    state.apply_batch([e for e in events[150:300] if e.kind == "tls_data"])
    assert state.tree_rows() is rows  # only counters changed: the cached rows are kept
    state.apply_batch([e for e in events[150:300] if e.kind in ("exec", "exit")])
    fresh = state.tree_rows()
    assert fresh is not rows and fresh.pids == [n.pid for _, n in state.tree.walk()]
    assert fresh.running == sum(1 for n in state.tree.nodes.values() if n.running)
    assert "1003" in screen(state, "procs")


def test_the_log_lists_the_newest_events_of_each_frame_and_counts_the_rest() -> None:
    events = big_session(3 * LOG_PER_FRAME)
    state = TuiState("t", max_log=2000)
    state.apply_batch(events[:100])
    state.sample()
    assert list(state.log) == events[:100]  # few events a frame: all listed, no gap
    state.apply_batch(events[100 : 100 + 2 * LOG_PER_FRAME])
    state.apply_batch(events[100 + 2 * LOG_PER_FRAME :])
    state.sample()
    log = list(state.log)
    gap = log[100]
    assert isinstance(gap, LogGap) and gap.count == 3 * LOG_PER_FRAME - 100 - LOG_PER_FRAME
    assert log[101:] == events[-LOG_PER_FRAME:]  # the newest ones, in order
    assert state.unlisted == gap.count
    assert gap.count + sum(isinstance(e, Event) for e in log) == state.events
    text = screen(state, "log")
    assert f"{gap.count:,} events not listed" in text or f"{state.unlisted:,} not listed" in text


def test_a_paused_view_and_a_filter_skip_the_gaps() -> None:
    events = big_session(2 * LOG_PER_FRAME)
    state = TuiState("t")
    state.apply_batch(events)
    ui = Ui(state, focus="log")
    ui.toggle_pause()
    assert ui.frozen is not None and isinstance(ui.frozen.log_shown[0], LogGap)
    ui.cursor["log"] = ui.frozen.log_shown[0]
    ui.open_detail()  # a gap has no details
    assert ui.detail is None
    ui.handle_key("/")
    for key in 'kind = "exec"':
        ui.handle_key(key)
    ui.handle_key("enter")
    assert state.log_matched and all(isinstance(e, Event) for e in state.log_matched)
    assert state.filtered == LOG_PER_FRAME - len(state.log_matched)  # the gap is not an event
    assert ui.frozen.log_shown and all(isinstance(e, Event) for e in ui.frozen.log_shown)


def test_cached_panes_are_the_panes_built_again(monkeypatch: pytest.MonkeyPatch) -> None:
    render_mod = importlib.import_module("collector.tui.render")  # the package's `render` is the function
    built: list[int] = []
    real = render_mod._llm

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(render_mod, "_llm", counting)
    events = in_time_order(session_events() + big_session(3_000))
    clock = Clock()
    state = TuiState("t", clock=clock)
    ui = Ui(state)
    console = Console(file=io.StringIO(), width=140, height=45, color_system=None)

    def check() -> None:
        cached = render(state, ui, console).plain
        ui.panes.clear()
        assert cached == render(state, ui, console).plain

    quiet = [e for e in events if e.kind == "tls_data"]
    steps: list[Any] = [events[:500], quiet[:50], "down", "down", quiet[50:60], events[500:1500],
                        "tab", "down", "p", events[1500:], "up", "p", "esc", "1", "2", "/"]
    steps += [*'kind = "llm_call"', "enter", quiet[60:70], "3", "down", "/", "ctrl-u", "enter"]
    for step in steps:
        if isinstance(step, str):
            ui.handle_key(step)
        else:
            state.apply_batch(step)
        clock.now += 0.2
        check()
    before = len(built)
    render(state, ui, console)
    state.apply_batch(quiet[70:80])  # no LLM call, no HTTP exchange: the LLM pane is reused
    render(state, ui, console)
    assert len(built) == before
    state.apply_batch([e for e in events if e.kind == "llm_call"][:1])
    render(state, ui, console)
    assert len(built) == before + 1
