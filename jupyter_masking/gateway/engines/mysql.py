"""MariaDB through PyMySQL: read-only transactions, per-statement timeout and row cap.

Each query runs as ``SET STATEMENT tx_read_only=1, max_statement_time=…,
lock_wait_timeout=…, sql_select_limit=… FOR <query>`` inside ``START TRANSACTION READ
ONLY``, so the limits hold for that statement only and never leak to the next user of a
pooled connection. ``START TRANSACTION READ ONLY`` alone does not stop DDL: MariaDB
commits implicitly before ``CREATE``/``DROP`` and runs them outside the transaction
(measured on 10.11). ``tx_read_only`` (per session at connect, and per statement) does.
``SET STATEMENT`` is MariaDB syntax; MySQL servers are refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from jupyter_masking.errors import ConfigError
from jupyter_masking.gateway.dberrors import QueryFailed
from jupyter_masking.gateway.engines.introspect import rows_to_schema
from jupyter_masking.gateway.engines.pooled import POOL, PooledConnection, Transaction
from jupyter_masking.sql.schema import Schema

LOCK_SHARE = 0.9
NEWDECIMAL = 246  # MySQL protocol type code of DECIMAL results
LIMITS = (
    "SET STATEMENT tx_read_only = 1, max_statement_time = %(_jm_timeout)s,"
    " lock_wait_timeout = %(_jm_lock)s,"
    " sql_select_limit = %(_jm_limit)s FOR "
)

INTROSPECT = """
SELECT c.TABLE_SCHEMA, c.TABLE_NAME, t.TABLE_TYPE, c.COLUMN_NAME, c.COLUMN_TYPE, v.VIEW_DEFINITION
FROM information_schema.COLUMNS AS c
JOIN information_schema.TABLES AS t
  ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
LEFT JOIN information_schema.VIEWS AS v
  ON v.TABLE_SCHEMA = c.TABLE_SCHEMA AND v.TABLE_NAME = c.TABLE_NAME
WHERE c.TABLE_SCHEMA = %(db)s
ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION
"""

#: errno -> kind (https://mariadb.com/kb/en/mariadb-error-code-reference/).
ERRNOS = {
    1969: "timeout",
    3024: "timeout",
    1317: "timeout",
    1205: "lock_wait",
    1213: "lock_wait",
    1792: "read_only",
    1290: "read_only",
    1044: "permission",
    1045: "permission",
    1142: "permission",
    1143: "permission",
    1227: "permission",
    1064: "syntax",
    1049: "undefined",
    1054: "undefined",
    1146: "undefined",
    1305: "undefined",
    1927: "connection_lost",
    2006: "connection_lost",
    2013: "connection_lost",
    2055: "connection_lost",
    2003: "unreachable",
    1040: "resources",
    1365: "data",
    1292: "data",
    1366: "data",
    1264: "data",
}


class MySQLConnection(PooledConnection):
    """A MariaDB database through PyMySQL."""

    dialect = "mysql"
    param_style = "pyformat"

    def _create_engine(self, url: sa.URL) -> sa.Engine:
        args: dict[str, Any] = {"connect_timeout": 10, "charset": "utf8mb4"}
        args.update(self.config.connect_args)
        return sa.create_engine(url.set(drivername="mysql+pymysql"), connect_args=args, **POOL)

    def _on_connect(self, dbapi_connection: Any, record: Any) -> None:
        # DDL commits implicitly and escapes a read-only transaction; a read-only session does not
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET SESSION tx_read_only = 1")
        super()._on_connect(dbapi_connection, record)

    def _begin(self, conn: sa.Connection, tx: Transaction) -> None:
        if not getattr(conn.dialect, "is_mariadb", False):
            raise ConfigError(
                f"connection '{self.name}': only MariaDB servers are supported",
                hint="MySQL lacks SET STATEMENT max_statement_time",
            )
        conn.exec_driver_sql("START TRANSACTION READ ONLY")

    def _fetch(
        self, conn: sa.Connection, statement: str, params: dict[str, object], tx: Transaction
    ) -> tuple[pa.Table, bool]:
        limits = {
            "_jm_timeout": tx.timeout_s,
            "_jm_lock": max(1, math.floor(tx.timeout_s * LOCK_SHARE)),
            "_jm_limit": tx.max_rows + 1,
        }
        return super()._fetch(conn, LIMITS + statement, {**params, **limits}, tx)

    def _decimal_shape(self, description: Sequence[Any]) -> tuple[int, int] | None:
        # PyMySQL reports the display length: digits, plus sign, plus point when scale > 0
        length, scale = description[3], description[5]
        if (
            description[1] != NEWDECIMAL
            or not isinstance(length, int)
            or not isinstance(scale, int)
        ):
            return None
        precision = length - 1 - (1 if scale else 0)
        return (precision, scale) if 0 < precision <= 38 else None

    def _introspect(self) -> Schema:
        current = self._catalog("SELECT DATABASE()", {})[0][0]
        rows: list[Any] = []
        for db in self.config.schemas or ((current,) if current else ()):
            rows.extend(self._catalog(INTROSPECT, {"db": db}))
        return rows_to_schema("mysql", rows, default_db=current)

    def _classify(self, error: Exception) -> QueryFailed:
        orig: Any = getattr(error, "orig", None) or error
        errno = orig.args[0] if orig.args and isinstance(orig.args[0], int) else None
        kind = ERRNOS.get(errno or 0)
        if kind is None:
            lost = getattr(error, "connection_invalidated", False)
            kind = "connection_lost" if lost else "other"
        detail = orig.args[1] if len(orig.args) > 1 else None
        code = str(errno) if errno is not None else None
        return QueryFailed(kind, connection=self.name, code=code, detail=str(detail))

    def _connect_failed(self, error: Exception) -> QueryFailed:
        orig: Any = getattr(error, "orig", None) or error
        errno = orig.args[0] if orig.args and isinstance(orig.args[0], int) else None
        kind = "permission" if errno in (1044, 1045) else "unreachable"
        return QueryFailed(kind, connection=self.name, code=str(errno) if errno else None)
