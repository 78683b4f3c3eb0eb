"""A child process in its own process group: spawn, non-blocking stdout, stderr tail, stop, reap."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Mapping, Sequence

import anyio

from ..core.errors import ToolNotFoundError

log = logging.getLogger("collector.tools")

PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


class ChildProcess:
    """Owns one child: its stdout pipe (non-blocking), a stderr tail, and its whole process group."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stderr_lines: int = 50,
        pipe_size: int = PIPE_SIZE,
    ) -> None:
        self.argv = list(argv)
        self.name = os.path.basename(self.argv[0]) if self.argv else "?"
        self.stderr_tail: deque[str] = deque(maxlen=max(1, stderr_lines))
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        _grow_pipe(read_fd, pipe_size)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        try:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=write_fd,
                stderr=err_w,
                start_new_session=True,
                env=dict(env) if env is not None else None,
                cwd=cwd,
            )
        except FileNotFoundError as exc:
            for fd in (read_fd, write_fd, err_r, err_w):
                os.close(fd)
            raise ToolNotFoundError(f"cannot run {self.argv[0]!r}: no such file") from exc
        except PermissionError as exc:
            for fd in (read_fd, write_fd, err_r, err_w):
                os.close(fd)
            raise ToolNotFoundError(f"cannot run {self.argv[0]!r}: not executable") from exc
        finally:
            with contextlib.suppress(OSError):
                os.close(write_fd)
            with contextlib.suppress(OSError):
                os.close(err_w)
        os.set_blocking(read_fd, False)
        self.stdout_fd = read_fd
        self.pid = self.popen.pid
        self._stderr_thread = threading.Thread(
            target=self._drain_stderr, args=(err_r,), name=f"stderr-{self.pid}", daemon=True
        )
        self._stderr_thread.start()
        self.returncode: int | None = None

    def _drain_stderr(self, fd: int) -> None:
        with open(fd, "rb", buffering=0) as f:
            pending = b""
            while chunk := f.read(65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    text = line.decode("utf-8", "replace")
                    self.stderr_tail.append(text)
                    log.debug("%s[%d]: %s", self.name, self.pid, text)
                if len(pending) > 65536:
                    self.stderr_tail.append(pending.decode("utf-8", "replace"))
                    pending = b""
            if pending:
                self.stderr_tail.append(pending.decode("utf-8", "replace"))

    def read_nowait(self, max_bytes: int) -> bytes | None:
        """Bytes available now; b'' at EOF; None if nothing is available yet."""
        try:
            return os.read(self.stdout_fd, max_bytes)
        except BlockingIOError:
            return None

    async def wait_readable(self) -> None:
        await anyio.wait_readable(self.stdout_fd)

    def poll(self) -> int | None:
        """Exit status if the child has exited (it stays a zombie until `reap`); None if running."""
        if self.returncode is not None:
            return self.returncode
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return self._reap_now()
        if info is None:
            return None
        return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status

    async def wait_exit(self, timeout: float | None = None) -> bool:
        """Wait until the child has exited (not reaped); True if it did within `timeout`."""
        # Polling (not the pidfd) lets several tasks wait at once: stop() and the reader may.
        delay = 0.002
        with anyio.move_on_after(timeout):
            while self.poll() is None:
                await anyio.sleep(delay)
                delay = min(delay * 2, 0.05)
            return True
        return self.poll() is not None

    def signal_group(self, sig: int) -> None:
        """Signal the child's whole process group (the child is its leader)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def _reap_now(self) -> int:
        if self.returncode is None:
            try:
                self.popen.wait(timeout=0)
            except subprocess.TimeoutExpired:  # pragma: no cover - only if still running
                self.popen.kill()
                self.popen.wait()
            self.returncode = self.popen.returncode
        return self.returncode

    def reap(self) -> int:
        """The child has exited: kill stragglers left in its group, then collect its status."""
        self.signal_group(signal.SIGKILL)
        return self._reap_now()

    async def terminate(self, grace_int: float, grace_term: float) -> int:
        """SIGINT, then SIGTERM, then SIGKILL after grace periods; always reaps."""
        if self.poll() is None:
            for sig, grace in ((signal.SIGINT, grace_int), (signal.SIGTERM, grace_term)):
                self.signal_group(sig)
                if await self.wait_exit(grace):
                    break
            else:
                self.signal_group(signal.SIGKILL)
                await self.wait_exit(None)
        return self.reap()

    def close_fds(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.stdout_fd)
        self._stderr_thread.join(timeout=1.0)

    def wait_stderr(self, timeout: float = 0.5) -> None:
        """Let the stderr reader catch up (the child has exited; its last words matter)."""
        self._stderr_thread.join(timeout)

    def stderr_text(self, lines: int | None = None) -> str:
        tail = list(self.stderr_tail)
        if lines is not None:
            tail = tail[-lines:]
        return "\n".join(tail)


def _grow_pipe(fd: int, size: int) -> None:
    """Raise the pipe's capacity so bursts don't stall the tool; cap at the system maximum."""
    try:
        with open("/proc/sys/fs/pipe-max-size") as f:
            size = min(size, int(f.read()))
        fcntl.fcntl(fd, _F_SETPIPE_SZ, size)
    except (OSError, ValueError):
        pass


def describe_status(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with status {returncode}"
