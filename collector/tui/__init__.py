"""The terminal UI (`--tui`): one screen showing what traced agents are doing right now.

    await run_tui(runner, title="replay session.jsonl")

`TuiState` is the pure data model (`apply_batch(events)`), `render()` builds a frame from it,
`Ui` holds the interaction state and handles keys.
"""

from .app import register_runners, run_tui, run_tui_sync, summary
from .filtering import DisplayFilter, FilterError, make_filter
from .render import layout_mode, render
from .state import DataView, LlmTotals, LogGap, RunnerInfo, TuiState
from .ui import Detail, Ui

__all__ = [
    "DataView",
    "Detail",
    "DisplayFilter",
    "FilterError",
    "LlmTotals",
    "LogGap",
    "RunnerInfo",
    "TuiState",
    "Ui",
    "layout_mode",
    "make_filter",
    "register_runners",
    "render",
    "run_tui",
    "run_tui_sync",
    "summary",
]
