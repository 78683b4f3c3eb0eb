"""Decodes the `process` tool's JSON lines (docs/TOOL-PROCESS.md) into Events."""

from __future__ import annotations

from pydantic import ValidationError

from ..core.errors import ParseError
from ..core.events import Event
from .base import ToolDecoderBase
from .base import validate_event as _validate
from .json import loads
from .status import STATUS_TYPES, status_event

# Tool record type -> payload kind. The payload fields have the tool's field names, so the
# tool's object validates as the payload directly (extra keys such as "comm" are ignored).
KINDS = {"EXEC": "exec", "EXIT": "exit", "FORK": "fork", "FILE_OPEN": "file_open"}


class ProcessToolDecoder(ToolDecoderBase):
    source = "process"

    def decode(self, line: bytes, out: list[Event]) -> None:
        d = loads(line)
        try:
            kind = KINDS.get(d["type"])
            ts = d["ts_ns"] + self.offset_ns
            if kind is None:
                if d["type"] == "LOST" or d["type"] in STATUS_TYPES:
                    out.append(status_event(d, self.source, ts, self.stats))
                    return
                raise ParseError(f"unknown process event type {d['type']!r}")
            d["kind"] = kind
            out.append(
                _validate(
                    {
                        "timestamp_ns": ts,
                        "source": "process",
                        "pid": d["pid"],
                        "tid": d.get("tid"),
                        "comm": d.get("comm", ""),
                        "payload": d,
                    }
                )
            )
        except (KeyError, TypeError) as exc:
            raise ParseError(f"process line lacks or mistypes field {exc}") from exc
        except ValidationError as exc:
            raise ParseError(f"process line does not match the contract: {_first_error(exc)}") from exc


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return f"{loc}: {err['msg']}"
