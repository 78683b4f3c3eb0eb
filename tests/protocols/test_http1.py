"""HTTP/1.x through HttpAnalyzer, from real request/response bytes."""

from __future__ import annotations

import gzip
import hashlib
import zlib

import brotli
import h11
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.framework.protocols.http1 import CLOSED_AFTER_SSE_EVENT, Http1Connection

from .helpers import chunked, close, events_from, norm, resplit, run, tls

GET = b"GET /v1/models?limit=2 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: t\r\nAccept: */*\r\nAccept: text/plain\r\n\r\n"


def resp(body: bytes, status: bytes = b"200 OK", headers: bytes = b"") -> bytes:
    return b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\n" % len(body) + headers + b"\r\n" + body


def test_simple_get_fields() -> None:
    ex, _, out = run(events_from([("write", GET), ("read", resp(b'{"ok":1}', headers=b"Content-Type: application/json\r\n"))]))
    assert len(ex) == 1
    e = ex[0]
    assert (e.method, e.url, e.host, e.path, e.query, e.scheme) == ("GET", "https://api.example.com/v1/models?limit=2", "api.example.com", "/v1/models", "limit=2", "https")
    assert (e.status, e.reason, e.protocol, e.conn, e.stream_id) == (200, "OK", "HTTP/1.1", 0x1000, None)
    # all headers, repeated ones kept, order kept
    assert e.request_headers == [("Host", "api.example.com"), ("User-Agent", "t"), ("Accept", "*/*"), ("Accept", "text/plain")]
    assert e.response_body == b'{"ok":1}' and e.response_body_size == 8
    assert e.response_body_sha256 == ""  # kept whole: no digest (only a cut body is summarised)
    assert e.complete and not e.partial and not e.error
    assert (e.request_start_ns, e.response_first_byte_ns, e.end_ns) == (1000, 1001, 1001)
    # envelope of the derived event; inputs pass through, derived right after the completing event
    derived = [ev for ev in out if ev.source == "http"]
    assert derived[0].timestamp_ns == 1001 and derived[0].pid == 100 and derived[0].tid == 101 and derived[0].comm == "agent"
    assert [ev.kind for ev in out] == ["tls_data", "tls_data", "http_exchange", "tls_close"]


def test_keep_alive_many_exchanges_and_pipelining() -> None:
    records = []
    for i in range(5):
        records.append(("write", GET.replace(b"limit=2", b"i=%d" % i)))
        records.append(("read", resp(b"r%d" % i)))
    # pipelining: three requests in one record, three responses in one record
    records.append(("write", b"".join(GET.replace(b"limit=2", b"p=%d" % i) for i in range(3))))
    records.append(("read", b"".join(resp(b"p%d" % i) for i in range(3))))
    ex, _, _ = run(events_from(records))
    assert [e.query for e in ex] == [f"i={i}" for i in range(5)] + [f"p={i}" for i in range(3)]
    assert [e.response_body for e in ex] == [b"r%d" % i for i in range(5)] + [b"p%d" % i for i in range(3)]
    assert all(e.complete and not e.partial for e in ex)


def test_chunked_with_trailers_and_post_body() -> None:
    post = b"POST /v1/chat HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(b'{"a":', b"1}")
    r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Done\r\n\r\n" + chunked(b"hello ", b"world", trailers=b"X-Done: yes\r\n")
    ex, _, _ = run(events_from([("write", post), ("read", r)]))
    assert ex[0].method == "POST" and ex[0].request_body == b'{"a":1}'
    assert ex[0].response_body == b"hello world"
    assert ex[0].response_trailers == [("X-Done", "yes")]


def _encoded(name: str, data: bytes) -> bytes:
    if name == "gzip":
        return gzip.compress(data)
    if name == "deflate":
        return zlib.compress(data)
    if name == "br":
        return brotli.compress(data)
    if name == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    raise AssertionError(name)


def test_content_encodings() -> None:
    body = b'{"text": "' + b"token " * 5000 + b'"}'
    records = []
    for name in ("gzip", "deflate", "br", "zstd"):
        enc = _encoded(name, body)
        records.append(("write", GET))
        r = resp(enc, headers=b"Content-Encoding: " + name.encode() + b"\r\n")
        records += [("read", r[i : i + 1000]) for i in range(0, len(r), 1000)]
    # raw deflate (no zlib wrapper), as some servers send it
    co = zlib.compressobj(wbits=-15)
    raw = co.compress(body) + co.flush()
    records += [("write", GET), ("read", resp(raw, headers=b"Content-Encoding: deflate\r\n"))]
    # two codings applied in order
    records += [("write", GET), ("read", resp(brotli.compress(gzip.compress(body)), headers=b"Content-Encoding: gzip, br\r\n"))]
    ex, _, _ = run(events_from(records))
    assert len(ex) == 6
    for e in ex:
        assert e.response_body == body, e.response_headers
        assert e.response_body_size == len(body) and not e.error


def test_bad_encoding_reports_error() -> None:
    ex, _, _ = run(events_from([("write", GET), ("read", resp(b"not gzip at all", headers=b"Content-Encoding: gzip\r\n"))]))
    assert ex[0].complete and "decode failed" in ex[0].error


def test_100_continue() -> None:
    head = b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    records = [
        ("write", head),
        ("read", b"HTTP/1.1 100 Continue\r\n\r\n"),
        ("write", b"hello"),
        ("read", resp(b"done", status=b"201 Created")),
    ]
    ex, _, _ = run(events_from(records))
    assert len(ex) == 1
    assert ex[0].status == 201 and ex[0].request_body == b"hello" and ex[0].response_body == b"done"
    # the interim response may also share a record with the final one
    records = [("write", head + b"hello"), ("read", b"HTTP/1.1 100 Continue\r\n\r\n" + resp(b"ok"))]
    ex, _, _ = run(events_from(records))
    assert [(e.status, e.response_body) for e in ex] == [(200, b"ok")]


def test_head_204_304_have_no_body() -> None:
    head = b"HEAD /file HTTP/1.1\r\nHost: h\r\n\r\n"
    records = [
        ("write", head),
        ("read", b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"),
        ("write", GET),
        ("read", resp(b"after-head")),
        # HEAD response pipelined in one record between two others
        ("write", GET + head + GET),
        ("read", resp(b"one") + b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n" + resp(b"three")),
        ("write", GET),
        ("read", b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"),
        ("write", GET),
        ("read", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nETag: x\r\n\r\n"),
        ("write", GET),
        ("read", resp(b"last")),
    ]
    ex, _, _ = run(events_from(records))
    assert [(e.method, e.status, e.response_body) for e in ex] == [
        ("HEAD", 200, b""),
        ("GET", 200, b"after-head"),
        ("GET", 200, b"one"),
        ("HEAD", 200, b""),
        ("GET", 200, b"three"),
        ("GET", 204, b""),
        ("GET", 304, b""),
        ("GET", 200, b"last"),
    ]
    assert all(e.complete for e in ex)


def test_head_response_split_across_records() -> None:
    head = b"HEAD /file HTTP/1.1\r\nHost: h\r\n\r\n"
    r = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n" + resp(b"x")
    for cut in range(1, len(r)):
        ex, _, _ = run(events_from([("write", head + GET), ("read", r[:cut]), ("read", r[cut:])]))
        assert [(e.method, e.response_body) for e in ex] == [("HEAD", b""), ("GET", b"x")], cut


def test_read_until_close() -> None:
    r = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this"
    ex, _, _ = run(events_from([("write", GET), ("read", r), ("read", b" and more")]))
    assert ex[0].response_body == b"all of this and more" and ex[0].complete
    # without a close (capture ended) it is not known to be complete
    ex, _, _ = run(events_from([("write", GET), ("read", r)], closed=False))
    assert ex[0].response_body == b"all of this" and not ex[0].complete


def test_incomplete_on_close() -> None:
    ex, _, _ = run(events_from([("write", GET), ("read", resp(b"0123456789")[:-4])]))
    assert len(ex) == 1 and not ex[0].complete and ex[0].response_body == b"012345" and ex[0].error
    ex, _, _ = run(events_from([("write", GET)]))
    assert len(ex) == 1 and not ex[0].complete and ex[0].status is None and ex[0].method == "GET"


def test_close_after_a_whole_sse_event_is_told_apart_from_a_cut_event() -> None:
    """The OpenAI SDK stops reading at `[DONE]` and closes before the body's final chunk."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    events = [b'data: {"a":1}\n\n', b"data: [DONE]\n", b"\n"]  # the blank line in a piece of its own
    full = chunked(*events)
    before_end = full[: full.rindex(b"0\r\n")]  # every event, not the last-chunk
    for sse_opt in (True, False):  # SseMessage Events as they come, or the body split whole
        ex, _, _ = run(events_from([("write", GET), ("read", head + before_end)]), sse=sse_opt)
        assert [(e.complete, e.error, e.response_body) for e in ex] == [
            (False, CLOSED_AFTER_SSE_EVENT, b"".join(events))
        ], sse_opt
    # cut inside an event: the plain error
    cut = chunked(events[0], b"data: [DO")[:-5]
    ex, _, _ = run(events_from([("write", GET), ("read", head + cut)]))
    assert [(e.complete, e.error) for e in ex] == [(False, "connection closed")]
    # whole events, but the capture ended rather than the connection: not known to be closed
    ex, _, _ = run(events_from([("write", GET), ("read", head + before_end)], closed=False))
    assert len(ex) == 1 and not ex[0].complete and ex[0].error != CLOSED_AFTER_SSE_EVENT
    # not an event stream: the plain error
    plain = head.replace(b"text/event-stream", b"text/plain")
    ex, _, _ = run(events_from([("write", GET), ("read", plain + before_end)]))
    assert [(e.complete, e.error) for e in ex] == [(False, "connection closed")]
    # the whole response: complete, no error
    ex, _, _ = run(events_from([("write", GET), ("read", head + full)]))
    assert [(e.complete, e.error) for e in ex] == [(True, "")]


def test_mid_stream_join() -> None:
    full = resp(b"x" * 100 + b"\r\nGET / HTTP/1.1 is not at a line start")
    records = [
        ("read", full[30:]),  # joined in the middle of a response
        ("write", GET),
        ("read", resp(b"second")),
    ]
    ex, _, _ = run(events_from(records))
    # nothing is emitted for the skipped bytes; the message after them is flagged partial
    assert [(e.method, e.response_body, e.partial, e.complete) for e in ex] == [("GET", b"second", True, True)]
    # joined in the middle of a request body: the response comes without its request
    post = b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\n\r\n" + b"b" * 20
    records = [("write", post[40:]), ("read", resp(b"r1")), ("write", GET), ("read", resp(b"r2"))]
    ex, _, _ = run(events_from(records))
    assert [(e.method, e.response_body, e.partial) for e in ex] == [("", b"r1", True), ("GET", b"r2", True)]


def test_interleaved_connections_and_processes() -> None:
    evs = [
        tls("write", GET.replace(b"limit=2", b"c=1"), 1, conn=1),
        tls("write", GET.replace(b"limit=2", b"c=2"), 2, conn=2),
        tls("write", GET.replace(b"limit=2", b"c=3"), 3, conn=1, pid=200),  # same pointer, other process
        tls("read", resp(b"two")[:10], 4, conn=2),
        tls("read", resp(b"one"), 5, conn=1),
        tls("read", resp(b"two")[10:], 6, conn=2),
        tls("read", resp(b"three"), 7, conn=1, pid=200),
    ]
    ex, _, _ = run(evs)
    assert sorted((e.query, e.response_body, e.conn) for e in ex) == [("c=1", b"one", 1), ("c=2", b"two", 2), ("c=3", b"three", 1)]


def test_conn_reuse_after_close() -> None:
    evs = [
        tls("write", GET, 1),
        close(2),
        tls("read", resp(b"new conn, same pointer")[5:], 3),  # garbage for a fresh connection
        tls("write", GET, 4),
        tls("read", resp(b"fresh"), 5),
    ]
    ex, _, _ = run(evs)
    assert [(e.complete, e.response_body) for e in ex] == [(False, b""), (True, b"fresh")]


def test_body_limit_truncates_but_hashes_all() -> None:
    body = bytes(range(256)) * 100
    ex, _, _ = run(events_from([("write", GET), ("read", resp(body))]), body_limit=1000)
    e = ex[0]
    assert e.response_body == body[:1000] and e.response_body_truncated
    assert e.response_body_size == len(body) and e.response_body_sha256 == hashlib.sha256(body).hexdigest()


def test_capture_gap_resyncs() -> None:
    evs = [
        tls("write", GET, 1),
        tls("read", resp(b"y" * 100)[:50], 2, truncated=20),
        tls("read", b"y" * 30 + b"junk", 3),
        tls("write", GET, 4),
        tls("read", resp(b"ok"), 5),
    ]
    ex, _, _ = run(evs)
    assert [(e.complete, e.response_body) for e in ex][-1] == (True, b"ok")
    assert not ex[0].complete and "not captured" in ex[0].error


def test_server_side_capture() -> None:
    # the traced process is the server: requests are read, responses written
    ex, _, _ = run(events_from([("read", GET), ("write", resp(b"served"))]))
    assert ex[0].method == "GET" and ex[0].response_body == b"served" and not ex[0].partial


def test_upgrade_stops_parsing() -> None:
    up = b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    r = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"
    ex, _, _ = run(events_from([("write", up), ("read", r), ("write", b"\x81\x85abcd1234")]))
    assert [(e.status, e.complete) for e in ex] == [(101, True)]


def _h11_reference(request: bytes, response: bytes) -> tuple[list[tuple[bytes, bytes]], bytes, int, bytes]:
    """Parse with h11 (the correctness reference)."""
    server = h11.Connection(h11.SERVER)
    server.receive_data(request)
    req = server.next_event()
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method=req.method, target=req.target, headers=req.headers))
    client.send(h11.EndOfMessage())
    client.receive_data(response)
    body = b""
    status = 0
    while True:
        ev = client.next_event()
        if isinstance(ev, h11.Response):
            status = ev.status_code
            headers = [(k, v) for k, v in ev.headers.raw_items()]
        elif isinstance(ev, h11.Data):
            body += ev.data
        elif isinstance(ev, h11.EndOfMessage | h11.NEED_DATA | h11.PAUSED):
            break
    return headers, body, status, req.target


@settings(max_examples=60, deadline=None)
@given(
    body=st.binary(max_size=3000),
    use_chunked=st.booleans(),
    extra=st.lists(st.tuples(st.from_regex(rb"\A[A-Za-z][A-Za-z0-9-]{0,10}\Z"), st.from_regex(rb"\A[!-~]{0,20}\Z")), max_size=4),
)
def test_agrees_with_h11(body: bytes, use_chunked: bool, extra: list[tuple[bytes, bytes]]) -> None:
    hdrs = b"".join(k + b": " + v + b"\r\n" for k, v in extra)
    if use_chunked:
        r = b"HTTP/1.1 200 OK\r\n" + hdrs + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(body[: len(body) // 2], body[len(body) // 2 :])
    else:
        r = b"HTTP/1.1 200 OK\r\n" + hdrs + b"Content-Length: %d\r\n\r\n" % len(body) + body
    ref_headers, ref_body, ref_status, ref_target = _h11_reference(GET, r)
    ex, _, _ = run(events_from([("write", GET), ("read", r)]))
    assert ex[0].response_body == ref_body and ex[0].status == ref_status
    assert [(k.lower(), v) for k, v in ex[0].response_headers] == [(k.decode().lower(), v.decode()) for k, v in ref_headers]
    assert ex[0].path + "?" + ex[0].query == ref_target.decode()


SPLIT_RECORDS = [
    ("write", GET),
    ("read", resp(b"a" * 50)),
    ("write", b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n" + GET),
    ("read", b"HTTP/1.1 200 OK\r\nContent-Length: 77\r\n\r\n" + resp(b"b")),
    ("write", b"POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"),
    ("read", b"HTTP/1.1 100 Continue\r\n\r\n"),
    ("write", chunked(b"part1", b"part2")),
    ("read", b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(*(gzip.compress(b"zipped " * 200)[i : i + 64] for i in range(0, 400, 64)), gzip.compress(b"zipped " * 200)[448:]) if False else b""),
    ("write", GET),
    ("read", b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(b"data: one\r", b"\ndata: two\n\nevent: e\ndata: three\r\n\r\n", b": comment\n\n")),
    ("write", GET),
    ("read", b"HTTP/1.1 304 Not Modified\r\n\r\n"),
]
_GZ = gzip.compress(b"zipped " * 200)
SPLIT_RECORDS[7] = ("read", b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(_GZ[:40], _GZ[40:]))


def test_split_reference() -> None:
    ex, sse, _ = run(events_from(SPLIT_RECORDS))
    assert [(e.method, e.status) for e in ex] == [("GET", 200), ("HEAD", 200), ("GET", 200), ("POST", 200), ("GET", 200), ("GET", 304)]
    assert ex[3].request_body == b"part1part2" and ex[3].response_body == b"zipped " * 200
    assert [(m.event, m.data, m.index) for m in sse] == [("message", "one\ntwo", 0), ("e", "three", 1)]


@settings(max_examples=150, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=80), min_size=1, max_size=30))
def test_any_split_gives_same_exchanges(cuts: list[int]) -> None:
    ref_ex, ref_sse, _ = run(events_from(SPLIT_RECORDS))
    ex, sse, _ = run(events_from(resplit(SPLIT_RECORDS, cuts)))
    assert [norm(e) for e in ex] == [norm(e) for e in ref_ex]
    assert sse == ref_sse


def test_connection_api_directly() -> None:
    c = Http1Connection()
    out: list[object] = []
    c.feed("write", GET, 1, out)
    c.feed("read", resp(b"x"), 2, out)
    assert len(out) == 1 and c.exchanges == 1
