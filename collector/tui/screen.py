"""Draws Frames on the terminal's alternate screen, rewriting only the lines that changed.

Replaces rich's Live display, which re-renders and crops the whole screen every frame
(measured 5.3 ms for a 120x40 frame, against 1.4 ms to turn every line into ANSI directly).
A line that is the same as in the previous frame (same text, spans and style) is neither rendered
nor written, so a quiet pane costs nothing and a remote terminal gets a fraction of the bytes.
A change of size redraws everything. On something that is not a terminal (a file, a dumb
terminal) nothing is drawn while the UI runs and the final frame is printed as plain lines.
"""

from __future__ import annotations

from typing import Any

from rich.console import COLOR_SYSTEMS, Console
from rich.text import Text

from .render import Frame

HOME_CLEAR = "\x1b[H\x1b[2J"


def _key(line: Text) -> tuple[Any, ...]:
    return (line.plain, tuple(line.spans), line.style, line.end)


class Screen:
    """The alternate screen while the UI is up; `draw` may run in a worker thread (one at a time)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        name = console.color_system
        self.color_system = COLOR_SYSTEMS.get(name) if name else None
        self.keys: list[tuple[Any, ...]] = []
        self.width = 0
        self.active = False
        self.interactive = console.is_terminal and not console.is_dumb_terminal

    def enter(self) -> None:
        if not self.interactive:
            return
        self.active = True
        self.console.set_alt_screen(True)
        self.console.show_cursor(False)
        self.keys = []

    def leave(self) -> None:
        """Back to the normal screen with a cursor; safe to call more than once."""
        if self.active:
            self.active = False
            self.console.show_cursor(True)
            self.console.set_alt_screen(False)

    def draw(self, frame: Frame, final: bool = False) -> int:
        """Write the lines of `frame` that differ from the last frame drawn; returns how many.

        `final`: the last frame of the session (the only one written when not interactive).
        """
        if not self.interactive:
            if final:
                self.console.print(frame)
            return 0
        lines = frame.lines
        width = lines[0].cell_len if lines else 0
        parts: list[str] = []
        if width != self.width or len(lines) != len(self.keys):
            parts.append(HOME_CLEAR)
            self.keys = [()] * len(lines)
            self.width = width
        keys = self.keys
        written = 0
        for row, line in enumerate(lines):
            key = _key(line)
            if keys[row] == key:
                continue
            keys[row] = key
            parts.append(f"\x1b[{row + 1};1H")
            parts.append(self.ansi(line))
            written += 1
        if parts:
            file = self.console.file
            file.write("".join(parts))
            file.flush()
        return written

    def ansi(self, line: Text) -> str:
        """One line as text with SGR sequences (plain text on a console without colours)."""
        cs = self.color_system
        if cs is None:
            return line.plain
        if not line.spans:  # Text.render leaves out the line's own style when it has no spans
            style = self.console.get_style(line.style) if line.style else None
            return style.render(line.plain, color_system=cs) if style else line.plain
        return "".join(
            style.render(text, color_system=cs) if style else text
            for text, style, control in line.render(self.console)
            if not control
        )
