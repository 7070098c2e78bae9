"""Table references: resolve each against the live schema, and inline views.

Every physical table reference is tagged with its schema :class:`Table` (under
:data:`~jupyter_masking.sql.lineage.TABLE_META`) and renamed to its exact schema path, so the
rewrite and the database see the same table the policy saw. A reference to a view whose
definition is known becomes a subquery of that definition, so lineage and the masking rewrite
reach the base tables; the analyzer checks each definition with the same read-only rules as a
user's query, up to :data:`MAX_DEPTH` views deep.

>>> import sqlglot
>>> query = view_query("CREATE VIEW v AS SELECT id FROM users", "duckdb", "v")
>>> query.sql()
'SELECT id FROM users'
>>> outer = sqlglot.parse_one("SELECT id FROM v AS x")
>>> inline(outer.find(sqlglot.exp.Table), query).sql()
'(SELECT id FROM users) AS x'
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.scope import Scope, traverse_scope

from jupyter_masking.errors import Refused
from jupyter_masking.sql.lineage import TABLE_META
from jupyter_masking.sql.schema import Schema, Table

MAX_DEPTH = 8
"""Views nested deeper than this (or defined in a cycle) are refused."""

HINT = "ask an admin to check the view definition, or query its base tables directly"

# Schemas of system catalogs: never in a connection's schema, refused with a clearer message.
SYSTEM_SCHEMAS = frozenset(
    {"pg_catalog", "information_schema", "mysql", "performance_schema", "sys", "pg_toast"}
)
_SYSTEM_TABLE_PREFIXES = ("sqlite_", "pg_", "duckdb_")

Prepare = Callable[[Table, Schema], exp.Query]
"""Parses and checks a view definition, returning it with its tables qualified (not resolved)."""


def resolve_tables(query: exp.Query, schema: Schema, prepare: Prepare) -> None:
    """Tag every physical table reference in ``query`` and inline the views, in place.

    Raises:
        Refused: A table is not in the schema, a reference cannot be resolved, or a view
            cannot be expanded.
    """
    _resolve(query, schema, prepare, ())


def _resolve(query: exp.Query, schema: Schema, prepare: Prepare, stack: tuple[str, ...]) -> None:
    physical: dict[int, exp.Table] = {}
    understood: set[int] = set()  # physical tables, CTE references and table functions
    cte_names: set[str] = set()
    for scope in traverse_scope(query):
        cte_names.update(cte.alias for cte in scope.ctes)
        for node in scope.tables:
            source = scope.sources.get(node.alias_or_name)
            if source is node and not isinstance(node.this, exp.Func):
                physical[id(node)] = node
            is_cte_reference = isinstance(source, Scope) and source.is_cte and not node.db
            if source is node or is_cte_reference:
                understood.add(id(node))
    for node in query.find_all(exp.Table):
        plain = isinstance(node.this, exp.Identifier)
        if (id(node) in understood and plain) or isinstance(node.this, exp.Func):
            continue
        if node.args.get("rows_from"):
            continue
        if node.name in cte_names and not node.db:
            raise _unknown(node, schema, cte_names)  # a CTE reading itself: recursion
        raise Refused(
            f"table reference {node.sql()} could not be resolved",
            construct=node.alias_or_name,
            hint="give each table in FROM and JOIN its own alias",
        )
    for node in physical.values():
        table = _lookup(node, schema, cte_names)
        if table.kind == "view" and table.view_sql:
            if table.path in stack or len(stack) >= MAX_DEPTH:
                raise Refused(
                    f"view {table.path} is nested too deeply or defined in a cycle",
                    construct=table.path,
                    hint=HINT,
                )
            definition = prepare(table, schema)
            _resolve(definition, schema, prepare, (*stack, table.path))
            inline(node, definition)
            continue
        _tag(_without_column_aliases(node, table, schema), table, schema)


def _without_column_aliases(node: exp.Table, table: Table, schema: Schema) -> exp.Table:
    """``t AS u(a, b)`` -> ``(SELECT t.c1 AS a, t.c2 AS b, t.c3, ... FROM t) AS u``.

    Column alias lists rename a table's columns by position; sqlglot's qualification ignores
    them on physical tables (``users AS u(email)`` makes ``u.email`` read ``users.id``), so
    the renaming is spelled out where qualification and lineage follow it.

    Returns:
        The table reference that reads ``table`` (``node`` itself when there are no aliases).
    """
    alias = node.args.get("alias")
    if not isinstance(alias, exp.TableAlias) or not alias.columns:
        return node
    renames = list(alias.columns)
    if len(renames) > len(table.columns):
        raise Refused(
            f"table {table.path} has {len(table.columns)} columns, not {len(renames)}",
            construct=alias.name,
            hint="give at most one alias per column",
        )
    names = [c.name.lower() if schema.case_insensitive else c.name for c in table.columns]
    final = [rename.name for rename in renames] + names[len(renames) :]
    clash = next((n for i, n in enumerate(final) if n.lower() in map(str.lower, final[:i])), None)
    if clash is not None:
        raise Refused(
            f"column alias {clash} names two columns of {table.path}",
            construct=clash,
            hint="pick column aliases that no other column of the table has",
        )
    inner = node.copy()
    inner.set("alias", exp.TableAlias(this=exp.to_identifier(table.name, quoted=True)))
    projections = [
        exp.alias_(exp.column(name, table=table.name, quoted=True), new_name, quoted=True)
        for name, new_name in zip(names, final, strict=True)
    ]
    select = exp.select(*projections).from_(inner)
    node.replace(exp.Subquery(this=select, alias=exp.TableAlias(this=alias.this.copy())))
    return inner


def _lookup(node: exp.Table, schema: Schema, cte_names: set[str]) -> Table:
    table = schema.table(node.db or None, node.name)
    catalogs = {c.lower() for c in (table.catalog if table else None, schema.default_catalog) if c}
    if table is not None and (not node.catalog or node.catalog.lower() in catalogs):
        return table
    raise _unknown(node, schema, cte_names)


def _unknown(node: exp.Table, schema: Schema, cte_names: set[str]) -> Refused:
    name = node.name
    path = ".".join(p for p in (node.catalog, node.db, name) if p)
    quoted = isinstance(node.this, exp.Identifier) and node.this.quoted
    if schema.dialect == "duckdb" and quoted and any(mark in name for mark in "./:"):
        return Refused(
            "reading files or URLs is not allowed",
            construct=name[:60],
            hint="query tables the gateway knows; ask an admin to load the file into a table",
        )
    if name in cte_names:
        return Refused(
            "recursive queries are not supported yet",
            construct="WITH RECURSIVE",
            hint="rewrite it without recursion, or ask an admin for a view that does the recursion",
        )
    if node.db.lower() in SYSTEM_SCHEMAS or name.lower().startswith(_SYSTEM_TABLE_PREFIXES):
        return Refused(
            f"system table {path} is not available through the gateway",
            construct=path,
            hint="query the tables of the connection's schema",
        )
    db = node.db or schema.default_db
    known = sorted(t.name for t in schema.tables if (t.db or "").lower() == (db or "").lower())
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    shown = close or known[:5]
    where = f" in {db}" if db else ""
    more = ", ..." if len(known) > len(shown) and not close else ""
    hint = (
        f"check the name; known tables{where}: {', '.join(shown)}{more}"
        if shown
        else f"check the name; there are no tables{where} the gateway knows"
    )
    return Refused(f"table {path} is not in the database", construct=path, hint=hint)


def _tag(node: exp.Table, table: Table, schema: Schema) -> None:
    """Point ``node`` at ``table``'s exact schema path and attach it for later stages."""
    path = schema.mapping_path(table)
    if path is None:
        raise Refused(
            f"table {table.path} has no schema the analyzer can place it in",
            construct=table.path,
            hint="ask an admin to set the connection's default schema",
        )
    parts = dict(zip(("catalog", "db", "this")[3 - len(path) :], path, strict=True))
    for key in ("catalog", "db"):
        node.set(key, exp.to_identifier(parts[key], quoted=True) if key in parts else None)
    node.set("this", exp.to_identifier(parts["this"], quoted=True))
    node.meta[TABLE_META] = table


def view_query(definition: str, dialect: str, name: str) -> exp.Query:
    """Parse a view's definition: a plain query, or the ``CREATE VIEW ... AS`` statement.

    DuckDB and SQLite report the whole ``CREATE VIEW`` statement; PostgreSQL and MariaDB report
    the query only.

    Raises:
        Refused: the definition does not parse, or is not one plain read query.
    """
    try:
        statements = [s for s in sqlglot.parse(definition, read=dialect) if s is not None]
    except (ParseError, TokenError):
        raise Refused(
            f"the definition of view {name} cannot be parsed", construct=name, hint=HINT
        ) from None
    statement = statements[0] if len(statements) == 1 else None
    if isinstance(statement, exp.Create) and isinstance(statement.expression, exp.Query):
        statement = statement.expression
    if isinstance(statement, exp.Subquery):
        statement = statement.unnest()
    if not isinstance(statement, (exp.Select, exp.SetOperation)):
        raise Refused(f"view {name} is not defined by a plain query", construct=name, hint=HINT)
    return statement


def inline(reference: exp.Table, query: exp.Query) -> exp.Subquery:
    """Replace the table ``reference`` by ``(query) AS <its alias or name>``; return the subquery.

    Raises:
        Refused: the reference carries a clause a subquery cannot take (``TABLESAMPLE``,
            index hints, time travel).
    """
    extra = sorted(
        key
        for key, value in reference.args.items()
        if value and key not in {"this", "db", "catalog", "alias"}
    )
    if extra:
        raise Refused(
            f"view {reference.name} cannot be used with {extra[0].upper()}",
            construct=reference.name,
            hint="select from the view in a subquery and apply the clause outside",
        )
    alias = reference.args.get("alias")
    if alias is None:
        alias = exp.TableAlias(this=exp.to_identifier(reference.name))
    subquery = exp.Subquery(this=query, alias=alias.copy())
    reference.replace(subquery)
    return subquery
