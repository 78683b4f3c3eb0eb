"""Keyboard input: the terminal in cbreak mode (restored on every exit path) and key decoding."""

from __future__ import annotations

import atexit
import os
import termios
import tty
from types import TracebackType
from typing import Any

_CSI_KEYS = {
    "A": "up",
    "B": "down",
    "C": "right",
    "D": "left",
    "H": "home",
    "F": "end",
    "Z": "shift-tab",
    "1~": "home",
    "7~": "home",
    "4~": "end",
    "8~": "end",
    "5~": "pgup",
    "6~": "pgdn",
    "3~": "delete",
}
_CONTROL = {
    "\r": "enter",
    "\n": "enter",
    "\t": "tab",
    "\x7f": "backspace",
    "\x08": "backspace",
    "\x03": "ctrl-c",
    "\x15": "ctrl-u",
    "\x0c": "ctrl-l",
}


def parse_keys(data: str) -> list[str]:
    """Key names ("up", "enter", "esc", "a", ...) in a chunk read from the terminal.

    A lone ESC (not followed by `[` or `O`) is the Escape key; unknown escape sequences are
    consumed whole and dropped.
    """
    keys: list[str] = []
    i, n = 0, len(data)
    while i < n:
        ch = data[i]
        if ch == "\x1b":
            if i + 1 < n and data[i + 1] in "[O":
                j = i + 2
                while j < n and not ("@" <= data[j] <= "~"):
                    j += 1
                seq = data[i + 2 : j + 1]
                name = _CSI_KEYS.get(seq) or _CSI_KEYS.get(seq[-1:] if seq[:-1] in ("", "1") else "")
                if name:
                    keys.append(name)
                i = j + 1
                continue
            keys.append("esc")
            i += 1
            continue
        name = _CONTROL.get(ch)
        if name:
            keys.append(name)
        elif ch.isprintable():
            keys.append(ch)
        i += 1
    return keys


class TerminalMode:
    """cbreak mode on `fd` for the duration of a `with` block; restored on exit, crash and atexit.

    cbreak keeps ISIG, so Ctrl-C still raises SIGINT (the app turns it into a clean quit).
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._saved: list[Any] | None = None

    def __enter__(self) -> TerminalMode:
        self._saved = termios.tcgetattr(self.fd)
        atexit.register(self.restore)
        tty.setcbreak(self.fd, termios.TCSANOW)
        return self

    def restore(self) -> None:
        if self._saved is not None:
            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            except (termios.error, OSError):
                pass
            self._saved = None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.restore()
        atexit.unregister(self.restore)


def is_tty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False
