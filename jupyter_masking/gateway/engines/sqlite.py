"""SQLite: a file opened with ``mode=ro``, ``PRAGMA query_only`` and an authorizer.

``mode=ro`` stops writes to the file; ``query_only`` stops writes anywhere (temp tables
too); the authorizer refuses ``ATTACH`` (which could create or write other files, since
the connection understands URI file names), ``DETACH`` and every pragma except the
read-only ones introspection needs. The timeout is a progress handler that aborts the
statement once the deadline passes.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from jupyter_masking.errors import ConfigError
from jupyter_masking.gateway.dberrors import QueryFailed
from jupyter_masking.gateway.engines.introspect import rows_to_schema
from jupyter_masking.gateway.engines.pooled import POOL, PooledConnection, Transaction
from jupyter_masking.sql.schema import Schema

#: pragmas that read about a table (they take its name) and settings that may be read (no value)
_TABLE_PRAGMAS = frozenset({"table_info", "table_xinfo", "index_list", "index_info"})
_READ_SETTINGS = frozenset({"read_uncommitted", "query_only"})
_DENY = frozenset(
    getattr(sqlite3, name)
    for name in dir(sqlite3)
    if name.startswith(("SQLITE_CREATE_", "SQLITE_DROP_"))
    or name
    in {
        "SQLITE_ATTACH",
        "SQLITE_DETACH",
        "SQLITE_INSERT",
        "SQLITE_DELETE",
        "SQLITE_ALTER_TABLE",
        "SQLITE_REINDEX",
        "SQLITE_ANALYZE",
    }
)
_SCHEMA_TABLES = frozenset({"sqlite_master", "sqlite_temp_master", "sqlite_schema"})
_PROGRESS_STEPS = 1000

#: sqlite error name -> kind; SQLITE_ERROR is split by message below.
KINDS = {
    "SQLITE_INTERRUPT": "timeout",
    "SQLITE_BUSY": "lock_wait",
    "SQLITE_LOCKED": "lock_wait",
    "SQLITE_READONLY": "read_only",
    "SQLITE_AUTH": "permission",
    "SQLITE_CANTOPEN": "unreachable",
    "SQLITE_RANGE": "parameters",
    "SQLITE_TOOBIG": "resources",
    "SQLITE_NOMEM": "resources",
    "SQLITE_FULL": "resources",
}
_ERROR_MESSAGES = (
    ("no such table", "undefined"),
    ("no such column", "undefined"),
    ("no such function", "undefined"),
    ("syntax error", "syntax"),
    ("not authorized", "permission"),
    ("supply a value for binding", "parameters"),
    ("binding parameter", "parameters"),
    ("interrupted", "timeout"),
)

INTROSPECT = """
SELECT 'main' AS db, m.name, m.type, p.name AS column_name, p.type AS column_type, m.sql
FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p
WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
ORDER BY m.name, p.cid
"""


def _authorize(action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
    if action == sqlite3.SQLITE_PRAGMA:
        allowed = (arg1 in _TABLE_PRAGMAS and arg2) or (arg1 in _READ_SETTINGS and arg2 is None)
        return sqlite3.SQLITE_OK if allowed else sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_UPDATE and arg1 not in _SCHEMA_TABLES:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_DENY if action in _DENY else sqlite3.SQLITE_OK


class SQLiteConnection(PooledConnection):
    """A read-only SQLite file."""

    dialect = "sqlite"
    param_style = "named"

    def _create_engine(self, url: sa.URL) -> sa.Engine:
        if not url.database or url.database == ":memory:":
            raise ConfigError(
                f"connection '{self.name}': SQLite needs a database file",
                hint="use sqlite:///path/to/file.db",
            )
        path = Path(url.database).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"connection '{self.name}': the SQLite database file does not exist")
        uri = f"file:{quote(str(path))}?mode=ro"
        busy_s = float(str(self.config.connect_args.get("timeout", 2.0)))

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(uri, uri=True, timeout=busy_s, check_same_thread=False)
            conn.execute("PRAGMA query_only = 1")
            conn.set_authorizer(_authorize)
            return conn

        return sa.create_engine("sqlite://", creator=connect, poolclass=sa.QueuePool, **POOL)

    def _begin(self, conn: sa.Connection, tx: Transaction) -> None:
        deadline = time.monotonic() + tx.timeout_s
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        dbapi.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)

    def _end(self, conn: sa.Connection) -> None:
        dbapi = None if conn.invalidated else conn.connection.dbapi_connection
        if dbapi is not None:
            dbapi.set_progress_handler(None, 0)

    def _introspect(self) -> Schema:
        rows = self._catalog(INTROSPECT, {})
        return rows_to_schema("sqlite", rows, default_db="main", schemas=self.config.schemas)

    def _classify(self, error: Exception) -> QueryFailed:
        orig: Any = getattr(error, "orig", None) or error
        name = getattr(orig, "sqlite_errorname", None)
        kind = KINDS.get(name or "")
        message = str(orig).lower()
        if kind is None:
            kind = next((k for text, k in _ERROR_MESSAGES if text in message), "other")
        return QueryFailed(kind, connection=self.name, code=name, detail=str(orig))
