"""The TUI's state and renderer, driven from a replayed trace, rendered to a recording Console."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from collector.framework.analyzers.pipeline import tls_analyzers
from collector.framework.core.events import Event, LlmCall, ProcessExec, TokenUsage
from collector.framework.runners.replay import ReplayRunner
from collector.tui import TuiState, Ui, layout_mode, make_filter, render
from collector.tui.filtering import FilterError
from collector.tui.keys import parse_keys
from tests.protocols.helpers import close, tls
from tests.tui.trace import (
    HOSTILE_ANSI,
    HOSTILE_CR,
    HOSTILE_MARKUP,
    T0,
    ev,
    session_events,
    write_session,
)


async def replayed_state(tmp_path: Path) -> TuiState:
    return await state_of(ReplayRunner.open(write_session(tmp_path / "session.jsonl")), "replay session.jsonl")


async def state_of(runner: ReplayRunner, title: str) -> TuiState:
    """The TUI state after `runner` has run to its end."""
    state = TuiState(title)
    state.add_runner(runner.name, runner.stats)
    async with runner:
        async for batch in runner.batches():
            state.apply_batch(batch)
    state.finish()
    return state


def draw(state: TuiState, ui: Ui, width: int, height: int) -> tuple[str, str]:
    """(plain text of the screen, everything written to the terminal)."""
    out = io.StringIO()
    console = Console(
        file=out, width=width, height=height, force_terminal=True, color_system=None, record=True
    )
    console.print(render(state, ui, console))
    text = console.export_text()
    return text, out.getvalue()


def check_screen(text: str, raw: str, width: int, height: int) -> list[str]:
    lines = text.rstrip("\n").split("\n")
    assert len(lines) == height
    assert all(len(line) == width for line in lines), [len(x) for x in lines]
    assert "\x1b" not in raw and "\r" not in raw and "\x07" not in raw
    return lines


@pytest.fixture
async def state(tmp_path: Path) -> TuiState:
    return await replayed_state(tmp_path)


# -- what is shown -----------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(80, 24), (160, 50)])
async def test_screen_shows_tree_calls_totals_and_hostile_strings_literally(
    state: TuiState, width: int, height: int
) -> None:
    ui = Ui(state)
    text, raw = draw(state, ui, width, height)
    lines = check_screen(text, raw, width, height)
    # Header: title, runner states, counters.
    assert "replay session.jsonl" in lines[0]
    assert "replay: ended" in lines[0] and "ssl: exited" in lines[0]
    assert "lost 7" in lines[1] and "filtered 0" in lines[1]
    # Process tree: argv, nesting, exit states.
    assert "agent --task fix bug" in text
    assert "└ bash -c ls -la" in text
    assert "exit 2" in text and "SIGKILL" in text
    # LLM calls, newest first, and totals.
    assert text.index("gpt-4o") < text.index("claude-sonnet-4-2") < text.index("claude-sonnet-4-0")
    assert "4 calls · in 3.1k · out 603 · 1 err" in text
    # Hostile strings: shown escaped, markup as text, never interpreted.
    assert "\\x1b[31mRED" in text
    assert HOSTILE_MARKUP in text
    assert "fine\\rEVIL" in text
    # The help line is always there.
    assert "q quit" in lines[-1] and "/ filter" in lines[-1]


async def test_small_screen_has_two_panes_large_has_four(state: TuiState) -> None:
    ui = Ui(state)
    small, _ = draw(state, ui, 80, 24)
    assert "Processes" in small and "LLM calls" in small
    assert "METH" not in small and "Events" not in small
    big, _ = draw(state, ui, 160, 50)
    for title in ("Processes", "LLM calls", "HTTP", "Events"):
        assert title in big
    assert "example.com/[bold red]x[/]" in big  # HTTP pane
    assert "RUNNER_EXITED" in big and "LOST  7 events" in big  # event log tail
    assert "TTFT" in big and "TTFT" not in small  # more columns when there is room
    assert layout_mode(80, 24) == "small"
    assert layout_mode(160, 50) == "grid"
    assert layout_mode(100, 45) == "stack"


async def test_tab_switches_the_lower_pane_in_the_small_layout(state: TuiState) -> None:
    ui = Ui(state)
    ui.handle_key("tab")  # llm -> http
    text, _ = draw(state, ui, 80, 24)
    assert "▶ HTTP" in text and "LLM calls" not in text
    assert "api.anthropic.com/v1/messages" in text
    ui.handle_key("tab")  # -> log
    text, _ = draw(state, ui, 80, 24)
    assert "▶ Events" in text and "LOST  7 events" in text


async def test_tiny_and_odd_sizes_render_exactly(state: TuiState) -> None:
    ui = Ui(state)
    for width, height in [(40, 10), (60, 12), (100, 30), (119, 39), (200, 60)]:
        text, raw = draw(state, ui, width, height)
        check_screen(text, raw, width, height)


# -- detail view -------------------------------------------------------------------------------


async def test_llm_detail_shows_prompt_response_thinking_tools_and_scrolls(state: TuiState) -> None:
    ui = Ui(state)
    ui.handle_key("down")  # from the newest (gpt-4o) to claude-sonnet-4-2
    ui.handle_key("enter")
    assert ui.detail is not None
    text, raw = draw(state, ui, 80, 24)
    check_screen(text, raw, 80, 24)
    assert "LLM call anthropic claude-sonnet-4-2" in text
    assert "System prompt" in text and f"You are a helpful agent. {HOSTILE_MARKUP}" in text
    full = ui.detail.body.plain
    assert "question 2: list files \\x1b[31mRED" in full
    assert "Thinking" in full and "thinking about 2" in full
    assert "answer number 2\nsecond line fine\\rEVIL" in full
    assert "Tool calls (1)" in full and "bash" in full and '"cmd": "ls -la"' in full
    # Scroll to the end: the tool call is on screen, the header fields are not.
    for _ in range(3):
        ui.handle_key("pgdn")
    text, _ = draw(state, ui, 80, 24)
    assert '"cmd": "ls -la"' in text and "time: " not in text
    ui.handle_key("home")
    text, _ = draw(state, ui, 80, 24)
    assert "time: " in text
    ui.handle_key("esc")
    assert ui.detail is None


async def test_process_and_http_details(state: TuiState) -> None:
    ui = Ui(state)
    ui.set_focus("procs")
    for _ in range(3):
        ui.handle_key("j")  # (not traced) pid 1 -> agent -> bash -> ls
    ui.handle_key("enter")
    assert ui.detail is not None
    body = ui.detail.body.plain
    assert "pid: 102" in body and "exited with status 0" in body
    assert "[2] \\x1b[31mRED\\x1b[0m\\x1b]0;pwned\\x07" in body
    ui.handle_key("backspace")
    ui.set_focus("http")
    ui.handle_key("down")
    ui.handle_key("enter")
    assert ui.detail is not None
    body = ui.detail.body.plain
    assert "x-evil: \\x1b[31mRED" in body and '{"model":"claude-sonnet-4"}' in body
    text, raw = draw(state, ui, 160, 50)
    check_screen(text, raw, 160, 50)


# -- filter, pause, selection ------------------------------------------------------------------


def type_keys(ui: Ui, text: str) -> None:
    for ch in text:
        ui.handle_key(ch)


async def test_filter_prompt_filters_http_and_log(state: TuiState) -> None:
    ui = Ui(state)
    ui.handle_key("/")
    type_keys(ui, "http.response.status >= 400")
    text, _ = draw(state, ui, 160, 50)
    assert "filter> http.response.status >= 400" in text
    ui.handle_key("enter")
    assert ui.prompt is None and state.filter is not None
    text, _ = draw(state, ui, 160, 50)
    assert "HTTP (filtered)" in text and "1 of 4 shown" in text
    assert "example.com/[bold red]x[/]" in text
    assert "api.anthropic.com/v1/messages" not in text.split("Events")[0].split("HTTP (filtered)")[1]
    assert "filtered 27" in text  # 28 events, 1 matches
    assert "filter: http.response.status >= 400" in text.split("\n")[-2]
    # A bad expression keeps the prompt open with the error; Esc cancels it.
    ui.handle_key("/")
    ui.handle_key("ctrl-u")
    type_keys(ui, "http.nope = 1")
    ui.handle_key("enter")
    assert ui.prompt is not None and "unknown field" in ui.prompt_error
    text, _ = draw(state, ui, 160, 50)
    assert "unknown field" in text
    ui.handle_key("esc")
    assert ui.prompt is None and state.filter is not None and state.filter.text.startswith("http.")
    # An empty filter removes it.
    ui.handle_key("/")
    ui.handle_key("ctrl-u")
    ui.handle_key("enter")
    assert state.filter is None and state.filtered == 0


def test_make_filter_expression_substring_and_errors() -> None:
    e = session_events()
    curl = next(x for x in e if x.comm == "curl")
    flt = make_filter('kind = "exec" and process.argv *= "bold"')
    assert flt is not None and flt.language == "expr" and flt(curl)
    word = make_filter("curl")  # not an expression: a substring search
    assert word is not None and word.language == "substring" and word(curl)
    forced = make_filter("~ RED")
    assert forced is not None and forced.language == "substring"
    assert make_filter("   ") is None
    with pytest.raises(FilterError):
        make_filter("kind = = 3")


async def test_pause_freezes_lists_while_counting_goes_on(state: TuiState) -> None:
    ui = Ui(state)
    ui.handle_key("p")
    new_call = ev(
        900, 100, "agent", LlmCall(provider="openai", model="gpt-NEW", usage=TokenUsage(input_tokens=1)), "llm"
    )
    state.apply_batch([new_call])
    text, _ = draw(state, ui, 160, 50)
    assert "PAUSED" in text and "gpt-NEW" not in text
    assert "5 calls" in text  # totals keep counting: capture continues
    ui.handle_key("p")
    text, _ = draw(state, ui, 160, 50)
    assert "PAUSED" not in text and "gpt-NEW" in text


async def test_selection_stays_on_its_item_as_new_ones_arrive(state: TuiState) -> None:
    ui = Ui(state)
    ui.handle_key("down")
    chosen = ui.selected()
    assert chosen.payload.model == "claude-sonnet-4-2"
    state.apply_batch([ev(900, 100, "agent", LlmCall(provider="x", model="newer"), "llm")])
    assert ui.selected() is chosen
    ui.handle_key("esc")  # back to following the newest
    assert ui.selected().payload.model == "newer"


# -- state -------------------------------------------------------------------------------------


def test_state_is_bounded_and_counts_everything() -> None:
    state = TuiState(max_llm=10, max_http=10, max_log=50, max_exited=20)
    base = session_events()
    batch = [e for _ in range(100) for e in base]
    state.apply_batch(batch)
    assert state.events == len(batch)
    assert len(state.llm) == 10 and len(state.http) == 10 and len(state.log) == 50
    assert state.llm_totals.calls == 400 and state.llm_totals.errors == 100
    assert state.lost == 700
    assert state.counts["exec"] == 500


def test_new_processes_are_highlighted_briefly() -> None:
    now = [100.0]
    state = TuiState(clock=lambda: now[0])
    state.apply_batch([ev(0, 5, "x", ProcessExec(ppid=1, uid=0, filename="/x", argv=["x"]))])
    assert 5 in state.new_pids
    now[0] += 10
    state.sample()
    assert 5 not in state.new_pids


def test_rates_come_from_samples() -> None:
    now = [0.0]
    state = TuiState(clock=lambda: now[0])
    state.sample()
    state.apply_batch([ev(i, 1, "x", ProcessExec(ppid=1, uid=0, filename="/x", argv=[])) for i in range(500)])
    now[0] = 1.0
    state.sample()
    assert state.event_rate == pytest.approx(500)


def test_runner_failed_status_event_shows_in_header() -> None:
    from collector.framework.core.events import ToolStatus

    state = TuiState("t")
    state.add_runner("process")
    state.add_runner("ssl")
    failed = Event(
        timestamp_ns=T0,
        source="collector",
        payload=ToolStatus(status="runner_failed", message="ssl died: SIGKILL", info={"runner": "ssl"}),
    )
    state.apply_batch([failed])
    text, _ = draw(state, Ui(state), 120, 30)
    assert "process: running" in text and "ssl: failed (ssl died: SIGKILL)" in text


# -- keys --------------------------------------------------------------------------------------


def test_parse_keys() -> None:
    assert parse_keys("\x1b[A\x1b[B\x1bOC\x1b[D") == ["up", "down", "right", "left"]
    assert parse_keys("\x1b") == ["esc"]
    assert parse_keys("\x1b[5~\x1b[6~\x1b[H\x1b[F\x1b[Z") == ["pgup", "pgdn", "home", "end", "shift-tab"]
    assert parse_keys("jk/\r\x7f\t") == ["j", "k", "/", "enter", "backspace", "tab"]
    assert parse_keys("\x1b[1;5A") == []  # unknown sequences are dropped whole
    assert parse_keys("é") == ["é"]


def test_hostile_strings_fixture_is_hostile() -> None:
    assert "\x1b" in HOSTILE_ANSI and "\r" in HOSTILE_CR and "[/]" in HOSTILE_MARKUP


async def test_header_shows_the_bytes_the_http_analyzer_passed_over(tmp_path: Path) -> None:
    """A capture that joined a connection in the middle of a response: the header says how many
    bytes were not HTTP the analyzers could read (nothing when all were)."""
    mid = b"data: the rest of a stream joined late\n\n0\r\n\r\n"
    path = tmp_path / "tls.jsonl"
    events = [tls("read", mid, T0), tls("write", b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", T0 + 1),
              tls("read", b"HTTP/1.1 204 No Content\r\n\r\n", T0 + 2), close(T0 + 3)]
    path.write_bytes(b"".join(e.to_json() + b"\n" for e in events))
    state = await state_of(ReplayRunner.builder().file(path).analyzers(*tls_analyzers()).build(), "replay tls.jsonl")
    assert state.unparsed_bytes == len(mid)
    text, _ = draw(state, Ui(state), 120, 30)
    assert f"unparsed {len(mid)} B" in text.split("\n")[1]
    clean = await replayed_state(tmp_path)
    assert "unparsed" not in draw(clean, Ui(clean), 120, 30)[0].split("\n")[1]
