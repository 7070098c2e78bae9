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

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from sqlglot.dialects.dialect import Dialect, NormalizationStrategy
from sqlglot.schema import MappingSchema

T = TypeVar("T")

# MappingSchema caches lookups keyed by the query's own Table nodes, which qualification then
# changes: the keys' hashes go stale, so a shared mapping's caches grow with every query and
# each lookup probes the stale entries (analysis got slower query by query).
_LOOKUP_CACHES = ("_find_cache", "_normalized_table_cache")

# Dialects whose identifiers the analyzer compares case-insensitively, beyond what sqlglot
# says: MySQL/MariaDB column names never depend on case, and table names depend on the
# server's lower_case_table_names, so we treat both case-insensitively.
CASE_INSENSITIVE_DIALECTS = frozenset({"mysql"})


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

    def __deepcopy__(self, memo: dict[int, object]) -> Table:
        # Immutable: sqlglot deep-copies node metadata, where the analyzer keeps the Table.
        return self

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
    _by_folded_key: dict[tuple[str | None, str], list[Table]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _derived: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for table in self.tables:
            self._by_key.setdefault((table.db, table.name), table)
            folded = self._by_folded_key.setdefault((_fold(table.db), table.name.lower()), [])
            folded.append(table)

    @property
    def case_insensitive(self) -> bool:
        """Whether the dialect compares identifiers without regard to case, quoted or not.

        DuckDB, SQLite and MySQL/MariaDB do; PostgreSQL folds unquoted names to lower case
        and keeps quoted names as written.
        """
        if self.dialect in CASE_INSENSITIVE_DIALECTS:
            return True
        strategy = Dialect.get_or_raise(self.dialect).normalization_strategy
        return strategy is NormalizationStrategy.CASE_INSENSITIVE

    def table(self, db: str | None, name: str) -> Table | None:
        """The table ``db.name``; an unqualified ``db`` means :attr:`default_db`.

        An exact match wins; otherwise a case-insensitive match, when exactly one table fits.
        """
        db = db if db is not None else self.default_db
        exact = self._by_key.get((db, name))
        if exact is not None:
            return exact
        folded = self._by_folded_key.get((_fold(db), name.lower()), [])
        return folded[0] if len(folded) == 1 else None

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

    def normalized_mapping(self) -> MappingSchema:
        """A MappingSchema whose column names compare equal to sqlglot-normalized identifiers.

        Table paths keep their exact names (the analyzer rewrites table references to them);
        column names are lower-cased where the dialect is :attr:`case_insensitive`. Tables are
        nested ``catalog.db.name`` when any table has a catalog, ``db.name`` when any has a db;
        missing parts fall back to :attr:`default_catalog`/:attr:`default_db`, and a table that
        still lacks one is left out. Built once per schema.
        """
        return self.derived("normalized_mapping", self._build_normalized_mapping)

    def query_mapping(self) -> MappingSchema:
        """:meth:`normalized_mapping` for one query, with empty lookup caches.

        It shares the tables, so it is cheap; nothing one query leaves behind slows the next.
        """
        mapping = copy.copy(self.normalized_mapping())
        for cache in _LOOKUP_CACHES:
            if hasattr(mapping, cache):
                setattr(mapping, cache, {})
        return mapping

    def derived(self, key: str, build: Callable[[], T]) -> T:
        """A value computed from this (immutable) schema, built on first use and kept.

        Other modules keep per-schema caches here (the analyzer's mapping and analyses), so
        they live exactly as long as the schema they were computed from.
        """
        if key not in self._derived:
            self._derived.setdefault(key, build())
        return self._derived[key]  # type: ignore[no-any-return]

    def _build_normalized_mapping(self) -> MappingSchema:
        depth = (
            3 if any(t.catalog for t in self.tables) else 2 if any(t.db for t in self.tables) else 1
        )
        nested: dict[str, object] = {}
        for table in self.tables:
            path = self.mapping_path(table, depth)
            if path is None:
                continue
            columns = {
                (c.name.lower() if self.case_insensitive else c.name): c.type for c in table.columns
            }
            level: dict[str, object] = nested
            for part in path[:-1]:
                level = level.setdefault(part, {})  # type: ignore[assignment]
            level[path[-1]] = columns
        return MappingSchema(nested, dialect=self.dialect, normalize=False)

    def mapping_path(self, table: Table, depth: int | None = None) -> tuple[str, ...] | None:
        """The key path of ``table`` in :meth:`normalized_mapping` (``None``: left out)."""
        if depth is None:
            depth = len(self.normalized_mapping().supported_table_args) or 1
        parts = (
            table.catalog or self.default_catalog,
            table.db or self.default_db,
            table.name,
        )[3 - depth :]
        if any(part is None for part in parts):
            return None
        return tuple(p for p in parts if p is not None)


def _fold(name: str | None) -> str | None:
    return name.lower() if name is not None else None
