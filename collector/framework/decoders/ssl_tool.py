"""Decodes the `sslsniff` tool's JSON lines (docs/TOOL-SSLSNIFF.md), reassembling chunked calls.

A call's chunks share a `call_id` and arrive in order; one TlsData Event is emitted per SSL call
when its last chunk arrives. A thread does one call at a time, so when a new call starts on a
thread whose previous call never finished (chunks lost), the previous one is emitted as
truncated with the exact number of missing bytes.

The usual line, one whole call with the tool's fields, takes a fast path: a strictly typed
msgspec decoder checks every field's type, and the Event is built from the checked values without
validating them again (`core/construct.py`). Any line it does not take (another type, a chunk,
a field of another type or unknown, an int outside int64, bad base64) goes the general way:
orjson and a validated Event, with the errors and counts it always had.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import msgspec
import pybase64

from ..core.construct import constructor
from ..core.errors import ParseError
from ..core.events import Event, TlsData, new_event
from .base import ToolDecoderBase
from .base import validate_event as _validate
from .json import loads
from .status import STATUS_TYPES, status_event

_b64decode = pybase64.b64decode


def _a2b(text: str | memoryview) -> bytes:
    """Base64 to bytes; pybase64 (SIMD) is ~20x faster than binascii on 16 KiB chunks."""
    return _b64decode(text, validate=True)


# Lines longer than this take the in-place path (below it, parsing the whole line is as fast).
_SPLIT_MIN = 1024
_DATA_KEY = b',"data":"'
_DATA_SKIP = len(_DATA_KEY)


def _split_data(line: bytes) -> tuple[dict[str, Any], bytes] | None:
    """SSL_DATA's `data` is its last field: decode it from the line in place, the rest as JSON.

    Saves building (and validating) a str as long as the payload; None when the line does not
    have that shape, for the general path to decide.
    """
    at = line.find(_DATA_KEY)
    if at < 0 or not line.endswith(b'"}'):
        return None
    try:
        data = _a2b(memoryview(line)[at + _DATA_SKIP : -2])
        head = loads(line[:at] + b"}")
    except (binascii.Error, ValueError, ParseError):
        return None
    if head.get("type") != "SSL_DATA":
        return None
    return head, data


# ints beyond int64 (u64 >= 2^63, never seen in practice) fail the bound and go the general way,
# where orjson reads them exactly up to 2^64-1 (and above that as floats), as it always did.
_Int = Annotated[int, msgspec.Meta(ge=-(1 << 63), le=(1 << 63) - 1)]
_UNSET: Any = msgspec.UNSET


class _DataLine(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One SSL_DATA line (docs/TOOL-SSLSNIFF.md) for the fast path, every field strictly typed.

    Unknown fields are refused rather than skipped: msgspec skips a value without all of the
    checks orjson makes (1e999, say), and such a line must fail as it always did. A newer tool's
    extra fields thus take the general path, which ignores them. `tid` and `len` tell absent
    (UNSET) from given; `data` is absent from the head of a line whose payload is decoded in place.
    """

    type: Literal["SSL_DATA"]
    ts_ns: _Int
    pid: _Int
    dir: Literal["read", "write"]
    conn: _Int
    data: str | msgspec.UnsetType = _UNSET
    tid: _Int | msgspec.UnsetType | None = _UNSET
    uid: _Int = 0
    comm: str = ""
    func: str = ""
    fd: _Int = -1
    peer: str | None = None
    call_id: _Int = 0
    latency_ns: _Int = 0
    len: _Int | msgspec.UnsetType = _UNSET
    seq: _Int = 0
    offset: _Int = 0
    last: bool = True
    truncated: _Int = 0
    read_error: bool = False


_decode_data_line = msgspec.json.Decoder(_DataLine).decode
_DATA_PREFIX = b'{"type":"SSL_DATA",'
_new_tls_data = constructor(TlsData)


@dataclass
class _PendingCall:
    first: dict[str, Any]
    ts_ns: int
    parts: list[bytes] = field(default_factory=list)
    received: int = 0
    next_offset: int = 0
    gap: int = 0


class SslToolDecoder(ToolDecoderBase):
    source = "ssl"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: dict[int, _PendingCall] = {}
        self.incomplete_calls = 0

    def decode(self, line: bytes, out: list[Event]) -> None:
        if line.startswith(_DATA_PREFIX):
            event = self._fast(line)
            if event is not None:
                out.append(event)
                return
        self._decode_general(line, out)

    def _fast(self, line: bytes) -> Event | None:
        """The Event of a whole call's usual SSL_DATA line; None for the general path to decide.

        Gives what the general path gives (tests/core/test_ssl_decoder.py compares them).
        """
        try:
            if len(line) > _SPLIT_MIN:
                at = line.find(_DATA_KEY)
                if at < 0 or not line.endswith(b'"}'):
                    return None
                # as in _split_data, the payload is decoded in place (a `data` in the head is ignored)
                s = _decode_data_line(line[:at] + b"}")
                raw: Any = memoryview(line)[at + _DATA_SKIP : -2]
            else:
                s = _decode_data_line(line)
                raw = s.data
                if raw is _UNSET:
                    return None
            tid: Any = s.tid
            if s.seq != 0 or not s.last:
                return None  # a chunk of a longer call
            if self._pending and (s.pid if tid is _UNSET else tid) in self._pending:
                return None  # its thread's previous call lost its tail: reported first
            data = _b64decode(raw, validate=True)
        except (msgspec.DecodeError, ValueError, RecursionError):
            return None
        length = s.len
        if type(length) is not int:  # absent (UNSET): the data's length
            length = len(data)
        self.stats.tls_bytes += length
        payload = _new_tls_data(
            {
                "kind": "tls_data",
                "direction": s.dir,
                "conn": s.conn,
                "data": data,
                "length": length,
                "truncated": s.truncated,
                "fd": s.fd,
                "peer": s.peer,
                "uid": s.uid,
                "func": s.func,
                "latency_ns": s.latency_ns,
                "call_id": s.call_id,
            }
        )
        return new_event(
            {
                "timestamp_ns": s.ts_ns + self.offset_ns,
                "source": self.source,
                "pid": s.pid,
                "tid": None if tid is _UNSET else tid,
                "comm": s.comm,
                "payload": payload,
            }
        )

    def _decode_general(self, line: bytes, out: list[Event]) -> None:
        split = _split_data(line) if len(line) > _SPLIT_MIN else None
        if split is None:
            d = loads(line)
        else:
            d, data = split
        try:
            kind = d["type"]
            ts = d["ts_ns"] + self.offset_ns
            if kind == "SSL_DATA":
                if split is None:
                    data = _a2b(d["data"])
                pid = d["pid"]
                tid: Any = d.get("tid", pid)
                if self._pending.get(tid) is None and d.get("last", True) and d.get("seq", 0) == 0:
                    # a whole call on a thread with no chunked call in progress: the usual case
                    out.append(self._single(d, ts, data))
                else:
                    self._chunk(d, ts, out, data)
            elif kind == "SSL_HANDSHAKE":
                payload = {
                    "kind": "tls_handshake",
                    "conn": d["conn"],
                    "latency_ns": d.get("latency_ns", 0),
                    "ret": d.get("ret", 1),
                }
                out.append(self._event(d, ts, payload))
            elif kind == "SSL_CLOSE":
                out.append(
                    self._event(
                        d, ts, {"kind": "tls_close", "conn": d["conn"], "func": d.get("func", "")}
                    )
                )
            elif kind == "LOST" or kind in STATUS_TYPES:
                out.append(status_event(d, self.source, ts, self.stats))
            else:
                raise ParseError(f"unknown sslsniff event type {kind!r}")
        except (KeyError, TypeError, binascii.Error) as exc:
            raise ParseError(f"sslsniff line lacks or mistypes field {exc}") from exc

    def _event(self, d: dict[str, Any], ts: int, payload: dict[str, Any]) -> Event:
        return _validate(
            {
                "timestamp_ns": ts,
                "source": self.source,
                "pid": d["pid"],
                "tid": d.get("tid"),
                "comm": d.get("comm", ""),
                "payload": payload,
            }
        )

    def _chunk(self, d: dict[str, Any], ts: int, out: list[Event], data: bytes) -> None:
        tid = d.get("tid", d["pid"])
        call_id = d.get("call_id", 0)
        pending = self._pending.get(tid)
        if pending is not None and pending.first.get("call_id", 0) != call_id:
            del self._pending[tid]
            out.append(self._complete(pending, lost_tail=True))
            pending = None
        if pending is None:
            if d.get("last", True) and d.get("seq", 0) == 0:
                out.append(self._single(d, ts, data))
                return
            pending = _PendingCall(first=d, ts_ns=ts)
            self._pending[tid] = pending
        offset = d.get("offset", pending.next_offset)
        if offset > pending.next_offset:
            pending.gap += offset - pending.next_offset
        pending.parts.append(data)
        pending.received += len(data)
        pending.next_offset = offset + len(data)
        if d.get("truncated"):
            pending.first = {**pending.first, "truncated": d["truncated"]}
        if d.get("last", False):
            del self._pending[tid]
            out.append(self._complete(pending, lost_tail=False))

    def _single(self, d: dict[str, Any], ts: int, data: bytes) -> Event:
        return self._data_event(d, ts, data, d.get("len", len(data)), d.get("truncated", 0))

    def _payload(
        self, d: dict[str, Any], data: bytes, length: int, truncated: int
    ) -> dict[str, Any]:
        return {
            "kind": "tls_data",
            "direction": d["dir"],
            "conn": d["conn"],
            "data": data,
            "length": length,
            "truncated": truncated,
            "fd": d.get("fd", -1),
            "peer": d.get("peer"),
            "uid": d.get("uid", 0),
            "func": d.get("func", ""),
            "latency_ns": d.get("latency_ns", 0),
            "call_id": d.get("call_id", 0),
        }

    def _complete(self, p: _PendingCall, *, lost_tail: bool) -> Event:
        data = b"".join(p.parts)
        length = p.first.get("len", len(data))
        truncated = int(p.first.get("truncated", 0))
        if lost_tail or p.gap:
            self.incomplete_calls += 1
            # Bytes neither captured nor reported truncated by the tool were lost in transit.
            truncated = max(truncated, length - len(data))
        return self._data_event(p.first, p.ts_ns, data, length, truncated)

    def _data_event(self, d: dict[str, Any], ts: int, data: bytes, length: int, truncated: int) -> Event:
        """The validated TlsData Event of one call, its length added to the TLS byte count."""
        event = self._event(d, ts, self._payload(d, data, length, truncated))
        self.stats.tls_bytes += event.payload.length  # type: ignore[union-attr]
        return event

    def finish(self, out: list[Event]) -> None:
        for tid in list(self._pending):
            out.append(self._complete(self._pending.pop(tid), lost_tail=True))
