"""The tools' shared C writer (bpf_programs/common/output.c): base64, SIMD and scalar paths."""

from __future__ import annotations

import base64
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COMMON = REPO / "bpf_programs" / "common"

DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "output.h"

/* Prints out_base64 of every prefix of stdin up to 700 bytes, then of all of it. */
int main(void)
{
	static unsigned char buf[4 << 20];
	size_t n = fread(buf, 1, sizeof(buf), stdin);
	struct out o;
	if (out_init(&o, STDOUT_FILENO, 64 << 10))
		return 1;
	for (size_t l = 0; l <= n && l <= 700; l++) {
		out_base64(&o, buf, l);
		out_char(&o, '\n');
	}
	out_base64(&o, buf, n);
	out_char(&o, '\n');
	return out_flush(&o) ? 1 : 0;
}
"""


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.fail("a C compiler is needed (scripts/setup.sh installs gcc)")
    d = tmp_path_factory.mktemp("outc")
    (d / "driver.c").write_text(DRIVER)
    exe = d / "driver"
    subprocess.run(
        [cc, "-O2", "-I", str(COMMON), str(d / "driver.c"), str(COMMON / "output.c"), "-o", str(exe)],
        check=True,
    )
    return exe


@pytest.mark.parametrize("simd", [True, False], ids=["simd", "scalar"])
@pytest.mark.parametrize("size", [0, 31, 32, 33, 100, 16384, 16385, 100_003, 3 * 4096 * 100 + 7])
def test_base64_matches_python(driver: Path, simd: bool, size: int) -> None:
    data = random.Random(size).randbytes(size)
    env = dict(os.environ)
    if not simd:
        env["COLLECTOR_NO_SIMD"] = "1"
    out = subprocess.run([str(driver)], input=data, capture_output=True, check=True, env=env).stdout
    lines = out.split(b"\n")[:-1]
    prefixes = lines[:-1]
    assert len(prefixes) == min(size, 700) + 1
    for length, line in enumerate(prefixes):
        assert line == b'"' + base64.b64encode(data[:length]) + b'"', length
    assert lines[-1] == b'"' + base64.b64encode(data) + b'"'
