"""Several gateway processes on one listening socket: fork, forward signals, restart.

One gateway process runs its queries on one core at a time (the pipeline is Python), so
a hub machine with more cores runs ``--processes N``. The parent binds the socket, forks
the children (each opens its own database connections, key and audit store after the
fork), forwards SIGTERM/SIGINT/SIGHUP to them, restarts a child that dies, and exits
when all children have stopped. A child that fails with a configuration error (exit 2)
stops them all: restarting it would only fail again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from types import FrameType

from jupyter_masking.errors import MaskingError

log = logging.getLogger("jupyter_masking.hub")

CONFIG_EXIT = 2
RESTART_DELAY_S = 1.0


def run_processes(count: int, child: Callable[[], None]) -> int:
    """Run ``child()`` in ``count`` forked processes until a signal stops them; the exit status.

    Args:
        count: How many processes.
        child: What each process runs; returns when the process should exit.
    """
    children: dict[int, int] = {}
    state = {"stopping": False}

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which never returns here
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            os._exit(_run_child(child))
        children[pid] = slot

    def forward(signum: int, _: FrameType | None) -> None:
        if signum != signal.SIGHUP:
            state["stopping"] = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    for slot in range(count):
        spawn(slot)
    status = 0
    while children:
        try:
            pid, raw = os.wait()
        except ChildProcessError:
            break
        slot = children.pop(pid)
        code = os.waitstatus_to_exitcode(raw)
        if state["stopping"]:
            continue
        if code == CONFIG_EXIT:
            log.error("a gateway process failed its configuration; stopping all")
            status = CONFIG_EXIT
            forward(signal.SIGTERM, None)
            continue
        log.warning("gateway process %d exited (%s); starting another", pid, code)
        time.sleep(RESTART_DELAY_S)
        spawn(slot)
    return status


def _run_child(child: Callable[[], None]) -> int:
    try:
        child()
    except MaskingError as error:
        log.error("%s", error)
        return error.exit_code
    except Exception:
        log.exception("gateway process failed")
        return 1
    finally:
        logging.shutdown()
    return 0
