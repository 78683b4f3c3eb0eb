"""No secret reaches the TUI: every pane and every detail view, after the default redaction."""

from __future__ import annotations

import io

from rich.console import Console

from collector.framework.analyzers.redact import RedactAnalyzer
from collector.framework.core.analyzer import AnalyzerChain
from collector.tui import TuiState, Ui, render
from collector.tui.ui import PANES
from tests.output.redact_corpus import events, leaks


def screen(state: TuiState, ui: Ui) -> str:
    out = io.StringIO()
    console = Console(file=out, width=200, height=60, force_terminal=True, color_system=None, record=True)
    console.print(render(state, ui, console))
    return console.export_text()


def test_no_secret_in_any_pane_or_detail_view() -> None:
    redacted = AnalyzerChain([RedactAnalyzer()]).process(events())
    state = TuiState()
    state.apply_batch(redacted)
    ui = Ui(state)
    seen = [screen(state, ui)]
    for pane in PANES:
        ui.set_focus(pane)
        for _ in range(len(ui.items(pane))):
            ui.open_detail()
            seen.append(screen(state, ui))
            for _ in range(20):  # scroll through long details
                ui.handle_key("down")
            seen.append(screen(state, ui))
            ui.handle_key("esc")
            ui.handle_key("down")
    text = "\n".join(seen)
    assert len(seen) > 10
    assert "redacted" in text  # masks are visible, so the views did show the fields
    assert leaks(text) == []


def test_without_redaction_the_views_would_leak() -> None:
    """The check above can fail: unredacted events do show secrets in the TUI."""
    state = TuiState()
    state.apply_batch(events())
    ui = Ui(state)
    seen = [screen(state, ui)]
    for pane in PANES:
        ui.set_focus(pane)
        for _ in range(len(ui.items(pane))):
            ui.open_detail()
            seen.append(screen(state, ui))
            ui.handle_key("esc")
            ui.handle_key("down")
    assert leaks("\n".join(seen))
