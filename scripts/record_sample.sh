#!/usr/bin/env bash
# Record examples/agent-session.jsonl: a real session of examples/agent.py (official anthropic and
# openai SDKs, shell commands, a file edit, a curl) against the local fixture LLM server, captured
# by `collector run` with the real eBPF tools. Needs root and scripts/setup.sh done.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-examples/agent-session.jsonl}
tmp=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$tmp"' EXIT
.venv/bin/python -m tests.fixtures.llm_server --port 0 --ca-out "$tmp/ca.pem" --delay 0.02 > "$tmp/server.json" &
server=$!
for _ in $(seq 50); do [ -s "$tmp/server.json" ] && break; sleep 0.1; done
base=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$tmp/server.json")
rm -f "$out"
.venv/bin/collector run --quiet -o "$out" -- .venv/bin/python examples/agent.py --base-url "$base" --ca "$tmp/ca.pem"
echo "recorded $(wc -l < "$out") events to $out"
