"""Runners spawn a source (an eBPF tool, any command, a recorded file) and yield Events."""

from .base import Runner, RunnerBuilder, RunnerConfig
from .command import CommandRunner
from .process import ProcessRunner
from .replay import ReplayRunner
from .ssl import SslRunner
from .subprocess import SubprocessRunner

__all__ = [
    "CommandRunner",
    "ProcessRunner",
    "ReplayRunner",
    "Runner",
    "RunnerBuilder",
    "RunnerConfig",
    "SslRunner",
    "SubprocessRunner",
]
