"""Analyze one SQL query: parse it once, refuse anything but a plain read, qualify it, trace it.

Steps, in order: parse (one statement) -> read-only rules (:data:`REFUSED_NODES`, comments,
recursion) -> bound parameters -> function allow-list (:mod:`.functions`) -> normalize
identifiers -> qualify tables -> resolve tables against the schema and inline views
(:mod:`.views`) -> resolve DuckDB ``COLUMNS()`` -> qualify columns and expand stars -> refuse
whole-row and unresolved references -> unique output names -> lineage (:mod:`.lineage`).
Each step refuses with a reason the user can act on (:class:`~jupyter_masking.errors.Refused`)
or fails on unreadable SQL (:class:`~jupyter_masking.errors.BadInput`). What the analyzer does
not understand is refused, never passed through: the returned expression is the only input the
masking rewrite sees.

>>> from jupyter_masking.sql.schema import Column, Schema, Table
>>> users = Table("main", "users", (Column("id", "INT"), Column("email", "TEXT")))
>>> schema = Schema("duckdb", (users,), default_db="main")
>>> analysis = analyze("SELECT email, count(*) FROM users GROUP BY 1", schema)
>>> [(o.name, o.transform, [s.path for s in o.sources]) for o in analysis.outputs]
[('email', 'identity', ['main.users.email']), ('count', 'none', [])]
>>> analyze("DELETE FROM users", schema)
Traceback (most recent call last):
...
jupyter_masking.errors.Refused: refused: writes are not allowed (DELETE). Hint: the gateway \
only runs SELECT queries; write through your usual tools
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

import re2
import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import OptimizeError, ParseError, SqlglotError, TokenError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify_columns import qualify_columns, quote_identifiers
from sqlglot.optimizer.qualify_tables import qualify_tables
from sqlglot.optimizer.resolver import Resolver
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.tokenizer_core import TokenType

from jupyter_masking.errors import BadInput, MaskingError, Refused
from jupyter_masking.sql import functions, views
from jupyter_masking.sql.lineage import OutputColumn, SourceColumn, table_of, trace
from jupyter_masking.sql.schema import Schema, Table

__all__ = ["Analysis", "OutputColumn", "SourceColumn", "analyze", "table_of"]


class _NoCommandFallbackWarnings(logging.Filter):
    """sqlglot warns when it parses EXPLAIN/CALL as a raw command; we refuse those ourselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


logging.getLogger("sqlglot").addFilter(_NoCommandFallbackWarnings())

# MySQL/MariaDB: column names ignore case, table names depend on the server; compare both
# case-insensitively (https://mariadb.com/kb/en/identifier-case-sensitivity/).
_DIALECT_SETTINGS: dict[str, str] = {"mysql": "mysql, normalization_strategy = case_insensitive"}


@dataclass(frozen=True)
class Analysis:
    """A query the gateway may run, with everything later stages need to know about it.

    Attributes:
        dialect: The sqlglot dialect it was parsed in.
        expression: The query: views expanded, stars expanded, tables qualified with their exact
            schema names and aliased, columns qualified with table aliases, identifiers quoted,
            every output aliased with its unique name.
        tables: Physical tables read (after view expansion), each once, in first-seen order.
        outputs: The result columns in order, with their lineage.
        columns_read: Every physical column referenced anywhere, each once.
        parameters: Bound parameters, each once, numbers first then names in sorted order:
            ``name`` for ``:name``/``$name`` (and SQLite ``@name``), ``1`` for ``$1``, ``?`` for
            positional ``?``.
    """

    dialect: str
    expression: exp.Query
    tables: tuple[Table, ...]
    outputs: tuple[OutputColumn, ...]
    columns_read: tuple[SourceColumn, ...]
    parameters: tuple[str, ...] = field(default=())


CACHE_SIZE = 256
"""Analyses kept per schema: notebooks re-run the same cells, and an analysis depends only on
the SQL text, the schema and the extra allowed functions (never on who asks)."""

_cache_lock = threading.Lock()


def analyze(
    sql: str, schema: Schema, *, allow_functions: Iterable[str] = (), copy: bool = True
) -> Analysis:
    """Parse, check, qualify and trace one read query against the live ``schema``.

    Successful analyses are cached per schema (:data:`CACHE_SIZE` most recent); each call gets
    its own copy of the expression, so callers may transform it freely.

    Args:
        sql: The user's SQL text, one statement.
        schema: The connection's live schema; its dialect is the query's dialect.
        allow_functions: Extra function names an admin declared read-only.
        copy: ``False`` returns the cached analysis itself, for callers that only read it
            (the same object for the same query, which the gateway's plan cache relies on).

    Returns:
        The analysis; its ``expression`` is ready for the masking rewrite.

    Raises:
        BadInput: The SQL cannot be parsed (with line and column).
        Refused: The query is not a plain read, calls a function not on the allow-list, reads
            a table not in the schema, uses a whole-row reference, or anything else the
            analyzer cannot vouch for.
    """
    extra = tuple(sorted({name.lower() for name in allow_functions}))
    cache: OrderedDict[tuple[str, tuple[str, ...]], Analysis]
    cache = schema.derived("analyze.cache", OrderedDict)
    key = (sql, extra)
    with _cache_lock:
        cached = cache.get(key)
        if cached is not None:
            cache.move_to_end(key)
    if cached is None:
        cached = _analyze(sql, schema, extra)
        with _cache_lock:
            cache[key] = cached
            while len(cache) > CACHE_SIZE:
                cache.popitem(last=False)
    if not copy:
        return cached
    return dataclasses.replace(cached, expression=cached.expression.copy())


def _analyze(sql: str, schema: Schema, allow_functions: tuple[str, ...]) -> Analysis:
    dialect = _dialect(schema.dialect)
    query = _check_statement(_parse(sql, dialect))
    parameters = _parameters(query, schema.dialect)
    functions.check_functions(query, schema.dialect, allow_functions, sql)
    try:
        query = normalize_identifiers(
            query, dialect=dialect, store_original_column_identifiers=True
        )
        query = qualify_tables(
            query, db=schema.default_db, catalog=schema.default_catalog, dialect=dialect
        )
        views.resolve_tables(query, schema, _prepare_view)
        _expand_columns_selectors(query, schema)
        unnamed = _mark_unnamed(query, sql, schema.dialect)
        query = qualify_columns(query, schema.query_mapping(), allow_partial_qualification=False)
        query = quote_identifiers(query, dialect=dialect, identify=True)
        _check_columns(query)
        _name_outputs(query, unnamed)
        outputs, columns_read = trace(query)
    except OptimizeError as error:
        raise _unresolved(error) from None
    except RecursionError:
        raise Refused(
            "the query is nested too deeply to analyze", hint="flatten it with CTEs"
        ) from None
    except SqlglotError as error:
        raise Refused(
            "the analyzer could not understand this query",
            hint=f"simplify the query ({_first_line(error)})",
        ) from None
    read = {table: None for node in query.find_all(exp.Table) if (table := table_of(node))}
    return Analysis(schema.dialect, query, tuple(read), outputs, columns_read, parameters)


# --- read-only rules --------------------------------------------------------------------------

_READ_HINT = "the gateway only runs SELECT queries; write through your usual tools"
_SESSION_HINT = "the gateway manages the session; send only a SELECT query"
_SELECT_HINT = "write a SELECT query"

_WRITES = ("writes are not allowed", _READ_HINT)
_DDL = ("schema changes are not allowed", _READ_HINT)
_SESSION = ("session and server commands are not allowed", _SESSION_HINT)
_NOT_A_QUERY = ("only SELECT queries are allowed", _SELECT_HINT)
_WHOLE_ROW_HINT = (
    "name the columns you need (SELECT t.a, t.b): the gateway must see each column to mask it"
)

REFUSED_NODES: dict[type[exp.Expr], tuple[str, tuple[str, str]]] = {
    exp.Insert: ("INSERT", _WRITES),
    exp.Update: ("UPDATE", _WRITES),
    exp.Delete: ("DELETE", _WRITES),
    exp.Merge: ("MERGE", _WRITES),
    exp.LoadData: ("LOAD DATA", _WRITES),
    exp.Copy: ("COPY", ("COPY reads or writes files", "query tables the gateway knows")),
    exp.Create: ("CREATE", _DDL),
    exp.Drop: ("DROP", _DDL),
    exp.Alter: ("ALTER", _DDL),
    exp.TruncateTable: ("TRUNCATE", _DDL),
    exp.Comment: ("COMMENT", _DDL),
    exp.Grant: ("GRANT", _DDL),
    exp.Revoke: ("REVOKE", _DDL),
    exp.Analyze: ("ANALYZE", _SESSION),
    exp.Set: ("SET", _SESSION),
    exp.Pragma: ("PRAGMA", _SESSION),
    exp.Attach: ("ATTACH", _SESSION),
    exp.Detach: ("DETACH", _SESSION),
    exp.Install: ("INSTALL", _SESSION),
    exp.Use: ("USE", _SESSION),
    exp.Transaction: ("BEGIN", _SESSION),
    exp.Commit: ("COMMIT", _SESSION),
    exp.Rollback: ("ROLLBACK", _SESSION),
    exp.Kill: ("KILL", _SESSION),
    exp.Cache: ("CACHE", _SESSION),
    exp.Uncache: ("UNCACHE", _SESSION),
    exp.Refresh: ("REFRESH", _SESSION),
    exp.Export: ("EXPORT", _SESSION),
    exp.Describe: ("DESCRIBE", _NOT_A_QUERY),
    exp.Show: ("SHOW", _NOT_A_QUERY),
    exp.Summarize: ("SUMMARIZE", _NOT_A_QUERY),
    exp.Into: (
        "SELECT ... INTO",
        (
            "SELECT ... INTO creates a table",
            "remove the INTO clause; keep results in the DataFrame",
        ),
    ),
    exp.Lock: ("FOR UPDATE", ("locking reads are not allowed", "remove FOR UPDATE / FOR SHARE")),
    exp.QueryTransform: (
        "TRANSFORM ... USING",
        (
            "script transforms run programs on the database server",
            "remove TRANSFORM ... USING; use SQL functions",
        ),
    ),
    exp.Pivot: (
        "PIVOT",
        ("PIVOT and UNPIVOT are not supported yet", "write it with GROUP BY and CASE or FILTER"),
    ),
    exp.TableColumn: ("whole row", ("whole-row references are not allowed", _WHOLE_ROW_HINT)),
    exp.PositionalColumn: (
        "#n",
        ("positional column references are not allowed", "name the column instead of #n"),
    ),
    exp.SessionParameter: (
        "@@variable",
        ("server variables are not available", "remove the @@ variable from the query"),
    ),
}
"""Nodes refused anywhere in a query: node type -> (construct, (message, hint))."""

_EXPLAIN = (
    "EXPLAIN is not run through the gateway",
    "use the --explain option of %%masked_sql to see the query that would run",
)
REFUSED_COMMANDS: dict[str, tuple[str, str]] = {"EXPLAIN": _EXPLAIN, "DESCRIBE": _NOT_A_QUERY}
"""Statements sqlglot keeps as raw commands, by first keyword; the others are refused as
session and server commands."""

_FILE_TARGETS = {"OUTFILE", "DUMPFILE"}
# MySQL/MariaDB execute /*! ... */ and /*M! ... */ (https://mariadb.com/kb/en/comment-syntax/).
_EXECUTABLE_COMMENT = ("!", "M!")


MAX_SQL_CHARS = 1_000_000
"""Longest SQL text analyzed; longer text is bad input before it is parsed."""
MAX_NODES = 20_000
"""Most syntax nodes analyzed (an ``IN`` list of about 20,000 values): the later steps walk
the tree many times, so bigger queries would hold a gateway thread for many seconds."""
MAX_CONNECTIVES = 500
"""Most ``AND``/``OR`` operators: sqlglot's scope walks are quadratic in a chain of them."""


def _check_text(sql: str) -> None:
    """Refuse text no database takes and sizes the analyzer cannot handle cheaply.

    >>> _check_text("SELECT 'a" + chr(0) + "b'")
    Traceback (most recent call last):
    ...
    jupyter_masking.errors.BadInput: bad input: the SQL contains a NUL character (at position 9). \
Hint: remove it; databases do not accept NUL in SQL text
    """
    if len(sql) > MAX_SQL_CHARS:
        raise BadInput(
            f"the SQL is {len(sql):,} characters long; the gateway reads at most {MAX_SQL_CHARS:,}",
            hint="shorten it: move long value lists into a table",
        )
    nul = sql.find("\x00")
    if nul >= 0:
        raise BadInput(
            f"the SQL contains a NUL character (at position {nul})",
            hint="remove it; databases do not accept NUL in SQL text",
        )
    try:
        sql.encode("utf-8")
    except UnicodeEncodeError as error:
        raise BadInput(
            f"the SQL is not valid Unicode (at position {error.start})",
            hint="save the query as UTF-8 text",
        ) from None


def _check_size(tree: exp.Expr) -> None:
    """Refuse trees too big to analyze in well under a second."""
    connectives = 0
    for nodes, node in enumerate(tree.walk(), start=1):
        connectives += isinstance(node, exp.Connector)
        if nodes > MAX_NODES or connectives > MAX_CONNECTIVES:
            what = (
                f"more than {MAX_NODES:,} syntax elements"
                if nodes > MAX_NODES
                else f"more than {MAX_CONNECTIVES} AND/OR conditions"
            )
            raise Refused(
                f"the query is too large to analyze: it has {what}",
                hint="use IN (...) for lists of values, or split the query",
            )


def _parse(sql: str, dialect: Dialect) -> exp.Expr:
    """The one statement in ``sql``.

    Raises:
        BadInput: Unparseable SQL, no statement, NUL characters, or more than
            :data:`MAX_SQL_CHARS` characters.
        Refused: More than one statement, an unparseable write (``INTO OUTFILE``, ``LOAD``),
            or a tree beyond :data:`MAX_NODES` or :data:`MAX_CONNECTIVES`.
    """
    _check_text(sql)
    try:
        statements = [
            s for s in sqlglot.parse(sql, dialect=dialect) if s and not isinstance(s, exp.Semicolon)
        ]
    except TokenError as error:
        raise BadInput(f"cannot read the SQL: {_first_line(error)}") from None
    except RecursionError:
        raise BadInput("the SQL is nested too deeply to parse") from None
    except ParseError as error:
        raise _syntax_error(sql, error, dialect) from None
    if not statements:
        raise BadInput("no SQL statement found", hint="write a SELECT query")
    if len(statements) > 1:
        raise Refused(
            "only one statement per query is allowed",
            construct=f"{len(statements)} statements",
            hint="run each statement in its own cell, without ';' between them",
        )
    _check_size(statements[0])
    return statements[0]


_READ_STARTS = frozenset({"SELECT", "WITH", "FROM", "(", "TABLE", "VALUES"})
# Statement verbs sqlglot tokenizes as plain names; any other unknown first word is a typo
# (SELEC), which is bad input, not a refused statement.
_STATEMENT_VERBS = frozenset(
    """ATTACH BACKUP BINLOG CHECKPOINT CHECKSUM CLUSTER DEALLOCATE DETACH DISCARD DO EXECUTE
    FLUSH HANDLER HELP IMPORT INSTALL LISTEN NOTIFY PREPARE PURGE REINDEX RELEASE REPAIR RESET
    RESIGNAL RESTORE SAVEPOINT SHUTDOWN SIGNAL UNINSTALL UNLISTEN VACUUM XA""".split()  # noqa: SIM905
)


def _syntax_error(sql: str, error: ParseError, dialect: Dialect) -> MaskingError:
    tokens = dialect.tokenize(sql)
    words = [token.text.upper() for token in tokens]
    for first, second in itertools.pairwise(words):
        if first == "INTO" and (second in _FILE_TARGETS or second.startswith("@")):
            return Refused(
                f"SELECT ... INTO {second} writes outside the result",
                construct=f"INTO {second}",
                hint="remove the INTO clause; keep results in the DataFrame",
            )
    keyword = bool(tokens) and tokens[0].token_type != TokenType.VAR
    if words and words[0] not in _READ_STARTS and (keyword or words[0] in _STATEMENT_VERBS):
        return Refused(f"{words[0]} is not a read query", construct=words[0], hint=_SELECT_HINT)
    detail = error.errors[0] if error.errors else {}
    near = str(detail.get("highlight") or "")[:40]
    return BadInput(
        f"syntax error near '{near}'" if near else "syntax error",
        line=detail.get("line"),
        column=detail.get("col"),
    )


def _check_statement(statement: exp.Expr, view: str | None = None) -> exp.Query:
    """``statement`` as a query, if it is one plain read; refuse anything else.

    Comments are removed: MySQL runs ``/*! ... */`` comments as code, and comments may hold
    values nobody should find in the audit log.
    """
    for node in statement.walk():
        for comment in node.pop_comments():
            if comment.lstrip().startswith(_EXECUTABLE_COMMENT):
                raise _refusal(
                    "executable comments are not allowed",
                    "/*!",
                    "remove the /*! ... */ comment; write the SQL itself",
                    view,
                )
        refused = REFUSED_NODES.get(type(node))
        if refused is not None:
            construct, (message, hint) = refused
            if isinstance(node, exp.Describe) and isinstance(node.this, exp.Query):
                construct, (message, hint) = "EXPLAIN", _EXPLAIN  # MySQL parses EXPLAIN so
            if isinstance(node, exp.Lock) and not node.args.get("update"):
                construct = "FOR SHARE"
            raise _refusal(message, construct, hint, view)
        if isinstance(node, exp.Command):
            keyword = node.name.upper()
            message, hint = REFUSED_COMMANDS.get(keyword, _SESSION)
            raise _refusal(message, keyword, hint, view)
        if isinstance(node, exp.With) and node.args.get("recursive"):
            raise _refusal(*_RECURSIVE, view)
    query = statement
    if isinstance(query, exp.Subquery) and not any(v for k, v in query.args.items() if k != "this"):
        query = query.unnest()
    if not isinstance(query, (exp.Select, exp.SetOperation)):
        message, hint = _NOT_A_QUERY
        raise _refusal(message, type(statement).__name__.upper(), hint, view)
    return query


_RECURSIVE = (
    "recursive queries are not supported yet",
    "WITH RECURSIVE",
    "rewrite it without recursion, or ask an admin for a view that does the recursion",
)


def _refusal(message: str, construct: str, hint: str, view: str | None) -> Refused:
    if view is not None:
        return Refused(
            f"view {view} is not a plain read: {message}", construct=construct, hint=views.HINT
        )
    return Refused(message, construct=construct, hint=hint)


# MySQL's @name is a user variable (session state); SQLite's @name/$name are bound parameters.
_USER_VARIABLE_DIALECTS = frozenset({"mysql"})
# Parents in which a parameter would stand for a name, not a value.
_NAME_POSITIONS = (exp.Table, exp.TableAlias, exp.Column, exp.Dot, exp.Identifier)


def _parameters(query: exp.Query, dialect: str) -> tuple[str, ...]:
    """Bound parameter names, each once; refuse parameters used as names and user variables."""
    names: dict[str, None] = {}
    for node in query.find_all(exp.Placeholder, exp.Parameter, bfs=False):
        user_variable = isinstance(node, exp.Parameter) and not isinstance(node.this, exp.Literal)
        if user_variable and dialect in _USER_VARIABLE_DIALECTS:
            raise Refused(
                "user variables are not allowed",
                construct=f"@{node.name}",
                hint="bind values as parameters (:name) instead",
            )
        name = node.name or "?"
        if isinstance(node.parent, _NAME_POSITIONS):
            raise Refused(
                "parameters can only stand for values, not for table or column names",
                construct=name,
                hint="write the table or column name in the query; bind only values",
            )
        names[name] = None
    return tuple(sorted(names, key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0, n)))


# --- columns -----------------------------------------------------------------------------------


def _expand_columns_selectors(query: exp.Query, schema: Schema) -> None:
    """Resolve DuckDB ``COLUMNS('regex')`` / ``COLUMNS(*)`` projections; refuse other forms."""
    selectors = list(query.find_all(exp.Columns))
    if not selectors:
        return
    if schema.dialect != "duckdb":
        raise Refused(
            "COLUMNS(...) is DuckDB syntax",
            construct="COLUMNS",
            hint="list the columns you need",
        )
    scopes = {id(scope.expression): scope for scope in traverse_scope(query)}
    mapping = schema.query_mapping()
    for selector in selectors:
        select = selector.parent
        pattern = selector.this
        simple = isinstance(pattern, exp.Star) or (
            isinstance(pattern, exp.Literal) and pattern.is_string
        )
        scope = scopes.get(id(select))
        whole = isinstance(select, exp.Select) and selector.arg_key == "expressions"
        if not (isinstance(select, exp.Select) and whole and simple and scope is not None):
            raise Refused(
                "COLUMNS(...) is only understood alone in the select list, with a regular "
                "expression or *",
                construct="COLUMNS",
                hint="list the columns you need, or use COLUMNS('regex') as a whole projection",
            )
        matcher = _compile(pattern.this if isinstance(pattern, exp.Literal) else "")
        resolver = Resolver(scope, mapping)
        columns: list[exp.Expr] = []
        for name, (_, source) in scope.selected_sources.items():
            for column in _source_column_names(resolver, name, source):
                if matcher.search(column):
                    columns.append(exp.column(column, table=name))
        if not columns:
            raise BadInput(f"COLUMNS('{matcher.pattern}') matches no column")
        position = select.expressions.index(selector)
        select.set(
            "expressions",
            [*select.expressions[:position], *columns, *select.expressions[position + 1 :]],
        )


def _compile(pattern: str) -> re2._Regexp:
    try:
        return re2.compile(pattern)
    except re2.error:
        raise BadInput(
            f"COLUMNS() pattern is not a valid regular expression: {pattern[:40]}"
        ) from None


def _source_column_names(resolver: Resolver, name: str, source: exp.Expr | Scope) -> list[str]:
    table = table_of(source) if isinstance(source, exp.Table) else None
    if table is not None:  # DuckDB matches the names as declared, case-sensitively
        return [column.name for column in table.columns]
    return list(resolver.get_source_columns(name))


def _check_columns(query: exp.Query) -> None:
    """Refuse whole-row references and anything a column check cannot vouch for."""
    for node in query.walk():
        if isinstance(node, exp.Columns):
            raise Refused(
                "COLUMNS(...) could not be resolved",
                construct="COLUMNS",
                hint="list the columns you need",
            )
        if isinstance(node, exp.TableColumn):
            raise Refused(
                "whole-row references are not allowed", construct=node.name, hint=_WHOLE_ROW_HINT
            )
        if isinstance(node, exp.Star) and isinstance(node.parent, exp.Select):
            raise Refused(
                "SELECT * could not be expanded",
                construct="*",
                hint="name the columns; give a table function a column list (AS r(n))",
            )
        if isinstance(node, exp.Star) and not isinstance(node.parent, exp.Count):
            owner = node.parent.table if isinstance(node.parent, exp.Column) else ""
            raise Refused(
                "whole-row references are not allowed",
                construct=f"{owner}.*" if owner else "*",
                hint=_WHOLE_ROW_HINT,
            )
        if (
            isinstance(node, exp.Column)
            and not node.table
            and not _is_lambda_variable(node)
            and not _is_output_reference(node)
        ):
            if node.name in {alias.name for alias in query.find_all(exp.TableAlias)}:
                raise Refused(
                    "whole-row references are not allowed",
                    construct=node.name,
                    hint=_WHOLE_ROW_HINT,
                )
            raise Refused(
                f"column {node.name} is unknown or in more than one table",
                construct=node.name,
                hint="check the name; qualify it with its table alias when two tables have it",
            )


def _is_output_reference(column: exp.Column) -> bool:
    """``ORDER BY total`` or ``DISTINCT ON (total)`` where ``total`` names an output."""
    clause = column.find_ancestor(exp.Order, exp.Distinct, exp.Window, exp.AggFunc)
    return (
        isinstance(clause, (exp.Order, exp.Distinct))
        and isinstance(clause.parent, exp.Query)
        and column.name in clause.parent.named_selects
    )


def _is_lambda_variable(column: exp.Column) -> bool:
    lambda_ = column.find_ancestor(exp.Lambda)
    while lambda_ is not None:
        if column.name in {e.name for e in lambda_.expressions}:
            return True
        lambda_ = lambda_.find_ancestor(exp.Lambda)
    return False


@functools.cache
def _dialect(name: str) -> Dialect:
    return Dialect.get_or_raise(_DIALECT_SETTINGS.get(name, name))


def _prepare_view(view: Table, schema: Schema) -> exp.Query:
    """A view's definition, checked like a user query and with tables qualified in its db."""
    dialect = _dialect(schema.dialect)
    query = views.view_query(view.view_sql or "", schema.dialect, view.path)
    _check_statement(query, view=view.path)
    if _parameters(query, schema.dialect):
        raise Refused(f"view {view.path} uses parameters", construct=view.path, hint=views.HINT)
    functions.check_functions(query, schema.dialect, sql=view.view_sql)
    query = normalize_identifiers(query, dialect=dialect, store_original_column_identifiers=True)
    return qualify_tables(
        query,
        db=view.db or schema.default_db,
        catalog=view.catalog or schema.default_catalog,
        dialect=dialect,
    )


_UNNAMED = "_jm_unnamed_"
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\(")


def _root_select(query: exp.Query) -> exp.Select | None:
    node: exp.Expr = query
    while isinstance(node, (exp.SetOperation, exp.Subquery)):
        node = node.this
    return node if isinstance(node, exp.Select) else None


def _mark_unnamed(query: exp.Query, sql: str, dialect: str) -> dict[str, str]:
    """Alias the outermost unnamed non-column projections with markers; map marker -> name.

    The names follow PostgreSQL: a function call is named after the function, a cast of a
    column after the column, anything else ``_col_<position>``.
    """
    select = _root_select(query)
    names: dict[str, str] = {}
    if select is None:
        return names
    for position, projection in enumerate(select.expressions):
        if isinstance(projection, (exp.Alias, exp.Column, exp.Star)):
            continue
        marker = f"{_UNNAMED}{position}"
        names[marker] = _natural_name(projection, position, sql, dialect)
        projection.replace(exp.alias_(projection.copy(), marker))
    return names


def _natural_name(node: exp.Expr, position: int, sql: str, dialect: str) -> str:
    inner = node.this if isinstance(node, exp.Window) else node
    if isinstance(inner, (exp.Cast, exp.TryCast)) and isinstance(inner.this, exp.Column):
        return inner.this.name
    fallback = f"_col_{position}"
    if isinstance(inner, exp.Func) and "start" in inner.meta:
        return functions.written_name(inner, sql, fallback)
    if isinstance(inner, exp.Func):  # no token position: name it only if it is written as a call
        text = inner.sql(dialect=dialect)
        first = inner.this
        if isinstance(first, exp.Expr) and text.startswith(first.sql(dialect=dialect)):
            return fallback  # an infix operator (a @> b) that sqlglot types as a function
        call = _CALL.match(text)
        return call.group(1).lower() if call else fallback
    if isinstance(inner, exp.Literal) and not inner.is_string:
        return str(inner.this)
    return fallback


def _name_outputs(query: exp.Query, unnamed: dict[str, str]) -> None:
    """Give every outermost output its final, case-insensitively unique name."""
    select = _root_select(query)
    if select is None:
        return
    taken: set[str] = set()
    for projection in select.expressions:
        if not isinstance(projection, exp.Alias):
            continue
        wanted = unnamed.get(projection.alias, projection.alias)
        name, suffix = wanted, 1
        while name.lower() in taken:
            suffix += 1
            name = f"{wanted}_{suffix}"
        taken.add(name.lower())
        if name != projection.alias:
            if projection.alias in unnamed:  # ORDER BY <position> now refers to the marker
                _rename_order_references(query, projection.alias, name)
            projection.set("alias", exp.to_identifier(name, quoted=True))


def _rename_order_references(query: exp.Query, old: str, new: str) -> None:
    for order in (query.args.get("order"), _root_select(query).args.get("order")):  # type: ignore[union-attr]
        for column in order.find_all(exp.Column) if order else ():
            if not column.table and column.name == old:
                column.set("this", exp.to_identifier(new, quoted=True))


def _unresolved(error: OptimizeError) -> Refused:
    message = _first_line(error).rstrip(".")
    named = _NAMED.search(message)
    if message.startswith("Alias already used"):
        hint = "give each table in FROM and JOIN its own alias"
    else:
        hint = "check the names against the schema; qualify a column with its table alias"
    return Refused(
        message, construct=named.group(1) or named.group(2) if named else None, hint=hint
    )


_NAMED = re.compile(r"'([^']+)'|: (\S+)$")


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
