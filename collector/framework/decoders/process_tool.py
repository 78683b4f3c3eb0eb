"""Decodes the `process` tool's JSON lines (docs/TOOL-PROCESS.md) into Events."""

from __future__ import annotations

from ..core.errors import ParseError
from ..core.events import Event, FileOpen, ProcessExec, ProcessExit, ProcessFork
from .base import ToolDecoderBase
from .json import loads
from .status import STATUS_TYPES, status_event


class ProcessToolDecoder(ToolDecoderBase):
    source = "process"

    def decode(self, line: bytes, out: list[Event]) -> None:
        d = loads(line)
        try:
            kind = d["type"]
            ts = d["ts_ns"] + self.offset_ns
            if kind == "FILE_OPEN":
                payload: FileOpen | ProcessExec | ProcessExit | ProcessFork = FileOpen(
                    uid=d.get("uid", 0),
                    path=d["path"],
                    relative=d.get("relative", False),
                    dirfd=d.get("dirfd", -100),
                    flags=d.get("flags", 0),
                    ret=d["ret"],
                    count=d.get("count", 1),
                    aggregate=d.get("aggregate", False),
                )
            elif kind == "EXEC":
                payload = ProcessExec(
                    ppid=d.get("ppid", 0),
                    uid=d.get("uid", 0),
                    filename=d["filename"],
                    argv=d["argv"],
                    argv_truncated=d.get("argv_truncated", False),
                )
            elif kind == "EXIT":
                payload = ProcessExit(
                    ppid=d.get("ppid", 0),
                    uid=d.get("uid", 0),
                    exit_code=d["exit_code"],
                    signal=d.get("signal", 0),
                    core_dumped=d.get("core_dumped", False),
                    duration_ns=d.get("duration_ns", 0),
                )
            elif kind == "FORK":
                payload = ProcessFork(
                    ppid=d.get("ppid", 0),
                    uid=d.get("uid", 0),
                    child_pid=d["child_pid"],
                    child_tid=d.get("child_tid", 0),
                )
            elif kind == "LOST" or kind in STATUS_TYPES:
                out.append(status_event(d, self.source, ts, self.stats))
                return
            else:
                raise ParseError(f"unknown process event type {kind!r}")
            out.append(
                Event(
                    timestamp_ns=ts,
                    source="process",
                    pid=d["pid"],
                    tid=d.get("tid"),
                    comm=d.get("comm", ""),
                    payload=payload,
                )
            )
        except (KeyError, TypeError) as exc:
            raise ParseError(f"process line lacks or mistypes field {exc}") from exc
