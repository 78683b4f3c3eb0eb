"""FileLogAnalyzer: writes every event as one JSON line (the format `collector replay` reads).

- The file is created with mode 0600 (credentials may be in it even after redaction).
- Lines are buffered and written whole (only complete lines are ever written); the buffer goes
  to the OS when it passes `buffer_bytes`, on every `tick` (about once a second) and at the end;
  `finish`/`close` also fsync.
- Size-based rotation: when the next line would grow the file past `rotate_size`, the file is
  fsynced and renamed FILE.1 (older ones shift to FILE.2 ...; at most `rotate_keep` are kept),
  optionally gzipped (FILE.1.gz) in a background thread, and a new FILE is started. No line is
  lost or split across a rotation.
- A write error (disk full, ...) is reported once through `on_error` (a log warning by
  default); the file is cut back to its last whole line, and later events are counted in
  `dropped` instead of written. Events always pass on to the next stages.
"""

from __future__ import annotations

import errno
import gzip
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..core.analyzer import Analyzer
from ..core.errors import ConfigError
from ..core.events import Event

log = logging.getLogger("collector.filelog")

DEFAULT_BUFFER = 256 * 1024
FLUSH_SECONDS = 1.0


@dataclass
class FileLogStats:
    lines: int = 0  # lines written (handed to the OS)
    bytes: int = 0
    rotations: int = 0
    dropped: int = 0  # events not written because of a write error
    error: str = ""


class FileLogAnalyzer(Analyzer):
    """Sink stage: append each event's JSON line to `path`; passes every event on unchanged."""

    name = "filelog"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        rotate_size: int | None = None,
        rotate_keep: int = 5,
        compress: bool = False,
        buffer_bytes: int = DEFAULT_BUFFER,
        on_error: Callable[[str], None] | None = None,
        append: bool = False,
    ) -> None:
        if rotate_size is not None and rotate_size <= 0:
            raise ConfigError(f"rotate size must be positive, got {rotate_size}")
        if rotate_keep < 0:
            raise ConfigError(f"rotate keep must not be negative, got {rotate_keep}")
        self.path = os.fspath(path)
        self.rotate_size = rotate_size
        self.rotate_keep = rotate_keep
        self.compress = compress
        self.buffer_bytes = buffer_bytes
        self.on_error = on_error or (lambda msg: log.error("%s", msg))
        self.stats = FileLogStats()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._last_flush = time.monotonic()
        self._failed = False
        self._closed = False
        self._compressor: threading.Thread | None = None
        self._fd = -1
        self._size = 0
        flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if append else os.O_TRUNC)
        try:
            self._fd = os.open(self.path, flags, 0o600)
            os.fchmod(self._fd, 0o600)
            self._size = os.fstat(self._fd).st_size
        except OSError as exc:
            raise ConfigError(f"cannot open log file {self.path}: {exc.strerror or exc}") from exc

    # -- analyzer protocol ---------------------------------------------------------------------

    def process(self, event: Event) -> tuple[Event, ...]:
        self._add([event])
        return (event,)

    def process_batch(self, events: list[Event]) -> list[Event]:
        self._add(events)
        return events

    def tick(self, now_ns: int) -> tuple[Event, ...]:
        if self._pending:
            self.flush()
        return ()

    def finish(self) -> tuple[Event, ...]:
        self.flush(sync=True)
        if self._closed:
            self._close_fd()
        return ()

    def close(self) -> None:
        self.flush(sync=True)
        self._closed = True
        self._close_fd()
        self._wait_compressor()

    # -- writing -------------------------------------------------------------------------------

    def _add(self, events: list[Event]) -> None:
        if self._failed:
            self.stats.dropped += len(events)
            return
        pending = self._pending
        size = 0
        for ev in events:
            line = ev.to_json() + b"\n"
            pending.append(line)
            size += len(line)
        self._pending_size += size
        if self._closed:
            # late events (after close, e.g. a signal's stop): write through, leave nothing open
            self.flush(sync=True)
            self._close_fd()
        elif (
            self._pending_size >= self.buffer_bytes
            or time.monotonic() - self._last_flush >= FLUSH_SECONDS
        ):
            self.flush()

    def flush(self, *, sync: bool = False) -> None:
        """Write buffered lines (rotating as needed); `sync` also fsyncs the file."""
        self._last_flush = time.monotonic()
        lines, self._pending, self._pending_size = self._pending, [], 0
        if self._failed:
            self.stats.dropped += len(lines)
            return
        if lines and not self._reopen():
            self.stats.dropped += len(lines)
            return
        limit = self.rotate_size
        start = 0
        while start < len(lines):
            if limit is None:
                chunk = lines[start:]
            else:
                room = limit - self._size
                end = start
                used = 0
                while end < len(lines) and (
                    used + len(lines[end]) <= room or (end == start and self._size == 0)
                ):
                    used += len(lines[end])
                    end += 1
                if end == start:  # the next line does not fit: start a new file
                    if not self._rotate():
                        self.stats.dropped += len(lines) - start
                        return
                    continue
                chunk = lines[start:end]
            if not self._write(b"".join(chunk), len(chunk)):
                self.stats.dropped += len(lines) - start
                return
            start += len(chunk)
        if sync and self._fd >= 0:
            try:
                os.fsync(self._fd)
            except OSError as exc:
                self._fail(exc)

    def _write(self, data: bytes, nlines: int) -> bool:
        view = memoryview(data)
        good = self._size
        try:
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
                self._size += n
        except OSError as exc:
            # Cut the file back to its last whole line, so readers never see a torn line.
            try:
                os.ftruncate(self._fd, good)
                self._size = good
            except OSError:
                pass
            self._fail(exc)
            return False
        self.stats.lines += nlines
        self.stats.bytes += len(data)
        return True

    def _fail(self, exc: OSError) -> None:
        if self._failed:
            return
        self._failed = True
        reason = exc.strerror or str(exc)
        if exc.errno == errno.ENOSPC:
            reason = "no space left on the device"
        self.stats.error = f"writing {self.path} failed: {reason}"
        self.on_error(
            f"log file: {self.stats.error}; no more events are written to it "
            f"({self.stats.lines} lines were); other outputs go on"
        )

    def _reopen(self) -> bool:
        """After `close`, late events (a final flush of other stages) append to the file."""
        if self._fd >= 0:
            return True
        try:
            self._fd = os.open(
                self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600
            )
            self._size = os.fstat(self._fd).st_size
            return True
        except OSError as exc:
            self._fail(exc)
            return False

    def _close_fd(self) -> None:
        if self._fd >= 0:
            try:
                os.close(self._fd)
            except OSError as exc:
                self._fail(exc)
            self._fd = -1

    # -- rotation ------------------------------------------------------------------------------

    def rotated_path(self, n: int) -> str:
        return f"{self.path}.{n}" + (".gz" if self.compress else "")

    def _rotate(self) -> bool:
        try:
            os.fsync(self._fd)
        except OSError as exc:
            self._fail(exc)
            return False
        self._close_fd()
        self._wait_compressor()
        try:
            if self.rotate_keep == 0:
                os.unlink(self.path)
            else:
                for n in range(self.rotate_keep, 0, -1):
                    src = self.rotated_path(n)
                    if not os.path.exists(src):
                        continue
                    if n == self.rotate_keep:
                        os.unlink(src)
                    else:
                        os.replace(src, self.rotated_path(n + 1))
                first = f"{self.path}.1"
                os.replace(self.path, first)
                if self.compress:
                    self._compressor = threading.Thread(
                        target=self._gzip, args=(first,), name="filelog-gzip", daemon=True
                    )
                    self._compressor.start()
            self._fd = os.open(
                self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600
            )
            self._size = 0
        except OSError as exc:
            self._fail(exc)
            return False
        self.stats.rotations += 1
        return True

    def _gzip(self, src: str) -> None:
        tmp = src + ".gz.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            with open(src, "rb") as fin, os.fdopen(fd, "wb") as raw:
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1) as gz:
                    shutil.copyfileobj(fin, gz, 1 << 20)
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(tmp, src + ".gz")
            os.unlink(src)
        except OSError as exc:
            log.error("log file: compressing %s failed: %s (kept uncompressed)", src, exc)
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def _wait_compressor(self) -> None:
        if self._compressor is not None:
            self._compressor.join()
            self._compressor = None
