"""CommandRunner: any command that prints JSON lines, with a user-supplied line-to-Event function."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Self

from ..core.errors import ConfigError, ToolNotFoundError
from ..core.events import Event
from ..decoders.base import Decoder, LineFunctionDecoder
from ..decoders.event_json import EventJsonDecoder
from .base import RunnerBuilder, RunnerConfig
from .subprocess import SubprocessRunner

LineFunction = Callable[[bytes], Event | Iterable[Event] | None]


@dataclass(frozen=True)
class CommandConfig(RunnerConfig):
    command: tuple[str, ...] = ()
    parse: LineFunction | None = None
    source_name: str = "command"
    env: tuple[tuple[str, str], ...] | None = None

    def validate(self) -> None:
        super().validate()
        if not self.command:
            raise ConfigError("CommandRunner needs a command: .command(['prog', 'arg', ...])")
        if shutil.which(self.command[0]) is None:
            raise ToolNotFoundError(f"command not found: {self.command[0]!r}")


class CommandBuilder(RunnerBuilder["CommandRunner", CommandConfig]):
    def command(self, argv: Sequence[str]) -> Self:
        return self._set(command=tuple(argv))

    def parse(self, fn: LineFunction) -> Self:
        """How one stdout line becomes Events (default: the line is a serialised Event)."""
        return self._set(parse=fn)

    def source(self, name: str) -> Self:
        return self._set(source_name=name)

    def env(self, env: dict[str, str]) -> Self:
        return self._set(env=tuple(env.items()))


class CommandRunner(SubprocessRunner[CommandConfig]):
    """Runs `command` and turns each stdout line into Events with `parse`."""

    config_class = CommandConfig

    @classmethod
    def builder(cls) -> CommandBuilder:
        return CommandBuilder(cls, CommandConfig())

    @property
    def name(self) -> str:
        return self.config.source_name

    def command(self) -> list[str]:
        return [*self.config.command, *self.config.args]

    def environment(self) -> dict[str, str] | None:
        return dict(self.config.env) if self.config.env is not None else None

    def _make_decoder(self) -> Decoder:
        if self.config.parse is None:
            return EventJsonDecoder(self.stats)
        return LineFunctionDecoder(self.config.parse, self.stats)

    def describe(self) -> dict[str, Any]:
        return {"command": self.command(), "source": self.name}
