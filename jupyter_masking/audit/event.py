"""The audit event: one per query (allowed, refused or failed), hash-chained to the one before.

Callers build an :class:`EventDraft`; the store turns it into an :class:`AuditEvent` by
assigning ``id``, ``seq``, ``time``, ``prev_hash`` and ``hash`` inside its write lock.
Pass the SQL as typed, without ``sql_fingerprint``: the draft normalizes it on the spot
(every literal becomes ``?``), so raw values typed into a query never reach the store.
A caller that already parsed the query may pass ``sql`` and ``sql_fingerprint`` from
:func:`~jupyter_masking.audit.normalize.normalize_tree` instead.

``hash = sha256(canonical_json(event without "hash"))``: see :mod:`.canonical` for the
byte form; ``duration_ms`` is rounded to 3 decimals before hashing, so the float is
always written in the same shortest form.

>>> draft = EventDraft(
...     identity=EventIdentity(user="alice", groups=["analysts"]),
...     connection="demo", dialect="duckdb",
...     sql="SELECT email FROM customers WHERE id = 42",
...     outcome="allowed", rows=1, duration_ms=1.23456,
... )
>>> draft.sql, draft.duration_ms
('SELECT email FROM customers WHERE id = ?', 1.235)
>>> event = draft.seal(seq=1, prev_hash=GENESIS_HASH, event_id="0" * 32,
...                    time=datetime(2026, 11, 28, 7, 5, 29, 123456, tzinfo=timezone.utc))
>>> event.to_dict()["time"], event.hash == event.compute_hash()
('2026-11-28T07:05:29.123456Z', True)
"""

from __future__ import annotations

import hashlib
import os
import time as _time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_validator,
)

from jupyter_masking.audit.canonical import canonical_json
from jupyter_masking.audit.normalize import normalize_sql, sha256_hex

if TYPE_CHECKING:
    from jupyter_masking.identity import Identity

GENESIS_HASH = "0" * 64
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

Outcome = Literal["allowed", "refused", "failed"]
Effect = Literal["raw", "mask", "deny"]
Transform = Literal["identity", "transformation", "aggregation", "none"]
DetectedBy = Literal["policy", "name", "content", "scan", "none"]

OUTCOMES: tuple[str, ...] = ("allowed", "refused", "failed")
_HEX64 = r"^[0-9a-f]{64}$"
_MAX_REASON = 1000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventIdentity(_Model):
    """Who asked: the user, their groups and ``human`` or ``ai:<tool>``."""

    user: str = Field(min_length=1, max_length=128)
    groups: list[str] = Field(default_factory=list)
    actor: str = Field(default="human", pattern=r"^(human|ai:[A-Za-z0-9_.@+:\-]{1,120})$")

    @classmethod
    def of(cls, identity: Identity) -> EventIdentity:
        """The event form of a gateway :class:`~jupyter_masking.identity.Identity`."""
        return cls(user=identity.user, groups=list(identity.groups), actor=identity.actor)


class OutputLineage(_Model):
    """One output column: where it came from and what the gateway did to it."""

    name: str
    sources: list[str] = Field(default_factory=list)
    data_class: str | None = None
    effect: Effect = "raw"
    operator: str | None = None
    rule: str | None = None
    transform: Transform = "identity"
    detected_by: DetectedBy = "none"


class EventDraft(_Model):
    """Everything about one query except what the store assigns (id, seq, time, hashes)."""

    identity: EventIdentity
    notebook: str | None = None
    cell_id: str | None = None
    execution_count: int | None = None
    connection: str
    dialect: str
    sql: str
    sql_fingerprint: str = Field(pattern=_HEX64)
    tables: list[str] = Field(default_factory=list)
    columns_read: list[str] = Field(default_factory=list)
    outputs: list[OutputLineage] = Field(default_factory=list)
    rows: int | None = Field(default=None, ge=0)
    duration_ms: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    policy_version: str | None = None
    outcome: Outcome
    reason: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize_raw_sql(cls, data: Any) -> Any:
        # No fingerprint means the caller handed us the SQL as typed: strip its literals.
        if isinstance(data, dict) and "sql_fingerprint" not in data and "sql" in data:
            sql, fingerprint = normalize_sql(str(data["sql"]), str(data.get("dialect", "")))
            return {**data, "sql": sql, "sql_fingerprint": fingerprint}
        return data

    @model_validator(mode="after")
    def _fingerprint_matches(self) -> EventDraft:
        # Catches raw SQL passed with someone else's fingerprint (only the stand-in for
        # unparseable SQL is fingerprinted from other text: the raw SQL's digest).
        if not self.sql.startswith("<unparseable SQL: ") and sha256_hex(self.sql) != (
            self.sql_fingerprint
        ):
            raise ValueError("sql_fingerprint is not the sha256 of sql: pass raw SQL alone")
        return self

    @field_validator("duration_ms")
    @classmethod
    def _round_duration(cls, value: float) -> float:
        return round(value, 3)

    @field_validator("reason")
    @classmethod
    def _short_reason(cls, value: str | None) -> str | None:
        if value is None or len(value) <= _MAX_REASON:
            return value
        return value[: _MAX_REASON - 1] + "…"  # stays the same when validated again

    @classmethod
    def for_query(cls, identity: Identity, **fields: Any) -> EventDraft:
        """A draft for ``identity``, taking notebook and cell id from it unless given.

        >>> from jupyter_masking.identity import Identity
        >>> who = Identity("bob", ("fraud",), notebook="n.ipynb", cell_id="c9")
        >>> d = EventDraft.for_query(who, connection="c", dialect="postgres",
        ...                          sql="SELECT 1", outcome="refused", reason="no")
        >>> d.identity.user, d.cell_id, d.sql
        ('bob', 'c9', 'SELECT ?')
        """
        fields.setdefault("notebook", identity.notebook)
        fields.setdefault("cell_id", identity.cell_id)
        return cls(identity=EventIdentity.of(identity), **fields)

    def seal(self, *, seq: int, prev_hash: str, event_id: str, time: datetime) -> AuditEvent:
        """The stored event: this draft at ``seq`` after ``prev_hash``, with its own hash."""
        body = {
            **self.model_dump(mode="json"),
            "id": event_id,
            "seq": seq,
            "time": time.astimezone(timezone.utc).strftime(TIME_FORMAT),
            "prev_hash": prev_hash,
        }
        return AuditEvent.model_validate({**body, "hash": hash_body(body)})


class AuditEvent(EventDraft):
    """A stored audit event; ``hash`` covers every other field, ``prev_hash`` links the chain."""

    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    seq: int = Field(ge=1)
    time: datetime
    prev_hash: str = Field(pattern=_HEX64)
    hash: str = Field(pattern=_HEX64)

    @field_serializer("time")
    def _format_time(self, value: datetime) -> str:
        return format_time(value)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready event with the exact keys of the audit contract."""
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        """The canonical JSON of the whole event (hash included), as stored and exported."""
        return canonical_json(self.to_dict())

    def compute_hash(self) -> str:
        """The hash this event's content calls for (compare with :attr:`hash`)."""
        body = self.to_dict()
        body.pop("hash")
        return hash_body(body)


def hash_body(body: dict[str, Any]) -> str:
    """sha256 hex of the canonical JSON of an event body (the event without ``hash``)."""
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def format_time(value: datetime) -> str:
    """``2026-11-28T07:05:29.123456Z``: UTC, microseconds, a ``Z``; naive means UTC.

    >>> format_time(datetime(2026, 1, 2, 3, 4, 5))
    '2026-01-02T03:04:05.000000Z'
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime(TIME_FORMAT)


def new_event_id() -> str:
    """A UUIDv7 in hex: random, and sorting by id sorts by creation millisecond.

    >>> new_event_id()[12]
    '7'
    """
    millis = _time.time_ns() // 1_000_000
    value = (millis & (2**48 - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    value = value & ~(0xF << 76) | (0x7 << 76)  # version 7
    value = value & ~(0x3 << 62) | (0x2 << 62)  # RFC 4122 variant
    return f"{value:032x}"
