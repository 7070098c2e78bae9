"""The live schema of a connection: tables (and views) with their ordered, typed columns.

Connections introspect it, the analyzer qualifies queries against it, the catalog
classifies its columns. Names are stored as the database reports them; lookups go
through sqlglot's :class:`~sqlglot.schema.MappingSchema`, which normalises
identifiers per dialect.

>>> users = Table(db="crm", name="users", columns=(Column("id", "INT"), Column("email", "TEXT")))
>>> schema = Schema(dialect="duckdb", tables=(users,))
>>> schema.table("crm", "users").path
'crm.users'
>>> schema.mapping().column_names("crm.users")
['id', 'email']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlglot.schema import MappingSchema


@dataclass(frozen=True)
class Column:
    """One column: its name and its type as SQL text in the connection's dialect."""

    name: str
    type: str


@dataclass(frozen=True)
class Table:
    """A table or view.

    Attributes:
        db: The schema (PostgreSQL, DuckDB) or database (MariaDB) holding it; ``None`` for SQLite.
        name: The table name.
        columns: The columns in table order.
        catalog: The catalog (DuckDB database file alias, PostgreSQL database), when relevant.
        kind: ``table`` or ``view``.
        view_sql: A view's defining query, when the database reports it.
    """

    db: str | None
    name: str
    columns: tuple[Column, ...]
    catalog: str | None = None
    kind: Literal["table", "view"] = "table"
    view_sql: str | None = None

    @property
    def path(self) -> str:
        """Dotted path ``[catalog.]db.name`` as used in audit events and policy globs."""
        return ".".join(p for p in (self.catalog, self.db, self.name) if p)

    def column(self, name: str) -> Column | None:
        """The column called ``name`` (exact match first, then case-insensitive)."""
        for column in self.columns:
            if column.name == name:
                return column
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)


@dataclass(frozen=True)
class Schema:
    """Every table and view a connection can read, in one dialect.

    Attributes:
        dialect: The sqlglot dialect name (``duckdb``, ``postgres``, ``mysql``, ``sqlite``).
        tables: The tables and views.
        default_db: The schema or database unqualified names resolve to (``public``, ``main``).
        default_catalog: The catalog unqualified names resolve to, when relevant.
    """

    dialect: str
    tables: tuple[Table, ...]
    default_db: str | None = None
    default_catalog: str | None = None
    _by_key: dict[tuple[str | None, str], Table] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for table in self.tables:
            self._by_key[(_fold(table.db), table.name.lower())] = table

    def table(self, db: str | None, name: str) -> Table | None:
        """The table ``db.name``; an unqualified ``db`` means :attr:`default_db`."""
        key = (_fold(db if db is not None else self.default_db), name.lower())
        return self._by_key.get(key)

    def mapping(self) -> MappingSchema:
        """A sqlglot MappingSchema for qualification and lineage."""
        nested: dict[str, object] = {}
        for table in self.tables:
            columns = {c.name: c.type for c in table.columns}
            level: dict[str, object] = nested
            for part in (table.catalog, table.db):
                if part is not None:
                    level = level.setdefault(part, {})  # type: ignore[assignment]
            level[table.name] = columns
        return MappingSchema(nested, dialect=self.dialect, normalize=False)


def _fold(name: str | None) -> str | None:
    return name.lower() if name is not None else None
