"""One error hierarchy for everything collector raises on purpose."""

from __future__ import annotations


class CollectorError(Exception):
    """Base of every error collector raises deliberately; its message is meant for users."""


class ConfigError(CollectorError, ValueError):
    """A Builder or CLI option is invalid or conflicts with another one."""


class ToolNotFoundError(CollectorError):
    """A required eBPF tool or command could not be found."""


class PrivilegeError(CollectorError):
    """The collector lacks the privileges it needs (root or CAP_BPF + CAP_PERFMON)."""


class RunnerError(CollectorError):
    """A runner's child process failed; carries its exit status and the tail of its stderr."""

    def __init__(self, message: str, *, returncode: int | None = None, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr_tail = stderr_tail

    def __str__(self) -> str:
        base = super().__str__()
        if self.stderr_tail:
            return f"{base}\n{self.stderr_tail}"
        return base


class ParseError(CollectorError):
    """A line or message could not be decoded."""


class AnalyzerError(CollectorError):
    """An analyzer failed in strict mode."""


class FilterSyntaxError(ConfigError):
    """A filter expression could not be parsed; carries the column of the problem."""

    def __init__(self, message: str, *, expression: str = "", column: int = 0) -> None:
        super().__init__(message)
        self.expression = expression
        self.column = column
