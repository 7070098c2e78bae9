"""Shared machinery for engines reached through a SQLAlchemy pool (SQLite, PostgreSQL, MariaDB).

A subclass says how to start a read-only, tagged transaction (:meth:`PooledConnection._begin`),
how to classify its driver's errors, and how to introspect. Rows come back through the
DBAPI cursor in batches and become Arrow column by column.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa
import sqlalchemy as sa

from jupyter_masking.gateway.connections import SYSTEM, Connection, ConnectionConfig
from jupyter_masking.gateway.dberrors import QueryFailed
from jupyter_masking.gateway.params import Style, render
from jupyter_masking.identity import Identity

POOL = {"pool_size": 3, "max_overflow": 2, "pool_pre_ping": True, "pool_recycle": 1800}
_FETCH_BATCH = 10_000


@dataclass(frozen=True)
class Transaction:
    """What one query's read-only transaction carries.

    Attributes:
        identity: Who asks (tagged onto the transaction).
        max_rows: The row cap.
        timeout_s: The statement timeout.
        settings: Transaction settings the query reads; only engines whose SQL reads any
            (PostgreSQL: the plan's subkeys) are given some.
    """

    identity: Identity
    max_rows: int
    timeout_s: float
    settings: dict[str, str] = field(default_factory=dict, repr=False)


class PooledConnection(Connection):
    """A :class:`Connection` over a small SQLAlchemy pool with pre-ping."""

    param_style: ClassVar[Style]

    def __init__(self, config: ConnectionConfig, url: sa.URL) -> None:
        super().__init__(config, url)
        self.engine = self._create_engine(url)
        sa.event.listen(self.engine, "connect", self._on_connect)

    @abstractmethod
    def _create_engine(self, url: sa.URL) -> sa.Engine:
        """The SQLAlchemy engine (pool settings, driver arguments)."""

    @abstractmethod
    def _begin(self, conn: sa.Connection, tx: Transaction) -> None:
        """Start the read-only transaction ``tx`` describes (identity, timeout, row cap)."""

    def _connect(self) -> sa.Connection:
        """A pooled connection; failing here means the server is unreachable or refused us."""
        try:
            return self.engine.connect()
        except sa.exc.DBAPIError as error:
            failure = self._connect_failed(error)
        except sa.exc.TimeoutError:  # every pooled connection is busy
            failure = QueryFailed("resources", connection=self.name, code="pool exhausted")
        raise failure

    def _connect_failed(self, error: Exception) -> QueryFailed:
        """Classify a failure to connect (subclasses read the driver's code)."""
        return QueryFailed("unreachable", connection=self.name)

    def _end(self, conn: sa.Connection) -> None:
        """Undo per-query driver state before the connection returns to the pool."""

    def _on_connect(self, dbapi_connection: Any, record: Any) -> None:
        """Prepare a new driver connection (subclasses add read-only settings)."""
        self._apply_hooks(dbapi_connection, record.info)

    def _apply_hooks(self, dbapi_connection: Any, info: dict[str, Any]) -> None:
        done = info.get("jm_hooks", 0)
        for hook in self._hooks[done:]:
            hook(dbapi_connection)
        info["jm_hooks"] = len(self._hooks)

    def _hooks_changed(self) -> None:
        # Pooled connections get the new hooks at their next checkout (see _run).
        pass

    @contextmanager
    def _session(self, tx: Transaction) -> Iterator[sa.Connection]:
        """A pooled connection in a read-only, tagged transaction, rolled back on exit."""
        with self._connect() as conn:
            self._apply_hooks(conn.connection.dbapi_connection, conn.connection.info)
            self._begin(conn, tx)
            try:
                yield conn
            finally:
                # leaving the block also rolls the transaction back (SQLAlchemy resets on close)
                self._end(conn)

    def _run(
        self,
        sql: str,
        params: dict[str, object],
        identity: Identity,
        max_rows: int,
        timeout_s: float,
        settings: dict[str, str],
    ) -> tuple[pa.Table, bool]:
        statement = render(sql, params, self.dialect, self.param_style)
        tx = Transaction(identity, max_rows, timeout_s, settings)
        with self._session(tx) as conn:
            return self._fetch(conn, statement, params, tx)

    def _catalog(self, sql: str, params: dict[str, object]) -> list[Any]:
        """Rows of one catalog query, run like any other query (read-only, with a timeout)."""
        with self._session(Transaction(SYSTEM, 0, self.config.statement_timeout_s)) as conn:
            return list(conn.exec_driver_sql(sql, params).fetchall())

    def _fetch(
        self, conn: sa.Connection, statement: str, params: dict[str, object], tx: Transaction
    ) -> tuple[pa.Table, bool]:
        """Execute on a :func:`driver_cursor`; fetch at most ``tx.max_rows + 1`` rows."""
        max_rows = tx.max_rows
        with driver_cursor(conn, self._cursor) as cursor:
            cursor.execute(statement, params)
            names = [d[0] for d in cursor.description or ()]
            shapes = [self._decimal_shape(d) for d in cursor.description or ()]
            rows: list[Sequence[Any]] = []
            while len(rows) <= max_rows:
                wanted = min(_FETCH_BATCH, max_rows + 1 - len(rows))
                batch = cursor.fetchmany(wanted)
                rows.extend(batch)
                if len(batch) < wanted:
                    break
        truncated = len(rows) > max_rows
        return rows_to_arrow(names, rows[:max_rows], shapes), truncated

    def _cursor(self, dbapi_connection: Any) -> Any:
        """The DBAPI cursor a query runs on (PostgreSQL: a server-side one)."""
        return dbapi_connection.cursor()

    def _decimal_shape(self, description: Sequence[Any]) -> tuple[int, int] | None:
        """``(precision, scale)`` of a DECIMAL result column, from the cursor description."""
        precision, scale = description[4], description[5]
        if isinstance(precision, int) and isinstance(scale, int) and 0 < precision <= 38:
            return precision, scale
        return None

    def close(self) -> None:
        """Dispose of the pool."""
        self.engine.dispose()


@contextmanager
def driver_cursor(conn: sa.Connection, make: Callable[[Any], Any]) -> Iterator[Any]:
    """A DBAPI cursor (``make(dbapi_connection)``) on ``conn``, closed afterwards.

    The DBAPI cursor gives plain tuples (SQLAlchemy ``Row`` objects cost more than the fetch
    itself); a connection lost while it is used is still invalidated so the pool replaces it.
    """
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = make(dbapi)
    try:
        yield cursor
    except Exception as error:
        if conn.dialect.is_disconnect(error, dbapi, cursor):  # type: ignore[arg-type]
            conn.invalidate()
        raise
    finally:
        with contextlib.suppress(Exception):  # closing a cursor on a dead connection fails
            cursor.close()


def rows_to_arrow(
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    decimals: Sequence[tuple[int, int] | None] = (),
) -> pa.Table:
    """Rows from a DBAPI cursor as an Arrow table; duplicate names are kept.

    A column Arrow cannot type as a whole (mixed SQLite values, UUIDs, JSON) becomes text.
    ``decimals`` gives the declared ``(precision, scale)`` of decimal columns, which Arrow
    would otherwise infer from the values.

    >>> rows_to_arrow(["a", "b"], [(1, "x"), (2, None)]).to_pylist()
    [{'a': 1, 'b': 'x'}, {'a': 2, 'b': None}]
    >>> rows_to_arrow(["m"], [(1,), ("two",)]).column(0).to_pylist()
    ['1', 'two']
    """
    if not rows:
        return pa.Table.from_arrays([pa.array([], pa.null()) for _ in names], names=list(names))
    columns = list(zip(*rows, strict=True))
    arrays = [_array(list(c)) for c in columns]
    for i, shape in enumerate(decimals):
        if shape and i < len(arrays) and pa.types.is_decimal(arrays[i].type):
            # values that do not fit the declared shape keep the inferred type
            with contextlib.suppress(pa.ArrowInvalid, pa.ArrowTypeError):
                arrays[i] = arrays[i].cast(pa.decimal128(*shape))
    return pa.Table.from_arrays(arrays, names=list(names))


_AS_TEXT: tuple[type, ...] = (uuid.UUID, dict, list)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, sort_keys=True)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def _array(values: list[Any]) -> pa.Array:
    first = next((v for v in values if v is not None), None)
    if not isinstance(first, _AS_TEXT):
        try:
            return pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass  # mixed types: text below
    return pa.array([_text(v) for v in values], pa.string())
