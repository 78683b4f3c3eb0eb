"""HTTP/2 through HttpAnalyzer, with bytes produced by the h2 library acting as client and server."""

from __future__ import annotations

import gzip

import hpack
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.framework.protocols.http2 import PREFACE, Http2Connection, looks_like_frames

from .helpers import H2Pair, events_from, norm, req_headers, resplit, run


def test_get_and_post() -> None:
    p = H2Pair()
    p.request(1, req_headers(b"/v1/models?x=1"))
    p.respond(1, [(b":status", b"200"), (b"content-type", b"application/json")], b'{"data":[]}')
    p.request(3, req_headers(b"/v1/chat", b"POST", extra=[(b"content-type", b"application/json")]), b'{"model":"m"}')
    p.respond(3, [(b":status", b"201")], b"created")
    assert p.records[0][1].startswith(PREFACE)
    ex, _, _out = run(events_from(p.records))
    assert [(e.method, e.url, e.status, e.stream_id, e.protocol) for e in ex] == [
        ("GET", "https://api.example.com/v1/models?x=1", 200, 1, "HTTP/2"),
        ("POST", "https://api.example.com/v1/chat", 201, 3, "HTTP/2"),
    ]
    assert ex[0].response_body == b'{"data":[]}' and ex[1].request_body == b'{"model":"m"}'
    assert ex[0].request_headers[:4] == [(":method", "GET"), (":scheme", "https"), (":authority", "api.example.com"), (":path", "/v1/models?x=1")]
    assert ("content-type", "application/json") in ex[0].response_headers
    assert all(e.complete and not e.partial and not e.error for e in ex)
    assert ex[0].response_body_sha256 == ""  # kept whole


def test_concurrent_streams_interleaved() -> None:
    p = H2Pair()
    for sid in (1, 3, 5, 7):
        p.request(sid, req_headers(b"/s%d" % sid))
    for part in range(3):
        for sid in (7, 3, 5, 1):
            if part == 0:
                p.server.send_headers(sid, [(b":status", b"200")])
            p.data(sid, b"s%d-p%d;" % (sid, part), end=part == 2)
    ex, _, _ = run(events_from(p.records))
    got = {e.path: e.response_body for e in ex}
    assert got == {f"/s{sid}": b"".join(b"s%d-p%d;" % (sid, i) for i in range(3)) for sid in (1, 3, 5, 7)}
    assert [e.stream_id for e in ex] == [7, 3, 5, 1]  # emitted as each response ends


def test_large_body_many_frames_gzip() -> None:
    body = b"x" * 100_000 + bytes(range(256)) * 100
    p = H2Pair()
    p.request(1, req_headers())
    p.respond(1, [(b":status", b"200"), (b"content-encoding", b"gzip")], gzip.compress(body))
    ex, _, _ = run(events_from(p.records))
    assert ex[0].response_body == body and ex[0].response_body_size == len(body)


def test_trailers_and_interim() -> None:
    p = H2Pair()
    p.request(1, req_headers(b"/grpc", b"POST"), b"req")
    p.server.send_headers(1, [(b":status", b"100")])
    p.flush()
    p.respond(1, [(b":status", b"200")], b"resp", trailers=[(b"grpc-status", b"0"), (b"grpc-message", b"ok")])
    ex, _, _ = run(events_from(p.records))
    assert len(ex) == 1 and ex[0].status == 200 and ex[0].response_body == b"resp"
    assert ex[0].response_trailers == [("grpc-status", "0"), ("grpc-message", "ok")]


def test_rst_stream() -> None:
    p = H2Pair()
    p.request(1, req_headers(b"/slow"))
    p.request(3, req_headers(b"/fast"))
    p.server.send_headers(1, [(b":status", b"200")])
    p.data(1, b"partial body")
    p.client.reset_stream(1, error_code=8)  # CANCEL
    p.flush()
    p.respond(3, [(b":status", b"200")], b"ok")
    ex, _, _ = run(events_from(p.records))
    by = {e.path: e for e in ex}
    assert not by["/slow"].complete and by["/slow"].error == "RST_STREAM CANCEL from client"
    assert by["/slow"].response_body == b"partial body"
    assert by["/fast"].complete and by["/fast"].response_body == b"ok"


def test_close_mid_stream_is_incomplete() -> None:
    p = H2Pair()
    p.request(1, req_headers())
    p.server.send_headers(1, [(b":status", b"200")])
    p.data(1, b"abc")
    ex, _, _ = run(events_from(p.records))
    assert len(ex) == 1 and not ex[0].complete and ex[0].response_body == b"abc" and "closed" in ex[0].error


def test_sse_over_h2() -> None:
    p = H2Pair()
    p.request(1, req_headers(b"/v1/stream", b"POST"), b"{}")
    p.server.send_headers(1, [(b":status", b"200"), (b"content-type", b"text/event-stream; charset=utf-8")])
    for chunk in (b"event: delta\ndata: {\"t\":", b"\"hel\"}\n\nevent: delta\ndata: {\"t\":\"lo\"}\n", b"\n: ping\n\nevent: done\ndata: [DONE]\n\n"):
        p.data(1, chunk)
    p.data(1, b"", end=True)
    ex, sse, out = run(events_from(p.records))
    assert [(m.event, m.data, m.index, m.stream_id) for m in sse] == [
        ("delta", '{"t":"hel"}', 0, 1),
        ("delta", '{"t":"lo"}', 1, 1),
        ("done", "[DONE]", 2, 1),
    ]
    # SSE events come before the exchange, at the time of the record that completed them
    kinds = [e.kind for e in out if e.source == "http"]
    assert kinds == ["sse_event", "sse_event", "sse_event", "http_exchange"]
    assert ex[0].response_body.count(b"data:") == 3


def test_push_promise_keeps_hpack_in_step() -> None:
    p = H2Pair()
    p.request(1, req_headers(b"/index"))
    p.server.push_stream(1, 2, req_headers(b"/style.css", extra=[(b"x-pushed", b"yes")]))
    p.flush()
    p.respond(1, [(b":status", b"200"), (b"x-custom", b"a-long-header-value-to-index")], b"<html>")
    p.respond(2, [(b":status", b"200"), (b"x-custom", b"a-long-header-value-to-index")], b"css")
    p.request(3, req_headers(b"/after", extra=[(b"x-pushed", b"yes")]))
    p.respond(3, [(b":status", b"200"), (b"x-custom", b"a-long-header-value-to-index")], b"after")
    ex, _, _ = run(events_from(p.records))
    by = {e.path: e for e in ex}
    assert set(by) == {"/index", "/style.css", "/after"}
    assert by["/style.css"].stream_id == 2 and by["/style.css"].response_body == b"css"
    assert ("x-custom", "a-long-header-value-to-index") in by["/after"].response_headers


def _long_conversation() -> H2Pair:
    p = H2Pair()
    extra = [(b"authorization", b"Bearer sk-secret-token"), (b"x-request-kind", b"chat")]
    for i, sid in enumerate((1, 3, 5, 7, 9)):
        p.request(sid, req_headers(b"/v1/c/%d" % i, b"POST", extra=extra), b'{"n":%d}' % i)
        p.respond(sid, [(b":status", b"200"), (b"x-server-kind", b"model-api")], b"answer %d" % i)
    return p


def test_mid_connection_join_is_flagged_not_misdecoded() -> None:
    p = _long_conversation()
    full, _, _ = run(events_from(p.records))
    assert len(full) == 5 and not any(e.partial for e in full)
    # join after the first two exchanges: no preface, HPACK tables unknown
    start = next(i for i, (d, b) in enumerate(p.records) if d == "write" and b"/v1/c/2" not in b and i > 6)
    ex, _, _ = run(events_from(p.records[start:]))
    assert ex, "frames after the join must still be found"
    reference = {e.stream_id: e for e in full}
    for e in ex:
        ref = reference[e.stream_id]
        if e.partial:
            # headers that can't be decoded are left out, never guessed
            assert e.request_headers in ([], ref.request_headers)
            assert e.response_headers in ([], ref.response_headers)
        else:
            assert e.request_headers == ref.request_headers and e.response_headers == ref.response_headers
        if e.response_body:
            assert e.response_body == ref.response_body


def test_hpack_reset_never_misdecodes() -> None:
    """A fresh decoder either decodes what the real one does, or fails."""
    enc = hpack.Encoder()
    blocks = [enc.encode([(b":status", b"200"), (b"x-a", b"v%d" % (i % 3)), (b"x-%d" % i, b"w")]) for i in range(20)]
    real = hpack.Decoder()
    truth = [real.decode(b, raw=True) for b in blocks]
    for join in range(len(blocks)):
        c = Http2Connection(client_direction="write", partial=True)
        d = c.dirs["read"]
        for i in range(join, len(blocks)):
            got = c._decode(d, blocks[i])
            if got is not None:
                assert got == [(k.decode(), v.decode()) for k, v in truth[i]]


def test_looks_like_frames() -> None:
    p = _long_conversation()
    assert looks_like_frames(p.records[3][1])
    assert not looks_like_frames(b"GET / HTTP/1.1\r\n\r\n")
    assert not looks_like_frames(b"HTTP/1.1 200 OK\r\n")
    assert not looks_like_frames(b'{"json": true}')


@settings(max_examples=100, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=200), min_size=1, max_size=30))
def test_any_split_gives_same_exchanges(cuts: list[int]) -> None:
    p = _long_conversation()
    p.request(11, req_headers(b"/sse"))
    p.server.send_headers(11, [(b":status", b"200"), (b"content-type", b"text/event-stream")])
    p.data(11, b"data: a\r\n\r\ndata: b\rdata: c\r\r", end=True)
    ref_ex, ref_sse, _ = run(events_from(p.records))
    ex, sse, _ = run(events_from(resplit(p.records, cuts)))
    assert [norm(e) for e in ex] == [norm(e) for e in ref_ex]
    assert sse == ref_sse and len(sse) == 2


def test_status_of_non_ascii_digits_is_no_status() -> None:
    """`"²".isdigit()` is true but int() refuses it: a hostile :status must not break the stream."""
    p = H2Pair()
    p.server.config.validate_outbound_headers = False
    p.request(1, req_headers(b"/a"))
    p.respond(1, [(b":status", "²⁰⁰".encode())], b"x")
    p.request(3, req_headers(b"/b"))
    p.respond(3, [(b":status", b"200")], b"y")
    ex, _, _out = run(events_from(p.records))
    assert [(e.path, e.status, e.response_body) for e in ex] == [("/a", None, b"x"), ("/b", 200, b"y")]
