"""Builds the screen from a TuiState and the Ui at a given size: header, panes, help line.

`render(state, ui, console)` returns a rich renderable; it only reads the visible rows, so a frame
costs the same whatever the session's size. Every captured string goes in as plain `Text` (never
markup) after `escape_text`. The layout adapts to the size:

- grid (>= 120x30): processes | LLM calls over HTTP | events;
- stack (>= 40 lines): the four panes one above the other;
- small (80x24 and anything smaller): the process tree over the focused (or last) other pane.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.layout import Layout
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..framework.core.events import Event, HttpExchange, LlmCall
from ..output.console import format_event, summarize
from ..output.escape import escape_text
from .fmt import fmt_bytes, fmt_count, fmt_duration, fmt_elapsed, fmt_time, signal_name
from .state import DataView, TuiState
from .ui import PANE_TITLES, PANES, Detail, Ui

CURSOR = "▶"
KIND_STYLES = {
    "exec": "green",
    "fork": "green",
    "exit": "dim",
    "llm_call": "bold magenta",
    "http_exchange": "cyan",
    "sse_event": "blue",
    "lost": "bold red",
    "status": "yellow",
    "tls_data": "",
    "file_open": "dim",
}


def layout_mode(width: int, height: int) -> str:
    if width >= 120 and height >= 30:
        return "grid"
    if height >= 40:
        return "stack"
    return "small"


def render(
    state: TuiState, ui: Ui, console: Console, width: int | None = None, height: int | None = None
) -> RenderableType:
    """The whole screen for `width` x `height` (the console's size by default)."""
    width = width or console.size.width
    height = height or console.size.height
    state.sample()
    view = ui.view()
    header = _header(state, ui, width)
    body_h = max(3, height - len(header) - 1)
    if ui.detail is not None:
        body: RenderableType = _detail(ui.detail, console, width, body_h)
    else:
        body = _panes(state, view, ui, width, body_h)
    root = Layout()
    root.split_column(
        Layout(Group(*header), size=len(header)),
        Layout(body, size=body_h),
        Layout(_help(state, ui, width), size=1),
    )
    return root


# -- header and help ---------------------------------------------------------------------------


def _sep(t: Text) -> None:
    t.append(" │ ", style="dim")


def _header(state: TuiState, ui: Ui, width: int) -> list[Text]:
    narrow = width < 100
    line1 = Text(no_wrap=True, overflow="ellipsis")
    line1.append("collector", style="bold")
    line1.append(" ▸ ")
    line1.append(escape_text(state.title, 60), style="bold cyan")
    for info in state.runners.values():
        st, msg = info.current()
        _sep(line1)
        line1.append(escape_text(info.name, 24) + ": ")
        style = {"running": "green", "failed": "bold red", "starting": "yellow"}.get(st, "dim")
        line1.append(escape_text(st, 20), style=style)
        if msg and st != "running":
            line1.append(f" ({escape_text(msg, 80)})", style=style)
    _sep(line1)
    line1.append(fmt_elapsed(state.elapsed))
    if ui.paused:
        line1.append("  ")
        line1.append(" PAUSED ", style="reverse bold yellow")

    line2 = Text(no_wrap=True, overflow="ellipsis")
    line2.append("events " if not narrow else "ev ", style="bold")
    line2.append(f"{fmt_count(state.events)} ({fmt_count(state.event_rate)}/s)")
    _sep(line2)
    line2.append("TLS ", style="bold")
    line2.append(f"{fmt_bytes(state.tls_bytes)} ({fmt_bytes(state.tls_rate)}/s)")
    _sep(line2)
    lost = state.lost_events
    line2.append("lost " + str(lost), style="bold red" if lost else "")
    _sep(line2)
    errors = state.parse_errors
    line2.append(("parse err " if not narrow else "err ") + str(errors), style="bold red" if errors else "")
    _sep(line2)
    line2.append(f"filtered {state.filtered}")
    if not narrow:
        running = sum(1 for n in state.tree.nodes.values() if n.running) if len(state.tree.nodes) < 5000 else None
        _sep(line2)
        line2.append(f"procs {running if running is not None else '?'}/{len(state.tree.nodes)}")
        _sep(line2)
        line2.append(f"LLM {state.llm_totals.calls}")
    return [line1, line2]


def _help(state: TuiState, ui: Ui, width: int) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    if ui.prompt is not None:
        t.append("filter> ", style="bold yellow")
        t.append(escape_text(ui.prompt))
        t.append("█", style="blink")
        if ui.prompt_error:
            t.append("  ")
            t.append(escape_text(ui.prompt_error, 200), style="bold red")
        else:
            t.append("  Enter apply · Esc cancel · empty = none · ~text = substring", style="dim")
        return t
    if ui.detail is not None:
        keys = [("↑↓jk", "scroll"), ("PgUp/Dn", "page"), ("Esc", "back"), ("p", "pause"), ("q", "quit")]
    else:
        keys = [
            ("↑↓jk", "move"),
            ("Enter", "details"),
            ("Esc", "back"),
            ("Tab", "pane"),
            ("/", "filter"),
            ("p", "pause" if not ui.paused else "resume"),
            ("q", "quit"),
        ]
    for i, (key, what) in enumerate(keys):
        if i:
            t.append(" ")
        t.append(key, style="bold reverse")
        t.append(" " + what)
    if state.filter is not None:
        t.append("  filter: ", style="bold yellow")
        t.append(escape_text(state.filter.text, 60), style="yellow")
    return t


# -- panes -------------------------------------------------------------------------------------


def _panes(state: TuiState, view: DataView, ui: Ui, width: int, height: int) -> RenderableType:
    mode = layout_mode(width, height)

    def pane(name: str, w: int, h: int) -> Layout:
        return Layout(_pane(name, state, view, ui, w, h), size=h)

    if mode == "grid":
        top_h = height // 2
        bottom_h = height - top_h
        left_w = width * 2 // 5
        top, bottom = Layout(size=top_h), Layout(size=bottom_h)
        top.split_row(
            Layout(_pane("procs", state, view, ui, left_w, top_h), size=left_w),
            Layout(_pane("llm", state, view, ui, width - left_w, top_h)),
        )
        bottom.split_row(
            Layout(_pane("http", state, view, ui, left_w, bottom_h), size=left_w),
            Layout(_pane("log", state, view, ui, width - left_w, bottom_h)),
        )
        grid = Layout()
        grid.split_column(top, bottom)
        return grid
    if mode == "stack":
        sizes = [height // 4, height // 4, height // 5]
        sizes.append(height - sum(sizes))
        stack = Layout()
        stack.split_column(*(pane(name, width, h) for name, h in zip(PANES, sizes, strict=True)))
        return stack
    if width < 60 or height < 12:
        return _pane(ui.focus, state, view, ui, width, height)
    top_h = max(5, height // 3 + 1)
    small = Layout()
    small.split_column(pane("procs", width, top_h), pane(ui.lower, width, height - top_h))
    return small


def _pane(name: str, state: TuiState, view: DataView, ui: Ui, w: int, h: int) -> Panel:
    focused = ui.focus == name
    rows = max(1, h - 3)  # borders and the table header
    ui.page[name] = rows
    builder = {"procs": _procs, "llm": _llm, "http": _http, "log": _log}[name]
    content, subtitle = builder(state, view, ui, w - 2, rows, focused)
    title = Text()
    title.append(f"{CURSOR} " if focused else "  ")
    title.append(PANE_TITLES[name], style="bold" if focused else "")
    if name in ("http", "log") and state.filter is not None:
        title.append(" (filtered)", style="yellow")
    return Panel(
        content,
        title=title,
        title_align="left",
        subtitle=subtitle,
        subtitle_align="right",
        border_style="bold cyan" if focused else "dim",
        padding=0,
        height=h,
    )


def _window(ui: Ui, name: str, items: Sequence[Any], rows: int) -> tuple[int, int, int]:
    """(cursor row, first shown, end) keeping the cursor in view; the log sticks to its tail."""
    n = len(items)
    sel = ui.index(name, items) if n else 0
    off = ui.offset[name]
    if name == "log" and ui.cursor["log"] is None:
        off = max(0, n - rows)
    if sel < off:
        off = sel
    elif sel >= off + rows:
        off = sel - rows + 1
    off = max(0, min(off, max(0, n - rows)))
    ui.offset[name] = off
    return sel, off, min(n, off + rows)


def _table(w: int) -> Table:
    return Table(
        box=None,
        padding=(0, 1, 0, 0),
        pad_edge=False,
        expand=True,
        show_edge=False,
        header_style="bold",
        width=w,
    )


def _mark(i: int, sel: int, focused: bool, has_cursor: bool) -> Text:
    return Text(CURSOR if (focused and i == sel and has_cursor) else " ")


def _procs(
    state: TuiState, view: DataView, ui: Ui, w: int, rows: int, focused: bool
) -> tuple[RenderableType, Text | None]:
    walked = list(view.tree.walk())
    items = [node.pid for _, node in walked]
    sel, start, end = _window(ui, "procs", items, rows)
    t = _table(w)
    t.add_column("", width=1, no_wrap=True)
    t.add_column("PID", justify="right", no_wrap=True)
    t.add_column("PROCESS", ratio=1, no_wrap=True, overflow="ellipsis")
    t.add_column("STATE", no_wrap=True, overflow="ellipsis")
    if w >= 60:
        t.add_column("LIFE", justify="right", no_wrap=True)
    last_ts = state.last_ts
    for i in range(start, end):
        depth, node = walked[i]
        name = " ".join(node.argv) if node.argv else node.comm
        proc = Text(no_wrap=True, overflow="ellipsis")
        if depth:
            proc.append("  " * min(depth - 1, 10) + "└ ", style="dim")
        if name:
            proc.append(escape_text(name, 400))
        else:
            proc.append("(not traced)", style="dim italic")
        style = ""
        if node.pid in view.new_pids:
            style = "bold green"
        if node.running:
            st = Text("running" if node.start_ns or node.seeded else "", style="green")
            life_ns = (last_ts - node.start_ns) if node.start_ns else None
        else:
            if node.signal:
                st = Text(signal_name(node.signal), style="bold red")
            else:
                st = Text(f"exit {node.exit_code}", style="red" if node.exit_code else "dim")
            life_ns = node.lifetime_ns
            style = style or "dim"
        cells = [_mark(i, sel, focused, True), Text(str(node.pid)), proc, st]
        if w >= 60:
            cells.append(Text(fmt_duration(life_ns)))
        t.add_row(*cells, style=style)
    sub = Text(f"{end - start} of {len(walked)} ", style="dim") if len(walked) > rows else None
    return t, sub


def _llm_status(p: LlmCall) -> Text:
    if p.error:
        return Text(escape_text(str(p.status or "err"), 5), style="bold red")
    if p.status is None:
        return Text("-" if not p.partial else "part", style="yellow")
    return Text(str(p.status), style="red" if p.status >= 400 else "green")


def _tokens(n: int | None) -> Text:
    return Text("-" if n is None else fmt_count(n), justify="right")


def _llm(
    state: TuiState, view: DataView, ui: Ui, w: int, rows: int, focused: bool
) -> tuple[RenderableType, Text | None]:
    items = list(reversed(view.llm))
    sel, start, end = _window(ui, "llm", items, rows)
    has_cursor = True
    wide, mid = w >= 90, w >= 60
    t = _table(w)
    t.add_column("", width=1, no_wrap=True)
    t.add_column("TIME", no_wrap=True)
    if mid:
        t.add_column("PID/COMM" if wide else "COMM", no_wrap=True, overflow="ellipsis", max_width=22)
        t.add_column("PROVIDER", no_wrap=True, overflow="ellipsis", max_width=10)
    t.add_column("MODEL", ratio=1, no_wrap=True, overflow="ellipsis")
    t.add_column("IN", justify="right", no_wrap=True)
    t.add_column("OUT", justify="right", no_wrap=True)
    if wide:
        t.add_column("TTFT", justify="right", no_wrap=True)
    t.add_column("DUR", justify="right", no_wrap=True)
    t.add_column("ST", no_wrap=True)
    for i in range(start, end):
        ev = items[i]
        p = ev.payload
        assert isinstance(p, LlmCall)
        cells: list[Text] = [
            _mark(i, sel, focused, has_cursor),
            Text(fmt_time(p.request_start_ns or ev.timestamp_ns, short=not wide)),
        ]
        if mid:
            who = f"{ev.pid}/{ev.comm}" if wide else ev.comm
            cells.append(Text(escape_text(who, 40)))
            cells.append(Text(escape_text(p.provider, 20)))
        cells.append(Text(escape_text(p.model or p.response_model or "?", 80)))
        cells += [_tokens(p.usage.input_tokens), _tokens(p.usage.output_tokens)]
        if wide:
            cells.append(Text(fmt_duration(p.ttft_ns)))
        cells += [Text(fmt_duration(p.duration_ns)), _llm_status(p)]
        t.add_row(*cells)
    tot = state.llm_totals
    sub = Text(
        f" {tot.calls} calls · in {fmt_count(tot.input_tokens)} · out {fmt_count(tot.output_tokens)}"
        f" · {tot.errors} err ",
        style="bold",
    )
    return t, sub


def _http(
    state: TuiState, view: DataView, ui: Ui, w: int, rows: int, focused: bool
) -> tuple[RenderableType, Text | None]:
    items = list(reversed(view.http_shown))
    sel, start, end = _window(ui, "http", items, rows)
    wide = w >= 80
    t = _table(w)
    t.add_column("", width=1, no_wrap=True)
    if wide:
        t.add_column("TIME", no_wrap=True)
        t.add_column("COMM", no_wrap=True, overflow="ellipsis", max_width=15)
    t.add_column("METH", no_wrap=True, overflow="ellipsis", max_width=7)
    t.add_column("URL", ratio=1, no_wrap=True, overflow="ellipsis")
    t.add_column("ST", no_wrap=True)
    t.add_column("DUR", justify="right", no_wrap=True)
    if wide:
        t.add_column("RESP", justify="right", no_wrap=True)
    for i in range(start, end):
        ev = items[i]
        p = ev.payload
        assert isinstance(p, HttpExchange)
        cells: list[Text] = [_mark(i, sel, focused, True)]
        if wide:
            cells.append(Text(fmt_time(p.request_start_ns or ev.timestamp_ns, short=True)))
            cells.append(Text(escape_text(ev.comm, 16)))
        cells.append(Text(escape_text(p.method, 10)))
        cells.append(Text(escape_text(f"{p.host}{p.path}" if p.host else p.url or p.path, 300)))
        if p.status is None:
            cells.append(Text("---", style="yellow"))
        else:
            cells.append(Text(str(p.status), style="red" if p.status >= 400 else "green"))
        dur = p.end_ns - p.request_start_ns if p.end_ns and p.request_start_ns else None
        cells.append(Text(fmt_duration(dur)))
        if wide:
            cells.append(Text(fmt_bytes(p.response_body_size)))
        t.add_row(*cells)
    sub = None
    if state.filter is not None:
        sub = Text(f" {len(view.http_shown)} of {len(view.http)} shown ", style="yellow")
    return t, sub


def _log(
    state: TuiState, view: DataView, ui: Ui, w: int, rows: int, focused: bool
) -> tuple[RenderableType, Text | None]:
    items = view.log_shown
    rows += 1  # no table header in this pane
    ui.page["log"] = rows
    sel, start, end = _window(ui, "log", items, rows)
    has_cursor = ui.cursor["log"] is not None
    lines: list[Text] = []
    for i in range(start, end):
        ev = items[i]
        line = Text(no_wrap=True, overflow="ellipsis", style=KIND_STYLES.get(ev.kind, ""))
        line.append(CURSOR if (focused and i == sel and has_cursor) else " ")
        line.append(_log_line(ev, w))
        lines.append(line)
    if not lines:
        lines.append(Text("(no events yet)" if not state.filter else "(nothing matches)", style="dim"))
    sub = Text(f" {state.events:,} events ", style="dim")
    return Group(*lines), sub


def _log_line(ev: Event, w: int) -> str:
    if w >= 100:
        return escape_text(format_event(ev))  # the console formatter escapes captured strings
    return escape_text(
        f"{fmt_time(ev.timestamp_ns, short=True)} {ev.pid} {escape_text(ev.comm, 16)} {summarize(ev)}"
    )


# -- detail ------------------------------------------------------------------------------------


def _detail(d: Detail, console: Console, width: int, height: int) -> Panel:
    inner_w, inner_h = max(10, width - 2), max(1, height - 2)
    if d.wrapped is None or d.wrapped[0] != inner_w:
        lines = d.body.wrap(console, inner_w, overflow="fold", no_wrap=False)
        d.wrapped = (inner_w, list(lines))
    lines = d.wrapped[1]
    d.total_lines, d.page = len(lines), inner_h
    d.scroll(0)
    shown = lines[d.offset : d.offset + inner_h]
    for line in shown:
        line.no_wrap = True
        line.overflow = "crop"
    sub = Text(
        f" {d.offset + 1}-{d.offset + len(shown)} of {len(lines)} lines ", style="dim"
    )
    return Panel(
        Group(*shown),
        title=d.title,
        title_align="left",
        subtitle=sub,
        subtitle_align="right",
        border_style="bold cyan",
        padding=0,
        height=height,
    )
