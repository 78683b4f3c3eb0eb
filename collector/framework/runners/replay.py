"""ReplayRunner: replays a JSONL file of Events (or raw tool output) at full speed or at pace."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Self

import anyio

from ..core.errors import ConfigError
from ..core.events import Event
from ..decoders.auto import AutoDecoder
from ..decoders.base import Decoder
from .base import Runner, RunnerBuilder, RunnerConfig


@dataclass(frozen=True)
class ReplayConfig(RunnerConfig):
    path: str = ""
    speed: float | None = None

    def validate(self) -> None:
        super().validate()
        if not self.path:
            raise ConfigError("ReplayRunner needs a file: .file(path)")
        if not os.path.isfile(self.path):
            raise ConfigError(f"replay file not found: {self.path}")
        if self.speed is not None and self.speed <= 0:
            raise ConfigError(f"speed must be positive, got {self.speed}")


class ReplayBuilder(RunnerBuilder["ReplayRunner", ReplayConfig]):
    def file(self, path: str | os.PathLike[str]) -> Self:
        return self._set(path=os.fspath(path))

    def speed(self, factor: float | None) -> Self:
        """Replay at recorded pace times `factor` (2.0 = twice as fast); None = full speed."""
        return self._set(speed=factor)


class ReplayRunner(Runner[ReplayConfig]):
    """Reads a recorded file; a partial last line (left by a crash) is counted, not fatal."""

    source = "replay"
    config_class = ReplayConfig
    drain_on_stop = False

    def __init__(self, config: ReplayConfig) -> None:
        super().__init__(config)
        self._file: IO[bytes] | None = None
        self._t0: tuple[int, float] | None = None

    @classmethod
    def builder(cls) -> ReplayBuilder:
        return ReplayBuilder(cls, ReplayConfig())

    @classmethod
    def open(cls, path: str | os.PathLike[str], speed: float | None = None) -> ReplayRunner:
        return cls.builder().file(path).speed(speed).build()

    async def _open(self) -> None:
        self._file = open(self.config.path, "rb")

    async def _read(self, max_bytes: int, timeout: float) -> bytes | None:
        assert self._file is not None
        await anyio.lowlevel.checkpoint()
        return self._file.read(max_bytes)

    def _make_decoder(self) -> Decoder:
        return AutoDecoder(self.stats)

    def _release(self) -> None:
        if self._file is not None:
            self._file.close()

    async def _pace(self, events: list[Event]) -> AsyncIterator[list[Event]]:
        speed = self.config.speed
        if speed is None or not events:
            yield events
            return
        if self._t0 is None:
            self._t0 = (events[0].timestamp_ns, time.monotonic())
        t0_ns, t0_wall = self._t0
        start = 0
        for i, ev in enumerate(events):
            due = t0_wall + (ev.timestamp_ns - t0_ns) / 1e9 / speed
            delay = due - time.monotonic()
            if delay > 0.001:
                if i > start:
                    yield events[start:i]
                    start = i
                await anyio.sleep(delay)
                if self.stopping:
                    return
        yield events[start:]
