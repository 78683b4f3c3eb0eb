"""What the eBPF tool runners share: target filters (pid + descendants, uid, comm), finding the
built tool, and the privilege check before it starts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar

from ..core.errors import ConfigError
from .base import RunnerBuilder, RunnerConfig
from .subprocess import SubprocessRunner
from .tools import check_can_trace, find_tool

MAX_COMMS = 8
TASK_COMM_LEN = 15


@dataclass(frozen=True)
class ToolConfig(RunnerConfig):
    pid: int | None = None
    uid: int | None = None
    comm: tuple[str, ...] = ()
    check_privileges: bool = True

    def validate(self) -> None:
        super().validate()
        if self.pid is not None and self.pid <= 0:
            raise ConfigError(f"pid must be positive, got {self.pid}")
        if self.uid is not None and self.uid < 0:
            raise ConfigError(f"uid must not be negative, got {self.uid}")
        if len(self.comm) > MAX_COMMS or any(not c or len(c) > TASK_COMM_LEN for c in self.comm):
            raise ConfigError(
                f"comm takes at most {MAX_COMMS} names of 1 to {TASK_COMM_LEN} characters each"
            )

    @property
    def filtered(self) -> bool:
        return self.pid is not None or bool(self.comm) or self.uid is not None

    def filter_args(self) -> list[str]:
        argv: list[str] = []
        if self.pid is not None:
            argv += ["--pid", str(self.pid)]
        if self.uid is not None:
            argv += ["--uid", str(self.uid)]
        if self.comm:
            argv += ["--comm", ",".join(self.comm)]
        return argv


C = TypeVar("C", bound=ToolConfig)
R = TypeVar("R", bound="ToolRunner[Any]")


class ToolBuilder(RunnerBuilder[R, C]):
    def pid(self, pid: int) -> Self:
        """Trace this process and all its descendants."""
        return self._set(pid=pid)

    def uid(self, uid: int) -> Self:
        return self._set(uid=uid)

    def comm(self, names: Sequence[str] | str) -> Self:
        """Trace processes with these command names (at most 8)."""
        names = [names] if isinstance(names, str) else list(names)
        return self._set(comm=(*self._config.comm, *names))

    def check_privileges(self, enabled: bool) -> Self:
        return self._set(check_privileges=enabled)

    def build(self) -> R:
        self._config.validate()
        find_tool(self._runner_cls.tool_name, self._config.tool_path)
        return self._runner_cls(self._config)


class ToolRunner(SubprocessRunner[C]):
    """Runs one of our eBPF tools: `tool_name` with the filters, then `tool_args()`."""

    tool_name: ClassVar[str] = ""

    def tool_args(self) -> list[str]:
        return []

    def command(self) -> list[str]:
        c = self.config
        return [find_tool(self.tool_name, c.tool_path), *c.filter_args(), *self.tool_args(), *c.args]

    async def _open(self) -> None:
        if self.config.check_privileges:
            check_can_trace(self.tool_name)
        await super()._open()
