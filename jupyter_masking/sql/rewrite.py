"""The masking rewrite: every read of a sensitive table goes through a masking subquery.

Each physical table reference that has masked columns is replaced by
``(SELECT <mask>(c1) AS c1, c2, ... FROM table) AS alias``, so that every later
use of its columns (projection, WHERE, JOIN, GROUP BY, ORDER BY, window, whole-row
functions) sees masked values: the semantics of Snowflake and BigQuery masking
policies. The rewrite knows nothing of policies or operators; it receives, per
table, the expression that reads each masked column.

>>> import sqlglot
>>> from sqlglot import exp
>>> from jupyter_masking.sql.schema import Column, Table
>>> users = Table(db="main", name="users", columns=(Column("id", "INT"), Column("email", "TEXT")))
>>> query = sqlglot.parse_one("SELECT u.email FROM main.users AS u WHERE u.id = 1", read="duckdb")
>>> masked = {users: {"email": exp.func("md5", exp.column("email"))}}
>>> rewrite(query, masked, resolve=lambda node: users, dialect="duckdb").sql("duckdb")
'SELECT u.email FROM (SELECT id AS id, MD5(email) AS email FROM main.users) AS u WHERE u.id = 1'
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from sqlglot import exp

from jupyter_masking.sql.schema import Table

ColumnMasks = Mapping[Table, Mapping[str, exp.Expression]]
Resolver = Callable[[exp.Table], Table | None]


def rewrite(
    query: exp.Query,
    masks: ColumnMasks,
    *,
    resolve: Resolver,
    dialect: str,
    keep: Mapping[Table, Collection[str]] | None = None,
) -> exp.Query:
    """Return a copy of ``query`` whose sensitive table reads go through masking subqueries.

    Args:
        query: An analysed query: every physical table known, every column qualified.
        masks: Per table, the expression reading each masked column (referencing the bare
            column name); columns without an entry are projected unchanged.
        resolve: Maps a table node of ``query`` to the schema table it reads, ``None`` if it is
            not a physical table (a CTE reference, a table function).
        dialect: The dialect the identifiers are normalised for.
        keep: Per table, the only columns its masking subquery projects (the columns the query
            reads); every column when not given, or when the reference renames columns by
            position (``AS t(a, b)``).

    Returns:
        The rewritten query; ``query`` itself is not modified.
    """
    rewritten = query.copy()
    # Every table node, not only scope sources: a node the resolver knows is masked wherever
    # it stands, and one walk over the tree is cheaper than building its scopes.
    targets: list[tuple[exp.Table, Table]] = []
    for source in rewritten.find_all(exp.Table):
        table = resolve(source)
        if table is not None and masks.get(table):
            targets.append((source, table))
    for node, table in targets:
        names = [column.name for column in table.columns]
        if keep is not None and table in keep and not _renames_by_position(node):
            wanted = set(keep[table])
            names = [name for name in names if name in wanted]
        node.replace(_masking_subquery(node, names, masks[table], dialect))
    return rewritten


def _renames_by_position(node: exp.Table) -> bool:
    alias = node.args.get("alias")
    return isinstance(alias, exp.TableAlias) and bool(alias.columns)


def _masking_subquery(
    node: exp.Table, names: list[str], masked: Mapping[str, exp.Expression], dialect: str
) -> exp.Subquery:
    alias = node.alias_or_name
    physical = node.copy()
    physical.set("alias", None)
    projections = [
        exp.alias_(
            masked[name].copy() if name in masked else _column(name),
            _identifier(name),
            copy=False,
        )
        for name in names
    ]
    select = exp.select(*projections, copy=False).from_(physical, copy=False)
    renames = node.args.get("alias")
    columns = [c.copy() for c in renames.columns] if isinstance(renames, exp.TableAlias) else []
    return exp.Subquery(
        this=select,
        alias=exp.TableAlias(
            this=exp.to_identifier(alias, quoted=_quoted(node)), columns=columns or None
        ),
    )


def _column(name: str) -> exp.Column:
    return exp.Column(this=_identifier(name))


def _identifier(name: str) -> exp.Identifier:
    # Names come from the live schema exactly as the database spells them; quoting keeps
    # that spelling in every dialect (PostgreSQL would otherwise fold "Email" to email).
    safe = name.isidentifier() and name == name.lower()
    return exp.to_identifier(name, quoted=not safe)


def _quoted(node: exp.Table) -> bool:
    alias = node.args.get("alias")
    identifier = alias.this if isinstance(alias, exp.TableAlias) else node.this
    return bool(isinstance(identifier, exp.Identifier) and identifier.quoted)
