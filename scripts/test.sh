#!/usr/bin/env bash
# Set everything up, then run lint, types and the whole test suite (real eBPF needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check collector tests scripts
.venv/bin/mypy
exec .venv/bin/pytest -q -p no:cacheprovider "$@"
