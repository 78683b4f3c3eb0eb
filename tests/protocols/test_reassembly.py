"""Connection tracking: routing, close, idle expiry, LRU eviction."""

from __future__ import annotations

from collector.framework.protocols.reassembly import ConnKey, Reassembler


class Recorder:
    def __init__(self, key: ConnKey) -> None:
        self.key = key
        self.log: list[tuple[object, ...]] = []

    def feed(self, direction: str, data: bytes, ts: int, out: list[object]) -> None:
        self.log.append(("feed", direction, data, ts))

    def gap(self, direction: str, nbytes: int, ts: int, out: list[object]) -> None:
        self.log.append(("gap", direction, nbytes))

    def close(self, ts: int, out: list[object], error: str = "", eof: bool = True) -> None:
        self.log.append(("close", error))
        out.append(("closed", self.key))


def test_routing_and_close_resets() -> None:
    r = Reassembler(Recorder)
    out: list[object] = []
    a, _ = r.data((1, 7), "write", b"x", 1, out)
    b, _ = r.data((2, 7), "write", b"y", 2, out)  # same pointer, other pid
    c, _ = r.data((1, 7), "read", b"z", 3, out, lost=5)
    assert a is c and a is not b
    assert a.handler.log == [("feed", "write", b"x", 1), ("feed", "read", b"z", 3), ("gap", "read", 5)]
    r.close((1, 7), 4, out)
    assert out == [("closed", (1, 7))]
    d, _ = r.data((1, 7), "write", b"again", 5, out)
    assert d is not a and d.handler.log == [("feed", "write", b"again", 5)]


def test_lru_eviction() -> None:
    r = Reassembler(Recorder, max_connections=2)
    out: list[object] = []
    r.data((1, 1), "write", b"a", 1, out)
    r.data((1, 2), "write", b"a", 1, out)
    r.data((1, 1), "write", b"a", 1, out)  # 1 is now most recent
    _, evicted = r.data((1, 3), "write", b"a", 1, out)
    assert [c.key for c in evicted] == [(1, 2)] and len(r) == 2


def test_idle_expiry_uses_tick_clock() -> None:
    r = Reassembler(Recorder, idle_timeout_ns=10)
    out: list[object] = []
    r.data((1, 1), "write", b"a", 10**18, out)  # event times don't matter
    assert list(r.tick(100)) == []  # first tick starts the clock
    r.data((1, 2), "write", b"a", 5, out)
    assert list(r.tick(105)) == []
    r.data((1, 2), "write", b"a", 5, out)  # active as of the latest tick (105)
    assert [c.key for c in r.tick(112)] == [(1, 1)]
    r.data((1, 2), "write", b"a", 5, out)
    assert list(r.tick(120)) == []
    assert [c.key for c in r.tick(200)] == [(1, 2)]
    assert len(r) == 0
