"""Secret redaction: mask credentials in every event before anything is shown or written.

What is masked (see docs/FILTERS.md, "Redaction"):

- values of credential headers (Authorization, Cookie, X-Api-Key, ...), in HttpExchange headers
  and in raw HTTP/1 text inside TLS data, bodies and texts;
- bearer tokens, query parameters (`key=`, `api_key=`, `token=`, `access_token=`, ...),
  `NAME_KEY=`/`TOKEN=`/`PASSWORD=` assignments, `--api-key VALUE` options, JSON members named
  like credentials (`"api_key": "..."`);
- well-known key shapes anywhere: Anthropic `sk-ant-...`, OpenAI `sk-...`/`sk-proj-...`, Google
  `AIza...`, GitHub `ghp_...`/`github_pat_...`, AWS `AKIA...`, Slack, Hugging Face, Stripe,
  GitLab, JWTs `eyJ...`.

Text keeps a short prefix and the length: `sk-ant-api03-AbCd…[redacted 108 chars]`. Bytes (TLS
plaintext, HTTP bodies) keep their length: the secret is overwritten with `*` after the same
prefix, so byte counts and Content-Length stay right. Masking is idempotent: redacting a
redacted event changes nothing (replaying a redacted log is safe).

`redact_text`, `redact_bytes` and `redact_event` are the functions front ends (the TUI) reuse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..core.analyzer import Analyzer
from ..core.events import (
    Custom,
    Event,
    FileOpen,
    Header,
    HttpExchange,
    LlmCall,
    ProcessExec,
    SseMessage,
    TlsData,
    ToolStatus,
)

SENSITIVE_HEADERS: frozenset[str] = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "apikey",
        "x-apikey",
        "cookie",
        "set-cookie",
        "x-goog-api-key",
        "anthropic-api-key",
        "openai-api-key",
        "x-openai-api-key",
        "x-auth-token",
        "x-access-token",
        "x-amz-security-token",
        "x-csrf-token",
        "x-xsrf-token",
        "private-token",
        "x-gitlab-token",
        "x-github-token",
        "x-hf-token",
        "x-vault-token",
        "ocp-apim-subscription-key",
    }
)

# Names of JSON members / dict keys whose string value is a credential.
_SECRET_KEY_NAME = (
    r"(?:api[_-]?key|apikey|x-api-key|access[_-]?token|refresh[_-]?token|id[_-]?token|"
    r"auth[_-]?token|bearer[_-]?token|session[_-]?token|client[_-]?secret|secret[_-]?key|secret|"
    r"password|passwd|private[_-]?key|authorization|cookie|token)"
)
_SECRET_KEY_RE = re.compile(rf"(?i)^{_SECRET_KEY_NAME}$")

# Well-known key shapes; each must need more characters after its prefix than the prefix plus
# the 4 characters masking keeps, so a masked key never matches again.
_KEY_SHAPES = (
    r"sk-ant-[A-Za-z0-9_\-]{20,}+",
    r"sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{20,}+",
    r"sk-[A-Za-z0-9]{20,}+",
    r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}+",
    r"AIza[0-9A-Za-z_\-]{35}",
    r"gh[pousr]_[A-Za-z0-9]{30,}+",
    r"github_pat_[A-Za-z0-9_]{22,}+",
    r"(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Za-z])",
    r"eyJ[A-Za-z0-9_\-]{10,}+\.[A-Za-z0-9_\-]{10,}+\.[A-Za-z0-9_\-]*+",
    r"xox[abprse]-[A-Za-z0-9\-]{10,}+",
    r"hf_[A-Za-z0-9]{30,}+",
    r"gsk_[A-Za-z0-9]{30,}+",
    r"xai-[A-Za-z0-9]{30,}+",
    r"glpat-[A-Za-z0-9_\-]{20,}+",
)
# The part of a key that identifies its type; kept visible.
_SHAPE_PREFIX = re.compile(
    r"sk-ant-[a-z]+\d*-|sk-ant-|sk-(?:proj|svcacct|admin|None)-|sk-|(?:sk|rk|pk)_(?:live|test)_|"
    r"AIza|gh[pousr]_|github_pat_|AKIA|ASIA|eyJ|xox[abprse]-|hf_|gsk_|xai-|glpat-"
)
_SCHEME_PREFIX = re.compile(r"(?i)(?:bearer|basic|token|digest|apikey|key)\s+")

_HEADER_NAMES = "|".join(re.escape(h) for h in sorted(SENSITIVE_HEADERS, key=len, reverse=True))
_NB = r"(?<![A-Za-z0-9_])"  # not inside a word


def _parts(*, raw: bool) -> list[str]:
    """The alternatives; `raw` is for HTTP/1 wire text (header values run to end of line)."""
    header = (
        rf"(?im:^|(?<=[\s\"'])){_NB}(?i:{_HEADER_NAMES})[ \t]*:[ \t]*(?P<hv>[^\r\n]+)"
        if raw
        else rf"{_NB}(?i:{_HEADER_NAMES})[ \t]*:[ \t]*(?P<hv>[^\r\n\"'\\]+)"
    )
    parts = [
        header,
        r"(?i:\bbearer)\s+(?P<bv>[A-Za-z0-9._~+/\-]{16,}+=*)",
        rf"(?:^|(?<=[?&;])){_NB}(?i:key|api_key|apikey|api-key|token|access_token|refresh_token|"
        r"id_token|auth|auth_token|password|secret|client_secret|sig|signature|x-goog-api-key)"
        r"=(?P<qv>[^&#\s\"'<>]+)",
        rf"{_NB}[A-Za-z0-9_]*(?i:_key|apikey|token|secret|password|passwd|credentials?)"
        r"=(?P<ev>[^\s\"'&;]+)",
        rf"{_NB}--?[A-Za-z0-9-]*(?i:api-?key|token|secret|password|passwd)(?:=|[ \t]+)"
        r"(?P<fv>[^\s\"'\-][^\s\"']*)",
        rf"\"(?i:{_SECRET_KEY_NAME})\"\s*:\s*\"(?P<jv>(?:[^\"\\]|\\.)+)\"",
        rf"{_NB}(?P<kv>{'|'.join(_KEY_SHAPES)})",
    ]
    return parts


def _pattern(*, raw: bool) -> str:
    return "|".join(f"(?:{p})" for p in _parts(raw=raw))


_TEXT_RE = re.compile(_pattern(raw=False))
_RAW_RE = re.compile(_pattern(raw=True))
_BYTES_RE = re.compile(_pattern(raw=True).encode())
_BODY_RE = re.compile(_pattern(raw=False).encode())
_VALUE_GROUPS = ("hv", "bv", "qv", "ev", "fv", "jv", "kv")
MARK = "…[redacted"
_FLAG_RE = re.compile(
    r"(?i)^--?[a-z0-9-]*(?:api-?key|token|secret|password|passwd|auth|credentials?)$"
)

KEEP = 4  # characters kept after a key's type prefix, to tell keys apart

# Every match of the combined pattern contains one of these (lowercased); text without any is
# skipped at memchr speed, and the pattern only runs in windows around the hits (Python's `re`
# runs a many-armed alternation at a few MB/s, too slow for bulk TLS data).
_TRIGGERS = (
    "key", "token", "secret", "passw", "credential", "auth", "cookie", "bearer", "sig",
    "sk-", "sk_", "rk_", "pk_", "aiza", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",
    "akia", "asia", "eyj", "xox", "hf_", "gsk_", "xai-", "glpat-",
)  # fmt: skip
_TRIGGERS_B = tuple(t.encode() for t in _TRIGGERS)
_BEFORE = 256  # a match starts at most this far before its trigger
_AFTER = 16384  # and is scanned at most this far after it


def _keep(secret: str) -> int:
    m = _SCHEME_PREFIX.match(secret)
    scheme = m.end() if m else 0
    rest = secret[scheme:]
    shape = _SHAPE_PREFIX.match(rest)
    prefix = scheme + (shape.end() if shape else 0)
    return prefix + (KEEP if len(secret) - prefix >= 16 else 0)


def mask_text(secret: str) -> str:
    """`sk-ant-api03-AbCd…[redacted 108 chars]`: type prefix, 4 characters, total length."""
    if MARK in secret:
        return secret
    keep = _keep(secret)
    return f"{secret[:keep]}{MARK} {len(secret)} chars]"


def mask_bytes(secret: bytes) -> bytes:
    """The same prefix as `mask_text`, the rest overwritten with `*`: the length is kept."""
    keep = _keep(secret.decode("latin-1"))
    return secret[:keep] + b"*" * (len(secret) - keep)


def _windows(lower: Any, triggers: tuple[Any, ...], newline: Any) -> list[tuple[int, int]]:
    """Merged (start, end) windows around trigger hits in `lower` (str or bytes)."""
    hits: list[int] = []
    for trig in triggers:
        i = lower.find(trig)
        while i >= 0:
            # "tokens" (max_tokens, input_tokens: every LLM request) is never a credential name
            if not (trig[:1] in ("t", b"t") and lower[i + 5 : i + 6] in ("s", b"s")):
                hits.append(i)
            i = lower.find(trig, i + 1)
    if not hits:
        return []
    hits.sort()
    n = len(lower)
    out: list[tuple[int, int]] = []
    for h in hits:
        start = max(0, h - _BEFORE)
        nl = lower.find(newline, h, h + _AFTER)
        end = n if nl < 0 and h + _AFTER >= n else (h + _AFTER if nl < 0 else nl + 1)
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _scan(rx: Any, data: Any, windows: list[tuple[int, int]], sub: Any, empty: Any) -> Any:
    pieces = []
    last = 0
    for ws, we in windows:
        for m in rx.finditer(data, max(ws, last), we):
            pieces.append(data[last : m.start()])
            pieces.append(sub(m))
            last = m.end()
    if not pieces:
        return data
    pieces.append(data[last:])
    return empty.join(pieces)


@dataclass
class RedactStats:
    events: int = 0  # events that had something masked
    secrets: int = 0  # values masked
    by_kind: dict[str, int] = field(default_factory=dict)


class Redactor:
    """Masks secrets in strings, bytes, headers, argv, JSON-like values and whole events."""

    def __init__(self) -> None:
        self.secrets = 0

    # -- text ----------------------------------------------------------------------------------

    def _text_sub(self, m: re.Match[str]) -> str:
        group = m.lastgroup
        if group is None:
            return m.group()
        start, end = m.span(group)
        secret = m.string[start:end]
        if MARK in secret or m.string.startswith(MARK, end):
            return m.group()
        self.secrets += 1
        whole = m.group()
        s0 = start - m.start()
        return whole[:s0] + mask_text(secret) + whole[end - m.start() :]

    def text(self, text: str, *, raw: bool = False) -> str:
        """Mask secrets in a string (`raw`: HTTP/1 wire text, header values to end of line)."""
        if not text:
            return text
        windows = _windows(text.lower(), _TRIGGERS, "\n")
        if not windows:
            return text
        out: str = _scan(_RAW_RE if raw else _TEXT_RE, text, windows, self._text_sub, "")
        return out

    # -- bytes ---------------------------------------------------------------------------------

    def _bytes_sub(self, m: re.Match[bytes]) -> bytes:
        group = m.lastgroup
        if group is None:
            return m.group()
        start, end = m.span(group)
        secret = m.string[start:end]
        masked = mask_bytes(secret)
        if masked == secret:
            return m.group()
        self.secrets += 1
        whole = m.group()
        s0 = start - m.start()
        return whole[:s0] + masked + whole[end - m.start() :]

    def bytes(self, data: bytes, *, raw: bool = True) -> bytes:
        """Mask secrets in bytes, keeping the length (`raw`: HTTP/1 wire data)."""
        if not data:
            return data
        windows = _windows(data.lower(), _TRIGGERS_B, b"\n")
        if not windows:
            return data
        out = _scan(_BYTES_RE if raw else _BODY_RE, data, windows, self._bytes_sub, b"")
        return data if out == data else out

    # -- structures ----------------------------------------------------------------------------

    def headers(self, headers: list[Header]) -> list[Header]:
        out: list[Header] = []
        changed = False
        for name, value in headers:
            if name.lower() in SENSITIVE_HEADERS and value and MARK not in value:
                new = mask_text(value)
                self.secrets += 1
            else:
                new = self.text(value)
            changed = changed or new != value
            out.append((name, new))
        return out if changed else headers

    def argv(self, argv: list[str]) -> list[str]:
        out: list[str] = []
        mask_next = False
        for arg in argv:
            if mask_next and arg and MARK not in arg and not arg.startswith("-"):
                out.append(mask_text(arg))
                self.secrets += 1
                mask_next = False
                continue
            mask_next = bool(_FLAG_RE.match(arg))
            out.append(self.text(arg))
        return out if out != argv else argv

    def value(self, value: Any, key: str = "") -> Any:
        """Mask secrets in a JSON-like value (dicts, lists, strings); keys named like credentials
        get their whole string value masked."""
        if isinstance(value, str):
            if key and value and _SECRET_KEY_RE.match(key) and MARK not in value:
                self.secrets += 1
                return mask_text(value)
            return self.text(value)
        if isinstance(value, dict):
            new_d = {k: self.value(v, str(k)) for k, v in value.items()}
            return value if all(new_d[k] is value[k] for k in value) else new_d
        if isinstance(value, list):
            new_l = [self.value(v) for v in value]
            return value if all(a is b for a, b in zip(new_l, value, strict=True)) else new_l
        return value

    # -- events --------------------------------------------------------------------------------

    def event(self, event: Event) -> Event:
        """The event with its secrets masked (the same object when nothing was found)."""
        p = event.payload
        update: dict[str, Any] = {}
        t = self.text
        if isinstance(p, TlsData):
            data = self.bytes(p.data)
            if data is not p.data:
                update["data"] = data
        elif isinstance(p, HttpExchange):
            _set(update, p, "url", t)
            _set(update, p, "path", t)
            _set(update, p, "query", t)
            _set(update, p, "error", t)
            _set(update, p, "request_headers", self.headers)
            _set(update, p, "response_headers", self.headers)
            _set(update, p, "request_body", lambda b: self.bytes(b, raw=False))
            _set(update, p, "response_body", lambda b: self.bytes(b, raw=False))
        elif isinstance(p, SseMessage):
            _set(update, p, "data", t)
        elif isinstance(p, LlmCall):
            for name in ("system", "response_text", "thinking", "error", "endpoint"):
                _set(update, p, name, t)
            _set(update, p, "messages", self.value)
            _set(update, p, "tools", self.value)
            calls = [
                c.model_copy(update={"arguments": a}) if (a := t(c.arguments)) != c.arguments else c
                for c in p.tool_calls
            ]
            if any(a is not b for a, b in zip(calls, p.tool_calls, strict=True)):
                update["tool_calls"] = calls
        elif isinstance(p, ProcessExec):
            _set(update, p, "argv", self.argv)
            _set(update, p, "filename", t)
        elif isinstance(p, FileOpen):
            _set(update, p, "path", t)
        elif isinstance(p, ToolStatus):
            _set(update, p, "message", t)
            _set(update, p, "info", self.value)
        elif isinstance(p, Custom):
            _set(update, p, "data", self.value)
        if not update:
            return event
        return event.model_copy(update={"payload": p.model_copy(update=update)})


_T = TypeVar("_T")


def _set(update: dict[str, Any], payload: Any, name: str, fn: Callable[[_T], _T]) -> None:
    old = getattr(payload, name)
    new = fn(old)
    if new is not old and new != old:
        update[name] = new


class RedactAnalyzer(Analyzer):
    """Masks secrets in every event; counts events and values masked (`stats`)."""

    name = "redact"

    def __init__(self) -> None:
        self.redactor = Redactor()
        self.stats = RedactStats()

    def process(self, event: Event) -> tuple[Event, ...]:
        return (self._one(event),)

    def process_batch(self, events: list[Event]) -> list[Event]:
        return [self._one(ev) for ev in events]

    def _one(self, event: Event) -> Event:
        r = self.redactor
        before = r.secrets
        out = r.event(event)
        if out is not event:
            st = self.stats
            st.events += 1
            st.secrets += r.secrets - before
            st.by_kind[event.kind] = st.by_kind.get(event.kind, 0) + 1
        return out


_DEFAULT = Redactor()


def redact_text(text: str) -> str:
    """Mask secrets in text about to be displayed (for front ends such as the TUI)."""
    return _DEFAULT.text(text, raw=True)


def redact_bytes(data: bytes) -> bytes:
    """Mask secrets in raw bytes, keeping the length."""
    return _DEFAULT.bytes(data)


def redact_event(event: Event) -> Event:
    """The event with every secret masked."""
    return _DEFAULT.event(event)
