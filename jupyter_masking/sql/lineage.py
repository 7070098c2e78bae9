"""Column lineage of a qualified query: per output its physical sources and transform kind.

Besides the outputs, :func:`trace` lists every physical column read anywhere (WHERE, JOIN,
GROUP BY, ORDER BY, windows).

This is a scope walk of our own rather than ``sqlglot.lineage``: it runs once over the query the
analyzer already qualified and validated (every column has a table, stars are expanded, whole-row
references and ``COLUMNS()`` are gone, outputs have unique names), follows projections through
CTEs, derived tables, set operations, scalar subqueries and row generators by position, and
never guesses a table. Physical tables are the ``exp.Table`` nodes the analyzer tagged with their
:class:`~jupyter_masking.sql.schema.Table` under :data:`TABLE_META`.

Transform kinds, per path from an output to a source column: ``identity`` when the value passes
unchanged (aliases, CTEs, subqueries, ``lag``/``lead``/``first_value``/``last_value``/
``nth_value``, ``unnest``), ``aggregation`` when an aggregate lies on the path, otherwise
``transformation``. An output takes the most revealing kind among its sources (identity before
transformation before aggregation), and ``none`` when it has no source. ``aggregation`` does not
mean the value is hidden: ``min``/``max``/``string_agg`` return source values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, build_scope

from jupyter_masking.errors import Refused
from jupyter_masking.sql.schema import Table

TABLE_META = "jupyter_masking.table"
"""Key in ``exp.Table.meta`` under which the analyzer stores the resolved schema Table."""


def table_of(node: exp.Table) -> Table | None:
    """The schema table an analyzed table reference reads (``None``: CTE, function, unknown).

    Survives ``expression.copy()``; pass it as the rewrite's ``resolve``.
    """
    table = node.meta.get(TABLE_META)
    return table if isinstance(table, Table) else None


Transform = Literal["identity", "transformation", "aggregation", "none"]

_RANK: dict[str, int] = {"identity": 0, "transformation": 1, "aggregation": 2}
_KINDS: tuple[Transform, ...] = ("identity", "transformation", "aggregation")

# Window functions that return a source value from another row: the value is not transformed.
_VALUE_CARRYING = (exp.Lag, exp.Lead, exp.FirstValue, exp.LastValue, exp.NthValue)
# Nodes that pass their child's value through unchanged.
_TRANSPARENT = (exp.Alias, exp.Paren, exp.Window)
_ROW_GENERATORS = (exp.Unnest, exp.Explode)


@dataclass(frozen=True)
class SourceColumn:
    """A physical column read.

    Attributes:
        table: The table (after view expansion) it belongs to.
        column: Its exact name in the schema.
    """

    table: Table
    column: str

    @property
    def path(self) -> str:
        """``[catalog.]db.table.column``, as in audit events and policies."""
        return f"{self.table.path}.{self.column}"


@dataclass(frozen=True)
class OutputColumn:
    """One column of the result.

    Attributes:
        name: The final, unique output name, as the user sees it.
        position: 0-based position in the result.
        sources: The physical columns its values derive from, in first-seen order.
        transform: How the values derive from the sources (see the module docstring).
    """

    name: str
    position: int
    sources: tuple[SourceColumn, ...]
    transform: Transform


Paths = dict[SourceColumn, int]


def trace(query: exp.Query) -> tuple[tuple[OutputColumn, ...], tuple[SourceColumn, ...]]:
    """Outputs with their sources, and every physical column read, of a qualified ``query``.

    Returns:
        ``(outputs, columns_read)``.

    Raises:
        Refused: A column's table qualifier names no table in reach (sqlglot leaves those alone).
    """
    root = build_scope(query)
    assert root is not None
    walker = _Walker({id(scope.expression): scope for scope in root.traverse()})
    outputs = []
    for position, name in enumerate(query.named_selects):
        paths = walker.output(root, position)
        kind: Transform = _KINDS[min(paths.values())] if paths else "none"
        outputs.append(OutputColumn(name, position, tuple(paths), kind))
    read: dict[SourceColumn, None] = {}
    seen: set[int] = set()
    for scope in root.traverse():
        for column in scope.columns:
            seen.add(id(column))
            source = _source(scope, column.table)
            if isinstance(source, exp.Table):
                found = _physical(source, column.name)
                if found is not None:
                    read[found] = None
            elif source is None and column.table:
                raise _unknown_alias(column)
    for column in query.find_all(exp.Column):
        if column.table and id(column) not in seen:
            raise _unknown_alias(column)
    return tuple(outputs), tuple(read)


def _unknown_alias(column: exp.Column) -> Refused:
    return Refused(
        f"column {column.table}.{column.name} refers to no table of its query",
        construct=f"{column.table}.{column.name}",
        hint="check the table alias before the dot",
    )


class _Walker:
    """Follows projections down to physical columns, memoised per (scope, position)."""

    def __init__(self, scopes: dict[int, Scope]) -> None:
        self._memo: dict[tuple[int, int], Paths] = {}
        self._scopes = scopes  # by id of their expression: subqueries can sit anywhere

    def output(self, scope: Scope, position: int) -> Paths:
        key = (id(scope), position)
        if key not in self._memo:
            self._memo[key] = {}  # a cycle (never expected) yields no sources, not a loop
            self._memo[key] = self._output(scope, position)
        return self._memo[key]

    def _output(self, scope: Scope, position: int) -> Paths:
        node = scope.expression
        if isinstance(node, exp.SetOperation):
            paths: Paths = {}
            for branch in scope.set_operation_scopes:
                _merge(paths, self.output(branch, position), 0)
            return paths
        if isinstance(node, exp.Select):
            selects = node.selects
            if position >= len(selects):
                return {}
            return self.expression(scope, selects[position], 0)
        # A row generator in FROM (UNNEST, VALUES): every column it mentions feeds every output.
        return self.expression(scope, node, _RANK["identity"])

    def expression(self, scope: Scope, node: exp.Expr, rank: int) -> Paths:
        paths: Paths = {}
        self._visit(scope, node, rank, paths)
        return paths

    def _visit(self, scope: Scope, node: exp.Expr, rank: int, paths: Paths) -> None:
        if isinstance(node, exp.Column):
            self._column(scope, node, rank, paths)
            return
        if isinstance(node, exp.Subquery):  # a Subquery is also a Query: unwrap it first
            self._visit(scope, node.this, rank, paths)
            return
        if isinstance(node, exp.Query):
            self._subquery(scope, node, rank, paths)
            return
        for child_key, child in _children(node):
            self._visit(scope, child, max(rank, _step(node, child_key)), paths)

    def _column(self, scope: Scope, column: exp.Column, rank: int, paths: Paths) -> None:
        source = _source(scope, column.table)
        if isinstance(source, Scope):
            inner = source.expression
            if not isinstance(inner, exp.Query):  # a row generator: its columns are in its alias
                _merge(paths, self.output(source, 0), rank)
                return
            names = inner.named_selects
            positions = [names.index(column.name)] if column.name in names else range(len(names))
            for position in positions:  # an unknown name (never expected) takes every output
                _merge(paths, self.output(source, position), rank)
        elif isinstance(source, exp.Table):
            found = _physical(source, column.name)
            if found is not None:
                _merge(paths, {found: 0}, rank)
            else:  # a function in FROM: its arguments feed its columns
                _merge(paths, self.expression(scope, source.this, 1), rank)

    def _subquery(self, scope: Scope, query: exp.Query, rank: int, paths: Paths) -> None:
        child = self._scopes.get(id(query))
        if child is None:
            raise Refused(
                "the analyzer cannot trace a subquery in this position",
                construct=query.sql()[:40],
                hint="move the subquery into a CTE and join it",
            )
        for position in range(len(query.named_selects)):
            _merge(paths, self.output(child, position), rank)


def _children(node: exp.Expr) -> list[tuple[str, exp.Expr]]:
    return [
        (key, child)
        for key, value in node.args.items()
        for child in (value if isinstance(value, list) else [value])
        if isinstance(child, exp.Expr)
    ]


def _step(node: exp.Expr, child_key: str) -> int:
    """The transform rank of passing from ``node``'s ``child_key`` argument to ``node``."""
    if isinstance(node, _TRANSPARENT) and child_key in {"this", "alias"}:
        return _RANK["identity"]
    if isinstance(node, _VALUE_CARRYING) and child_key == "this":
        return _RANK["identity"]
    if isinstance(node, _ROW_GENERATORS):
        return _RANK["identity"]
    if isinstance(node, exp.AggFunc) and not isinstance(node, _VALUE_CARRYING):
        return _RANK["aggregation"]
    return _RANK["transformation"]


def _merge(into: Paths, paths: Paths, rank: int) -> None:
    for source, inner in paths.items():
        combined = max(rank, inner)
        if source not in into or combined < into[source]:
            into[source] = combined


def _source(scope: Scope | None, name: str) -> exp.Table | Scope | None:
    while scope is not None:
        if name in scope.sources:
            return scope.sources[name]
        scope = scope.parent
    return None


def _physical(node: exp.Table, column: str) -> SourceColumn | None:
    table = table_of(node)
    if table is None:
        return None
    found = table.column(column)
    return SourceColumn(table, found.name if found else column)
