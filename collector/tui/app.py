"""`run_tui`: the consumer loop, the frame timer and the keyboard, around one runner.

Three tasks share the event loop: the consumer only feeds batches into `TuiState.apply_batch`
(O(batch), no rendering); the frame timer builds the screen from the state at most `fps` times a
second (fewer when drawing is slow or the process busy: `pacing.py`; the consumer waits at most
for one frame's build, a few ms) and hands the changed lines to a worker thread (`screen.py`), so
a slow terminal never holds the pipeline; the keyboard task reads keys in cbreak mode. The terminal (termios, alternate screen,
cursor) is restored on quit, on Ctrl-C, on a crash (try/finally) and at interpreter exit (atexit).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
from rich.console import Console

from ..framework.runners.base import Runner, closing_batches
from .keys import TerminalMode, is_tty, parse_keys
from .pacing import FramePacer
from .render import Frame, render
from .screen import Screen
from .state import TuiState
from .ui import Ui

# While the UI runs, the cyclic GC's youngest generation is collected every GC_GEN0_THRESHOLD
# container allocations (the runners' own setting is 10,000). The UI keeps recent events alive,
# so each young collection traverses them and the batch in flight: 57 -> 18 ms of collections
# per 200,000 replayed events (state updates alone, full speed). Cyclic garbage is still found
# within 50,000 allocations; the previous setting is restored on exit.
GC_GEN0_THRESHOLD = 50_000
log = logging.getLogger("collector.tui")


def register_runners(state: TuiState, runner: Runner[Any]) -> None:
    """Show `runner` in the header; a combined runner shows each of its runners."""
    runners = getattr(runner, "runners", None)
    states = getattr(runner, "states", None)
    if isinstance(runners, list) and isinstance(states, dict) and len(runners) == len(states):
        for name, child in zip(states, runners, strict=True):
            state.add_runner(name, getattr(child, "stats", None), probe=_probe(states[name]))
        return
    state.add_runner(runner.name, runner.stats)


def _stdin_tty() -> int | None:
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):  # no stdin, or one replaced (pytest)
        return None
    return fd if is_tty(fd) else None


def _probe(runner_state: Any) -> Callable[[], tuple[str, str]]:
    def probe() -> tuple[str, str]:
        return str(runner_state.state), str(runner_state.message)

    return probe


class _StateLogHandler(logging.Handler):
    """Keeps log records off the screen while the UI owns it; they are shown in the header."""

    def __init__(self, state: TuiState) -> None:
        super().__init__(logging.WARNING)
        self.state = state
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
        except Exception:
            msg = str(record.msg)
        self.records.append(msg)
        del self.records[:-100]
        self.state.messages.append(msg)


@contextlib.contextmanager
def _capture_logging(state: TuiState) -> Iterator[_StateLogHandler]:
    root = logging.getLogger()
    saved = root.handlers[:]
    handler = _StateLogHandler(state)
    root.handlers = [handler]
    try:
        yield handler
    finally:
        root.handlers = saved


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Keep what exists at start (modules, schemas: most of the heap) out of full collections,
    and collect the youngest generation less often (GC_GEN0_THRESHOLD).

    The UI keeps thousands of recent events alive, which makes each full collection longer;
    freezing the start-up heap halves their cost (measured: 1.6 s -> 0.8 s per 500k events).
    """
    gc.collect()
    gc.freeze()
    saved = gc.get_threshold()
    gc.set_threshold(max(saved[0], GC_GEN0_THRESHOLD), saved[1], saved[2])
    try:
        yield
    finally:
        if gc.get_threshold()[0] == max(saved[0], GC_GEN0_THRESHOLD):
            gc.set_threshold(*saved)
        gc.unfreeze()


@contextlib.contextmanager
def _screen(console: Console) -> Iterator[Screen]:
    """The alternate screen, left on every exit path (atexit included)."""
    screen = Screen(console)

    def leave() -> None:
        with contextlib.suppress(Exception):
            screen.leave()

    atexit.register(leave)
    try:
        screen.enter()
        yield screen
    finally:
        leave()
        atexit.unregister(leave)


async def run_tui(
    runner: Runner[Any],
    *,
    title: str,
    console: Console | None = None,
    state: TuiState | None = None,
    fps: float = 8.0,
    input_fd: int | None = None,
    linger: bool | None = None,
) -> None:
    """Show `runner`'s events in the terminal UI until the runner ends or the user quits.

    `state`: pass a TuiState to read the session's counters afterwards (or to pre-register
    several runners with `state.add_runner`). `input_fd`: the terminal to read keys from
    (stdin when it is a tty; no keyboard otherwise). `linger`: keep the screen up after the
    runner ended, until `q` (default: when there is a keyboard). The runner is stopped on exit;
    an error that ended the runner is raised after the screen is restored.
    """
    state = state if state is not None else TuiState(title)
    state.title = title
    register_runners(state, runner)
    ui = Ui(state)
    if console is None:
        # The real terminal size, always (COLUMNS/LINES in the environment would pin it).
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        console = Console(_environ=env)
    fd = input_fd if input_fd is not None else _stdin_tty()
    linger = (fd is not None) if linger is None else (linger and fd is not None)
    failure: list[BaseException] = []
    wake = [anyio.Event()]

    def poke() -> None:
        wake[0].set()

    async def consume(scope: anyio.CancelScope) -> None:
        try:
            async with contextlib.AsyncExitStack() as stack:
                if not getattr(runner, "_started", False):  # the caller may have entered it
                    await stack.enter_async_context(runner)
                batches = await stack.enter_async_context(closing_batches(runner))
                async for batch in batches:
                    state.apply_batch(batch)
            state.finish("stopped" if ui.quit else "ended")
        except anyio.get_cancelled_exc_class():
            state.finish("stopped")
            raise
        except Exception as exc:
            failure.append(exc)
            state.finish("failed", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        poke()
        if not linger:
            scope.cancel()

    async def draw(scope: anyio.CancelScope, screen: Screen) -> None:
        def output(frame: Frame) -> float:
            t = time.thread_time()
            screen.draw(frame)
            return time.thread_time() - t

        pacer = FramePacer(fps)
        while True:
            t0 = time.monotonic()
            c0 = time.thread_time()
            frame = render(state, ui, console)
            build = time.thread_time() - c0
            # The terminal output runs in a worker thread: a slow terminal never blocks the loop.
            cost = build + await anyio.to_thread.run_sync(output, frame)
            if ui.quit:
                scope.cancel()
                return
            # CPU time, not the wall time spent waiting for the GIL, counts as the frame's cost.
            interval = pacer.interval(cost)
            with anyio.move_on_after(max(0.0, interval - (time.monotonic() - t0))):
                await wake[0].wait()  # a key or a resize: draw sooner
            wake[0] = anyio.Event()
            rest = pacer.min_interval(cost) - (time.monotonic() - t0)
            if rest > 0:
                await anyio.sleep(rest)

    async def keyboard(fd: int) -> None:
        while not ui.quit:
            await anyio.wait_readable(fd)
            try:
                data = os.read(fd, 1024)
            except BlockingIOError:
                continue
            if not data:  # the terminal went away
                ui.quit = True
            for key in parse_keys(data.decode("utf-8", "replace")):
                ui.handle_key(key)
            poke()

    async def signals(scope: anyio.CancelScope) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        wanted = [signal.SIGINT, signal.SIGTERM, signal.SIGWINCH]
        with anyio.open_signal_receiver(*wanted) as received:
            async for signum in received:
                if signum == signal.SIGWINCH:
                    poke()
                    continue
                ui.quit = True
                scope.cancel()
                return

    with contextlib.ExitStack() as stack:
        stack.enter_context(_frozen_heap())
        if fd is not None:
            stack.enter_context(TerminalMode(fd))
        handler = stack.enter_context(_capture_logging(state))
        try:
            screen = stack.enter_context(_screen(console))
            async with anyio.create_task_group() as tg:
                tg.start_soon(consume, tg.cancel_scope)
                tg.start_soon(draw, tg.cancel_scope, screen)
                tg.start_soon(signals, tg.cancel_scope)
                if fd is not None:
                    tg.start_soon(keyboard, fd)
            screen.draw(render(state, ui, console), final=True)
        finally:
            with anyio.CancelScope(shield=True):
                await runner.stop()
    for line in handler.records[-20:]:
        print(f"collector: {line}", file=sys.stderr)
    if failure:
        raise failure[0]


def run_tui_sync(runner: Runner[Any], *, title: str, **kwargs: Any) -> TuiState:
    """`anyio.run(run_tui(...))`, returning the state (for a summary line)."""
    state = kwargs.pop("state", None) or TuiState(title)

    async def main() -> None:
        await run_tui(runner, title=title, state=state, **kwargs)

    anyio.run(main)
    return state


def summary(state: TuiState) -> str:
    """One line for the end of a session: events, time and rate, losses."""
    elapsed = state.elapsed
    rate = state.events / elapsed if elapsed > 0 else 0.0
    return (
        f"collector: {state.events} events in {elapsed:.2f}s ({rate:,.0f} events/s), "
        f"{state.llm_totals.calls} LLM calls, {state.counts.get('http_exchange', 0)} HTTP exchanges, "
        f"lost={state.lost_events} parse_errors={state.parse_errors}"
    )
