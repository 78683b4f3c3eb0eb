"""EventShape: read a stream's usual text events without decoding their JSON.

The text deltas of one streamed response are the same bytes but for one string: OpenAI's
`{"id":"chatcmpl-1",...,"delta":{"content":"TEXT"},...}` repeats its id, model and the rest in
every chunk. An `EventShape` is learned from one such event that a reader decoded: the bytes
before and after that string. A later event made of the same bytes around a string that needs no
unescaping is that event with another text, so its text is read with a few byte compares instead
of a JSON decode (the readers' main cost per event).

The shape is verified before use: the learned event with a marker in place of the string must
decode to the same value with the marker as its text. That makes the bytes around the string a
string token's surroundings (the marker is no bare JSON token, so it cannot sit outside a
string), the token the text's, and every other field independent of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec

from ._common import TYPED_FAIL, TYPED_MAX

_PLAIN = re.compile(rb'[^"\\\x00-\x1f]*')
"""A JSON string's bytes between its quotes that need no unescaping: no quote, backslash or
control character."""

_MARKERS = ("zq", "kx")

_EXPECTED = (AttributeError, IndexError, TypeError)
"""What a holder function raises for a probe that decoded to another layout."""


class EventShape:
    """The bytes around the text string of a stream's usual event, and the list its text goes to
    (the CallBuilder's `text` or `thinking`)."""

    __slots__ = ("head", "into", "start", "tail", "tail_len")

    def __init__(self, head: bytes, tail: bytes, into: list[str]) -> None:
        self.head = head  # up to and with the string's opening quote
        self.tail = tail  # from the string's closing quote on
        self.start = len(head)
        self.tail_len = len(tail)
        self.into = into

    def text(self, raw: bytes) -> str | None:
        """The text of `raw` if it is an event of this shape, else None (decode it as usual).
        Same as the typed decoders: events of `TYPED_MAX` bytes or more are theirs to refuse."""
        if raw.startswith(self.head) and raw.endswith(self.tail):
            end = len(raw) - self.tail_len
            if self.start <= end and len(raw) < TYPED_MAX and _PLAIN.fullmatch(raw, self.start, end):
                try:
                    return raw[self.start : end].decode()
                except UnicodeDecodeError:
                    return None
        return None


class Shapes:
    """A response's current shape, and the probes it may still spend learning new ones (at most
    `LEARN_MAX`: a stream whose usual events also differ elsewhere, such as a random padding
    field, is then read by decoding alone after a few probes)."""

    __slots__ = ("probes", "shape")

    def __init__(self) -> None:
        self.shape: EventShape | None = None
        self.probes = 0

    def learn(
        self,
        raw: bytes,
        decoded: msgspec.Struct,
        text: str,
        decode: Callable[[bytes], Any],
        holder: Callable[[Any], Any],
        field: str,
        into: list[str],
    ) -> EventShape | None:
        """The shape of `raw`, a usual event that `decode` gave as `decoded`, with `text` as
        `holder(decoded)`'s `field`, once verified (the current shape if `raw` has it, its text
        needing unescaping; None if there is none). The reader must treat every event of the
        shape as it treated `raw`, its text put in `into`."""
        shape = self.shape
        if shape is not None and raw.startswith(shape.head) and raw.endswith(shape.tail):
            return shape
        if self.probes >= LEARN_MAX:
            return shape
        plain = text.encode()
        if not plain or _PLAIN.fullmatch(plain) is None:
            return shape
        token = b'"' + plain + b'"'
        at = raw.find(token)
        if at < 0 or raw.find(token, at + 1) >= 0:
            return shape
        self.probes += 1
        head, tail = raw[: at + 1], raw[at + len(token) - 1 :]
        marker = _MARKERS[text == _MARKERS[0]]
        try:
            probe = decode(head + marker.encode() + tail)
            held = holder(probe)
            if getattr(held, field) != marker:
                return shape
            setattr(held, field, text)
        except (*TYPED_FAIL, *_EXPECTED):
            return shape
        if probe != decoded:
            return shape
        self.shape = EventShape(head, tail, into)
        return self.shape


LEARN_MAX = 4
"""Shapes probed per response at most."""
