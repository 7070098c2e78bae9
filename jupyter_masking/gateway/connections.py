"""Read-only database connections: one small class per engine behind one interface.

A :class:`Connection` runs SQL the gateway already generated, in a read-only transaction,
with a statement timeout, a row cap and the caller's identity attached (a sqlcommenter
comment everywhere; on PostgreSQL also ``application_name`` and ``jupyter_masking.*``
settings for row-level security). It introspects the live :class:`Schema` and draws raw
samples for content profiling. Failures become one-line
:class:`~jupyter_masking.gateway.dberrors.QueryFailed` errors that never hold the URL,
credentials or values.

URLs are SQLAlchemy URLs: ``duckdb:///path.duckdb``, ``sqlite:///path.db``,
``postgresql://user:pw@host/db`` (psycopg 3), ``mysql://`` or ``mariadb://`` (PyMySQL),
``spark://local[2]?warehouse=/path`` (a local PySpark session) and ``sc://host:15002``
(Spark Connect; see :mod:`jupyter_masking.gateway.engines.spark`).
``${NAME}`` in a URL is read from the environment when the connection opens.

>>> config = ConnectionConfig("warehouse", "postgresql://reader:s3cret@db.internal/sales")
>>> config  # doctest: +ELLIPSIS
ConnectionConfig(name='warehouse', url='postgresql://reader:***@db.internal/sales', ...)
>>> "s3cret" in str(config)
False
"""

from __future__ import annotations

import os
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, cast
from urllib.parse import quote

import pyarrow as pa
import sqlalchemy as sa
from sqlglot import exp

from jupyter_masking.errors import ConfigError, MaskingError
from jupyter_masking.gateway.dberrors import QueryFailed
from jupyter_masking.gateway.tagging import tag_sql
from jupyter_masking.identity import Identity
from jupyter_masking.sql.schema import Schema, Table

if TYPE_CHECKING:
    import pandas as pd

#: Identity that tags the gateway's own queries (introspection, profiling samples).
SYSTEM = Identity(user="jupyter-masking", actor="human")
SCHEMA_TTL_S = 300.0

_SECRET_QUERY_KEYS = re.compile(r"pass|pwd|secret|token|key", re.IGNORECASE)
_MASK = "REDACTED0MASK"  # URL-safe stand-in, shown as *** once the URL is rendered
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, repr=False)
class ConnectionConfig:
    """A configured database connection.

    Attributes:
        name: Short name (``demo``, ``warehouse``); the catalog part of column paths.
        url: SQLAlchemy URL. May hold a password: it never appears in repr, str or errors.
        statement_timeout_s: Longest a statement may run; calls may ask for less, not more.
        max_rows: Row cap; calls may ask for fewer, not more. Results say if they were cut.
        connect_args: Extra driver arguments (DuckDB: extra config settings).
        schemas: Schemas (PostgreSQL, DuckDB) or databases (MariaDB) to introspect; empty means
            every readable one (MariaDB: the connected database).
        schema_ttl_s: How long an introspected schema is reused.
    """

    name: str
    url: str
    statement_timeout_s: float = 30.0
    max_rows: int = 100_000
    connect_args: dict[str, object] = field(default_factory=dict)
    schemas: tuple[str, ...] = ()
    schema_ttl_s: float = SCHEMA_TTL_S

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}", self.name):
            raise ConfigError(
                f"invalid connection name {self.name[:40]!r}",
                hint="use letters, digits, _ and -",
            )
        if not self.statement_timeout_s > 0 or self.max_rows < 1:
            raise ConfigError(f"connection '{self.name}': timeout and max_rows must be positive")

    def __repr__(self) -> str:
        return (
            f"ConnectionConfig(name={self.name!r}, url={redact_url(self.url)!r}, "
            f"statement_timeout_s={self.statement_timeout_s}, max_rows={self.max_rows})"
        )


@dataclass
class QueryResult:
    """Rows from one query.

    Attributes:
        table: The rows as Arrow.
        truncated: Whether the row cap cut the result.
        duration_ms: Wall time from sending the query to holding the rows.
    """

    table: pa.Table
    truncated: bool
    duration_ms: float


ConnectHook = Callable[[Any], None]


class Connection(ABC):
    """One configured database, read-only. Subclasses implement one engine each.

    Attributes:
        name: The configured connection name.
        dialect: The sqlglot dialect of the SQL this connection runs.
    """

    dialect: ClassVar[str]

    def __init__(self, config: ConnectionConfig, url: sa.URL) -> None:
        # ``url`` (with any password, env-expanded) is for the engine's driver only: never kept here
        self.config = config
        self.name = config.name
        self._schema: Schema | None = None
        self._schema_at = 0.0
        self._schema_lock = threading.Lock()
        self._hooks: list[ConnectHook] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {redact_url(self.config.url)}>"

    def schema(self, *, refresh: bool = False) -> Schema:
        """The live schema, introspected and cached for ``config.schema_ttl_s`` seconds.

        Raises:
            QueryFailed: The database could not be read.
        """
        with self._schema_lock:
            fresh = time.monotonic() - self._schema_at < self.config.schema_ttl_s
            if self._schema is None or refresh or not fresh:
                self._schema = self._guard(self._introspect)
                self._schema_at = time.monotonic()
            return self._schema

    def execute(
        self,
        sql: str,
        params: Mapping[str, object],
        identity: Identity,
        *,
        max_rows: int | None = None,
        timeout_s: float | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> QueryResult:
        """Run one generated read-only statement with bound ``params`` as ``identity``.

        Args:
            sql: One statement in this connection's dialect; parameters written as sqlglot
                renders ``exp.Placeholder(this=name)`` (or ``:name``).
            params: Values of the named parameters; bound by the driver, never spliced.
            identity: Who asks; tagged onto the query.
            max_rows: Row cap for this call, at most ``config.max_rows``.
            timeout_s: Timeout for this call, at most ``config.statement_timeout_s``.
            settings: Transaction settings the SQL reads (PostgreSQL: a plan's subkeys), set
                with bound values before it runs; other engines never get any.

        Raises:
            QueryFailed: The database failed or refused (timeout, lost connection, write ...).
        """
        rows = min(max_rows or self.config.max_rows, self.config.max_rows)
        timeout = min(timeout_s or self.config.statement_timeout_s, self.config.statement_timeout_s)
        tagged = tag_sql(sql, identity)
        started = time.perf_counter()
        table, truncated = self._guard(
            lambda: self._run(
                tagged, dict(params), identity, max(rows, 0), timeout, dict(settings or {})
            )
        )
        return QueryResult(table, truncated, (time.perf_counter() - started) * 1000)

    def sample(self, table: Table, columns: Sequence[str], n: int = 200) -> pd.DataFrame:
        """Up to ``n`` raw rows of ``columns`` with at least one non-null value.

        For content profiling inside the gateway only: never return these rows to users.
        """
        if not columns:
            return cast("pd.DataFrame", pa.table({}).to_pandas())
        cols = [exp.column(c, quoted=True) for c in columns]
        any_value = exp.or_(*[c.copy().is_(exp.null()).not_() for c in cols])
        query = (
            exp.select(*cols)
            .from_(exp.table_(table.name, db=table.db, quoted=True))
            .where(any_value)
            .limit(n)
        )
        result = self.execute(query.sql(self.dialect), {}, SYSTEM, max_rows=n)
        return cast("pd.DataFrame", result.table.to_pandas())

    def add_connect_hook(self, hook: ConnectHook) -> None:
        """Call ``hook(dbapi_connection)`` on every driver connection, current and future.

        Use it to register functions on SQLite and DuckDB connections.
        """
        self._hooks.append(hook)
        self._hooks_changed()

    def _guard(self, work: Callable[[], Any]) -> Any:
        """Run ``work``; any driver exception becomes a one-line :class:`QueryFailed`."""
        try:
            return work()
        except MaskingError:
            raise
        except Exception as error:  # every driver error is mapped; none escapes raw
            failure = self._classify(error)
        # raised outside the except block: the driver's message (which may quote values
        # or the URL) must not travel along as __context__
        raise failure

    @abstractmethod
    def _run(
        self,
        sql: str,
        params: dict[str, object],
        identity: Identity,
        max_rows: int,
        timeout_s: float,
        settings: dict[str, str],
    ) -> tuple[pa.Table, bool]:
        """Run ``sql`` read-only; return the first ``max_rows`` rows and whether there were more.

        ``settings`` are transaction settings to set first (see :meth:`execute`).
        """

    @abstractmethod
    def _introspect(self) -> Schema:
        """Read the live schema."""

    @abstractmethod
    def _classify(self, error: Exception) -> QueryFailed:
        """Map a driver exception to a :class:`QueryFailed`."""

    @abstractmethod
    def _hooks_changed(self) -> None:
        """Apply newly added connect hooks to open driver connections."""

    @abstractmethod
    def close(self) -> None:
        """Close every driver connection."""


def redact_url(url: str) -> str:
    """``url`` with its password, and query values that look secret, replaced by ``***``.

    >>> redact_url("postgresql://bob:pa55@db:5432/x?sslpassword=k&sslmode=require")
    'postgresql://bob:***@db:5432/x?sslmode=require&sslpassword=***'
    >>> redact_url("not a url")
    '<unparseable URL>'
    """
    try:
        parsed = sa.make_url(url)
    except Exception:  # a malformed URL is shown as nothing at all
        return "<unparseable URL>"
    query = {k: (_MASK if _SECRET_QUERY_KEYS.search(k) else v) for k, v in parsed.query.items()}
    shown = parsed.set(query=query).render_as_string(hide_password=True)
    return shown.replace(_MASK, "***")


def expand_env(url: str, name: str) -> str:
    """``url`` with each ``${VAR}`` replaced from the environment.

    A URL that is exactly ``${VAR}`` takes the variable as is; elsewhere the value is
    URL-quoted (a password with ``@`` or ``/`` works).

    Raises:
        ConfigError: A variable is not set (the error names it, never a value).
    """
    whole = _ENV.fullmatch(url.strip())

    def value(match: re.Match[str]) -> str:
        found = os.environ.get(match.group(1))
        if found is None:
            raise ConfigError(
                f"connection '{name}': environment variable {match.group(1)} is not set"
            )
        return found if whole else quote(found, safe="")

    return _ENV.sub(value, url)


def open_connection(config: ConnectionConfig) -> Connection:
    """Open ``config`` with the engine its URL names.

    Servers are contacted lazily: an unreachable server shows up as a
    :class:`QueryFailed` of kind ``unreachable`` on the first query.

    Raises:
        ConfigError: The URL is malformed, names an unsupported driver, or a file is missing.

    >>> open_connection(ConnectionConfig("x", "oracle://scott:tiger@h/db"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    jupyter_masking.errors.ConfigError: configuration error: connection 'x': unsupported ...
    """
    from jupyter_masking.gateway.engines import engine_for

    try:
        url = sa.make_url(expand_env(config.url, config.name))
    except ConfigError:
        raise
    except Exception:  # the parser's message repeats the URL: drop it
        raise ConfigError(f"connection '{config.name}': malformed database URL") from None
    return engine_for(url, config.name)(config, url)
