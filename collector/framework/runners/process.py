"""ProcessRunner: process exec/exit/fork and file opens from the `process` eBPF tool."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

from ..core.errors import ConfigError
from ..decoders.base import Decoder
from ..decoders.process_tool import ProcessToolDecoder
from .base import RunnerBuilder, RunnerConfig
from .subprocess import SubprocessRunner
from .tools import check_can_trace, find_tool

Mode = Literal["all", "filtered"]


@dataclass(frozen=True)
class ProcessConfig(RunnerConfig):
    pid: int | None = None
    comm: tuple[str, ...] = ()
    uid: int | None = None
    mode: Mode | None = None
    dedup_window: float | None = None
    check_privileges: bool = True

    def validate(self) -> None:
        super().validate()
        if self.pid is not None and self.pid <= 0:
            raise ConfigError(f"pid must be positive, got {self.pid}")
        if self.uid is not None and self.uid < 0:
            raise ConfigError(f"uid must not be negative, got {self.uid}")
        if self.dedup_window is not None and self.dedup_window < 0:
            raise ConfigError(f"dedup window must not be negative, got {self.dedup_window}")
        if len(self.comm) > 8 or any(not c or len(c) > 15 for c in self.comm):
            raise ConfigError("comm takes at most 8 names of 1 to 15 characters each")
        filtered = self.pid is not None or self.comm or self.uid is not None
        if self.mode == "all" and filtered:
            raise ConfigError("mode 'all' conflicts with --pid/--comm/--uid filters")
        if self.mode == "filtered" and not filtered:
            raise ConfigError("mode 'filtered' needs at least one of pid, comm or uid")


class ProcessBuilder(RunnerBuilder["ProcessRunner", ProcessConfig]):
    def pid(self, pid: int) -> Self:
        """Trace this process and all its descendants."""
        return self._set(pid=pid)

    def comm(self, names: Sequence[str] | str) -> Self:
        names = [names] if isinstance(names, str) else list(names)
        return self._set(comm=(*self._config.comm, *names))

    def uid(self, uid: int) -> Self:
        return self._set(uid=uid)

    def mode(self, mode: Mode) -> Self:
        if mode not in ("all", "filtered"):
            raise ConfigError(f"mode must be 'all' or 'filtered', got {mode!r}")
        return self._set(mode=mode)

    def dedup_window(self, seconds: float) -> Self:
        """Repeated opens of a path within this window are reported as one aggregate."""
        return self._set(dedup_window=seconds)

    def check_privileges(self, enabled: bool) -> Self:
        return self._set(check_privileges=enabled)

    def build(self) -> ProcessRunner:
        self._config.validate()
        find_tool("process", self._config.tool_path)
        return ProcessRunner(self._config)


class ProcessRunner(SubprocessRunner[ProcessConfig]):
    source = "process"
    config_class = ProcessConfig

    @classmethod
    def builder(cls) -> ProcessBuilder:
        return ProcessBuilder(cls, ProcessConfig())

    def command(self) -> list[str]:
        c = self.config
        argv = [find_tool("process", c.tool_path)]
        if c.pid is not None:
            argv += ["--pid", str(c.pid)]
        if c.comm:
            argv += ["--comm", ",".join(c.comm)]
        if c.uid is not None:
            argv += ["--uid", str(c.uid)]
        if c.mode is not None:
            argv += ["--mode", c.mode]
        if c.dedup_window is not None:
            argv += ["--dedup-window", str(c.dedup_window)]
        return argv + list(c.args)

    async def _open(self) -> None:
        if self.config.check_privileges:
            check_can_trace("process")
        await super()._open()

    def _make_decoder(self) -> Decoder:
        return ProcessToolDecoder(self.stats)

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {"pid": c.pid, "comm": list(c.comm), "uid": c.uid, "mode": c.mode or "auto"}
