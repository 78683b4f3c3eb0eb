"""TLS plaintext events -> per-connection, per-direction byte streams (sans-IO).

A connection is keyed by (pid, conn): `conn` is the SSL* pointer, unique among the live
connections of one process, so concurrent connections of a process never mix, and the same pointer
in two processes is two connections. Each connection has two streams, "write" (what the process
sent) and "read" (what it received), fed in the order the tool reported the SSL calls: the tool
emits each call when it returns, one ring buffer in submission order, and one SSL* is not used by
two threads at the same time, so arrival order is stream order.

A `TlsClose` (SSL_shutdown / SSL_free) ends the connection: its handler is closed and forgotten,
so a pointer reused by a later SSL_new starts from a clean state. A connection idle for longer than
`idle_timeout_ns` is closed by `tick`, and the least recently used one is closed when more than
`max_connections` are open. Bytes the tool could not capture (`TlsData.truncated`) are reported
to the handler as a gap after the captured part.

Idle time is measured on the clock given to `tick` (wall clock), not on event timestamps, so a
replay of an old recording is not expired wholesale: a connection is "active" at the latest tick
time seen when its data arrived.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, Protocol

ConnKey = tuple[int, int]
"""(pid, conn)"""

DEFAULT_MAX_CONNECTIONS = 4096
DEFAULT_IDLE_TIMEOUT_NS = 300 * 1_000_000_000


class StreamHandler(Protocol):
    """What a connection's bytes are fed to (the HTTP parsers implement this)."""

    def feed(self, direction: str, data: bytes, ts: int, out: list[object]) -> None: ...

    def gap(self, direction: str, nbytes: int, ts: int, out: list[object]) -> None: ...

    def close(self, ts: int, out: list[object], error: str = ..., eof: bool = ...) -> None: ...


class Connection:
    """One tracked connection: its handler and what the analyzer needs to label derived events."""

    __slots__ = ("active", "handler", "key", "last", "peer", "pid")

    def __init__(self, key: ConnKey, handler: StreamHandler) -> None:
        self.key = key
        self.handler = handler
        self.pid = key[0]
        # The fields of the latest event seen on the connection (an Event's __dict__, or a dict
        # with the same keys): one store per TLS call labels what the connection emits next.
        # Holding it keeps that call's data alive until the next call on the connection.
        self.last: dict[str, Any] = _NO_EVENT
        self.peer: str | None = None  # "ip:port" of the socket, once the tool reports it
        self.active = 0

    @property
    def tid(self) -> int | None:
        tid: int | None = self.last["tid"]
        return tid

    @property
    def comm(self) -> str:
        comm: str = self.last["comm"]
        return comm

    @property
    def last_ts(self) -> int:
        ts: int = self.last["timestamp_ns"]
        return ts


_NO_EVENT: dict[str, Any] = {"timestamp_ns": 0, "tid": None, "comm": ""}


class Reassembler:
    """Routes TLS data to per-connection handlers; closes on TlsClose, idle timeout, LRU overflow."""

    def __init__(
        self,
        factory: Callable[[ConnKey], StreamHandler],
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        idle_timeout_ns: int = DEFAULT_IDLE_TIMEOUT_NS,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be >= 1")
        self.factory = factory
        self.max_connections = max_connections
        self.idle_timeout_ns = idle_timeout_ns
        self.connections: OrderedDict[ConnKey, Connection] = OrderedDict()
        self.clock = 0
        self.evicted = 0
        self.expired = 0
        self.closed = 0

    def __len__(self) -> int:
        return len(self.connections)

    def get(self, key: ConnKey) -> Connection:
        """The connection for `key`, created if new, marked most recently used."""
        conns = self.connections
        c = conns.get(key)
        if c is None:
            c = conns[key] = Connection(key, self.factory(key))
            c.active = self.clock
        else:
            conns.move_to_end(key)
            c.active = self.clock
        return c

    def data(
        self, key: ConnKey, direction: str, data: bytes, ts: int, out: list[object], lost: int = 0
    ) -> tuple[Connection, list[Connection]]:
        """Feed one TLS call's bytes; returns the connection and any evicted ones (closed into `out`)."""
        c = self.get(key)
        c.last = {**c.last, "timestamp_ns": ts}
        if data:
            c.handler.feed(direction, data, ts, out)
        if lost > 0:
            c.handler.gap(direction, lost, ts, out)
        return c, self.overflow()

    def overflow(self) -> list[Connection]:
        """Forget least recently used connections beyond `max_connections`; the caller closes them."""
        evicted: list[Connection] = []
        while len(self.connections) > self.max_connections:
            _, old = self.connections.popitem(last=False)
            self.evicted += 1
            evicted.append(old)
        return evicted

    def close(self, key: ConnKey, ts: int, out: list[object], error: str = "connection closed") -> Connection | None:
        c = self.connections.pop(key, None)
        if c is None:
            return None
        self.closed += 1
        c.handler.close(ts, out, error)
        return c

    def tick(self, now_ns: int) -> Iterator[Connection]:
        """Advance the clock; yields (and forgets) connections idle past the timeout, unclosed.

        The caller closes each yielded connection's handler (so it can attach outputs to it).
        """
        if now_ns > self.clock:
            first = self.clock == 0
            self.clock = now_ns
            if first:
                for c in self.connections.values():
                    c.active = now_ns
                return
        limit = self.clock - self.idle_timeout_ns
        conns = self.connections
        while conns:
            key, c = next(iter(conns.items()))
            if c.active > limit:
                break
            del conns[key]
            self.expired += 1
            yield c

    def drain(self) -> Iterator[Connection]:
        """Forget every connection (end of stream); the caller closes their handlers."""
        while self.connections:
            _, c = self.connections.popitem(last=False)
            yield c
