"""Functions the SQL forms need on SQLite, registered on each connection.

SQLite has no SHA-256, ``repeat``, regex replacement or hex parsing, so
:func:`register_sqlite` adds them (all deterministic, NULL in → NULL out). With
SQLAlchemy, register on every new connection::

    sqlalchemy.event.listen(engine, "connect", lambda conn, _: register_sqlite(conn))

>>> import sqlite3
>>> conn = sqlite3.connect(":memory:")
>>> register_sqlite(conn)
>>> conn.execute("SELECT JM_REGEXP_REPLACE('a1b22', '[0-9]+', '#')").fetchone()
('a#b#',)
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import re2

# Regexes from the detectors run under RE2: linear time, no catastrophic backtracking.
_OPTIONS = re2.Options()
_OPTIONS.max_mem = 64 << 20


def jm_sha256(text: object) -> str | None:
    """Lowercase hex SHA-256 of the UTF-8 text."""
    if text is None:
        return None
    data = text if isinstance(text, bytes) else str(text).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def jm_repeat(text: object, count: object) -> str | None:
    """``text`` repeated ``count`` times (empty for counts below 1)."""
    if text is None or count is None:
        return None
    times = int(count) if isinstance(count, (int, float, str)) else 0
    return str(text) * max(times, 0)


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error as error:
        raise ValueError(f"pattern is not supported by RE2: {error}") from None


def jm_regexp_replace(text: object, pattern: object, replacement: object) -> str | None:
    """Every match of ``pattern`` replaced by ``replacement`` (taken literally)."""
    if text is None or pattern is None or replacement is None:
        return None
    literal = str(replacement)
    return str(_compiled(str(pattern)).sub(lambda _match: literal, str(text)))


@functools.lru_cache(maxsize=64)
def _any_of(patterns: tuple[str, ...]) -> Any:
    """The alternation of ``patterns``: a text it does not match needs no pass at all."""
    return _compiled("|".join(f"({pattern})" for pattern in patterns))


def jm_regexp_replace_many(text: object, *pairs: object) -> str | None:
    """Apply ``(pattern, replacement)`` pairs in order, each replacing every match literally."""
    if text is None:
        return None
    if len(pairs) % 2:
        raise ValueError("JM_REGEXP_REPLACE_MANY takes pattern/replacement pairs")
    result = str(text)
    if _any_of(tuple(str(p) for p in pairs[::2])).search(result) is None:
        return result
    for pattern, replacement in zip(pairs[::2], pairs[1::2], strict=True):
        literal = str(replacement)
        result = str(_compiled(str(pattern)).sub(lambda _m, text=literal: text, result))
    return result


def jm_hex_int(text: object) -> int | None:
    """A hex string as a non-negative integer."""
    return None if text is None else int(str(text), 16)


FUNCTIONS: dict[str, tuple[int, Any]] = {
    "JM_SHA256": (1, jm_sha256),
    "JM_REPEAT": (2, jm_repeat),
    "JM_REGEXP_REPLACE": (3, jm_regexp_replace),
    "JM_REGEXP_REPLACE_MANY": (-1, jm_regexp_replace_many),
    "JM_HEX_INT": (1, jm_hex_int),
}


def register_sqlite(dbapi_connection: Any) -> None:
    """Register every function the SQL forms use on a ``sqlite3`` connection."""
    for name, (arity, fn) in FUNCTIONS.items():
        dbapi_connection.create_function(name, arity, fn, deterministic=True)
