"""End to end: the official SDKs in a child process talk to the fixture server over TLS; the real
sslsniff eBPF tool captures the plaintext; HttpAnalyzer then LlmAnalyzer turn it into LlmCalls
that match, field by field, what the server recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio

from collector.framework.analyzers.http import HttpAnalyzer
from collector.framework.analyzers.llm import LlmAnalyzer
from collector.framework.core.events import Event, HttpExchange, LlmCall, ToolStatus
from collector.framework.runners.ssl import SslRunner
from tests.conftest import needs_sslsniff
from tests.fixtures.llm_server import LlmServer

from .helpers import assert_call_matches

ROOT = Path(__file__).resolve().parents[2]

pytestmark = needs_sslsniff

SEQUENTIAL = [
    ("text", False), ("text", True), ("tool", False), ("tool", True), ("thinking", True),
    ("gzip", False), ("error_429", False), ("error_500", True), ("stream_error", True),
]
PARALLEL = 8

CLIENT = r"""
import json, sys, types
from concurrent.futures import ThreadPoolExecutor
from tests.llm.helpers import APIS, Clients
from tests.llm.test_llm_e2e import PARALLEL, SEQUENTIAL

clients = Clients(types.SimpleNamespace(base_url=sys.argv[1], ca_path=sys.argv[2]))
sys.stdin.readline()  # wait until the tracer is attached
seen = []
for api in APIS:
    for scenario, stream in SEQUENTIAL:
        view = clients.call(api, scenario, stream)
        seen.append([api, scenario, stream, view.text, view.error is not None])
with ThreadPoolExecutor(PARALLEL) as pool:  # concurrent streams, interleaved on separate connections
    views = list(pool.map(lambda i: clients.call(APIS[i % 4], "tool", True, prompt=f"parallel {i}"), range(PARALLEL)))
seen += [["parallel", i, True, v.text, v.error is not None] for i, v in enumerate(views)]
clients.httpx.get(sys.argv[1] + "/v1/models")  # plain HTTP, not an LLM call
clients.close()
print(json.dumps(seen))
"""


async def test_sdk_calls_captured_by_sslsniff_become_llm_calls(llm_server: LlmServer) -> None:
    server = llm_server
    server.clear()
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, server.base_url, server.ca_path],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )
    runner = SslRunner.builder().pid(client.pid).analyzers(HttpAnalyzer(), LlmAnalyzer()).build()
    events: list[Event] = []
    expected = 4 * len(SEQUENTIAL) + PARALLEL

    async def stop_after_client() -> None:
        await anyio.to_thread.run_sync(client.wait)
        await anyio.sleep(1.0)  # let the last captured data drain
        await runner.stop()

    try:
        with anyio.fail_after(120):
            async with runner, anyio.create_task_group() as tg:
                tg.start_soon(stop_after_client)
                async for batch in runner.batches():
                    events += batch
                    if any(isinstance(e.payload, ToolStatus) and e.payload.status == "start" for e in batch):
                        assert client.stdin is not None
                        client.stdin.write(b"go\n")
                        client.stdin.close()
    finally:
        if client.poll() is None:
            client.kill()
    client.wait(timeout=30)
    assert client.stdout is not None and client.stderr is not None
    out, err = client.stdout.read(), client.stderr.read()
    assert client.returncode == 0, err.decode()[-3000:]
    seen = json.loads(out)
    assert len(seen) == expected

    records = server.wait_for(expected)
    llm_records = [r for r in records if r.plan is not None]
    assert len(llm_records) == expected
    calls = [e for e in events if isinstance(e.payload, LlmCall)]
    assert all(e.pid == client.pid for e in calls)
    exchanges = [e.payload for e in events if isinstance(e.payload, HttpExchange)]
    assert any(x.method == "GET" and x.path == "/v1/models" for x in exchanges)
    assert len(calls) == expected, [c.payload.path for c in calls]

    # Each LlmCall comes right after its exchange.
    for i, ev in enumerate(events):
        if isinstance(ev.payload, LlmCall):
            prev = events[i - 1].payload
            assert isinstance(prev, HttpExchange) and prev.conn == ev.payload.conn

    # Match calls to records: by response id, or (errors) by order among same-path same-status ones.
    by_id = {c.payload.response_id: c.payload for c in calls if c.payload.response_id}
    errors = [c.payload for c in calls if not c.payload.response_id]
    for record in llm_records:
        plan = record.plan
        assert plan is not None
        if plan.status >= 400:
            call = next(c for c in errors if c.path == record.path and c.status == record.status
                        and c.stream == plan.stream)
            errors.remove(call)
        else:
            call = by_id.pop(plan.response_id)
        assert_call_matches(call, record, conn=call.conn, t0=call.request_start_ns, with_timestamps=False,
                            allow_partial=plan.stream_error)
        assert call.request_start_ns > 0 and call.duration_ns > 0
        if plan.status >= 400:
            assert call.ttft_ns is None  # an error answer has no first token
        else:
            assert call.ttft_ns is not None and 0 < call.ttft_ns <= call.duration_ns
    assert not by_id and not errors
    # The parallel calls really ran on separate connections.
    parallel = [c.payload for c in calls if "parallel" in json.dumps(c.payload.messages)]
    assert len(parallel) == PARALLEL and len({c.conn for c in parallel}) > 1
