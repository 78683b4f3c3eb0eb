"""ProcessRunner: process exec/exit/fork and file opens from the `process` eBPF tool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Self

from ..core.errors import ConfigError
from ..decoders.base import Decoder
from ..decoders.process_tool import ProcessToolDecoder
from .tool import ToolBuilder, ToolConfig, ToolRunner

Mode = Literal["all", "filtered"]


@dataclass(frozen=True)
class ProcessConfig(ToolConfig):
    mode: Mode | None = None
    dedup_window: float | None = None

    def validate(self) -> None:
        super().validate()
        if self.dedup_window is not None and self.dedup_window < 0:
            raise ConfigError(f"dedup window must not be negative, got {self.dedup_window}")
        if self.mode == "all" and self.filtered:
            raise ConfigError("mode 'all' conflicts with --pid/--comm/--uid filters")
        if self.mode == "filtered" and not self.filtered:
            raise ConfigError("mode 'filtered' needs at least one of pid, comm or uid")


class ProcessBuilder(ToolBuilder["ProcessRunner", ProcessConfig]):
    def mode(self, mode: Mode) -> Self:
        if mode not in ("all", "filtered"):
            raise ConfigError(f"mode must be 'all' or 'filtered', got {mode!r}")
        return self._set(mode=mode)

    def dedup_window(self, seconds: float) -> Self:
        """Repeated opens of a path within this window are reported as one aggregate."""
        return self._set(dedup_window=seconds)


class ProcessRunner(ToolRunner[ProcessConfig]):
    source = "process"
    tool_name = "process"
    config_class = ProcessConfig

    @classmethod
    def builder(cls) -> ProcessBuilder:
        return ProcessBuilder(cls, ProcessConfig())

    def tool_args(self) -> list[str]:
        c = self.config
        argv = []
        if c.mode is not None:
            argv += ["--mode", c.mode]
        if c.dedup_window is not None:
            argv += ["--dedup-window", str(c.dedup_window)]
        return argv

    def _make_decoder(self) -> Decoder:
        return ProcessToolDecoder(self.stats)

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {"pid": c.pid, "comm": list(c.comm), "uid": c.uid, "mode": c.mode or "auto"}
