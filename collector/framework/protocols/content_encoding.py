"""Incremental, bounded decoding of HTTP `Content-Encoding` (gzip, deflate, br, zstd) and body capture.

Everything here is sans-IO: bytes in, bytes out. Decoders never produce more than `PIECE` bytes per
internal step, and a `ContentDecoder` stops (setting `error`) once it has produced `max_output`
bytes, so a decompression bomb costs bounded memory and bounded CPU.

`BodyCapture` keeps a body whole up to `limit` bytes, keeps only the first `limit` bytes beyond
that (`truncated`), and always knows the full size and the SHA-256 of the full body (computed
incrementally over every byte it was given).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator

import brotli
import zstandard

PIECE = 256 * 1024
"""Largest output of one decompression step."""

DEFAULT_MAX_DECODED = 256 * 1024 * 1024
"""Default cap on the decoded size of one body (protects against decompression bombs)."""

_ZSTD_INPUT_SLICE = 8 * 1024


class _Codec:
    name = ""

    def feed(self, data: bytes) -> Iterator[bytes]:
        raise NotImplementedError

    def flush(self) -> Iterator[bytes]:
        return iter(())


class _Zlib(_Codec):
    """gzip (multi-member) or deflate (zlib-wrapped or, as some servers send it, raw)."""

    def __init__(self, gzip: bool) -> None:
        self.name = "gzip" if gzip else "deflate"
        self._gzip = gzip
        self._d: zlib._Decompress | None = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None
        self._head = b""
        self._done = False
        self._members = 0

    def _pick(self, data: bytes) -> bytes | None:
        """For deflate: choose zlib or raw deflate from the first two bytes."""
        head = self._head + data
        if len(head) < 2:
            self._head = head
            return None
        self._head = b""
        cmf, flg = head[0], head[1]
        is_zlib = (cmf & 0x0F) == 8 and (cmf >> 4) <= 7 and ((cmf << 8) | flg) % 31 == 0
        self._d = zlib.decompressobj(zlib.MAX_WBITS if is_zlib else -zlib.MAX_WBITS)
        return head

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._done:
            return
        if self._d is None:
            picked = self._pick(data)
            if picked is None:
                return
            data = picked
        d = self._d
        assert d is not None
        while True:
            try:
                out = d.decompress(data, PIECE)
            except zlib.error:
                if self._members:
                    self._done = True  # trailing garbage after a complete gzip member
                    return
                raise
            if out:
                yield out
            if d.eof:
                self._members += 1
                if not self._gzip:
                    self._done = True
                    return
                # gzip may have several members: the next one starts a new stream.
                data = d.unused_data.lstrip(b"\x00")
                d = self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                if not data:
                    return
                continue
            data = d.unconsumed_tail
            if not data and len(out) < PIECE:
                return

    def flush(self) -> Iterator[bytes]:
        if self._d is None and self._head:
            yield from self.feed(b"")
        if self._d is not None and not self._done:
            out = self._d.flush()
            if out:
                yield out


class _Brotli(_Codec):
    name = "br"

    def __init__(self) -> None:
        self._d = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        d = self._d
        if d.is_finished():
            return
        out = d.process(data, output_buffer_limit=PIECE)
        if out:
            yield out
        # Past the output limit the rest stays buffered inside: drain it with empty input.
        while len(out) >= PIECE or not d.can_accept_more_data():
            out = d.process(b"", output_buffer_limit=PIECE)
            if not out:
                break
            yield out


class _Zstd(_Codec):
    name = "zstd"

    def __init__(self) -> None:
        self._d = zstandard.ZstdDecompressor().decompressobj(read_across_frames=True)

    def feed(self, data: bytes) -> Iterator[bytes]:
        # zstandard's decompressobj has no output limit: bound each step by slicing the input.
        for i in range(0, len(data), _ZSTD_INPUT_SLICE):
            out = self._d.decompress(data[i : i + _ZSTD_INPUT_SLICE])
            if out:
                yield out


def _codec(name: str) -> _Codec | None:
    if name in ("gzip", "x-gzip"):
        return _Zlib(gzip=True)
    if name == "deflate":
        return _Zlib(gzip=False)
    if name == "br":
        return _Brotli()
    if name == "zstd":
        return _Zstd()
    return None


def parse_encodings(value: str) -> list[str]:
    """`Content-Encoding: gzip, br` -> ["gzip", "br"] (lowercase, identity dropped)."""
    return [t for t in (p.strip().lower() for p in value.split(",")) if t and t != "identity"]


class ContentDecoder:
    """Undoes a list of content codings (in the order they were applied), incrementally.

    An unknown coding or a decoding failure sets `error`; the decoder then passes its input through
    raw (`passthrough`) so that no bytes are lost.
    """

    def __init__(self, encodings: list[str], *, max_output: int = DEFAULT_MAX_DECODED) -> None:
        self.encodings = encodings
        self.max_output = max_output
        self.produced = 0
        self.error = ""
        self.passthrough = False
        codecs: list[_Codec] = []
        for name in reversed(encodings):
            c = _codec(name)
            if c is None:
                self.error = f"unsupported content-encoding {name!r}"
                self.passthrough = True
                codecs = []
                break
            codecs.append(c)
        self._codecs = codecs
        self._stopped = False

    def _run(self, data: bytes, level: int) -> Iterator[bytes]:
        if level == len(self._codecs):
            yield data
            return
        for piece in self._codecs[level].feed(data):
            yield from self._run(piece, level + 1)

    def _flush(self, level: int) -> Iterator[bytes]:
        if level == len(self._codecs):
            return
        for piece in self._codecs[level].flush():
            yield from self._run(piece, level + 1)
        yield from self._flush(level + 1)

    def _bounded(self, pieces: Iterator[bytes]) -> list[bytes]:
        out: list[bytes] = []
        try:
            for piece in pieces:
                room = self.max_output - self.produced
                if len(piece) >= room:
                    if room > 0:
                        out.append(piece[:room])
                    self.produced = self.max_output
                    self._stopped = True
                    self.error = f"decoded body exceeds {self.max_output} bytes; rest dropped"
                    break
                self.produced += len(piece)
                out.append(piece)
        except (zlib.error, brotli.error, zstandard.ZstdError) as exc:
            self.error = f"content-encoding {','.join(self.encodings)} decode failed: {exc}"
            self._stopped = True
        return out

    def feed(self, data: bytes) -> list[bytes]:
        """Decode a piece of the encoded body; returns decoded pieces (possibly none)."""
        if self.passthrough:
            return [data] if data else []
        if self._stopped or not data:
            return []
        return self._bounded(self._run(data, 0))

    def finish(self) -> list[bytes]:
        if self.passthrough or self._stopped:
            return []
        return self._bounded(self._flush(0))


class BodyCapture:
    """Bounded body storage with the full size, and the SHA-256 of a body past the limit.

    While the body fits in `limit` its pieces are only kept, and not hashed: the body itself is
    there (hashing every body cost ~3 % of the analyzers' time on LLM traffic). Past the limit
    the kept part is hashed and every further byte as it arrives, so the digest of a cut body
    covers all of it at bounded memory. (`HttpMessage.add_body`
    and `add_body_records` keep pieces that fit in line: `size = kept += len`, `chunks` extended.)
    """

    __slots__ = ("chunks", "kept", "limit", "sha", "size", "truncated")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.kept = 0
        self.chunks: list[bytes] = []
        self.sha: hashlib._Hash | None = None  # incremental, once the body passed the limit
        self.truncated = False

    def add(self, data: bytes) -> None:
        n = len(data)
        if not n:
            return
        size = self.size + n
        if size <= self.limit:
            self.size = self.kept = size
            self.chunks.append(data)
            return
        sha = self.sha
        if sha is None:
            sha = self.sha = hashlib.sha256()
            for chunk in self.chunks:
                sha.update(chunk)
        self.size = size
        sha.update(data)
        room = self.limit - self.kept
        self.truncated = True
        if room > 0:
            self.chunks.append(data[:room])
            self.kept += room

    def value(self) -> bytes:
        if len(self.chunks) > 1:
            self.chunks = [b"".join(self.chunks)]
        return self.chunks[0] if self.chunks else b""

    def hexdigest(self) -> str:
        """SHA-256 of the whole body when it was cut (`truncated`), else "" (it is kept whole)."""
        if self.sha is None:
            return ""
        return self.sha.hexdigest()
