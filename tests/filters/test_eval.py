from __future__ import annotations

import pytest

from collector.framework.filters import FIELDS, compile_filter

from .helpers import (
    ALL,
    CLOSE,
    CUSTOM,
    EXEC,
    EXIT,
    FORK,
    HANDSHAKE,
    HTTP,
    HTTP_NORESP,
    LLM,
    LOST,
    OPEN,
    OPEN_ERR,
    SSE,
    STATUS,
    TLS,
    TLS_READ,
)


def matching(expr: str) -> list[object]:
    f = compile_filter(expr)
    return [e for e in ALL if f(e)]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('kind = "exec"', [EXEC]),
        ('kind in ("exit", "fork")', [EXIT, FORK]),
        ('comm = "curl"', [EXEC, EXIT]),
        ('comm != "python3"', [EXEC, EXIT]),
        ("process.pid = 100", [EXEC, EXIT, FORK]),
        ('process.comm in ("curl","python3") and not file.path ^= "/proc/"', [EXEC, EXIT, FORK]),
        ('file.path ^= "/proc/"', [OPEN]),
        ("file.error", [OPEN_ERR]),
        ("file.ret < 0", [OPEN_ERR]),
        ('process.argv = "--api-key"', [EXEC]),
        ('process.argv ^= "--api"', [EXEC]),
        ('process.argv != "--api-key"', []),
        ('process.argv != "nope"', [EXEC]),
        ('process.cmdline *= "-s --api-key"', [EXEC]),
        ("process.exit_code != 0", [EXIT]),
        ("process.child_pid = 101", [FORK]),
        (r'tls.data ~ "^PRI \\*"', [TLS]),
        ('tls.data *= "200 OK"', [TLS_READ]),
        ('tls.direction = "write"', [TLS]),
        ("tls.conn = 0x1234", [TLS, TLS_READ, HANDSHAKE, CLOSE]),
        ('http.request.method = "POST" and http.response.status >= 400', [HTTP]),
        ("http.response.status >= 0", [HTTP]),  # absent status: false
        ("not http.response.status >= 0", [e for e in ALL if e is not HTTP]),
        ("http.response.status", [HTTP]),
        ('http.request.header.content-type = "application/json"', [HTTP]),
        ('http.request.header.CONTENT-TYPE $= "/json"', [HTTP]),
        ('http.request.header.x-trace = "a, b"', [HTTP]),
        ('http.request.header.missing = ""', []),
        ('http.response.header.content-type = "text/event-stream"', [HTTP]),
        ('http.request.body *= "claude"', [HTTP]),
        ('http.request.host = "api.anthropic.com"', [HTTP]),
        ('http.request.url ^= "https://x/"', [HTTP_NORESP]),
        ('sse.event = "content_block_delta" and sse.index = 3', [SSE]),
        ('llm.provider = "anthropic" and llm.model ~ "sonnet"', [LLM]),
        ("llm.input_tokens > 1000 and llm.stream = true", [LLM]),
        ('llm.tool = "bash"', [LLM]),
        ("lost.count >= 5", [LOST]),
        ('status.message *= "probes"', [STATUS]),
        ("custom.data.a.b = 7", [CUSTOM]),
        ('custom.data.s = "text"', [CUSTOM]),
        ("custom.data.s > 3", []),  # type mismatch on a free-form value is false, not an error
        ("uid = 1000", [EXEC]),
        ('source = "test" and pid = 100', ALL),
    ],
)
def test_matches(expr: str, expected: list[object]) -> None:
    assert matching(expr) == expected


def test_absent_fields_are_false_for_every_operator() -> None:
    for op in ("=", "!=", "~", "^=", "$=", "*=", "<", ">="):
        lit = "0" if op in ("<", ">=") else '"zz"'
        assert not compile_filter(
            f"file.path {op} {lit}" if lit != "0" else f"file.ret {op} {lit}"
        )(EXEC)
    f = compile_filter('http.request.method != "GET"')
    assert not f(EXEC) and f(HTTP)
    assert compile_filter('not http.request.method = "GET"')(EXEC)


def test_every_documented_field_evaluates_on_every_event() -> None:
    for name, spec in FIELDS.items():
        for event in ALL:
            value = spec.getter(event)
            if spec.kinds is not None and event.kind not in spec.kinds:
                assert value is None, (name, event.kind)


def test_fields_are_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "FILTERS.md").read_text()
    missing = [name for name in FIELDS if f"`{name}`" not in doc]
    assert not missing, missing
