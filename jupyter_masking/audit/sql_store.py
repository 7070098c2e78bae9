"""The hash-chained store on SQLAlchemy Core, shared by the SQLite and PostgreSQL stores.

One table: the event's canonical JSON (``body``) plus index columns copied from it for
queries. ``append`` runs one short transaction under a write lock the subclass provides
(SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock): read the head, seal the event,
insert. Unique ``seq``, ``hash`` and ``prev_hash`` make a forked chain impossible even
if the lock were bypassed. Any failure raises :class:`~jupyter_masking.errors.AuditError`
and leaves no row behind.
"""

from __future__ import annotations

import os
import re
import weakref
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jupyter_masking.audit.event import (
    GENESIS_HASH,
    AuditEvent,
    EventDraft,
    format_time,
    new_event_id,
)
from jupyter_masking.audit.store import EventFilters, Location, TimeBound
from jupyter_masking.audit.verify import StoredRow, VerifyReport, index_of, verify_rows
from jupyter_masking.errors import AuditError, BadInput, ConfigError

if TYPE_CHECKING:
    from typing_extensions import Unpack

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_EVENT_ID = re.compile(r"^[0-9a-f]{32}$")
_STREAM_BATCH = 1000


def events_table(name: str, metadata: sa.MetaData) -> sa.Table:
    """The audit table definition; ``name`` must be a plain identifier."""
    if not _TABLE_NAME.match(name):
        raise ConfigError(
            f"invalid audit table name {name[:64]!r}",
            hint="use letters, digits and underscores, starting with a letter",
        )
    return sa.Table(
        name,
        metadata,
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("time", sa.String(32), nullable=False, index=True),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("notebook", sa.Text),
        sa.Column("cell_id", sa.String(128)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("tables_key", sa.Text, nullable=False),
        sa.Column("classes_key", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Index(f"{name}_user_seq", "user_name", "seq"),
        sa.Index(f"{name}_cell_seq", "notebook", "cell_id", "seq"),
    )


class SqlAuditStore:
    """Base of the SQL stores; subclasses make the engine and the write lock."""

    kind = "sql"

    def __init__(self, location: Location, engine: sa.Engine, table: str) -> None:
        self.location = location
        self._engine = engine
        self._table = events_table(table, sa.MetaData())
        c = self._table.c
        self._head_query = sa.select(c.seq, c.hash).order_by(c.seq.desc()).limit(1)
        self._insert = self._table.insert()
        # A forked worker must not reuse its parent's connections (SQLAlchemy's advice).
        engine_ref = weakref.ref(engine)
        os.register_at_fork(after_in_child=lambda: _forget_pool(engine_ref))

    # -- hooks -------------------------------------------------------------------------
    def _lock(self, conn: sa.Connection) -> None:
        """Take the write lock inside the current transaction (serialises appends)."""
        raise NotImplementedError

    def _write_connection(self) -> sa.Connection:
        """A connection whose next ``begin()`` starts a write transaction."""
        return self._engine.connect()

    # -- writing -------------------------------------------------------------------------
    def create(self) -> None:
        """Create the table and indexes if missing (under the write lock)."""
        with (
            self._guard("create the audit table in"),
            self._write_connection() as conn,
            conn.begin(),
        ):
            self._lock(conn)
            self._table.metadata.create_all(conn)

    def append(self, draft: EventDraft) -> AuditEvent:
        """Seal ``draft`` as the next event in one transaction; raise ``AuditError`` if not.

        >>> import tempfile, os
        >>> from jupyter_masking.audit.store import open_store
        >>> store = open_store(os.path.join(tempfile.mkdtemp(), "a.sqlite3"))
        >>> draft = EventDraft(identity={"user": "alice"}, connection="demo",
        ...                    dialect="duckdb", sql="SELECT 1", outcome="allowed")
        >>> [store.append(draft).seq for _ in range(3)]
        [1, 2, 3]
        >>> store.verify().ok
        True
        >>> store.close()
        """
        with (
            self._guard("write the audit event to"),
            self._write_connection() as conn,
            conn.begin(),
        ):
            self._lock(conn)
            head = conn.execute(self._head_query).first()
            seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
            event = draft.seal(
                seq=seq,
                prev_hash=prev_hash,
                event_id=new_event_id(),
                time=datetime.now(timezone.utc),
            )
            conn.execute(self._insert, self._row(event))
        return event

    @staticmethod
    def _row(event: AuditEvent) -> dict[str, Any]:
        return {"seq": event.seq, **index_of(event), "body": event.to_json()}

    # -- reading -------------------------------------------------------------------------
    def get(self, event_id: str) -> AuditEvent | None:
        """The event with this id, or ``None`` (also for a malformed id)."""
        if not _EVENT_ID.match(event_id):
            return None
        found = self._read(sa.select(self._table.c.body).where(self._table.c.id == event_id))
        return found[0] if found else None

    def query(
        self,
        *,
        user: str | None = None,
        users: list[str] | None = None,
        notebook: str | None = None,
        table: str | None = None,
        data_class: str | None = None,
        outcome: str | None = None,
        actor: str | None = None,
        since: TimeBound = None,
        until: TimeBound = None,
        limit: int | None = 200,
        newest_first: bool = True,
    ) -> list[AuditEvent]:
        """Events matching every given filter; ``since`` inclusive, ``until`` exclusive.

        ``actor`` matches exactly, or by prefix when it ends in ``*`` (``ai:*``).
        """
        c = self._table.c
        where = self._where(
            EventFilters(
                user=user,
                users=users,
                notebook=notebook,
                table=table,
                data_class=data_class,
                outcome=outcome,
                actor=actor,
                since=since,
                until=until,
            )
        )
        order = c.seq.desc() if newest_first else c.seq.asc()
        statement = sa.select(c.body).where(*where).order_by(order)
        if limit is not None:
            statement = statement.limit(max(0, limit))
        return self._read(statement)

    def latest_per_cell(self, notebook: str, user: str | None = None) -> list[AuditEvent]:
        """The newest event of each cell of ``notebook`` (of ``user``, if given), by seq."""
        c = self._table.c
        scope = [c.notebook == notebook, c.cell_id.is_not(None)]
        if user is not None:
            scope.append(c.user_name == user)
        newest = sa.select(sa.func.max(c.seq)).where(*scope).group_by(c.cell_id)
        return self._read(sa.select(c.body).where(c.seq.in_(newest)).order_by(c.seq))

    def head(self) -> tuple[int, str] | None:
        """``(seq, hash)`` of the last event, or ``None`` for an empty store."""
        c = self._table.c
        statement = sa.select(c.seq, c.hash).order_by(c.seq.desc()).limit(1)
        with self._guard("read the audit head from"), self._engine.connect() as conn:
            row = conn.execute(statement).first()
        return (int(row[0]), str(row[1])) if row else None

    def verify(self, expect_head: str | None = None) -> VerifyReport:
        """Check the whole chain, streaming it in seq order (see :mod:`.verify`)."""
        c = self._table.c
        columns = [c.seq, *(c[name] for name in _INDEX_COLUMNS), c.body]
        by_hash = sa.select(c.seq).where(c.hash == sa.bindparam("h"))
        with self._guard("verify the audit chain in"), self._engine.connect() as conn:

            def find_seq(value: str) -> int | None:
                return conn.execute(by_hash, {"h": value}).scalar()

            result = conn.execution_options(yield_per=_STREAM_BATCH).execute(
                sa.select(*columns).order_by(c.seq)
            )
            rows = (
                StoredRow(r[0], dict(zip(_INDEX_COLUMNS, r[1:-1], strict=True)), r[-1])
                for r in result
            )
            return verify_rows(rows, find_seq, expect_head)

    def iter_events(
        self, *, batch: int = _STREAM_BATCH, **filters: Unpack[EventFilters]
    ) -> Iterator[AuditEvent]:
        """Events matching the filters of :meth:`query`, oldest first, read in batches."""
        c, after = self._table.c, 0
        where = self._where(filters)
        while True:
            statement = sa.select(c.body).where(c.seq > after, *where).order_by(c.seq)
            page = self._read(statement.limit(batch))
            yield from page
            if len(page) < batch:
                return
            after = page[-1].seq

    def _where(self, filters: EventFilters) -> list[sa.ColumnElement[bool]]:
        c = self._table.c
        where: list[sa.ColumnElement[bool]] = []
        equal = {"user": c.user_name, "notebook": c.notebook, "outcome": c.outcome}
        for name, column in equal.items():
            if filters.get(name) is not None:
                where.append(column == filters.get(name))
        if (users := filters.get("users")) is not None:
            where.append(c.user_name.in_(users))
        if (table := filters.get("table")) is not None:
            where.append(c.tables_key.contains(f"\n{table}\n", autoescape=True))
        if (data_class := filters.get("data_class")) is not None:
            where.append(c.classes_key.contains(f"\n{data_class}\n", autoescape=True))
        if (actor := filters.get("actor")) is not None:
            prefix = actor.endswith("*")
            where.append(
                c.actor.startswith(actor[:-1], autoescape=True) if prefix else c.actor == actor
            )
        if (since := filters.get("since")) is not None:
            where.append(c.time >= _time_text(since))
        if (until := filters.get("until")) is not None:
            where.append(c.time < _time_text(until))
        return where

    def _read(self, statement: sa.Select[Any]) -> list[AuditEvent]:
        with self._guard("read audit events from"), self._engine.connect() as conn:
            bodies = conn.execute(statement).scalars().all()
        return [AuditEvent.model_validate_json(body) for body in bodies]

    def close(self) -> None:
        """Release every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> SqlAuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _guard(self, action: str) -> _Guard:
        return _Guard(f"cannot {action} {self.location.describe()}", self._explain)

    def _explain(self, error: BaseException) -> str:
        """One line on what went wrong, from the driver's first line (no row values)."""
        original = getattr(error, "orig", None) or error
        text = str(original).strip().splitlines()[0] if str(original).strip() else ""
        return text[:200] or type(original).__name__


_INDEX_COLUMNS = (
    "id",
    "time",
    "user_name",
    "actor",
    "notebook",
    "cell_id",
    "outcome",
    "tables_key",
    "classes_key",
    "prev_hash",
    "hash",
)


class _Guard:
    """Turns database and file errors inside a ``with`` into one-line ``AuditError``s."""

    def __init__(self, message: str, explain: Any) -> None:
        self._message = message
        self._explain = explain

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, _: object) -> None:
        if isinstance(error, (sa.exc.SQLAlchemyError, OSError)):
            raise AuditError(f"{self._message}: {self._explain(error)}") from error


def _forget_pool(engine_ref: weakref.ref[sa.Engine]) -> None:
    engine = engine_ref()
    if engine is not None:
        engine.dispose(close=False)


def _time_text(value: datetime | str) -> str:
    if isinstance(value, datetime):
        return format_time(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise BadInput(
            f"not an ISO time: {value[:40]!r}", hint="write 2026-11-28 or 2026-11-28T07:05:00Z"
        ) from error
    return format_time(moment)
