"""Catalog rows to a :class:`~jupyter_masking.sql.schema.Schema`, the same for every engine.

Each engine's catalog query returns rows ``(db, table, kind, column, type, view_sql)``
ordered by table and column position. Kinds are normalised (``BASE TABLE``, ``r``,
``VIEW``, ``v`` ...); a view's definition is reduced to its query when the database
reports the whole ``CREATE VIEW`` statement.

>>> rows = [("main", "t", "table", "a", "INTEGER", None),
...         ("main", "v", "view", "a", "INTEGER", "CREATE VIEW v AS SELECT a FROM t;")]
>>> schema = rows_to_schema("duckdb", rows, default_db="main")
>>> schema.table("main", "v").view_sql
'SELECT a FROM t'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import groupby
from typing import Any, Literal

import sqlglot
from sqlglot import exp

from jupyter_masking.sql.schema import Column, Schema, Table

KINDS: dict[str, Literal["table", "view"]] = {
    "table": "table",
    "base table": "table",
    "system versioned": "table",
    "r": "table",
    "p": "table",
    "f": "table",
    "view": "view",
    "v": "view",
    "m": "view",
}


def view_query(sql: str | None, dialect: str) -> str | None:
    r"""The query of a view definition; ``None`` when it cannot be read.

    >>> view_query(" SELECT id\n   FROM customers;", "postgres")
    'SELECT id\n   FROM customers'
    """
    if not sql:
        return None
    text = sql.strip().rstrip(";").strip()
    if not text[:6].upper().startswith("CREATE"):
        return text
    try:
        create = sqlglot.parse_one(text, read=dialect)
    except sqlglot.errors.SqlglotError:
        return None
    query = create.expression if isinstance(create, exp.Create) else None
    return query.sql(dialect) if isinstance(query, exp.Query) else None


def rows_to_schema(
    dialect: str,
    rows: Iterable[Sequence[Any]],
    *,
    default_db: str | None,
    schemas: Sequence[str] = (),
) -> Schema:
    """Build a schema from catalog rows, keeping only ``schemas`` when given."""
    wanted = {s.lower() for s in schemas}
    tables: list[Table] = []
    for (db, name), group in groupby(rows, key=lambda r: (r[0], r[1])):
        if wanted and str(db).lower() not in wanted:
            continue
        members = list(group)
        kind = KINDS.get(str(members[0][2]).lower(), "table")
        tables.append(
            Table(
                db=db,
                name=name,
                columns=tuple(Column(r[3], str(r[4] or "")) for r in members),
                kind=kind,
                view_sql=view_query(members[0][5], dialect) if kind == "view" else None,
            )
        )
    return Schema(dialect=dialect, tables=tuple(tables), default_db=default_db)
