"""The server side's one gateway client, and the watcher that announces new lineage events.

Queries run in the kernel, not in this server, so the server learns about them from the
shared audit store: every ``poll_interval`` seconds it compares the store's head (one cheap
read) with the last one seen and, when it moved, emits a
``https://jupyter-masking.github.io/events/query/v1`` jupyter_events event for each new event
of this server's user. The sidebar listens to those and fetches the event over REST.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from jupyter_events import EventLogger

    from jupyter_masking.audit.event import AuditEvent
    from jupyter_masking.client import GatewayClient

log = logging.getLogger(__name__)

T = TypeVar("T")

QUERY_SCHEMA_ID = "https://jupyter-masking.github.io/events/query/v1"
QUERY_SCHEMA = Path(__file__).parent / "schemas" / "query-event.json"
_BATCH = 50


class MaskingService:
    """Holds the gateway client (opened on first use) and runs its calls off the event loop.

    Args:
        open_client: Builds the client (``jupyter_masking.client.connect`` with the identity).
        workers: Threads for gateway calls (database and store work never blocks the loop).
    """

    def __init__(self, open_client: Callable[[], GatewayClient], *, workers: int = 2) -> None:
        self._open_client = open_client
        self._client: GatewayClient | None = None
        self._lock = threading.Lock()
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="masking")
        self.last_seq: int | None = None

    @property
    def client(self) -> GatewayClient:
        """The client; the first call opens it (call from a worker thread: it may be slow)."""
        with self._lock:
            if self._client is None:
                self._client = self._open_client()
            return self._client

    async def run(self, work: Callable[[GatewayClient], T]) -> T:
        """``work(client)`` in a worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: work(self.client))

    def new_events(self) -> list[AuditEvent]:
        """This user's events appended since the last call, oldest first (none on the first)."""
        client = self.client
        head = _head(client)
        if head is not None and head == self.last_seq:
            return []
        me = client.whoami()["user"]
        recent = client.events(user=me, limit=_BATCH)
        if self.last_seq is None:  # the first look sets the mark: old events are not news
            self.last_seq = head if head is not None else max((e.seq for e in recent), default=0)
            return []
        fresh = sorted((e for e in recent if e.seq > self.last_seq), key=lambda e: e.seq)
        newest = max([e.seq for e in fresh] + [head or 0, self.last_seq])
        self.last_seq = newest
        return fresh

    async def announce(self, logger: EventLogger) -> int:
        """Emit one query event per new event of this user; return how many."""
        fresh = await self.run(lambda _client: self.new_events())
        for event in fresh:
            logger.emit(
                schema_id=QUERY_SCHEMA_ID,
                data={
                    "event_id": event.id,
                    "notebook": event.notebook,
                    "cell_id": event.cell_id,
                    "outcome": event.outcome,
                },
            )
        return len(fresh)

    def close(self) -> None:
        """Close the client and stop the worker threads."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _head(client: Any) -> int | None:
    """The audit store's last seq when the client exposes its store (embedded), else None."""
    store = getattr(getattr(client, "gateway", None), "store", None)
    if store is None:
        return None
    head = store.head()
    return int(head[0]) if head else 0
