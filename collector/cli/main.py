"""Entry point: parse arguments, build a runner, run a session, turn errors into one line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import anyio

from .. import __version__
from ..framework.core.analyzer import Analyzer
from ..framework.core.errors import CollectorError
from ..framework.core.events import event_json_schema
from ..framework.runners.base import Runner
from ..framework.runners.process import ProcessRunner
from ..framework.runners.replay import ReplayRunner
from ..framework.runners.ssl import SslRunner
from .options import add_output_options, build_output
from .session import Session


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _output_args(p: argparse.ArgumentParser) -> None:
    """--json/--quiet, -o/--rotate-*, --include/--exclude, --no-redact (see cli/options.py)."""
    add_output_options(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="collector",
        description="Watch LLM agents and the processes they spawn from the kernel boundary (eBPF).",
    )
    parser.add_argument("--version", action="version", version=f"collector {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    sub.add_parser("schema", help="print the JSON schema of one event line")

    rp = sub.add_parser("replay", help="replay a recorded JSONL file (no root needed)")
    rp.add_argument("file")
    rp.add_argument("--speed", type=float, default=None, help="replay at recorded pace x SPEED")
    _output_args(rp)

    pp = sub.add_parser("process", help="trace process exec/exit/fork and file opens")
    pp.add_argument("--pid", type=_positive_int, help="trace PID and all its descendants")
    pp.add_argument("--comm", help="trace processes with these names (comma separated)")
    pp.add_argument("--uid", type=int, help="trace processes of this user id")
    pp.add_argument("--all", action="store_true", help="trace every process")
    pp.add_argument("--dedup-window", type=float, metavar="SECONDS")
    _output_args(pp)

    sp = sub.add_parser("ssl", help="capture TLS plaintext of processes")
    sp.add_argument("--pid", type=_positive_int, help="trace PID and all its descendants")
    sp.add_argument("--uid", type=int)
    sp.add_argument("--comm", help="process names (comma separated)")
    sp.add_argument("--lib", action="append", default=[], metavar="PATH", help="another libssl to probe")
    sp.add_argument("--binary", action="append", default=[], metavar="PATH", help="a program with static OpenSSL")
    sp.add_argument("--handshake", action="store_true", help="report TLS handshakes")
    sp.add_argument("--max-payload", type=_positive_int, metavar="BYTES")
    _output_args(sp)
    return parser


def make_runner(args: argparse.Namespace, extra: Sequence[Analyzer] = ()) -> Runner[Any]:
    """The runner for `args`; `extra` (the output stages) run after its own analyzers."""
    if args.command == "replay":
        return ReplayRunner.builder().file(args.file).speed(args.speed).analyzers(*extra).build()
    if args.command == "process":
        pb = ProcessRunner.builder()
        if args.pid:
            pb.pid(args.pid)
        if args.comm:
            pb.comm([c for c in args.comm.split(",") if c])
        if args.uid is not None:
            pb.uid(args.uid)
        if args.all:
            pb.mode("all")
        if args.dedup_window is not None:
            pb.dedup_window(args.dedup_window)
        return pb.analyzers(*extra).build()
    if args.command == "ssl":
        sb = SslRunner.builder()
        if args.pid:
            sb.pid(args.pid)
        if args.uid is not None:
            sb.uid(args.uid)
        if args.comm:
            sb.comm([c for c in args.comm.split(",") if c])
        for lib in args.lib:
            sb.lib(lib)
        for binary in args.binary:
            sb.binary(binary)
        if args.handshake:
            sb.handshake()
        if args.max_payload:
            sb.max_payload(args.max_payload)
        return sb.analyzers(*extra).build()
    raise AssertionError(args.command)


def run(args: argparse.Namespace) -> int:
    if args.command == "schema":
        print(json.dumps(event_json_schema(), indent=2))
        return 0
    plan = build_output(args)
    try:
        runner = make_runner(args, plan.analyzers())
    except BaseException:
        if plan.filelog is not None:
            plan.filelog.close()
        raise
    session = Session(runner, plan.options, plan=plan)
    try:
        anyio.run(session.run)
    except BaseExceptionGroup as group:
        raise _first_error(group) from group
    finally:
        if runner.stats.lines or runner.stopping:
            print(session.summary(), file=sys.stderr)
    return 0


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to report from a task group: a CollectorError if there is one."""
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop()
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(reversed(exc.exceptions))
        else:
            leaves.append(exc)
    for exc in leaves:
        if isinstance(exc, CollectorError):
            return exc
    return leaves[0] if leaves else group


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="collector: %(message)s",
    )
    try:
        return run(args)
    except CollectorError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"collector: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
