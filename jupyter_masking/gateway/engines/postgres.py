"""PostgreSQL through psycopg 3: read-only sessions, identity settings for row-level security.

Sessions default to read-only (``SET SESSION CHARACTERISTICS``) and every query's
transaction starts with one statement of ``set_config(..., true)`` calls (the
``SET LOCAL`` form, with bound values): ``transaction_read_only``, ``statement_timeout``,
``lock_timeout``, ``application_name = 'jupyter-masking:<user>'`` and
``jupyter_masking.user`` / ``.groups`` / ``.actor``, so row-level security policies can
use ``current_setting('jupyter_masking.user', true)``, and the subkeys the masked SQL reads
(``jupyter_masking.k_...``): PostgreSQL logs the text of a failing statement by default, so
key material must not be part of it. Results stream through a
server-side cursor, so the row cap bounds memory, or, when every result column has a
plain type and no parameter is bound, in bulk through ``COPY ... TO STDOUT``
(:mod:`.pg_copy`), several times faster for large results.

Note that ``statement_timeout`` applies to each statement, and with a server-side cursor
each batch fetch is one; a query returning more than one batch may run longer in total.
"""

from __future__ import annotations

import uuid
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from jupyter_masking.gateway.dberrors import QueryFailed
from jupyter_masking.gateway.engines import pg_copy
from jupyter_masking.gateway.engines.introspect import rows_to_schema
from jupyter_masking.gateway.engines.pooled import (
    POOL,
    PooledConnection,
    Transaction,
    driver_cursor,
)
from jupyter_masking.gateway.tagging import application_name
from jupyter_masking.sql.schema import Schema

LOCK_SHARE = 0.9  # of the statement timeout a lock wait may take before it is reported as one

BEGIN = """SELECT set_config('transaction_read_only', 'on', true),
  set_config('statement_timeout', %(timeout_ms)s, true),
  set_config('lock_timeout', %(lock_ms)s, true),
  set_config('application_name', %(app)s, true),
  set_config('jupyter_masking.user', %(user)s, true),
  set_config('jupyter_masking.groups', %(groups)s, true),
  set_config('jupyter_masking.actor', %(actor)s, true)"""

INTROSPECT = """
WITH rel AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind,
         CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS view_sql
  FROM pg_catalog.pg_class AS c
  JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_%%'
    AND (cardinality(%(schemas)s::text[]) = 0 OR n.nspname = ANY(%(schemas)s::text[]))
    AND has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')
)
SELECT rel.nspname, rel.relname, rel.relkind, a.attname,
       pg_catalog.format_type(a.atttypid, a.atttypmod), rel.view_sql
FROM rel JOIN pg_catalog.pg_attribute AS a
  ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY rel.nspname, rel.relname, a.attnum
"""

#: SQLSTATE -> kind, then SQLSTATE class (first two characters) -> kind.
SQLSTATES = {
    "57014": "timeout",
    "55P03": "lock_wait",
    "40P01": "lock_wait",
    "25006": "read_only",
    "42501": "permission",
    "42601": "syntax",
    "42P01": "undefined",
    "42703": "undefined",
    "42883": "undefined",
    "42704": "undefined",
    "3F000": "undefined",
    "57P01": "connection_lost",
    "57P02": "connection_lost",
    "57P03": "unreachable",
    "08P01": "connection_lost",
}
CLASSES = {
    "08": "connection_lost",
    "22": "data",
    "28": "permission",
    "42": "other",
    "53": "resources",
    "54": "resources",
}


class PostgresConnection(PooledConnection):
    """A PostgreSQL database through psycopg 3."""

    dialect = "postgres"
    param_style = "pyformat"

    def _create_engine(self, url: sa.URL) -> sa.Engine:
        args: dict[str, Any] = {"connect_timeout": 10, **self.config.connect_args}
        return sa.create_engine(url.set(drivername="postgresql+psycopg"), connect_args=args, **POOL)

    def _on_connect(self, dbapi_connection: Any, record: Any) -> None:
        # a second lock behind the per-transaction setting: every transaction starts read-only
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        dbapi_connection.commit()
        super()._on_connect(dbapi_connection, record)

    def _cursor(self, dbapi_connection: Any) -> Any:
        # server-side: rows stream in batches, so the row cap also bounds memory
        return dbapi_connection.cursor(name=f"jm_{uuid.uuid4().hex[:12]}")

    def _begin(self, conn: sa.Connection, tx: Transaction) -> None:
        values: dict[str, str] = {
            "timeout_ms": str(max(1, round(tx.timeout_s * 1000))),
            "lock_ms": str(max(1, round(tx.timeout_s * 1000 * LOCK_SHARE))),
            "app": application_name(tx.identity),
            "user": tx.identity.user,
            "groups": ",".join(tx.identity.groups),
            "actor": tx.identity.actor,
        }
        # subkeys travel as bound values, never in statement text the server may log
        extra = []
        for i, (name, value) in enumerate(tx.settings.items()):
            values[f"jm_name{i}"], values[f"jm_value{i}"] = name, value
            extra.append(f",\n  set_config(%(jm_name{i})s, %(jm_value{i})s, true)")
        conn.exec_driver_sql(BEGIN + "".join(extra), values)

    def _fetch(
        self, conn: sa.Connection, statement: str, params: dict[str, object], tx: Transaction
    ) -> tuple[pa.Table, bool]:
        """Rows in bulk through COPY when every result type allows (see :mod:`.pg_copy`)."""
        table = None
        if not params:  # COPY cannot bind parameters server-side: the driver path binds them
            with driver_cursor(conn, lambda dbapi: dbapi.cursor()) as cursor:
                table = pg_copy.fetch(cursor, statement, tx.max_rows + 1)
        if table is None:
            return super()._fetch(conn, statement, params, tx)
        return table.slice(0, tx.max_rows), table.num_rows > tx.max_rows

    def _introspect(self) -> Schema:
        found = self._catalog(INTROSPECT, {"schemas": list(self.config.schemas)})
        current = self._catalog("SELECT current_schema()", {})[0][0]
        return rows_to_schema("postgres", found, default_db=current or "public")

    def _classify(self, error: Exception) -> QueryFailed:
        orig: Any = getattr(error, "orig", None) or error
        state = getattr(orig, "sqlstate", None) or ""
        kind = SQLSTATES.get(state) or CLASSES.get(state[:2])
        if kind is None and _is_client_data_error(orig):
            kind = "data"  # psycopg could not load a value (an infinite or BC timestamp)
        if kind is None:
            lost = getattr(error, "connection_invalidated", False) or _is_operational(orig)
            kind = "connection_lost" if lost else "other"
        detail = getattr(getattr(orig, "diag", None), "message_primary", None)
        return QueryFailed(kind, connection=self.name, code=state or None, detail=detail)

    def _connect_failed(self, error: Exception) -> QueryFailed:
        orig: Any = getattr(error, "orig", None) or error
        state = getattr(orig, "sqlstate", None)
        kind = "permission" if (state or "").startswith("28") else "unreachable"
        return QueryFailed(kind, connection=self.name, code=state)


def _is_operational(error: Any) -> bool:
    import psycopg

    return isinstance(error, psycopg.OperationalError)


def _is_client_data_error(error: Any) -> bool:
    import psycopg

    return isinstance(error, psycopg.DataError)
