"""Finding the built eBPF tools and checking that this machine can run them.

Search order for tool NAME (process, sslsniff):
1. the environment variable COLLECTOR_<NAME>_PATH (e.g. COLLECTOR_SSLSNIFF_PATH), a file;
2. the directory in COLLECTOR_TOOLS_DIR;
3. bpf_programs/build/ of the source checkout the package was imported from;
4. /usr/local/lib/collector/ and /usr/lib/collector/;
5. `collector-NAME` on PATH.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..core.errors import PrivilegeError, ToolNotFoundError

BTF_PATH = "/sys/kernel/btf/vmlinux"
_CAP_SYS_ADMIN = 21
_CAP_PERFMON = 38
_CAP_BPF = 39


def candidate_paths(name: str) -> list[Path]:
    paths: list[Path] = []
    override = os.environ.get(f"COLLECTOR_{name.upper()}_PATH")
    if override:
        return [Path(override)]
    tools_dir = os.environ.get("COLLECTOR_TOOLS_DIR")
    if tools_dir:
        paths.append(Path(tools_dir) / name)
    paths.append(Path(__file__).resolve().parents[3] / "bpf_programs" / "build" / name)
    paths += [Path("/usr/local/lib/collector") / name, Path("/usr/lib/collector") / name]
    on_path = shutil.which(f"collector-{name}")
    if on_path:
        paths.append(Path(on_path))
    return paths


def find_tool(name: str, explicit: str | None = None) -> str:
    """The path of tool `name`, or a ToolNotFoundError that says how to build it."""
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return explicit
        raise ToolNotFoundError(f"the {name} tool at {explicit} does not exist or is not executable")
    tried = candidate_paths(name)
    for path in tried:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    raise ToolNotFoundError(
        f"the {name} eBPF tool is not built (looked in {', '.join(str(p) for p in tried)}): "
        f"run `make -C bpf_programs` or set COLLECTOR_{name.upper()}_PATH"
    )


def effective_caps() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


def check_can_trace(tool: str) -> None:
    """Raise a one-sentence error if this process cannot load BPF programs or lacks BTF."""
    caps = effective_caps()
    has_bpf = caps >> _CAP_SYS_ADMIN & 1 or (caps >> _CAP_BPF & 1 and caps >> _CAP_PERFMON & 1)
    if not has_bpf:
        raise PrivilegeError(
            f"{tool} needs root (or CAP_BPF and CAP_PERFMON) to load eBPF programs: run it with sudo"
        )
    if not os.path.exists(BTF_PATH):
        raise PrivilegeError(
            f"this kernel has no BTF ({BTF_PATH} is missing), which {tool} needs: "
            "use a kernel built with CONFIG_DEBUG_INFO_BTF=y"
        )
