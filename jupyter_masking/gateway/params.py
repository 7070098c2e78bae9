"""Bound parameters: find named placeholders in generated SQL and write them for the driver.

The gateway writes a parameter as sqlglot renders ``exp.Placeholder(this=name)`` in the
connection's dialect (``$name`` for DuckDB, ``%(name)s`` for PostgreSQL, ``:name`` for
MySQL and SQLite); ``:name`` is accepted everywhere. Placeholders are found with the
dialect's tokenizer, so text inside string literals, quoted identifiers and comments
is never mistaken for one, and only names present in ``params`` count. Values always
travel separately from the SQL text: they are bound by the driver, never spliced.

>>> render("SELECT * FROM t WHERE a = :a AND b LIKE 'x%'", {"a": 1}, "postgres", "pyformat")
"SELECT * FROM t WHERE a = %(a)s AND b LIKE 'x%%'"
>>> render("SELECT ':a', :a", {"a": 1}, "duckdb", "dollar")
"SELECT ':a', $a"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from sqlglot import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import Token, TokenType

from jupyter_masking.errors import BadInput

Style = Literal["named", "dollar", "pyformat"]

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FORMATS: dict[Style, str] = {"named": ":{}", "dollar": "${}", "pyformat": "%({})s"}


def _adjacent(tokens: list[Token], start: int, kinds: tuple[TokenType | None, ...]) -> bool:
    """Whether tokens[start:] match ``kinds`` (None: a name) with no gap between them."""
    if start + len(kinds) > len(tokens):
        return False
    for offset, kind in enumerate(kinds):
        token = tokens[start + offset]
        if kind is None:
            # a name may be any word, keywords included (``:limit``, ``:user``); never a
            # quoted identifier or string, whose token text has its quotes removed
            quoted = token.end - token.start + 1 != len(token.text)
            if quoted or not _WORD.fullmatch(token.text):
                return False
        elif token.token_type != kind:
            return False
        if offset and token.start != tokens[start + offset - 1].end + 1:
            return False
    return True


_SHAPES: tuple[tuple[tuple[TokenType | None, ...], int], ...] = (
    # (token kinds, index of the name token): ``:name``, ``$name``, ``%(name)s``
    ((TokenType.COLON, None), 1),
    ((TokenType.PARAMETER, None), 1),
    ((TokenType.MOD, TokenType.L_PAREN, None, TokenType.R_PAREN, None), 2),
)


def placeholders(sql: str, dialect: str, names: set[str]) -> list[tuple[int, int, str]]:
    """Spans ``(start, end_exclusive, name)`` of placeholders in ``sql`` named in ``names``.

    Raises:
        BadInput: The SQL cannot be tokenized (an unterminated string, for example).
    """
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except TokenError:
        raise BadInput("the SQL cannot be tokenized", hint="check quotes and comments") from None
    spans: list[tuple[int, int, str]] = []
    index = 0
    while index < len(tokens):
        for kinds, name_at in _SHAPES:
            if _adjacent(tokens, index, kinds):
                name = tokens[index + name_at].text
                is_format = kinds[-1] is None and len(kinds) > 2
                if name in names and (not is_format or tokens[index + len(kinds) - 1].text == "s"):
                    last = tokens[index + len(kinds) - 1]
                    spans.append((tokens[index].start, last.end + 1, name))
                    index += len(kinds) - 1
                    break
        index += 1
    return spans


def render(sql: str, params: Mapping[str, object], dialect: str, style: Style) -> str:
    """``sql`` with its placeholders written in the driver's ``style``.

    For ``pyformat`` drivers every other ``%`` is doubled, as those drivers require even
    when no parameter is bound.
    """
    if not params and style != "pyformat":
        return sql
    spans = placeholders(sql, dialect, set(params)) if params else []
    escape = style == "pyformat"
    out: list[str] = []
    position = 0
    for start, end, name in spans:
        text = sql[position:start]
        out.append(text.replace("%", "%%") if escape else text)
        out.append(_FORMATS[style].format(name))
        position = end
    tail = sql[position:]
    out.append(tail.replace("%", "%%") if escape else tail)
    return "".join(out)
