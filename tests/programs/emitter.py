"""A child program for runner tests: prints Event lines and misbehaves on request.

usage: emitter.py MODE [N]
"""

from __future__ import annotations

import os
import signal
import sys
import time


def event_line(i: int) -> bytes:
    return (
        b'{"timestamp_ns":%d,"source":"test","pid":%d,"tid":%d,"comm":"emitter",'
        b'"payload":{"kind":"custom","name":"n","data":{"i":%d}}}\n' % (time.time_ns(), os.getpid(), i, i)
    )


def main() -> None:
    mode = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    out = sys.stdout.buffer
    if mode.startswith("hang"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if mode == "hang-all":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if mode == "mixed":
        out.write(event_line(0))
        out.write(b'{"timestamp_ns": 1, "source": "test", "pay\n')  # truncated JSON
        out.write(b"not json at all\n")
        out.write(b'{"timestamp_ns":1,"source":"t","payload":{"kind":"custom","name":"\xff\xfe"}}\n')
        out.write(event_line(1))
        out.write(b"x" * (10 * 1024 * 1024) + b"\n")  # a 10 MB line
        out.write(event_line(2))
        out.write(b"\n")
        out.write(event_line(3)[:-1])  # partial last line without newline
        out.flush()
        return
    if mode == "many":
        chunk = b"".join(event_line(i) for i in range(1000))
        for _ in range(n // 1000):
            out.write(chunk)
        out.flush()
        return
    for i in range(n):
        out.write(event_line(i))
    out.flush()
    sys.stderr.write(f"emitter: wrote {n} lines, now {mode}\n")
    sys.stderr.flush()
    if mode == "exit0":
        sys.exit(0)
    if mode == "exit3":
        sys.stderr.write("emitter: something went wrong\n")
        sys.exit(3)
    if mode == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode.startswith("hang"):
        while True:
            time.sleep(1)
    if mode == "orphan":
        # A grandchild that keeps stdout open after we exit.
        if os.fork() == 0:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            time.sleep(60)
            os._exit(0)
        sys.exit(0)


if __name__ == "__main__":
    main()
