"""Incremental, bounded content decoding and body capture."""

from __future__ import annotations

import gzip
import hashlib
import zlib

import brotli
import pytest
import zstandard

from collector.framework.protocols.content_encoding import (
    BodyCapture,
    ContentDecoder,
    parse_encodings,
)

DATA = b"".join(b"line %d of a fairly compressible body\n" % i for i in range(20000))


def encode(name: str, data: bytes) -> bytes:
    return {
        "gzip": gzip.compress,
        "deflate": zlib.compress,
        "br": lambda d: brotli.compress(d, quality=5),
        "zstd": zstandard.ZstdCompressor().compress,
    }[name](data)


def decode_in_pieces(dec: ContentDecoder, enc: bytes, step: int) -> bytes:
    out = []
    for i in range(0, len(enc), step):
        out += dec.feed(enc[i : i + step])
    out += dec.finish()
    return b"".join(out)


@pytest.mark.parametrize("name", ["gzip", "deflate", "br", "zstd"])
@pytest.mark.parametrize("step", [1, 7, 1000, 1 << 20])
def test_incremental(name: str, step: int) -> None:
    enc = encode(name, DATA)
    if step == 1 and len(enc) > 20000:
        enc = encode(name, DATA[:50000])
        expect = DATA[:50000]
    else:
        expect = DATA
    dec = ContentDecoder([name])
    assert decode_in_pieces(dec, enc, step) == expect and not dec.error


def test_multi_member_gzip_and_raw_deflate_and_layers() -> None:
    assert decode_in_pieces(ContentDecoder(["gzip"]), gzip.compress(b"a") + gzip.compress(b"b"), 3) == b"ab"
    co = zlib.compressobj(wbits=-15)
    raw = co.compress(DATA) + co.flush()
    assert decode_in_pieces(ContentDecoder(["deflate"]), raw, 1) == DATA
    layered = brotli.compress(gzip.compress(DATA))
    assert decode_in_pieces(ContentDecoder(parse_encodings("gzip, br")), layered, 999) == DATA


def test_bomb_is_capped() -> None:
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))
    dec = ContentDecoder(["gzip"], max_output=1024 * 1024)
    out = decode_in_pieces(dec, bomb, 4096)
    assert len(out) == 1024 * 1024 and "exceeds" in dec.error


def test_unknown_and_corrupt() -> None:
    dec = ContentDecoder(["compress"])
    assert dec.passthrough and dec.feed(b"raw") == [b"raw"] and "unsupported" in dec.error
    dec = ContentDecoder(["br"])
    dec.feed(b"definitely not brotli" * 10)
    assert "decode failed" in dec.error
    assert parse_encodings("identity, GZIP") == ["gzip"]


def test_body_capture() -> None:
    cap = BodyCapture(10)
    for piece in (b"abc", b"defghij", b"klm", b""):
        cap.add(piece)
    assert cap.value() == b"abcdefghij" and cap.truncated and cap.size == 13
    assert cap.hexdigest() == hashlib.sha256(b"abcdefghijklm").hexdigest()
    empty = BodyCapture(10)
    assert empty.value() == b"" and empty.hexdigest() == "" and not empty.truncated
    whole = BodyCapture(10)
    whole.add(b"0123456789")  # fits exactly: kept whole, so no digest
    assert whole.value() == b"0123456789" and not whole.truncated and whole.hexdigest() == ""
