"""The default audit store: one SQLite file, shared safely by several kernels.

WAL mode lets readers run beside the writer; every append is a ``BEGIN IMMEDIATE``
transaction, so processes writing the same file take turns (waiting up to
``BUSY_TIMEOUT_S``) and never read the same head. ``synchronous=FULL`` (the default)
makes each event durable, power loss included, before the query that caused it returns
data; ``sqlite:///path?synchronous=normal`` trades that for speed (an event survives a
crash of the process, not of the machine).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from jupyter_masking.audit.sql_store import SqlAuditStore
from jupyter_masking.audit.store import ENV_VAR, Location
from jupyter_masking.errors import AuditError, ConfigError

BUSY_TIMEOUT_S = 30.0

# Fixed statements, no user input: the pragmas every connection runs once.
PRAGMAS: tuple[str, ...] = ("PRAGMA journal_mode=WAL", "PRAGMA case_sensitive_like=ON")
SYNCHRONOUS = {"full": "PRAGMA synchronous=FULL", "normal": "PRAGMA synchronous=NORMAL"}
OPTIONS = ("synchronous",)
_BEGIN = {True: "BEGIN IMMEDIATE", False: "BEGIN"}
_WRITE = "jm_audit_write"


class SqliteAuditStore(SqlAuditStore):
    """Audit events in one SQLite file (see the module docstring for the locking)."""

    kind = "sqlite"

    def __init__(self, location: Location, *, create: bool, table: str) -> None:
        path = Path(location.target)
        options = dict(location.options)
        unknown = sorted(set(options) - set(OPTIONS))
        synchronous = SYNCHRONOUS.get(options.get("synchronous", "full").lower())
        if unknown or synchronous is None:
            raise ConfigError(
                f"unsupported SQLite audit store option in {path}: {unknown or options}",
                hint="the only option is synchronous=full|normal",
            )
        if not create and not path.is_file():
            raise AuditError(
                f"no audit store at {path}",
                hint=f"check the path given with --store or in {ENV_VAR}",
            )
        if create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise AuditError(f"cannot create {path.parent}: {error.strerror}") from error
        url = sa.URL.create("sqlite+pysqlite", database=str(path))
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})
        pragmas = (*PRAGMAS, synchronous)
        sa.event.listen(engine, "connect", lambda conn, _record: _run_pragmas(conn, pragmas))
        sa.event.listen(engine, "begin", _on_begin)
        super().__init__(location, engine, table)
        if create:
            self.create()

    def _write_connection(self) -> sa.Connection:
        return self._engine.connect().execution_options(**{_WRITE: True})

    def _lock(self, conn: sa.Connection) -> None:
        # BEGIN IMMEDIATE already holds the write lock (see _on_begin).
        return None


def _run_pragmas(dbapi_connection: Any, pragmas: tuple[str, ...]) -> None:
    # Take transaction control from the sqlite3 module, so _on_begin decides how to begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in pragmas:
            try:
                cursor.execute(pragma)
            except Exception:  # noqa: S112 - a read-only file cannot switch to WAL; reads still work
                continue
    finally:
        cursor.close()


def _on_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql(_BEGIN[bool(conn.get_execution_options().get(_WRITE))])
