from __future__ import annotations

import time

import pytest

from collector.framework.analyzers.redact import (
    RedactAnalyzer,
    Redactor,
    mask_text,
    redact_bytes,
    redact_event,
    redact_text,
)
from collector.framework.core.events import Event, TlsData
from tests.output.redact_corpus import SECRETS, SHAPED, events, leaks


def _dump(ev: Event) -> str:
    return repr(ev.model_dump())


def test_every_event_of_the_corpus_is_clean_after_redaction() -> None:
    evs = events()
    assert all(leaks(_dump(e)) for e in evs), "the corpus must carry secrets"
    analyzer = RedactAnalyzer()
    out = analyzer.process_batch(evs)
    for before, after in zip(evs, out, strict=True):
        assert leaks(_dump(after)) == [], (after.kind, leaks(_dump(after)))
        assert after.kind == before.kind
    assert analyzer.stats.events == len(evs)
    assert analyzer.stats.secrets > 40


@pytest.mark.parametrize("name", SHAPED)
def test_key_shapes_anywhere(name: str) -> None:
    secret = SECRETS[name]
    for text in (secret, f"x {secret} y", f'"{secret}"', f"({secret})", f"{secret}\n"):
        out = redact_text(text)
        assert leaks(out) == [], out
        assert "[redacted" in out
    data = f"prefix {secret} suffix".encode()
    masked = redact_bytes(data)
    assert len(masked) == len(data)
    assert secret.encode() not in masked and secret[-12:].encode() not in masked


def test_mask_format_keeps_prefix_and_length() -> None:
    key = SECRETS["anthropic"]
    assert mask_text(key) == f"{key[:17]}…[redacted {len(key)} chars]"
    assert key[:13] == "sk-ant-api03-"
    assert mask_text("short") == "…[redacted 5 chars]"


def test_tls_bytes_keep_length_and_content_length() -> None:
    (req,) = [e for e in events()[:1]]
    assert isinstance(req.payload, TlsData)
    out = redact_event(req)
    assert isinstance(out.payload, TlsData)
    data = out.payload.data
    assert len(data) == len(req.payload.data) == out.payload.length
    head, body = data.split(b"\r\n\r\n", 1)
    length = [
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    ]
    assert length == [len(body)]
    assert b"Host: api.anthropic.com" in head and b"Content-Type: application/json" in head
    assert b"X-Api-Key: sk-ant-api03-" in head  # the type prefix stays visible


def test_idempotent() -> None:
    r = Redactor()
    once = [r.event(e) for e in events()]
    twice = [r.event(e) for e in once]
    assert [e.to_json() for e in once] == [e.to_json() for e in twice]
    assert all(b is a for a, b in zip(once, twice, strict=True))


@pytest.mark.parametrize(
    "text",
    [
        '{"model":"claude","max_tokens":1024,"usage":{"input_tokens":5,"output_tokens":7}}',
        "the bearer of bad news; keyboard shortcuts; monkey=banana",
        "GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
        "tokens: 1234, secrets of the universe",
        "task-ant-colony is not a key; risk-assessment",
    ],
)
def test_no_false_positives(text: str) -> None:
    assert redact_text(text) == text
    assert redact_bytes(text.encode()) == text.encode()


def test_unchanged_events_are_not_copied() -> None:
    ev = Event(
        timestamp_ns=1,
        source="t",
        pid=1,
        payload=TlsData(direction="read", conn=1, data=b"hello", length=5),
    )
    assert redact_event(ev) is ev


def test_speed() -> None:
    body = (
        b'{"role":"user","content":"lorem ipsum dolor sit amet, consectetur adipiscing"},' * 300
    )[:16384]
    r = Redactor()
    start = time.perf_counter()
    for _ in range(200):
        r.bytes(body)
    rate = 200 * len(body) / (time.perf_counter() - start)
    assert rate > 5e6, f"{rate / 1e6:.1f} MB/s"
