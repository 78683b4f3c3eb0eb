"""The decoder protocol: `decode(line, out)` appends the line's Events to `out` or raises."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ..core.events import Event, TlsData
from ..core.stats import RunnerStats

# Each Event is validated whole, from one nested dict, by the model's own validator: the same
# checks as building the payload and then Event(...), at less than half the cost.
validate_event: Callable[[dict[str, Any]], Event] = Event.__pydantic_validator__.validate_python


def count_tls_bytes(stats: RunnerStats, event: Event) -> None:
    """Add a TlsData Event's call length to `stats.tls_bytes`, as the sslsniff decoder counts
    the calls it decodes (for decoders handed Events already made)."""
    payload = event.payload
    if type(payload) is TlsData:
        stats.tls_bytes += payload.length


class Decoder(Protocol):
    def decode(self, line: bytes, out: list[Event]) -> None:
        """Append the Events of one line (maybe none) to `out`; raise on a malformed line."""
        ...

    def finish(self, out: list[Event]) -> None:
        """End of input: append anything still held (e.g. a call missing its last chunk)."""
        ...


class LineFunctionDecoder:
    """Adapts a user function `line -> Event | Iterable[Event] | None` to the Decoder protocol."""

    def __init__(
        self, fn: Callable[[bytes], Event | Iterable[Event] | None], stats: RunnerStats | None = None
    ) -> None:
        self._fn = fn
        self.stats = stats if stats is not None else RunnerStats()

    def decode(self, line: bytes, out: list[Event]) -> None:
        result = self._fn(line)
        if result is None:
            return
        start = len(out)
        if isinstance(result, Event):
            out.append(result)
        else:
            out.extend(result)
        for event in out[start:]:
            count_tls_bytes(self.stats, event)

    def finish(self, out: list[Event]) -> None:
        return None


class ToolDecoderBase:
    """Shared parts of the decoders for our own tools' JSON lines."""

    source = ""

    def __init__(self, stats: RunnerStats | None = None, boot_offset_ns: int | None = None) -> None:
        from ..core.clock import boot_to_wall_offset_ns

        self.stats = stats if stats is not None else RunnerStats()
        self.offset_ns = boot_to_wall_offset_ns() if boot_offset_ns is None else boot_offset_ns

    def finish(self, out: list[Event]) -> None:
        return None
