from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.llm_server import LlmServer

from .helpers import Clients


@pytest.fixture(scope="module")
def llm_server() -> Iterator[LlmServer]:
    """The fixture server for a module: base_url, ca_path, records."""
    with LlmServer() as server:
        yield server


@pytest.fixture
def server(llm_server: LlmServer) -> LlmServer:
    llm_server.clear()
    return llm_server


@pytest.fixture(scope="module")
def clients(llm_server: LlmServer) -> Iterator[Clients]:
    c = Clients(llm_server)
    yield c
    c.close()
