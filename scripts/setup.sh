#!/usr/bin/env bash
# Set up collector on a fresh Debian 12 machine, as root: apt packages, the eBPF tools, the venv.
# Idempotent: re-running only redoes what is missing or out of date.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc
              curl openssl tmux bpftrace gnutls-bin python3-venv ca-certificates)
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# tracefs: libbpf reads tracepoint ids there.
if [ ! -e /sys/kernel/tracing/events ]; then
    mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi

echo "setup: building eBPF tools"
make -s -C bpf_programs

# The venv's interpreter: $PYTHON if set, else the distribution's python3 (Debian builds it with
# PGO and LTO: the analyzers ran ~10-15 % faster on it than on a plain source build such as
# pyenv's default, see docs/BENCHMARKS.md), else the first python3 on PATH.
PY=${PYTHON:-}
if [ -z "$PY" ]; then
    PY=python3
    if /usr/bin/python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
        PY=/usr/bin/python3
    fi
fi
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
    "$PY" -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e ".[test,dev]"
echo "setup: done (tools in bpf_programs/build, venv in .venv)"
