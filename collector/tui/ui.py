"""Interaction state of the TUI (focus, cursors, detail view, filter prompt, pause) and key handling.

Pure: `Ui.handle_key(name)` changes this object (and the TuiState's filter); nothing is drawn here.
Cursors hold the selected item itself (an Event, or a pid for the process tree), so the selection
stays on the same item while new ones arrive; `None` follows the newest item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text

from .filtering import FilterError, make_filter
from .state import DataView, TuiState

PANES = ("procs", "llm", "http", "log")
PANE_TITLES = {"procs": "Processes", "llm": "LLM calls", "http": "HTTP", "log": "Events"}
# Panes listed newest first; the log is a tail (newest at the bottom).
NEWEST_FIRST = {"llm": True, "http": True, "log": False, "procs": False}


@dataclass
class Detail:
    """A scrollable full-screen view of one item."""

    title: Text
    body: Text
    offset: int = 0
    total_lines: int = 0  # set by the renderer (after wrapping to the screen width)
    page: int = 10  # set by the renderer
    wrapped: Any = None  # cache: (width, list of lines)

    def scroll(self, delta: int) -> None:
        top = max(0, self.total_lines - self.page)
        self.offset = max(0, min(top, self.offset + delta))


@dataclass
class Ui:
    state: TuiState
    focus: str = "llm"
    lower: str = "llm"  # the pane under the process tree in the small layout
    cursor: dict[str, Any] = field(default_factory=lambda: dict.fromkeys(PANES))
    offset: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PANES, 0))
    page: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PANES, 10))
    detail: Detail | None = None
    prompt: str | None = None
    prompt_error: str = ""
    frozen: DataView | None = None
    quit: bool = False
    dirty: bool = True
    # The renderer's cache of panes that did not change: pane -> (key, lines).
    panes: dict[str, tuple[Any, list[Text]]] = field(default_factory=dict, repr=False)

    @property
    def paused(self) -> bool:
        return self.frozen is not None

    def view(self) -> DataView:
        return self.frozen if self.frozen is not None else self.state.view()

    # -- items in display order ----------------------------------------------------------------

    def items(self, pane: str, view: DataView | None = None) -> Sequence[Any]:
        view = view or self.view()
        if pane == "procs":
            return view.tree_rows().pids
        if pane == "llm":
            return list(reversed(view.llm))
        if pane == "http":
            return list(reversed(view.http_shown))
        return view.log_shown

    def index(self, pane: str, items: Sequence[Any]) -> int:
        """Row of the cursor in `items` (the follow position when unset or gone)."""
        sel = self.cursor[pane]
        if sel is not None:
            if pane == "procs":
                try:
                    return list(items).index(sel)
                except ValueError:
                    pass
            else:
                for i, item in enumerate(items):
                    if item is sel:
                        return i
            self.cursor[pane] = None
        if NEWEST_FIRST[pane] or pane == "procs":
            return 0
        return max(0, len(items) - 1)

    def move(self, delta: int | str) -> None:
        pane = self.focus
        items = self.items(pane)
        if not items:
            return
        i = self.index(pane, items)
        if delta == "home":
            j = 0
        elif delta == "end":
            j = len(items) - 1
        else:
            assert isinstance(delta, int)
            j = max(0, min(len(items) - 1, i + delta))
        follow = 0 if NEWEST_FIRST[pane] else len(items) - 1
        self.cursor[pane] = None if (j == follow and pane != "procs") else items[j]

    def selected(self) -> Any:
        items = self.items(self.focus)
        if not items:
            return None
        return items[self.index(self.focus, items)]

    # -- keys ----------------------------------------------------------------------------------

    def handle_key(self, key: str) -> None:
        self.dirty = True
        if self.prompt is not None:
            self._prompt_key(key)
        elif key in ("q", "Q", "ctrl-c"):
            self.quit = True
        elif self.detail is not None:
            self._detail_key(key)
        else:
            self._list_key(key)

    def _prompt_key(self, key: str) -> None:
        assert self.prompt is not None
        if key == "enter":
            try:
                flt = make_filter(self.prompt)
            except FilterError as exc:
                self.prompt_error = str(exc)
                return
            self.state.set_filter(flt)
            if self.frozen is not None:
                self.frozen.refilter(flt)
            self.cursor["http"] = self.cursor["log"] = None
            self.prompt = None
            self.prompt_error = ""
        elif key == "esc":
            self.prompt = None
            self.prompt_error = ""
        elif key == "backspace":
            self.prompt = self.prompt[:-1]
        elif key == "ctrl-u":
            self.prompt = ""
        elif key == "ctrl-c":
            self.quit = True
        elif len(key) == 1 and key.isprintable():
            self.prompt += key
            self.prompt_error = ""

    def _detail_key(self, key: str) -> None:
        d = self.detail
        assert d is not None
        if key in ("esc", "backspace", "left", "h"):
            self.detail = None
        elif key in ("up", "k"):
            d.scroll(-1)
        elif key in ("down", "j"):
            d.scroll(1)
        elif key in ("pgup", "b"):
            d.scroll(-max(1, d.page - 1))
        elif key in ("pgdn", " "):
            d.scroll(max(1, d.page - 1))
        elif key in ("home", "g"):
            d.offset = 0
        elif key in ("end", "G"):
            d.scroll(d.total_lines)
        elif key == "p":
            self.toggle_pause()

    def _list_key(self, key: str) -> None:
        if key in ("up", "k"):
            self.move(-1)
        elif key in ("down", "j"):
            self.move(1)
        elif key == "pgup":
            self.move(-max(1, self.page[self.focus] - 1))
        elif key == "pgdn":
            self.move(max(1, self.page[self.focus] - 1))
        elif key in ("home", "g"):
            self.move("home")
        elif key in ("end", "G"):
            self.move("end")
        elif key in ("tab", "right", "l"):
            self.set_focus(PANES[(PANES.index(self.focus) + 1) % len(PANES)])
        elif key in ("shift-tab", "left", "h"):
            self.set_focus(PANES[(PANES.index(self.focus) - 1) % len(PANES)])
        elif key in ("1", "2", "3", "4"):
            self.set_focus(PANES[int(key) - 1])
        elif key == "enter":
            self.open_detail()
        elif key in ("esc", "backspace"):
            self.cursor[self.focus] = None  # back to following the newest
        elif key == "/":
            self.prompt = self.state.filter.text if self.state.filter else ""
            self.prompt_error = ""
        elif key == "p":
            self.toggle_pause()

    def set_focus(self, pane: str) -> None:
        self.focus = pane
        if pane != "procs":
            self.lower = pane

    def toggle_pause(self) -> None:
        self.frozen = None if self.frozen is not None else self.state.freeze()
        self.panes.clear()

    def open_detail(self) -> None:
        from .details import detail_for

        item = self.selected()
        if item is None:
            return
        self.detail = detail_for(self.focus, item, self.view(), self.state.files_opened)
