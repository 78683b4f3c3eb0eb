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
from ..framework.runners.replay import ReplayRunner
from .options import add_output_options, build_output
from .session import Session
from .trace import (
    GatedCommand,
    RunSession,
    add_trace_options,
    build_trace_runner,
    prepare_run,
    process_builder_from,
    ssl_builder_from,
)


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
    rp.add_argument("--tui", action="store_true", help="show the session in the terminal UI")
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
    sp.add_argument("--raw", action="store_true", help="show TLS data events, not HTTP/LLM analysis")
    sp.add_argument("--sse", action="store_true", help="also show each server-sent event")
    _output_args(sp)

    tp = sub.add_parser("trace", help="capture TLS and processes together (one pipeline)")
    add_trace_options(tp)
    tp.add_argument("--max-payload", type=_positive_int, metavar="BYTES")
    tp.add_argument("--tui", action="store_true", help="show the live terminal UI")
    _output_args(tp)

    rn = sub.add_parser(
        "run",
        help="start CMD traced from its first instruction, with all its descendants",
        usage="collector run [options] -- CMD [ARGS...]",
    )
    add_trace_options(rn, with_pid=False)
    rn.add_argument("--user", help="run CMD as this user (name or uid)")
    rn.add_argument("--cmd-output", metavar="FILE", help="send CMD's stdout/stderr to FILE")
    rn.add_argument("--max-payload", type=_positive_int, metavar="BYTES")
    rn.add_argument("--tui", action="store_true", help="show the live terminal UI")
    _output_args(rn)
    rn.add_argument("cmd", nargs=argparse.REMAINDER, help="the command to run, after --")
    return parser


def make_runner(args: argparse.Namespace, extra: Sequence[Analyzer] = ()) -> Runner[Any]:
    """The runner for `args`; `extra` (the output stages) run after its own analyzers."""
    if args.command == "replay":
        return ReplayRunner.builder().file(args.file).speed(args.speed).analyzers(*extra).build()
    if args.command == "process":
        return process_builder_from(args, args.pid).analyzers(*extra).build()
    if args.command == "ssl":
        return ssl_builder_from(args, args.pid).analyzers(*extra).build()
    if args.command == "trace":
        return build_trace_runner(args, extra)
    raise AssertionError(args.command)


def run(args: argparse.Namespace) -> int:
    if args.command == "schema":
        print(json.dumps(event_json_schema(), indent=2))
        return 0
    plan = build_output(args)
    command: GatedCommand | None = None
    runner: Runner[Any]
    try:
        if args.command == "run":
            command, runner = prepare_run(args, plan.analyzers(), tui=getattr(args, "tui", False))
        else:
            runner = make_runner(args, plan.analyzers())
    except BaseException:
        if plan.filelog is not None:
            plan.filelog.close()
        raise
    if getattr(args, "tui", False):
        return _run_tui(args, runner, command)
    if command is not None:
        session: Session = RunSession(runner, plan.options, plan=plan, command=command)
    else:
        session = Session(runner, plan.options, plan=plan)
    try:
        anyio.run(session.run)
    except BaseExceptionGroup as group:
        raise _first_error(group) from group
    finally:
        if command is not None and command.proc.poll() is None:
            command.abandon()
        if runner.summary_stats().lines or session.interrupted or command is not None:
            print(session.summary(), file=sys.stderr)
    return command.exit_status() if command is not None else 0


def _run_tui(args: argparse.Namespace, runner: Runner[Any], command: GatedCommand | None) -> int:
    from ..output.summary import analyzer_lines
    from ..tui import TuiState, run_tui, summary

    title = " ".join(sys.argv[1:]) or args.command
    state = TuiState(title)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            if command is not None:
                command.start_tasks(tg, runner)
            try:
                async with runner:
                    await run_tui(runner, title=title, state=state)
            finally:
                if command is not None:
                    command.open_gate()
                tg.cancel_scope.cancel()

    try:
        anyio.run(main)
    except BaseExceptionGroup as group:
        raise _first_error(group) from group
    finally:
        if command is not None and command.proc.poll() is None:
            command.abandon()
        if state.events:
            print(summary(state), file=sys.stderr)
            for line in analyzer_lines(runner.summary_stats()):
                print(line, file=sys.stderr)
    return command.exit_status() if command is not None else 0


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
