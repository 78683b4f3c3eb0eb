"""Builds the screen from a TuiState and the Ui at a given size: header, panes, help line.

`render(state, ui, console)` returns a `Frame`: exactly `height` rich `Text` lines of exactly
`width` cells. Panes are drawn line by line here (borders, columns) instead of with rich's
Table/Layout/Panel, which cost ten times more per frame; a frame only touches the visible rows,
so it costs the same whatever the session's size. Every captured string goes in as plain `Text`
content (never markup) after `escape_text`. The layout adapts to the size:

- grid (>= 120x30): processes | LLM calls over HTTP | events;
- stack (>= 40 lines): the four panes one above the other;
- small (80x24 and anything smaller): the process tree over the focused (or last) other pane.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.text import Text

from ..framework.core.events import Event, HttpExchange, LlmCall
from ..output.console import format_event, summarize
from ..output.escape import escape_text
from .fmt import fmt_bytes, fmt_count, fmt_duration, fmt_elapsed, fmt_time, signal_name
from .state import DataView, LogGap, TuiState
from .ui import PANE_TITLES, PANES, Detail, Ui

CURSOR = "▶"
CACHED_PANES = frozenset({"llm", "http"})  # panes that change only with their lists
KIND_STYLES = {
    "exec": "green",
    "fork": "green",
    "exit": "dim",
    "llm_call": "bold magenta",
    "http_exchange": "cyan",
    "sse_event": "blue",
    "lost": "bold red",
    "status": "yellow",
    "file_open": "dim",
    "gap": "dim italic",
}


class Frame:
    """A rendered screen: one Text per line, each exactly the screen's width."""

    def __init__(self, lines: list[Text]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines:
            yield from line.render(console)
            yield Segment.line()

    @property
    def plain(self) -> str:
        return "\n".join(line.plain for line in self.lines)


def layout_mode(width: int, height: int) -> str:
    if width >= 120 and height >= 30:
        return "grid"
    if height >= 40:
        return "stack"
    return "small"


def render(
    state: TuiState, ui: Ui, console: Console, width: int | None = None, height: int | None = None
) -> Frame:
    """The whole screen for `width` x `height` (the console's size by default)."""
    width = max(20, width or console.size.width)
    height = max(5, height or console.size.height)
    state.sample()
    view = ui.view()
    header = _header(state, ui, width, height)
    body_h = height - len(header) - 1
    if ui.detail is not None:
        body = _detail(ui.detail, console, width, body_h)
    else:
        body = _panes(state, view, ui, width, body_h)
    lines = [_fit(t, width) for t in header]
    lines += body
    lines.append(_fit(_help(state, ui), width))
    return Frame(lines)


def _fit(t: Text, width: int) -> Text:
    """`t` cut (with an ellipsis) or padded to exactly `width` cells, on one line."""
    t.truncate(width, overflow="ellipsis", pad=True)
    return t


# -- header and help ---------------------------------------------------------------------------


def _sep(t: Text) -> None:
    t.append(" │ ", style="dim")


def _header(state: TuiState, ui: Ui, width: int, height: int) -> list[Text]:
    narrow = width < 100
    rest = Text()  # runner states: they matter more than the end of a long title
    for info in state.runners.values():
        st, msg = info.current()
        _sep(rest)
        rest.append(escape_text(info.name, 24) + ": ")
        style = {"running": "green", "failed": "bold red", "starting": "yellow"}.get(st, "dim")
        rest.append(escape_text(st, 20), style=style)
        if msg and st != "running":
            rest.append(f" ({escape_text(msg, 80)})", style=style)
    _sep(rest)
    rest.append(fmt_elapsed(state.elapsed))
    if ui.paused:
        rest.append("  ")
        rest.append(" PAUSED ", style="reverse bold yellow")
    line1 = Text()
    line1.append("collector", style="bold")
    line1.append(" ▸ ")
    title = Text(escape_text(state.title, 200), style="bold cyan")
    title.truncate(max(12, width - line1.cell_len - rest.cell_len), overflow="ellipsis")
    line1.append_text(title)
    line1.append_text(rest)

    line2 = Text()
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
    unparsed = state.unparsed_bytes
    if unparsed:
        _sep(line2)
        line2.append(f"unparsed {fmt_bytes(unparsed)}", style="yellow")
    _sep(line2)
    line2.append(f"filtered {state.filtered}")
    if not narrow:
        _sep(line2)
        line2.append(f"procs {state.running_count()}/{len(state.tree.nodes)}")
        _sep(line2)
        line2.append(f"LLM {state.llm_totals.calls}")
    lines = [line1, line2]
    if height >= 30 and state.messages:
        lines.append(Text("! " + escape_text(state.messages[-1], 300), style="yellow"))
    return lines


def _help(state: TuiState, ui: Ui) -> Text:
    t = Text()
    if ui.prompt is not None:
        t.append("filter> ", style="bold yellow")
        t.append(escape_text(ui.prompt))
        t.append("█")
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


# -- boxes and columns -------------------------------------------------------------------------


def _box(title: Text, subtitle: Text | None, content: list[Text], w: int, h: int, focused: bool) -> list[Text]:
    """A bordered pane of exactly `h` lines of `w` cells around the first h-2 content lines."""
    border = "bold cyan" if focused else "dim"
    inner = w - 2
    top = Text("╭─", style=border)
    title.truncate(max(0, inner - 2), overflow="ellipsis")
    top.append_text(title)
    top.append("─" * max(0, w - 1 - top.cell_len), style=border)
    top.append("╮", style=border)
    out = [top]
    for i in range(h - 2):
        line = Text("│", style=border)
        cell = content[i] if i < len(content) else Text()
        cell.truncate(inner, overflow="ellipsis", pad=True)
        line.append_text(cell)
        line.append("│", style=border)
        out.append(line)
    bottom = Text("╰", style=border)
    if subtitle is not None:
        subtitle.truncate(max(0, inner - 2), overflow="ellipsis")
        bottom.append("─" * max(0, inner - 1 - subtitle.cell_len), style=border)
        bottom.append_text(subtitle)
        bottom.append("─", style=border)
    else:
        bottom.append("─" * inner, style=border)
    bottom.append("╯", style=border)
    out.append(bottom)
    return out[:h]


@dataclass
class Col:
    header: str
    flex: bool = False
    right: bool = False
    max_width: int = 40


def _grid(cols: list[Col], rows: list[tuple[str, list[Text]]], w: int) -> list[Text]:
    """A header line and one line per (style, cells) row; the flex column takes what is left."""
    widths = []
    for i, col in enumerate(cols):
        if col.flex:
            widths.append(0)
            continue
        cw = max([len(col.header)] + [rows[r][1][i].cell_len for r in range(len(rows))])
        widths.append(min(cw, col.max_width))
    gaps = len(cols) - 1
    flex = [i for i, c in enumerate(cols) if c.flex]
    spare = w - sum(widths) - gaps
    if flex:
        widths[flex[0]] = max(3, spare)
    if sum(widths) + gaps > w:  # too narrow: cut the widest fixed columns
        over = sum(widths) + gaps - w
        for i in sorted(range(len(cols)), key=lambda i: -widths[i]):
            if over <= 0:
                break
            cut = min(over, widths[i] - 3)
            if cut > 0:
                widths[i] -= cut
                over -= cut

    def line(cells: Iterable[Text], style: str) -> Text:
        out = Text(style=style)
        for i, (cell, col, cw) in enumerate(zip(cells, cols, widths, strict=True)):
            if i:
                out.append(" ")
            cell.truncate(cw, overflow="ellipsis")
            if col.right:
                out.append(" " * (cw - cell.cell_len))
                out.append_text(cell)
            else:
                out.append_text(cell)
                out.append(" " * (cw - cell.cell_len))
        return out

    out = [line((Text(c.header) for c in cols), "bold")]
    out += [line(cells, style) for style, cells in rows]
    return out


# -- panes -------------------------------------------------------------------------------------


def _hjoin(left: list[Text], right: list[Text]) -> list[Text]:
    out = []
    for a, b in zip(left, right, strict=True):
        a.append_text(b)
        out.append(a)
    return out


def _panes(state: TuiState, view: DataView, ui: Ui, width: int, height: int) -> list[Text]:
    mode = layout_mode(width, height + 3)

    def pane(name: str, w: int, h: int) -> list[Text]:
        return _pane(name, state, view, ui, w, h)

    if mode == "grid":
        top_h = height // 2
        bottom_h = height - top_h
        left_w = width * 2 // 5
        top = _hjoin(pane("procs", left_w, top_h), pane("llm", width - left_w, top_h))
        bottom = _hjoin(pane("http", left_w, bottom_h), pane("log", width - left_w, bottom_h))
        return top + bottom
    if mode == "stack":
        sizes = [height // 4, height // 4, height // 5]
        sizes.append(height - sum(sizes))
        out: list[Text] = []
        for name, h in zip(PANES, sizes, strict=True):
            out += pane(name, width, h)
        return out
    if width < 60 or height < 12:
        return pane(ui.focus, width, height)
    top_h = max(5, height // 3 + 1)
    return pane("procs", width, top_h) + pane(ui.lower, width, height - top_h)


def _pane(name: str, state: TuiState, view: DataView, ui: Ui, w: int, h: int) -> list[Text]:
    focused = ui.focus == name
    rows = max(1, h - 3)  # borders and the column header
    ui.page[name] = rows
    if name in CACHED_PANES:
        # Built again only when what it shows changed: its list or the filter (list_version),
        # the cursor, the size, the focus (Ui.toggle_pause empties the cache).
        key = (w, h, focused, id(ui.cursor[name]), ui.offset[name], state.list_version)
        cached = ui.panes.get(name)
        if cached is None or cached[0] != key:
            cached = ui.panes[name] = (key, _build_pane(name, state, view, ui, w, h, focused))
        return [line.copy() for line in cached[1]]  # the caller appends to the lines
    return _build_pane(name, state, view, ui, w, h, focused)


def _build_pane(
    name: str, state: TuiState, view: DataView, ui: Ui, w: int, h: int, focused: bool
) -> list[Text]:
    rows = max(1, h - 3)
    builder = {"procs": _procs, "llm": _llm, "http": _http, "log": _log}[name]
    content, subtitle = builder(state, view, ui, w - 2, rows, focused)
    title = Text()
    title.append(f"{CURSOR} " if focused else " ")
    title.append(PANE_TITLES[name], style="bold" if focused else "")
    if name in ("http", "log") and state.filter is not None:
        title.append(" (filtered)", style="yellow")
    title.append(" ")
    return _box(title, subtitle, content, w, h, focused)


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


def _mark(i: int, sel: int, focused: bool) -> Text:
    return Text(CURSOR if (focused and i == sel) else " ")


def _procs(
    state: TuiState, view: DataView, ui: Ui, w: int, rows: int, focused: bool
) -> tuple[list[Text], Text | None]:
    tree = view.tree_rows()
    walked = tree.rows
    sel, start, end = _window(ui, "procs", tree.pids, rows)
    wide = w >= 60
    cols = [Col(""), Col("PID", right=True), Col("PROCESS", flex=True), Col("STATE")]
    if wide:
        cols.append(Col("LIFE", right=True))
    last_ts = state.last_ts
    out: list[tuple[str, list[Text]]] = []
    for i in range(start, end):
        depth, node = walked[i]
        name = " ".join(node.argv) if node.argv else node.comm
        proc = Text()
        if depth:
            proc.append("  " * min(depth - 1, 10) + "└ ", style="dim")
        if name:
            proc.append(escape_text(name, 400))
        else:
            proc.append("(not traced)", style="dim italic")
        style = "bold green" if node.pid in view.new_pids else ""
        if node.running:
            st = Text("running" if node.start_ns or node.seeded else "", style="green")
            life_ns = (last_ts - node.start_ns) if node.start_ns else None
        else:
            if node.signal:
                st = Text(signal_name(node.signal), style="bold red")
            else:
                st = Text(f"exit {node.exit_code}", style="red" if node.exit_code else "")
            life_ns = node.lifetime_ns
            style = style or "dim"
        cells = [_mark(i, sel, focused), Text(str(node.pid)), proc, st]
        if wide:
            cells.append(Text(fmt_duration(life_ns)))
        out.append((style, cells))
    sub = Text(f" {start + 1}-{end} of {len(walked)} ", style="dim") if len(walked) > rows else None
    return _grid(cols, out, w), sub


def _llm_status(p: LlmCall) -> Text:
    if p.error:
        return Text(escape_text(str(p.status or "err"), 5), style="bold red")
    if p.status is None:
        return Text("-" if not p.partial else "part", style="yellow")
    return Text(str(p.status), style="red" if p.status >= 400 else "green")


def _tokens(n: int | None) -> Text:
    return Text("-" if n is None else fmt_count(n))


def _llm(
    state: TuiState, view: DataView, ui: Ui, w: int, rows: int, focused: bool
) -> tuple[list[Text], Text | None]:
    items = list(reversed(view.llm))
    sel, start, end = _window(ui, "llm", items, rows)
    wide, mid = w >= 90, w >= 60
    cols = [Col(""), Col("TIME")]
    if mid:
        cols += [Col("PID/COMM" if wide else "COMM", max_width=20), Col("PROVIDER", max_width=10)]
    cols += [Col("MODEL", flex=True), Col("IN", right=True), Col("OUT", right=True)]
    if wide:
        cols.append(Col("TTFT", right=True))
    cols += [Col("DUR", right=True), Col("ST")]
    out: list[tuple[str, list[Text]]] = []
    for i in range(start, end):
        ev = items[i]
        p = ev.payload
        assert isinstance(p, LlmCall)
        cells = [_mark(i, sel, focused), Text(fmt_time(p.request_start_ns or ev.timestamp_ns, short=not wide))]
        if mid:
            who = f"{ev.pid}/{ev.comm}" if wide else ev.comm
            cells += [Text(escape_text(who, 40)), Text(escape_text(p.provider, 20))]
        cells.append(Text(escape_text(p.model or p.response_model or "?", 80)))
        cells += [_tokens(p.usage.input_tokens), _tokens(p.usage.output_tokens)]
        if wide:
            cells.append(Text(fmt_duration(p.ttft_ns)))
        cells += [Text(fmt_duration(p.duration_ns)), _llm_status(p)]
        out.append(("bold red" if p.error else "", cells))
    tot = state.llm_totals
    sub = Text(
        f" {tot.calls} calls · in {fmt_count(tot.input_tokens)} · out {fmt_count(tot.output_tokens)}"
        f" · {tot.errors} err ",
        style="bold",
    )
    return _grid(cols, out, w), sub


def _http(
    state: TuiState, view: DataView, ui: Ui, w: int, rows: int, focused: bool
) -> tuple[list[Text], Text | None]:
    items = list(reversed(view.http_shown))
    sel, start, end = _window(ui, "http", items, rows)
    wide = w >= 80
    cols = [Col("")]
    if wide:
        cols += [Col("TIME"), Col("COMM", max_width=15)]
    cols += [Col("METH", max_width=7), Col("URL", flex=True), Col("ST"), Col("DUR", right=True)]
    if wide:
        cols.append(Col("RESP", right=True))
    out: list[tuple[str, list[Text]]] = []
    for i in range(start, end):
        ev = items[i]
        p = ev.payload
        assert isinstance(p, HttpExchange)
        cells = [_mark(i, sel, focused)]
        if wide:
            cells += [
                Text(fmt_time(p.request_start_ns or ev.timestamp_ns, short=True)),
                Text(escape_text(ev.comm, 16)),
            ]
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
        out.append(("", cells))
    sub = None
    if state.filter is not None:
        sub = Text(f" {len(view.http_shown)} of {len(view.http)} shown ", style="yellow")
    return _grid(cols, out, w), sub


def _log(
    state: TuiState, view: DataView, ui: Ui, w: int, rows: int, focused: bool
) -> tuple[list[Text], Text | None]:
    items = view.log_shown
    rows += 1  # no column header in this pane
    ui.page["log"] = rows
    sel, start, end = _window(ui, "log", items, rows)
    has_cursor = ui.cursor["log"] is not None
    lines: list[Text] = []
    for i in range(start, end):
        ev = items[i]
        line = Text(style=KIND_STYLES.get(ev.kind, ""))
        line.append(CURSOR if (focused and i == sel and has_cursor) else " ")
        if isinstance(ev, LogGap):
            line.append(f"··· {ev.count:,} events not listed (too many a frame) ···")
        else:
            line.append(_log_line(ev, w))
        lines.append(line)
    if not lines:
        lines.append(Text("(no events yet)" if not state.filter else "(nothing matches)", style="dim"))
    sub = Text(f" {state.events:,} events ", style="dim")
    if state.unlisted:
        sub = Text(f" {state.events:,} events, {state.unlisted:,} not listed ", style="dim")
    return lines, sub


def _log_line(ev: Event, w: int) -> str:
    if w >= 100:
        return escape_text(format_event(ev))  # the console formatter escapes captured strings
    return escape_text(
        f"{fmt_time(ev.timestamp_ns, short=True)} {ev.pid} {escape_text(ev.comm, 16)} {summarize(ev)}"
    )


# -- detail ------------------------------------------------------------------------------------


def _detail(d: Detail, console: Console, width: int, height: int) -> list[Text]:
    inner_w, inner_h = width - 2, max(1, height - 2)
    if d.wrapped is None or d.wrapped[0] != inner_w:
        lines = d.body.wrap(console, inner_w, overflow="fold", no_wrap=False)
        d.wrapped = (inner_w, list(lines))
    lines = d.wrapped[1]
    d.total_lines, d.page = len(lines), inner_h
    d.scroll(0)
    shown = [line.copy() for line in lines[d.offset : d.offset + inner_h]]
    sub = Text(f" {d.offset + 1}-{d.offset + len(shown)} of {len(lines)} lines ", style="dim")
    title = Text(" ")
    title.append_text(d.title)
    title.append(" ")
    return _box(title, sub, shown, width, height, True)
