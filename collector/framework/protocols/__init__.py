"""Sans-IO protocol parsers for observed (not terminated) connections: bytes in, results out.

- `reassembly`: TLS data events -> per-(pid, conn) byte streams, close / idle / LRU handling.
- `detect`: HTTP/1.x or HTTP/2 from a connection's first bytes.
- `http1`: HTTP/1.x with httptools (llhttp), both directions, request/response pairing.
- `http2`: HTTP/2 frames + HPACK (one decoder per direction), exchanges per stream.
- `sse`: incremental text/event-stream parser (WHATWG), and a whole-body split for bodies kept
  until their end.
- `content_encoding`: incremental, bounded gzip / deflate / br / zstd decoding and body capture.
"""

from .content_encoding import BodyCapture, ContentDecoder
from .detect import HttpStream
from .http1 import Http1Connection
from .http2 import Http2Connection
from .message import BodyOptions, Exchange, HttpMessage, SseColumns, SseItem
from .reassembly import Connection, ConnKey, Reassembler
from .sse import SseEvent, SseParser, split_body

__all__ = [
    "BodyCapture",
    "BodyOptions",
    "ConnKey",
    "Connection",
    "ContentDecoder",
    "Exchange",
    "Http1Connection",
    "Http2Connection",
    "HttpMessage",
    "HttpStream",
    "Reassembler",
    "SseColumns",
    "SseEvent",
    "SseItem",
    "SseParser",
    "split_body",
]
