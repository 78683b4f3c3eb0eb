"""A runner whose events come from a child process's stdout."""

from __future__ import annotations

from typing import Any, TypeVar

import anyio

from ..core.errors import RunnerError
from .base import Runner, RunnerConfig
from .child import ChildProcess, describe_status

C = TypeVar("C", bound=RunnerConfig)


class SubprocessRunner(Runner[C]):
    """Spawns `command()` in its own process group; stops it with SIGINT, SIGTERM, SIGKILL."""

    def __init__(self, config: C) -> None:
        super().__init__(config)
        self.child: ChildProcess | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str] | None:
        return None

    async def _open(self) -> None:
        self.child = ChildProcess(
            self.command(), env=self.environment(), stderr_lines=self.config.stderr_lines
        )

    async def _read(self, max_bytes: int, timeout: float) -> bytes | None:
        child = self.child
        assert child is not None
        data = child.read_nowait(max_bytes)
        if data is not None:
            return data
        with anyio.move_on_after(timeout):
            await child.wait_readable()
            return child.read_nowait(max_bytes)
        if child.poll() is not None:
            # The child is gone but something it started still holds the pipe: drain and end.
            child.reap()
            return self._drain_after_exit(child, max_bytes)
        return None

    @staticmethod
    def _drain_after_exit(child: ChildProcess, max_bytes: int) -> bytes:
        parts: list[bytes] = []
        while (data := child.read_nowait(max_bytes)) and len(parts) < 64:
            parts.append(data)
        return b"".join(parts)

    async def _close(self) -> None:
        child = self.child
        if child is None:
            return
        await child.terminate(self.config.grace_sigint, self.config.grace_sigterm)

    def _release(self) -> None:
        if self.child is not None:
            self.child.close_fds()

    async def _after_eof(self) -> None:
        child = self.child
        assert child is not None
        await child.wait_exit(None)
        code = child.reap()
        if code != 0 and not self.stopping:
            child.wait_stderr()
            raise RunnerError(
                f"{_label(self.name, child.name)} {describe_status(code)}",
                returncode=code,
                stderr_tail=child.stderr_text(10),
            )

    @property
    def returncode(self) -> int | None:
        return None if self.child is None else self.child.returncode

    def stderr_tail(self) -> str:
        return "" if self.child is None else self.child.stderr_text()

    def describe(self) -> dict[str, Any]:
        return {"command": self.command()}


def _label(runner: str, program: str) -> str:
    return program if runner == program else f"{runner} ({program})"
