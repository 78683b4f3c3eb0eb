"""SslRunner: TLS plaintext from the `sslsniff` eBPF tool, one TlsData Event per SSL call."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Self

from ..core.errors import ConfigError
from ..decoders.base import Decoder
from ..decoders.ssl_tool import SslToolDecoder
from .tool import ToolBuilder, ToolConfig, ToolRunner

DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024


@dataclass(frozen=True)
class SslConfig(ToolConfig):
    libs: tuple[str, ...] = ()
    binaries: tuple[str, ...] = ()
    handshake: bool = False
    gnutls: bool = False
    max_payload: int = DEFAULT_MAX_PAYLOAD

    def validate(self) -> None:
        super().validate()
        if self.max_payload <= 0:
            raise ConfigError(f"max payload must be positive, got {self.max_payload}")
        for path in (*self.libs, *self.binaries):
            if not os.path.isfile(path):
                raise ConfigError(f"TLS library or binary not found: {path}")


class SslBuilder(ToolBuilder["SslRunner", SslConfig]):
    def lib(self, path: str) -> Self:
        """Also probe this TLS library (libssl.so of a conda or pyenv Python, say)."""
        return self._set(libs=(*self._config.libs, path))

    def binary(self, path: str) -> Self:
        """Also probe this executable, which links OpenSSL statically (node, for one)."""
        return self._set(binaries=(*self._config.binaries, path))

    def handshake(self, enabled: bool = True) -> Self:
        return self._set(handshake=enabled)

    def gnutls(self, enabled: bool = True) -> Self:
        return self._set(gnutls=enabled)

    def max_payload(self, nbytes: int) -> Self:
        """Bytes captured per SSL call; beyond this the event is marked truncated."""
        return self._set(max_payload=nbytes)

    def http_analysis(self, *, keep_tls: bool = False, keep_sse: bool = False) -> Self:
        """Add the standard chain: TLS -> HTTP exchanges (HTTP/1.1, HTTP/2, SSE) -> LLM calls."""
        from ..analyzers.pipeline import tls_analyzers

        return self.analyzers(*tls_analyzers(keep_tls=keep_tls, keep_sse=keep_sse))


class SslRunner(ToolRunner[SslConfig]):
    source = "ssl"
    tool_name = "sslsniff"
    config_class = SslConfig

    @classmethod
    def builder(cls) -> SslBuilder:
        return SslBuilder(cls, SslConfig())

    def tool_args(self) -> list[str]:
        c = self.config
        argv: list[str] = []
        for lib in c.libs:
            argv += ["--lib", lib]
        for binary in c.binaries:
            argv += ["--binary", binary]
        if c.handshake:
            argv.append("--handshake")
        if c.gnutls:
            argv.append("--gnutls")
        return [*argv, "--max-payload", str(c.max_payload)]

    def _make_decoder(self) -> Decoder:
        return SslToolDecoder(self.stats)

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {"pid": c.pid, "uid": c.uid, "comm": list(c.comm), "libs": list(c.libs), "binaries": list(c.binaries)}
