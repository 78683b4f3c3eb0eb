"""SslRunner: TLS plaintext from the `sslsniff` eBPF tool, one TlsData Event per SSL call."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

from ..core.errors import ConfigError
from ..decoders.base import Decoder
from ..decoders.ssl_tool import SslToolDecoder
from .base import RunnerBuilder, RunnerConfig
from .subprocess import SubprocessRunner
from .tools import check_can_trace, find_tool

DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024


@dataclass(frozen=True)
class SslConfig(RunnerConfig):
    pid: int | None = None
    uid: int | None = None
    comm: tuple[str, ...] = ()
    libs: tuple[str, ...] = ()
    binaries: tuple[str, ...] = ()
    handshake: bool = False
    gnutls: bool = False
    max_payload: int = DEFAULT_MAX_PAYLOAD
    check_privileges: bool = True

    def validate(self) -> None:
        super().validate()
        if self.pid is not None and self.pid <= 0:
            raise ConfigError(f"pid must be positive, got {self.pid}")
        if self.uid is not None and self.uid < 0:
            raise ConfigError(f"uid must not be negative, got {self.uid}")
        if self.max_payload <= 0:
            raise ConfigError(f"max payload must be positive, got {self.max_payload}")
        for path in (*self.libs, *self.binaries):
            if not os.path.isfile(path):
                raise ConfigError(f"TLS library or binary not found: {path}")


class SslBuilder(RunnerBuilder["SslRunner", SslConfig]):
    def pid(self, pid: int) -> Self:
        """Trace this process and all its descendants (and discover their TLS libraries)."""
        return self._set(pid=pid)

    def uid(self, uid: int) -> Self:
        return self._set(uid=uid)

    def comm(self, names: Sequence[str] | str) -> Self:
        names = [names] if isinstance(names, str) else list(names)
        return self._set(comm=(*self._config.comm, *names))

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

    def check_privileges(self, enabled: bool) -> Self:
        return self._set(check_privileges=enabled)

    def http_analysis(self, *, keep_tls: bool = False, keep_sse: bool = False) -> Self:
        """Add the standard chain: TLS -> HTTP exchanges (HTTP/1.1, HTTP/2, SSE) -> LLM calls."""
        from ..analyzers.pipeline import tls_analyzers

        return self.analyzers(*tls_analyzers(keep_tls=keep_tls, keep_sse=keep_sse))

    def build(self) -> SslRunner:
        self._config.validate()
        find_tool("sslsniff", self._config.tool_path)
        return SslRunner(self._config)


class SslRunner(SubprocessRunner[SslConfig]):
    source = "ssl"
    config_class = SslConfig

    @classmethod
    def builder(cls) -> SslBuilder:
        return SslBuilder(cls, SslConfig())

    def command(self) -> list[str]:
        c = self.config
        argv = [find_tool("sslsniff", c.tool_path)]
        if c.pid is not None:
            argv += ["--pid", str(c.pid)]
        if c.uid is not None:
            argv += ["--uid", str(c.uid)]
        if c.comm:
            argv += ["--comm", ",".join(c.comm)]
        for lib in c.libs:
            argv += ["--lib", lib]
        for binary in c.binaries:
            argv += ["--binary", binary]
        if c.handshake:
            argv.append("--handshake")
        if c.gnutls:
            argv.append("--gnutls")
        argv += ["--max-payload", str(c.max_payload)]
        return argv + list(c.args)

    async def _open(self) -> None:
        if self.config.check_privileges:
            check_can_trace("sslsniff")
        await super()._open()

    def _make_decoder(self) -> Decoder:
        return SslToolDecoder(self.stats)

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {"pid": c.pid, "uid": c.uid, "comm": list(c.comm), "libs": list(c.libs), "binaries": list(c.binaries)}
