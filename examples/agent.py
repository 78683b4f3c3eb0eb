#!/usr/bin/env python3
"""An agent-like script for demos and benchmarks: streaming LLM calls that run shell commands and
edit files, through the official `anthropic` and `openai` SDKs, against any compatible base URL
(the local fixture server in tests/fixtures/llm_server.py when recording the sample session).

The tools' JSON schemas pin each argument with a one-value `enum`, so that a fixture server that
fills tool arguments from the schema asks for exactly the command this demo wants to show.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import subprocess
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai

WORKDIR = Path("/tmp/collector-agent-demo")


def shell_tool(command: str) -> dict[str, Any]:
    return {
        "name": "run_shell",
        "description": "Run a shell command and return its output.",
        "input_schema": {
            "type": "object",
            "properties": {"command": {"type": "string", "enum": [command]}},
            "required": ["command"],
        },
    }


def write_tool(path: str, content: str) -> dict[str, Any]:
    return {
        "name": "write_file",
        "description": "Write a text file.",
        "input_schema": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "enum": [path]},
                "content": {"type": "string", "enum": [content]},
            },
            "required": ["path", "content"],
        },
    }


def run_tool(name: str, args: dict[str, Any]) -> str:
    if name == "run_shell":
        r = subprocess.run(["sh", "-c", args["command"]], capture_output=True, text=True, timeout=30)
        return (r.stdout + r.stderr)[-2000:] or f"(exit {r.returncode})"
    if name == "write_file":
        Path(args["path"]).write_text(args["content"])
        return f"wrote {len(args['content'])} bytes to {args['path']}"
    return f"unknown tool {name}"


def anthropic_turn(client: anthropic.Anthropic, prompt: str, tools: list[dict[str, Any]]) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    for _ in range(4):
        with client.messages.stream(
            model="claude-sonnet-demo", max_tokens=1024, system="You are a careful coding agent.",
            messages=messages, tools=tools,  # type: ignore[arg-type]
        ) as stream:
            message = stream.get_final_message()
        messages.append({"role": "assistant", "content": [b.model_dump() for b in message.content]})
        calls = [b for b in message.content if b.type == "tool_use"]
        if not calls:
            print("assistant:", "".join(b.text for b in message.content if b.type == "text")[:120])
            return
        results = []
        for call in calls:
            output = run_tool(call.name, dict(call.input))  # type: ignore[arg-type]
            print(f"tool {call.name}: {output.strip()[:80]}")
            results.append({"type": "tool_result", "tool_use_id": call.id, "content": output})
        messages.append({"role": "user", "content": results})


def openai_turn(client: openai.OpenAI, prompt: str) -> None:
    stream = client.chat.completions.create(
        model="gpt-demo", stream=True, messages=[{"role": "user", "content": prompt}],
        stream_options={"include_usage": True},
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    print("assistant:", text[:120])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--ca", required=True, help="CA certificate of the server")
    args = ap.parse_args()
    WORKDIR.mkdir(exist_ok=True)
    ctx = ssl.create_default_context(cafile=args.ca)
    import httpx2  # the HTTP client the anthropic SDK uses

    claude = anthropic.Anthropic(
        base_url=args.base_url, api_key=os.environ.get("ANTHROPIC_API_KEY", "sk-ant-api03-demo-key-not-real-0000000000"),
        http_client=httpx2.Client(verify=ctx, timeout=30), max_retries=0,
    )
    gpt = openai.OpenAI(
        base_url=args.base_url + "/v1", api_key=os.environ.get("OPENAI_API_KEY", "sk-proj-demo-key-not-real-000000000000"),
        http_client=httpx.Client(verify=ctx, timeout=30), max_retries=0,
    )
    notes = str(WORKDIR / "NOTES.md")
    anthropic_turn(claude, "scenario:tool Look at the project.", [shell_tool(f"ls -la {WORKDIR} && uname -sr")])
    anthropic_turn(claude, "scenario:tool Write down a plan.",
                   [write_tool(notes, "# Plan\n1. look around\n2. count lines\n")])
    anthropic_turn(claude, "scenario:tool Check the plan.", [shell_tool(f"wc -l {notes} && cat {notes}")])
    anthropic_turn(claude, "scenario:thinking Is the plan good?", [])
    openai_turn(gpt, "Summarise what was done.")
    curl = subprocess.run(
        ["curl", "-s", "--cacert", args.ca, "-H", "content-type: application/json",
         "-d", json.dumps({"model": "gpt-demo", "messages": [{"role": "user", "content": "ping from curl"}]}),
         args.base_url + "/v1/chat/completions"],
        capture_output=True, text=True, timeout=30,
    )
    print("curl:", curl.stdout[:80])


if __name__ == "__main__":
    main()
