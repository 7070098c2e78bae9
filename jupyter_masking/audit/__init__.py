"""The audit trail: one hash-chained event per query, written before any data is returned.

Build an :class:`EventDraft`, ``append`` it to the store from :func:`open_store`, and
return data only if that succeeded (it raises :class:`~jupyter_masking.errors.AuditError`
otherwise). ``verify`` checks the chain; :mod:`.export` writes JSONL or OpenLineage.
"""

from __future__ import annotations

from jupyter_masking.audit.event import (
    GENESIS_HASH,
    AuditEvent,
    EventDraft,
    EventIdentity,
    OutputLineage,
)
from jupyter_masking.audit.normalize import normalize_sql
from jupyter_masking.audit.store import AuditStore, open_store
from jupyter_masking.audit.verify import VerifyReport

__all__ = [
    "GENESIS_HASH",
    "AuditEvent",
    "AuditStore",
    "EventDraft",
    "EventIdentity",
    "OutputLineage",
    "VerifyReport",
    "normalize_sql",
    "open_store",
]
