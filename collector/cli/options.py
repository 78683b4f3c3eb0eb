"""The output options every command shares, and the analyzers they build.

    add_output_options(parser)          # -o, --rotate-*, --include/--exclude, --no-redact, ...
    plan = build_output(args)           # compiles filters, opens the log file; raises on errors
    runner = builder.analyzers(*plan.analyzers()).build()
    Session(runner, plan.options, plan=plan)

Order of the stages (after the protocol analyzers others add): redaction -> filters (in command
line order) -> file log -> console (the Session).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from ..framework.analyzers.filelog import FileLogAnalyzer
from ..framework.analyzers.filter import FilterAnalyzer
from ..framework.analyzers.redact import RedactAnalyzer
from ..framework.core.analyzer import Analyzer
from ..framework.core.errors import ConfigError

_SIZE = re.compile(r"(?i)^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}

NO_REDACT_WARNING = (
    "collector: warning: redaction is off (--no-redact): API keys, tokens and cookies in "
    "captured traffic are shown and written as they are"
)


def parse_size(text: str) -> int:
    """`10M`, `512k`, `1G`, `1048576` -> bytes (binary units)."""
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected a size like 10M, 512k or 1048576, got {text!r}")
    value = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if value <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


class _FilterAction(argparse.Action):
    """Collects --include/--exclude in command line order as (mode, expression)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        items = list(getattr(namespace, "filters", None) or [])
        items.append((self.const, values))
        namespace.filters = items


def add_output_options(p: argparse.ArgumentParser) -> None:
    """Add the shared output options to a subcommand's parser."""
    p.set_defaults(filters=[])
    g = p.add_argument_group("output")
    mode = g.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true", help="print JSON lines instead of text")
    mode.add_argument("--quiet", action="store_true", help="print nothing but the summary")
    g.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="also write every event as JSON lines to FILE (mode 0600)",
    )
    g.add_argument(
        "--rotate-size", type=parse_size, metavar="SIZE",
        help="start a new log file when it would pass SIZE (e.g. 100M); old ones become FILE.1 ...",
    )  # fmt: skip
    g.add_argument(
        "--rotate-keep", type=_count, default=None, metavar="N",
        help="keep at most N rotated files (default 5)",
    )  # fmt: skip
    g.add_argument("--rotate-compress", action="store_true", help="gzip rotated log files")
    f = p.add_argument_group("filters and redaction (see docs/FILTERS.md)")
    f.add_argument(
        "--include", action=_FilterAction, const="include", metavar="EXPR", dest="filters",
        help='keep only events matching EXPR, e.g. \'http.response.status >= 400\' (repeatable: all must match)',
    )  # fmt: skip
    f.add_argument(
        "--exclude", action=_FilterAction, const="exclude", metavar="EXPR", dest="filters",
        help="drop events matching EXPR (repeatable)",
    )  # fmt: skip
    f.add_argument(
        "--no-redact", action="store_true",
        help="do not mask API keys, tokens and cookies (prints a warning)",
    )  # fmt: skip


@dataclass
class OutputOptions:
    json: bool = False
    quiet: bool = False
    log_path: str | None = None


@dataclass
class OutputPlan:
    """The stages built from the output options, kept for the summary."""

    options: OutputOptions
    redactor: RedactAnalyzer | None = None
    filters: list[FilterAnalyzer] = field(default_factory=list)
    filelog: FileLogAnalyzer | None = None

    def analyzers(self) -> list[Analyzer]:
        """Redaction, then filters, then the file log: append these after protocol analyzers."""
        out: list[Analyzer] = []
        if self.redactor is not None:
            out.append(self.redactor)
        out.extend(self.filters)
        if self.filelog is not None:
            out.append(self.filelog)
        return out


def build_output(args: argparse.Namespace, err: IO[str] | None = None) -> OutputPlan:
    """Check the options and build the stages; raises ConfigError/FilterSyntaxError first,
    before the log file is created or anything starts."""
    filters = [FilterAnalyzer(expr, mode) for mode, expr in (getattr(args, "filters", None) or [])]
    path = getattr(args, "output", None)
    rotate_size = getattr(args, "rotate_size", None)
    rotate_keep = getattr(args, "rotate_keep", None)
    compress = bool(getattr(args, "rotate_compress", False))
    if not path and (rotate_size is not None or rotate_keep is not None or compress):
        raise ConfigError("--rotate-size/--rotate-keep/--rotate-compress need -o FILE")
    if rotate_size is None and (rotate_keep is not None or compress):
        raise ConfigError("--rotate-keep/--rotate-compress need --rotate-size")
    redactor = None
    if getattr(args, "no_redact", False):
        print(NO_REDACT_WARNING, file=err or sys.stderr)
    else:
        redactor = RedactAnalyzer()
    filelog = None
    if path:
        filelog = FileLogAnalyzer(
            path,
            rotate_size=rotate_size,
            rotate_keep=5 if rotate_keep is None else rotate_keep,
            compress=compress,
        )
    options = OutputOptions(
        json=bool(getattr(args, "json", False)),
        quiet=bool(getattr(args, "quiet", False)),
        log_path=path,
    )
    return OutputPlan(options, redactor, filters, filelog)
