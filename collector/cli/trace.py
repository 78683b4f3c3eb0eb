"""`collector trace` (TLS + process tools in one pipeline) and `collector run -- CMD`."""

from __future__ import annotations

import argparse
import os
import pwd
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any, TypeVar

import anyio
import anyio.abc

from ..framework.core.analyzer import Analyzer
from ..framework.core.errors import ConfigError
from ..framework.core.events import Event, ToolStatus
from ..framework.runners.base import Runner
from ..framework.runners.combined import CombinedRunner
from ..framework.runners.process import ProcessBuilder, ProcessRunner
from ..framework.runners.ssl import SslBuilder, SslRunner
from ..framework.runners.tool import ToolBuilder
from .session import Session

ATTACH_TIMEOUT = 30.0
DRAIN_SECONDS = 0.7
# The gate: the traced shell waits on the gate fd ($1) until the probes are attached, then
# closes it and becomes CMD (same pid, so it is traced from its first instruction).
GATE_SCRIPT = 'fd=$1; shift; eval "read _ <&$fd; exec $fd<&-"; exec "$@"'


def add_trace_options(p: argparse.ArgumentParser, *, with_pid: bool = True) -> None:
    g = p.add_argument_group("tracing")
    if with_pid:
        g.add_argument("--pid", type=int, help="trace PID and all its descendants")
    g.add_argument("--comm", help="trace processes with these names (comma separated)")
    g.add_argument("--uid", type=int, help="trace processes of this user id")
    g.add_argument("--no-ssl", action="store_true", help="do not capture TLS")
    g.add_argument("--no-process", action="store_true", help="do not trace processes and files")
    g.add_argument("--raw", action="store_true", help="show TLS data events, not HTTP/LLM analysis")
    g.add_argument("--sse", action="store_true", help="also show each server-sent event")
    g.add_argument("--handshake", action="store_true", help="report TLS handshakes")
    g.add_argument("--lib", action="append", default=[], metavar="PATH", help="another libssl to probe")
    g.add_argument("--binary", action="append", default=[], metavar="PATH", help="a program with static OpenSSL")


B = TypeVar("B", bound=ToolBuilder[Any, Any])


def with_targets(builder: B, args: argparse.Namespace, pid: int | None) -> B:
    """Apply --pid (or the pid given), --uid and --comm to a tool runner's builder."""
    if pid:
        builder.pid(pid)
    if getattr(args, "uid", None) is not None:
        builder.uid(args.uid)
    if getattr(args, "comm", None):
        builder.comm([c for c in args.comm.split(",") if c])
    return builder


def process_builder_from(args: argparse.Namespace, pid: int | None) -> ProcessBuilder:
    pb = with_targets(ProcessRunner.builder(), args, pid)
    if getattr(args, "all", False):
        pb.mode("all")
    if getattr(args, "dedup_window", None) is not None:
        pb.dedup_window(args.dedup_window)
    return pb


def ssl_builder_from(args: argparse.Namespace, pid: int | None) -> SslBuilder:
    sb = with_targets(SslRunner.builder(), args, pid)
    for lib in getattr(args, "lib", []):
        sb.lib(lib)
    for binary in getattr(args, "binary", []):
        sb.binary(binary)
    if getattr(args, "handshake", False):
        sb.handshake()
    if getattr(args, "max_payload", None):
        sb.max_payload(args.max_payload)
    if not getattr(args, "raw", False):
        sb.http_analysis(keep_sse=getattr(args, "sse", False))
    return sb


def build_trace_runner(
    args: argparse.Namespace, extra: Sequence[Analyzer], pid: int | None = None
) -> CombinedRunner:
    pid = pid if pid is not None else getattr(args, "pid", None)
    if args.no_ssl and args.no_process:
        raise ConfigError("--no-ssl and --no-process leave nothing to trace")
    builder = CombinedRunner.builder()
    if not args.no_process:
        builder.add(process_builder_from(args, pid).build())
    if not args.no_ssl:
        builder.add(ssl_builder_from(args, pid).build())
    return builder.analyzers(*extra).build()


class AttachWatch(Analyzer):
    """Observes the stream until every tool has said it started (or failed)."""

    name = "attach-watch"

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.seen = 0
        self.ready = anyio.Event()

    def process(self, event: Event) -> Iterable[Event]:
        p = event.payload
        if isinstance(p, ToolStatus) and (p.status == "start" or p.status.startswith("runner_")):
            self.seen += 1
            if self.seen >= self.expected:
                self.ready.set()
        return (event,)


@dataclass
class CommandSpec:
    argv: list[str]
    user: str | None
    stdin: int | IO[Any] | None
    stdout: int | IO[Any] | None


def spawn_gated(spec: CommandSpec) -> tuple[subprocess.Popen[bytes], int]:
    """Start CMD behind a gate: it runs only once the returned fd is written to."""
    gate_r, gate_w = os.pipe()
    kwargs: dict[str, Any] = {}
    if spec.user:
        try:
            pw = pwd.getpwnam(spec.user) if not spec.user.isdigit() else pwd.getpwuid(int(spec.user))
        except KeyError:
            os.close(gate_r)
            os.close(gate_w)
            raise ConfigError(f"no such user: {spec.user}") from None
        kwargs.update(user=pw.pw_uid, group=pw.pw_gid, extra_groups=os.getgrouplist(pw.pw_name, pw.pw_gid))
        kwargs["env"] = {**os.environ, "HOME": pw.pw_dir, "USER": pw.pw_name, "LOGNAME": pw.pw_name}
    try:
        proc = subprocess.Popen(
            ["sh", "-c", GATE_SCRIPT, "collector-run", str(gate_r), *spec.argv],
            stdin=spec.stdin,
            stdout=spec.stdout,
            stderr=spec.stdout if spec.stdout is not None else None,
            pass_fds=(gate_r,),
            **kwargs,
        )
    finally:
        os.close(gate_r)
    return proc, gate_w


@dataclass
class GatedCommand:
    """CMD waiting behind its gate, and what releases it."""

    proc: subprocess.Popen[bytes]
    gate_fd: int
    watch: AttachWatch
    err: IO[str]
    interrupted: bool = False
    attach_timed_out: bool = False

    def open_gate(self) -> None:
        if self.gate_fd >= 0:
            try:
                os.write(self.gate_fd, b"go\n")
            except OSError:
                pass
            os.close(self.gate_fd)
            self.gate_fd = -1

    def start_tasks(self, tg: anyio.abc.TaskGroup, runner: Runner[Any]) -> None:
        tg.start_soon(self._release_when_attached)
        tg.start_soon(self._stop_when_command_exits, runner)
        tg.start_soon(self._forward_signals)

    async def _release_when_attached(self) -> None:
        with anyio.move_on_after(ATTACH_TIMEOUT) as scope:
            await self.watch.ready.wait()
        if scope.cancelled_caught:
            self.attach_timed_out = True
            print(
                "collector: warning: the tools did not report attaching in time; starting the command anyway",
                file=self.err,
            )
        self.open_gate()

    async def _stop_when_command_exits(self, runner: Runner[Any]) -> None:
        while self.proc.poll() is None:
            await anyio.sleep(0.05)
        await anyio.sleep(DRAIN_SECONDS)  # let the last events of the tree arrive
        await runner.stop()

    async def _forward_signals(self) -> None:
        """Ctrl-C reaches CMD from the terminal too; escalate only if it does not exit."""
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                self.interrupted = True
                self.open_gate()
                for sig, wait in ((signum, 1.0), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
                    with anyio.move_on_after(wait):
                        while self.proc.poll() is None:
                            await anyio.sleep(0.05)
                    if self.proc.poll() is not None:
                        break
                    try:
                        self.proc.send_signal(sig)
                    except ProcessLookupError:
                        break

    def exit_status(self) -> int:
        """CMD's exit status, the way a shell reports it (128 + N when killed by signal N)."""
        code = self.proc.wait()
        return 128 - code if code < 0 else code

    def abandon(self) -> None:
        """Something failed before CMD was released: never run it."""
        if self.gate_fd >= 0:
            os.close(self.gate_fd)
            self.gate_fd = -1
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@dataclass
class RunSession(Session):
    """A Session that releases CMD once the probes are attached and ends when CMD exits."""

    command: GatedCommand | None = None

    async def run(self) -> None:
        assert self.command is not None
        async with anyio.create_task_group() as tg:
            self.command.start_tasks(tg, self.runner)
            try:
                async with self.runner:
                    async for batch in self.runner.batches():
                        self._emit(batch)
            finally:
                self.command.open_gate()
                self.interrupted = self.command.interrupted
                tg.cancel_scope.cancel()


def prepare_run(
    args: argparse.Namespace, extra: Sequence[Analyzer], *, tui: bool = False, err: IO[str] = sys.stderr
) -> tuple[GatedCommand, CombinedRunner]:
    """`collector run`: start CMD behind its gate and build the runners tracing its pid."""
    argv = list(args.cmd)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise ConfigError("collector run needs a command: collector run [options] -- CMD ARGS...")
    stdout: IO[Any] | None = None
    if tui:
        log_path = args.cmd_output or f"/tmp/collector-run-{os.getpid()}.log"
        stdout = open(log_path, "ab")
        print(f"collector: the output of {shlex.join(argv)} goes to {log_path}", file=err)
    elif args.cmd_output:
        stdout = open(args.cmd_output, "ab")
    proc, gate = spawn_gated(CommandSpec(argv, args.user, subprocess.DEVNULL if tui else None, stdout))
    if stdout is not None:
        stdout.close()
    watch = AttachWatch(expected=(0 if args.no_ssl else 1) + (0 if args.no_process else 1))
    command = GatedCommand(proc, gate, watch, err)
    try:
        runner = build_trace_runner(args, [watch, *extra], pid=proc.pid)
    except BaseException:
        command.abandon()
        raise
    return command, runner
