"""Runners spawn a source (an eBPF tool, any command, a recorded file) and yield Events."""

from .base import Runner, RunnerBuilder, RunnerConfig
from .combined import CombinedRunner
from .command import CommandRunner
from .process import ProcessRunner
from .replay import ReplayRunner
from .ssl import SslRunner
from .subprocess import SubprocessRunner

__all__ = [
    "CombinedRunner",
    "CommandRunner",
    "ProcessRunner",
    "ReplayRunner",
    "Runner",
    "RunnerBuilder",
    "RunnerConfig",
    "SslRunner",
    "SubprocessRunner",
]
