"""Screen: only the lines that changed since the last frame reach the terminal."""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text

from collector.tui.render import Frame
from collector.tui.screen import HOME_CLEAR, Screen


def frame(*lines: str, width: int = 10, style: str = "") -> Frame:
    out = []
    for s in lines:
        t = Text(s, style=style)
        t.truncate(width, pad=True)
        out.append(t)
    return Frame(out)


def screen(color: str | None = None) -> tuple[Screen, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=10, height=3, force_terminal=True, color_system=color)
    return Screen(console), out


def take(out: io.StringIO) -> str:
    s = out.getvalue()
    out.seek(0)
    out.truncate()
    return s


def test_the_first_frame_clears_and_writes_every_line() -> None:
    scr, out = screen()
    assert scr.draw(frame("a", "b", "c")) == 3
    written = take(out)
    assert written.startswith(HOME_CLEAR)
    assert "\x1b[1;1Ha         \x1b[2;1Hb         \x1b[3;1Hc         " in written


def test_unchanged_lines_are_not_written_again() -> None:
    scr, out = screen()
    scr.draw(frame("a", "b", "c"))
    take(out)
    assert scr.draw(frame("a", "B", "c")) == 1
    assert take(out) == "\x1b[2;1HB         "
    assert scr.draw(frame("a", "B", "c")) == 0
    assert take(out) == ""


def test_a_change_of_style_alone_is_a_change() -> None:
    scr, out = screen("truecolor")
    scr.draw(frame("a", "b", "c"))
    take(out)
    assert scr.draw(frame("a", "b", "c", style="bold")) == 3
    assert "\x1b[1m" in take(out)


def test_a_new_size_redraws_everything() -> None:
    scr, out = screen()
    scr.draw(frame("a", "b", "c"))
    take(out)
    assert scr.draw(frame("a", "b", "c", width=12)) == 3
    assert take(out).startswith(HOME_CLEAR)
    assert scr.draw(frame("a", "b")) == 2
    assert take(out).startswith(HOME_CLEAR)


def test_enter_and_leave_switch_the_alternate_screen_and_cursor() -> None:
    scr, out = screen()
    scr.enter()
    entered = take(out)
    assert "\x1b[?1049h" in entered and "\x1b[?25l" in entered
    scr.leave()
    left = take(out)
    assert "\x1b[?1049l" in left and "\x1b[?25h" in left
    scr.leave()
    assert take(out) == ""


def test_not_a_terminal_gets_only_the_final_frame_as_plain_lines() -> None:
    out = io.StringIO()
    scr = Screen(Console(file=out, width=10, height=3, color_system=None))
    scr.enter()
    assert scr.draw(frame("a", "b", "c")) == 0
    assert out.getvalue() == ""
    scr.draw(frame("x", "y", "z"), final=True)
    scr.leave()
    assert out.getvalue() == "x         \ny         \nz         \n"
