"""DuckDB through the ``duckdb`` module directly (Arrow without a row-by-row detour).

The file opens ``read_only`` with external access disabled, extension auto-install and
auto-load off, and the configuration locked, so ``read_csv('/etc/passwd')``, ``COPY``,
``ATTACH``, ``INSTALL`` and ``SET`` fail in the engine even if the analyzer missed them.
Each query runs on its own cursor (a cheap connection to the same database, sharing the
registered functions) inside ``BEGIN TRANSACTION READ ONLY``; a timer interrupts it at
the deadline.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from jupyter_masking.errors import BadInput, ConfigError
from jupyter_masking.gateway.connections import Connection, ConnectionConfig
from jupyter_masking.gateway.dberrors import QueryFailed
from jupyter_masking.gateway.engines.introspect import rows_to_schema
from jupyter_masking.gateway.engines.watchdog import guard
from jupyter_masking.gateway.params import render
from jupyter_masking.identity import Identity
from jupyter_masking.sql.schema import Schema

#: Settings a connection config may not override: they are the sandbox.
LOCKED = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "lock_configuration": True,
}
log = logging.getLogger(__name__)

_BATCH = 65_536
#: How long ``close`` interrupts a call still running before it leaves the database open.
_CLOSE_WAIT_S = 2.0

#: duckdb exception class -> kind.
KINDS = {
    "InterruptException": "timeout",
    "ParserException": "syntax",
    "CatalogException": "undefined",
    "BinderException": "undefined",
    "PermissionException": "permission",
    "ConversionException": "data",
    "OutOfRangeException": "data",
    "DataError": "data",
    "OutOfMemoryException": "resources",
    "ConnectionException": "connection_lost",
    "TransactionException": "lock_wait",
}
_MESSAGES = (
    ("read-only mode", "read_only"),
    ("prepared statement parameter", "parameters"),
    ("values were not provided", "parameters"),
)

INTROSPECT = """
SELECT c.schema_name, c.table_name, CASE WHEN v.view_name IS NULL THEN 'table' ELSE 'view' END,
       c.column_name, c.data_type, v.sql
FROM duckdb_columns() AS c
LEFT JOIN duckdb_views() AS v
  ON v.database_name = c.database_name AND v.schema_name = c.schema_name
 AND v.view_name = c.table_name AND NOT v.internal
WHERE c.database_name = current_database() AND NOT c.internal
ORDER BY c.schema_name, c.table_name, c.column_index
"""


class DuckDBConnection(Connection):
    """A DuckDB database file, read-only and sandboxed."""

    dialect = "duckdb"

    def __init__(self, config: ConnectionConfig, url: sa.URL) -> None:
        super().__init__(config, url)
        if not url.database or url.database == ":memory:":
            raise ConfigError(
                f"connection '{self.name}': DuckDB needs a database file",
                hint="use duckdb:///path/to/file.duckdb",
            )
        clashes = sorted(set(config.connect_args) & set(LOCKED))
        if clashes:
            raise ConfigError(
                f"connection '{self.name}': {', '.join(clashes)} cannot be changed",
                hint="these settings keep DuckDB read-only and sandboxed",
            )
        settings: dict[str, Any] = {**config.connect_args, **LOCKED}
        try:
            self._db = duckdb.connect(url.database, read_only=True, config=settings)
        except duckdb.Error as error:
            raise self._classify_open(error) from None
        self._hook_lock = threading.Lock()
        self._running: set[duckdb.DuckDBPyConnection] = set()  # cursors inside a query
        self._hooks_applied = 0

    def _classify_open(self, error: Exception) -> Exception:
        if isinstance(error, duckdb.IOException):
            return ConfigError(f"connection '{self.name}': cannot open the DuckDB database file")
        if isinstance(error, duckdb.ConnectionException):
            return ConfigError(
                f"connection '{self.name}': the DuckDB file is open in this process with"
                " other settings",
                hint="open it only through jupyter-masking connections",
            )
        return self._classify(error)

    def _hooks_changed(self) -> None:
        # functions registered on the parent connection are visible to every cursor
        with self._hook_lock:
            for hook in self._hooks[self._hooks_applied :]:
                hook(self._db)
            self._hooks_applied = len(self._hooks)

    def _run(
        self,
        sql: str,
        params: dict[str, object],
        identity: Identity,
        max_rows: int,
        timeout_s: float,
        settings: dict[str, str],  # DuckDB SQL writes its subkeys literally: none come
    ) -> tuple[pa.Table, bool]:
        statement = render(sql, params, self.dialect, "dollar")
        cursor = self._db.cursor()
        deadline = None
        self._running.add(cursor)
        try:
            with guard(timeout_s, cursor.interrupt) as deadline:
                if len(cursor.extract_statements(statement)) != 1:
                    raise BadInput("send exactly one SQL statement")
                cursor.execute("BEGIN TRANSACTION READ ONLY")
                reader = cursor.sql(statement, params=params or None).to_arrow_reader(
                    min(_BATCH, max_rows + 1)
                )
                batches: list[pa.RecordBatch] = []
                count = 0
                for batch in reader:
                    batches.append(batch)
                    count += batch.num_rows
                    if count > max_rows:
                        break
                table = pa.Table.from_batches(batches, schema=reader.schema)
        except Exception:
            if deadline is None or not deadline.fired:
                raise
            timed_out = True
        else:
            timed_out = False
        finally:
            self._running.discard(cursor)
            cursor.close()
        if timed_out:
            # raised outside the handler so the driver's message is not attached as context
            raise QueryFailed("timeout", connection=self.name)
        return table.slice(0, max_rows), count > max_rows

    def _introspect(self) -> Schema:
        cursor = self._db.cursor()
        try:
            rows = cursor.execute(INTROSPECT).fetchall()
            default = cursor.execute("SELECT current_schema()").fetchone()
        finally:
            cursor.close()
        return rows_to_schema(
            "duckdb",
            rows,
            default_db=default[0] if default else "main",
            schemas=self.config.schemas,
        )

    def _classify(self, error: Exception) -> QueryFailed:
        name = type(error).__name__
        kind = KINDS.get(name)
        if kind is None:
            message = str(error).lower()
            kind = next((k for text, k in _MESSAGES if text in message), "other")
        return QueryFailed(kind, connection=self.name, code=name, detail=str(error))

    def close(self) -> None:
        """Close the database, interrupting a call still running on it (an abandoned query)."""
        deadline = time.monotonic() + _CLOSE_WAIT_S
        while True:
            try:
                self._db.close()
                return
            except duckdb.ResourceInUseException:
                if time.monotonic() > deadline:
                    log.warning("connection '%s' still busy at close: left open", self.name)
                    return
                for cursor in list(self._running):  # a cursor's query holds the database
                    cursor.interrupt()
                time.sleep(0.02)
