"""Secrets of every supported shape, and events that carry them in every place they can appear."""

from __future__ import annotations

import random
import string

from collector.framework.core.events import (
    Custom,
    Event,
    HttpExchange,
    LlmCall,
    ProcessExec,
    SseMessage,
    TlsData,
    ToolCall,
    ToolStatus,
)

_rng = random.Random(7)
_ALNUM = string.ascii_letters + string.digits


def _r(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


SECRETS: dict[str, str] = {
    "anthropic": "sk-ant-api03-" + _r(93, _ALNUM + "-_") + "AA",
    "anthropic_admin": "sk-ant-admin01-" + _r(80),
    "openai": "sk-" + _r(48),
    "openai_proj": "sk-proj-" + _r(120, _ALNUM + "_-"),
    "google": "AIza" + _r(35, _ALNUM + "_-"),
    "github_pat": "github_pat_" + _r(82, _ALNUM + "_"),
    "github_ghp": "ghp_" + _r(36),
    "github_gho": "gho_" + _r(36),
    "aws": "AKIA" + _r(16, string.ascii_uppercase + string.digits),
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx" + _r(30) + "." + _r(43, _ALNUM + "-_"),
    "slack": "xoxb-" + _r(40, _ALNUM + "-"),
    "hf": "hf_" + _r(34),
    "stripe": "sk_live_" + _r(24),
    "bearer_opaque": _r(40, _ALNUM + "._-"),  # only recognisable by its place
    "cookie_value": "sess=" + _r(32) + "; csrf=" + _r(24),
    "password": "hunter2-" + _r(12),
    "query_token": _r(28),
    "access_token": _r(30),
    "plain_api_key": _r(32),
}
# Secrets recognisable anywhere by their shape alone.
SHAPED = [
    "anthropic",
    "anthropic_admin",
    "openai",
    "openai_proj",
    "google",
    "github_pat",
    "github_ghp",
    "github_gho",
    "aws",
    "jwt",
    "slack",
    "hf",
    "stripe",
]

S = SECRETS


def _http1_request() -> bytes:
    headers = [
        f"POST /v1/messages?key={S['google']}&token={S['query_token']}&access_token={S['access_token']}&alt=sse HTTP/1.1",
        "Host: api.anthropic.com",
        f"Authorization: Bearer {S['bearer_opaque']}",
        f"Proxy-Authorization: Basic {S['plain_api_key']}",
        f"X-Api-Key: {S['anthropic']}",
        f"api-key: {S['openai']}",
        f"Cookie: {S['cookie_value']}",
        f"x-goog-api-key: {S['google']}",
        f"anthropic-api-key: {S['anthropic_admin']}",
        f"openai-api-key: {S['openai_proj']}",
        "Content-Type: application/json",
    ]
    body = (
        '{{"model":"claude","max_tokens":1024,"api_key":"{}","password":"{}",'
        '"messages":[{{"role":"user","content":"my keys: {} {} {} {} {} {} {} {} {}"}}]}}'.format(
            S["plain_api_key"],
            S["password"],
            S["github_pat"],
            S["github_ghp"],
            S["aws"],
            S["jwt"],
            S["slack"],
            S["hf"],
            S["stripe"],
            S["github_gho"],
            S["openai"],
        )
    )
    return ("\r\n".join(headers) + f"\r\nContent-Length: {len(body)}\r\n\r\n" + body).encode()


def _http1_response() -> bytes:
    body = '{{"access_token":"{}","token_type":"bearer"}}'.format(S["access_token"])
    return (
        "HTTP/1.1 200 OK\r\n"
        f"Set-Cookie: {S['cookie_value']}; HttpOnly\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


def _ev(payload: object, ts: int, comm: str = "python3") -> Event:
    return Event(
        timestamp_ns=1_700_000_000_000_000_000 + ts,
        source="test",
        pid=4242,
        comm=comm,
        payload=payload,
    )  # type: ignore[arg-type]


def events() -> list[Event]:
    req = _http1_request()
    resp = _http1_response()
    req_body = req.split(b"\r\n\r\n", 1)[1]
    resp_body = resp.split(b"\r\n\r\n", 1)[1]
    url = f"https://api.anthropic.com/v1/messages?key={S['google']}&token={S['query_token']}"
    out = [
        _ev(TlsData(direction="write", conn=1, data=req, length=len(req)), 1),
        _ev(TlsData(direction="read", conn=1, data=resp, length=len(resp)), 2),
        _ev(
            HttpExchange(
                conn=1,
                method="POST",
                url=url,
                host="api.anthropic.com",
                path="/v1/messages",
                query=f"key={S['google']}&token={S['query_token']}&access_token={S['access_token']}",
                status=200,
                request_headers=[
                    ("authorization", f"Bearer {S['bearer_opaque']}"),
                    ("proxy-authorization", f"Basic {S['plain_api_key']}"),
                    ("x-api-key", S["anthropic"]),
                    ("Api-Key", S["openai"]),
                    ("cookie", S["cookie_value"]),
                    ("x-goog-api-key", S["google"]),
                    ("anthropic-api-key", S["anthropic_admin"]),
                    ("openai-api-key", S["openai_proj"]),
                    ("x-auth-token", S["plain_api_key"]),
                    ("user-agent", "claude-cli/1.0"),
                ],
                response_headers=[("set-cookie", S["cookie_value"])],
                request_body=req_body,
                response_body=resp_body,
                request_body_size=len(req_body),
                response_body_size=len(resp_body),
            ),
            3,
        ),
        _ev(SseMessage(data=f'{{"delta":"use {S["anthropic"]} and {S["jwt"]}"}}'), 4),
        _ev(
            LlmCall(
                provider="anthropic",
                model="claude",
                system=f"the key is {S['openai_proj']}",
                messages=[
                    {"role": "user", "content": f"export OPENAI_API_KEY={S['openai']}"},
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": f"token {S['github_ghp']}"}],
                    },
                    {"role": "tool", "api_key": S["plain_api_key"], "password": S["password"]},
                ],
                response_text=f"Sure: curl -H 'x-api-key: {S['anthropic']}' ...",
                thinking=f"AWS key {S['aws']}",
                tool_calls=[
                    ToolCall(
                        name="bash",
                        arguments=f'{{"command": "curl --api-key {S["plain_api_key"]} -H \\"Authorization: Bearer {S["bearer_opaque"]}\\""}}',
                    )
                ],
                error=f"invalid x-api-key {S['anthropic_admin']}",
            ),
            5,
        ),
        _ev(
            ProcessExec(
                ppid=1,
                uid=0,
                filename="/usr/bin/curl",
                argv=[
                    "curl",
                    "--api-key",
                    S["plain_api_key"],
                    f"--token={S['query_token']}",
                    "--password",
                    S["password"],
                    "-H",
                    f"Authorization: Bearer {S['bearer_opaque']}",
                    f"GITHUB_TOKEN={S['github_pat']}",
                    f"https://x.test/?api_key={S['access_token']}",
                    S["stripe"],
                ],
            ),
            6,
            comm="curl",
        ),
        _ev(
            ToolStatus(
                status="error", message=f"bad key {S['hf']}", info={"token": S["query_token"]}
            ),
            7,
        ),
        _ev(
            Custom(name="x", data={"client_secret": S["password"], "note": f"slack {S['slack']}"}),
            8,
        ),
    ]
    return out


def leaks(text: str) -> list[str]:
    """Names of the secrets whose hidden part appears in `text`."""
    found = []
    for name, secret in SECRETS.items():
        tail = secret[-12:]
        if secret in text or tail in text:
            found.append(name)
    return found
