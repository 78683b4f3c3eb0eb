"""EventShape: read a stream's usual text events without decoding their JSON.

The text deltas of one streamed response are the same bytes but for one string: OpenAI's
`{"id":"chatcmpl-1",...,"delta":{"content":"TEXT"},...}` repeats its id, model and the rest in
every chunk. An `EventShape` is learned from one such event that a reader decoded: the bytes
before and after that string. A later event made of the same bytes around a string that needs no
unescaping is that event with another text, so its text is read with a few byte compares instead
of a JSON decode (the readers' main cost per event). A text with a quote, a backslash (an
escape) or a character `str.isprintable` refuses (control characters, which JSON does not allow
raw, and a few others) is decoded as usual.

The shape is verified before use: the learned event with a marker in place of the string must
decode to the same value with the marker as its text. That makes the bytes around the string a
string token's surroundings (the marker is no bare JSON token, so it cannot sit outside a
string), the token the text's, and every other field independent of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from ._common import TYPED_FAIL

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
        The caller has checked `len(raw) < TYPED_MAX`, as for the typed decoders."""
        # Slices compared rather than startswith/endswith, and the checks made on the str:
        # CPython 3.11 parses those bytes methods' arguments, and tries `in`'s operand as an int
        # first, at a cost above the compares themselves.
        start = self.start
        end = len(raw) - self.tail_len
        if start <= end and raw[:start] == self.head and raw[end:] == self.tail:
            try:
                text = raw[start:end].decode()
            except UnicodeDecodeError:
                return None
            if '"' not in text and "\\" not in text and text.isprintable():  # _plain, in line
                return text
        return None


def _plain(text: str) -> bool:
    """Whether `text` is written as is between a JSON string's quotes: no quote, no backslash (an
    escape), no control character (not allowed raw), nor any other character `isprintable`
    refuses (those are decoded as usual)."""
    return '"' not in text and "\\" not in text and text.isprintable()


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
        if self.probes >= LEARN_MAX:  # the events keep changing elsewhere: stop trying shapes
            self.shape = None
            return None
        if not text or not _plain(text):
            return shape
        token = b'"' + text.encode() + b'"'
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
