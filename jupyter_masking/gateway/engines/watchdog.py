"""One timer thread for every statement timeout, instead of a new thread per query.

Engines whose drivers cannot enforce a timeout themselves (DuckDB, SQLite) interrupt the
running statement from here when its deadline passes.

>>> import time
>>> fired = []
>>> with guard(0.01, lambda: fired.append(True)) as deadline:
...     time.sleep(0.05)
>>> deadline.fired, fired
(True, [True])
>>> with guard(5, lambda: fired.append(False)) as deadline:
...     pass
>>> deadline.fired, fired
(False, [True])
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Deadline:
    """A pending interrupt: ``fired`` tells whether it ran."""

    at: float
    action: Callable[[], None]
    fired: bool = False
    cancelled: bool = field(default=False, repr=False)


class _Watchdog:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def schedule(self, timeout_s: float, action: Callable[[], None]) -> Deadline:
        deadline = Deadline(time.monotonic() + timeout_s, action)
        with self._wake:
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="jupyter-masking-timeouts", daemon=True
                )
                self._thread.start()
            self._wake.notify()
        return deadline

    def cancel(self, deadline: Deadline) -> None:
        with self._wake:
            deadline.cancelled = True

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                deadline = heapq.heappop(self._heap)[2]
                deadline.fired = True
            # An interrupt that lands on a cursor that just finished is harmless.
            with contextlib.suppress(Exception):
                deadline.action()


_WATCHDOG = _Watchdog()


@contextmanager
def guard(timeout_s: float, action: Callable[[], None]) -> Iterator[Deadline]:
    """Run ``action`` if the ``with`` block is still running after ``timeout_s`` seconds."""
    deadline = _WATCHDOG.schedule(timeout_s, action)
    try:
        yield deadline
    finally:
        _WATCHDOG.cancel(deadline)
