"""SQL as the audit trail keeps it: every literal replaced by ``?``, plus a fingerprint.

Literals are where raw values hide (``WHERE email = 'bob@example.com'``), so the audit
store never sees them. Comments go too. NULL, TRUE and FALSE stay: they carry no data.
SQL that cannot be parsed is never stored; only its length and the sha256 of its text.

>>> sql, fingerprint = normalize_sql("SELECT email FROM customers WHERE id = 42", "duckdb")
>>> sql
'SELECT email FROM customers WHERE id = ?'
>>> fingerprint == normalize_sql("select email from customers where id=7", "duckdb")[1]
True
>>> normalize_sql("SELECT * FROM t WHERE note = 'x' -- bob@example.com", "postgres")[0]
'SELECT * FROM t WHERE note = ?'
>>> normalize_sql("SELEC 'bob@example.com' FROM", "postgres")[0]
'<unparseable SQL: 28 chars>'
"""

from __future__ import annotations

import functools
import hashlib
import logging

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

# Every node type that holds a value typed into the SQL text.
LITERAL_TYPES: tuple[type[exp.Expr], ...] = (
    exp.Literal,
    exp.National,
    exp.HexString,
    exp.ByteString,
    exp.BitString,
    exp.RawString,
    exp.UnicodeString,
)

# Parameter markers hold their own name or position as a literal (``$1``): keep them.
_MARKERS: tuple[type[exp.Expr], ...] = (exp.Parameter, exp.Placeholder)

PLACEHOLDER = "?"
UNPARSEABLE = "<unparseable SQL: {n} chars>"


class _NoSqlTextInLogs(logging.Filter):
    """Drop sqlglot's "falling back to a Command" warning: it quotes the raw SQL."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "unsupported syntax" not in str(record.msg)


logging.getLogger("sqlglot").addFilter(_NoSqlTextInLogs())


def sha256_hex(text: str) -> str:
    """The sha256 of ``text`` encoded as UTF-8, in lowercase hex.

    >>> sha256_hex("")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@functools.lru_cache(maxsize=512)  # a re-run cell sends the same SQL: parse it once
def normalize_sql(sql: str, dialect: str) -> tuple[str, str]:
    """Replace every literal in ``sql`` by ``?`` and fingerprint the result.

    Args:
        sql: The SQL as the user wrote it (may hold raw values).
        dialect: The sqlglot dialect of the connection (``duckdb``, ``postgres``...).

    Returns:
        ``(normalized_sql, sha256_hex_of_normalized_sql)``. When ``sql`` cannot be parsed
        (or the dialect is unknown), ``("<unparseable SQL: N chars>", sha256 of sql)``.

    >>> normalize_sql("SELECT a FROM t WHERE b IS NULL AND c = TRUE LIMIT 5", "postgres")[0]
    'SELECT a FROM t WHERE b IS NULL AND c = TRUE LIMIT ?'
    """
    try:
        statements = [s for s in sqlglot.parse(sql, dialect=dialect) if s is not None]
        # A Command keeps the rest of the statement as raw text: never store it.
        if not statements or any(s.find(exp.Command) for s in statements):
            return unparseable(sql)
        parts = [_strip_literals(s).sql(dialect=dialect, comments=False) for s in statements]
    except (SqlglotError, ValueError, RecursionError):
        return unparseable(sql)
    text = "; ".join(parts)
    return text, sha256_hex(text)


def normalize_tree(tree: exp.Expr, dialect: str) -> tuple[str, str]:
    """Like :func:`normalize_sql` for a statement the caller already parsed (``tree`` is copied).

    Saves the second parse when the gateway has the AST at hand.

    >>> normalize_tree(sqlglot.parse_one("SELECT a FROM t WHERE b = 'x'"), "duckdb")[0]
    'SELECT a FROM t WHERE b = ?'
    """
    if tree.find(exp.Command):
        return unparseable(tree.sql(dialect=dialect))
    try:
        text = _strip_literals(tree.copy()).sql(dialect=dialect, comments=False)
    except (SqlglotError, ValueError, RecursionError):
        return unparseable(tree.sql(dialect=dialect))
    return text, sha256_hex(text)


def unparseable(sql: str) -> tuple[str, str]:
    """The stand-in kept for SQL that cannot be parsed: its length and the sha256 of its text.

    >>> unparseable("DROP EVERYTHING 'secret'")[0]
    '<unparseable SQL: 24 chars>'
    """
    return UNPARSEABLE.format(n=len(sql)), sha256_hex(sql)


def _strip_literals(tree: exp.Expr) -> exp.Expr:
    if isinstance(tree, LITERAL_TYPES):
        return exp.Var(this=PLACEHOLDER)
    # Replaced slot by slot: ``node.replace`` re-parents the whole list it sits in, which
    # made a 5,000-item ``IN (...)`` list take 20 s (quadratic); one ``set`` per list is linear.
    slots: dict[tuple[int, str], tuple[exp.Expr, str, set[int]]] = {}
    for node in tree.find_all(*LITERAL_TYPES):
        parent, key = node.parent, node.arg_key
        if parent is None or key is None or isinstance(parent, _MARKERS):
            continue
        slot = slots.setdefault((id(parent), key), (parent, key, set()))
        slot[2].add(id(node))
    for parent, key, ids in slots.values():
        value = parent.args.get(key)
        # A Var prints as its bare name, so ``?`` reads the same in every dialect
        # (a Placeholder would print ``%s`` in postgres).
        if isinstance(value, list):
            parent.set(key, [exp.Var(this=PLACEHOLDER) if id(v) in ids else v for v in value])
        else:
            parent.set(key, exp.Var(this=PLACEHOLDER))
    return tree
