"""EventShape: read a stream's usual text events without decoding their JSON.

The text deltas of one streamed response are the same bytes but for one string: OpenAI's
`{"id":"chatcmpl-1",...,"delta":{"content":"TEXT"},...}` repeats its id, model and the rest in
every chunk. An `EventShape` is learned from one such event that a reader decoded: the bytes
before and after that string. A later event made of the same bytes around a string that needs no
unescaping is that event with another text, so its text is read with a few byte compares instead
of a JSON decode (the readers' main cost per event). A text with a quote, a backslash (an
escape) or a character `str.isprintable` refuses (control characters, which JSON does not allow
raw, and a few others) is decoded as usual.

An event that also ends with a string the reader ignores and the server varies (OpenAI's
random `obfuscation` padding) gets a `PaddedShape`, read around both strings, once two usual
events show that string changing and a probe shows the decode ignores it.

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

    def fits(self, raw: bytes) -> bool:
        """Whether `raw` has this shape's bytes outside the text (whatever its text holds)."""
        return raw.startswith(self.head) and raw.endswith(self.tail)

    def padding(self) -> tuple[bytes, bytes] | None:
        """The tail cut around its last string value if the event ends with one (`"k":"v"}`):
        a candidate for `PaddedShape`, else None."""
        tail = self.tail
        close = tail.rfind(b'"')
        opening = tail.rfind(b'"', 1, close) if close > 0 else -1
        if (
            opening > 1
            and tail[opening - 1 : opening] == b":"
            and not tail[close + 1 :].strip(b"]}")
            and _plain(tail[opening + 1 : close].decode("utf-8", "replace"))
        ):
            return tail[: opening + 1], tail[close:]
        return None


class PaddedShape(EventShape):
    """A shape whose event ends with a string value the reader ignores and the server varies,
    such as OpenAI's random `obfuscation` padding: `tail` runs from the text's closing quote to
    that string's opening quote, `end` from its closing quote on."""

    __slots__ = ("end", "end_len")

    def __init__(self, head: bytes, tail: bytes, end: bytes, into: list[str]) -> None:
        super().__init__(head, tail, into)
        self.end = end
        self.end_len = len(end)

    def text(self, raw: bytes) -> str | None:
        start = self.start
        end = len(raw) - self.end_len
        if start <= end and raw[:start] == self.head and raw[end:] == self.end:
            # text + tail + padding: a plain text holds no quote, so the first tail follows it
            text, found, padding = raw[start:end].partition(self.tail)
            if found:
                try:
                    text_str = text.decode()
                    padding_str = padding.decode()
                except UnicodeDecodeError:
                    return None
                if (
                    '"' not in text_str
                    and "\\" not in text_str
                    and text_str.isprintable()
                    and '"' not in padding_str
                    and "\\" not in padding_str
                    and padding_str.isprintable()
                ):  # both _plain, in line
                    return text_str
        return None

    def fits(self, raw: bytes) -> bool:
        return raw.startswith(self.head) and raw.endswith(self.end)


def _plain(text: str) -> bool:
    """Whether `text` is written as is between a JSON string's quotes: no quote, no backslash (an
    escape), no control character (not allowed raw), nor any other character `isprintable`
    refuses (those are decoded as usual)."""
    return '"' not in text and "\\" not in text and text.isprintable()


class Shapes:
    """A response's current shape, and the probes it may still spend learning new ones (at most
    `LEARN_MAX`: a stream whose usual events also differ elsewhere, such as a `created` time
    that changes, is then read by decoding alone after a few probes)."""

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
        if shape is not None and shape.fits(raw):
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
        if type(shape) is EventShape and shape.head == head and (cut := shape.padding()) is not None:
            # The same bytes but for the text and the last string: padding, if this event
            # decodes the same with the learned event's padding in place of its own.
            if raw.endswith(cut[1]) and tail.startswith(cut[0]) and self._same(head + token[1:] + shape.tail[1:], decoded, decode):
                self.shape = PaddedShape(head, cut[0], cut[1], into)
                return self.shape
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

    @staticmethod
    def _same(raw: bytes, decoded: msgspec.Struct, decode: Callable[[bytes], Any]) -> bool:
        try:
            return bool(decode(raw) == decoded)
        except TYPED_FAIL:
            return False


LEARN_MAX = 4
"""Shapes probed per response at most."""
