"""One module per database engine; :data:`ENGINES` finds the class for a URL.

Adding an engine: a module here with a :class:`~jupyter_masking.gateway.connections.Connection`
subclass, a row in :data:`ENGINES`, and a ``tests/test_connections_<engine>.py``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import sqlalchemy as sa

from jupyter_masking.errors import ConfigError

if TYPE_CHECKING:
    from jupyter_masking.gateway.connections import Connection

#: URL backend -> (module in this package, class, accepted drivers; "" is no driver).
ENGINES: dict[str, tuple[str, str, frozenset[str]]] = {
    "duckdb": ("duckdb", "DuckDBConnection", frozenset({""})),
    "sqlite": ("sqlite", "SQLiteConnection", frozenset({"", "pysqlite"})),
    "postgresql": ("postgres", "PostgresConnection", frozenset({"", "psycopg"})),
    "postgres": ("postgres", "PostgresConnection", frozenset({"", "psycopg"})),
    "mysql": ("mysql", "MySQLConnection", frozenset({"", "pymysql"})),
    "mariadb": ("mysql", "MySQLConnection", frozenset({"", "pymysql"})),
    "spark": ("spark", "SparkConnection", frozenset({""})),
    "sc": ("spark", "SparkConnection", frozenset({""})),
}


def engine_for(url: sa.URL, name: str) -> type[Connection]:
    """The connection class for ``url``.

    Raises:
        ConfigError: The backend or driver is not supported.
    """
    backend, _, driver = url.drivername.partition("+")
    if backend not in ENGINES:
        raise ConfigError(
            f"connection '{name}': unsupported database {backend!r}",
            hint="use duckdb, sqlite, postgresql, mysql/mariadb, spark://local[N] or sc:// URLs",
        )
    module, cls, drivers = ENGINES[backend]
    if driver not in drivers:
        allowed = ", ".join(sorted(d for d in drivers if d)) or "none"
        raise ConfigError(
            f"connection '{name}': unsupported driver {driver!r} for {backend}",
            hint=f"use {backend}:// or one of these drivers: {allowed}",
        )
    found: type[Connection] = getattr(importlib.import_module(f"{__name__}.{module}"), cls)
    return found
