"""A process pool with a hard per-item timeout: a stuck worker is killed and replaced.

`concurrent.futures` and `multiprocessing.Pool` cannot stop one task that hangs, and a worker
blocked in C code (a huge integer power in sympy) never sees a signal. Here each worker owns a
pipe and handles one item at a time; the parent waits on all pipes with a deadline and sends
SIGKILL to a worker whose item runs past it, then starts a fresh one. Killing a worker can only
break its own pipe, never a queue the others share.

Workers start from a forkserver that has already imported the `preload` modules, so a
replacement is ready in milliseconds instead of re-importing sympy. A new worker first runs
`warmup` and reports ready; only then does it get work, so start-up never counts against an
item's timeout. Workers ignore SIGINT: on Ctrl-C the parent stops them.

An item whose `fn` raises is reported as FAILED (with the exception as its result) and its
worker carries on, so one bad item never costs more than its own time, and prints nothing.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterable, Iterator

DONE, FAILED, TIMED_OUT, CRASHED = "done", "failed", "timed_out", "crashed"
_READY = "ready"
_END = object()
_START_SECONDS = 120.0


@dataclass(frozen=True)
class Outcome:
    """What became of one item: `result` is set when `state` is DONE, and is the exception
    ("TypeName: message") when FAILED.

    `seconds`: the worker's time on the item when DONE, else how long the parent waited.
    """

    item: Any
    state: str
    result: Any
    seconds: float


def _serve(fn: Callable[[Any], Any], warmup: Any, conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fn(warmup)
    conn.send(_READY)
    while True:
        try:
            item = conn.recv()
        except EOFError:
            return
        started = time.perf_counter()
        try:
            message = (DONE, fn(item))
        except Exception as exc:  # noqa: BLE001 - any failure is this item's alone
            message = (FAILED, f"{type(exc).__name__}: {exc}"[:500])
        conn.send((*message, time.perf_counter() - started))


class _Worker:
    def __init__(self, context: multiprocessing.context.BaseContext, fn: Callable, warmup: Any):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(fn, warmup, child), daemon=True)
        self.process.start()
        child.close()
        self.ready = False
        self.item: Any = None
        self.started = 0.0
        self.launched = time.monotonic()

    def give(self, item: Any) -> None:
        self.item, self.started = item, time.monotonic()
        self.conn.send(item)

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()

    def stop(self) -> None:
        self.conn.close()  # the worker sees EOF and returns
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.kill()


class HardTimeoutPool:
    """Apply `fn` to items in `workers` processes; an item past `timeout` seconds is abandoned.

    Use as a context manager; `imap_unordered` yields one `Outcome` per item as items finish.
    `fn`, `warmup` and the items must pickle; `fn` must be a module-level function.
    """

    def __init__(self, fn: Callable[[Any], Any], *, workers: int, timeout: float, warmup: Any,
                 preload: Iterable[str] = ()):
        if workers < 1:
            raise ValueError("workers must be at least 1")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.fn, self.workers, self.timeout, self.warmup = fn, workers, timeout, warmup
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(list(preload))
        self.replaced = 0
        self._pool: list[_Worker] = []

    def __enter__(self) -> "HardTimeoutPool":
        self._pool = [self._launch() for _ in range(self.workers)]
        return self

    def __exit__(self, *exc_info) -> None:
        for worker in self._pool:
            if exc_info[0] is None and worker.ready and worker.item is None:
                worker.stop()
            else:
                worker.kill()
        self._pool = []

    def _launch(self) -> _Worker:
        return _Worker(self.context, self.fn, self.warmup)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self._pool[self._pool.index(worker)] = self._launch()
        self.replaced += 1

    def imap_unordered(self, items: Iterable[Any]) -> Iterator[Outcome]:
        queue = iter(items)
        exhausted = False
        while True:
            for worker in self._pool:
                if worker.ready and worker.item is None and not exhausted:
                    item = next(queue, _END)
                    if item is _END:
                        exhausted = True
                    else:
                        worker.give(item)
            busy = [w for w in self._pool if w.item is not None]
            if exhausted and not busy:
                return
            now = time.monotonic()
            deadlines = [w.started + self.timeout for w in busy]
            deadlines += [w.launched + _START_SECONDS for w in self._pool if not w.ready]
            ready = wait([w.conn for w in self._pool if w.item is not None or not w.ready],
                         timeout=max(0.0, min(deadlines) - now))
            yield from self._collect(ready)
            yield from self._expire()

    def _collect(self, ready: list) -> Iterator[Outcome]:
        for worker in [w for w in self._pool if w.conn in ready]:
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                item, seconds = worker.item, time.monotonic() - worker.started
                if item is None:
                    raise RuntimeError("a grading worker died while starting; see its error above") from None
                self._replace(worker)
                yield Outcome(item, CRASHED, None, seconds)
                continue
            if not worker.ready:
                worker.ready = True
                continue
            item, worker.item = worker.item, None
            state, result, seconds = message
            yield Outcome(item, state, result, seconds)

    def _expire(self) -> Iterator[Outcome]:
        now = time.monotonic()
        for worker in list(self._pool):
            if worker.item is not None and now - worker.started >= self.timeout and not worker.conn.poll():
                item, seconds = worker.item, now - worker.started
                self._replace(worker)
                yield Outcome(item, TIMED_OUT, None, seconds)
            elif not worker.ready and now - worker.launched >= _START_SECONDS:
                raise RuntimeError(f"a grading worker did not start within {_START_SECONDS:.0f} s")
