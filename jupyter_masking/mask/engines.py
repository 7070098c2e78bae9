"""What sqlglot cannot say for us: one small record of SQL builders per database engine.

Operators build dialect-neutral sqlglot expressions where the generator translates them
correctly, and ask the engine record for the rest: the keyed digest, ``repeat``, global
regex replacement, hex-to-integer and day arithmetic. Verified by tests against real
DuckDB, PostgreSQL, MariaDB, SQLite and Spark (PySpark ``local[2]``); ``mysql`` is
written for MariaDB 10.11 and MySQL 8 alike (MySQL itself is not tested). Snowflake,
BigQuery and Trino records are written from vendor documentation and not executed
anywhere (``verified=False``).
SQLite needs the functions from :func:`jupyter_masking.mask.sqlite.register_sqlite`.

>>> from sqlglot import exp
>>> engine_for("postgres").digest(exp.column("v")).sql("postgres")
"ENCODE(SHA256(CONVERT_TO(v, 'UTF8')), 'hex')"
>>> engine_for("mariadb").dialect
'mysql'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from jupyter_masking.mask.keys import subkey_setting
from jupyter_masking.mask.kinds import Kind

Builder1 = Callable[[exp.Expression], exp.Expression]
Builder2 = Callable[[exp.Expression, exp.Expression], exp.Expression]

DATE_FORMAT = "%Y-%m-%d"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def _fn(name: str, *args: exp.Expression | str | int) -> exp.Expression:
    """A function call written verbatim in every dialect (no sqlglot renaming)."""
    return exp.Anonymous(this=name, expressions=[_lit(a) for a in args])


def _lit(value: exp.Expression | str | int) -> exp.Expression:
    if isinstance(value, exp.Expression):
        return value
    if isinstance(value, int):
        return exp.Literal.number(value)
    return exp.Literal.string(value)


def _concat(*parts: exp.Expression) -> exp.Expression:
    """``a || b || ...``; sqlglot writes ``CONCAT(...)`` where ``||`` means OR."""
    result = parts[0]
    for part in parts[1:]:
        result = exp.DPipe(this=result, expression=part, safe=False)
    return result


def _text(value: exp.Expression) -> exp.Expression:
    return exp.cast(value, exp.DataType.build("text"))


def _standard_text(value: exp.Expression, kind: Kind | None) -> exp.Expression:
    if kind == "string":
        return value
    if kind in ("date", "timestamp"):
        fmt = DATE_FORMAT if kind == "date" else TIMESTAMP_FORMAT
        return exp.TimeToStr(this=value, format=exp.Literal.string(fmt))
    return _text(value)


def _mysql_text(value: exp.Expression, kind: Kind | None) -> exp.Expression:
    # SHA2 hashes the bytes of the argument's character set: force UTF-8 (utf8mb4).
    utf8 = exp.DataType(this=exp.DataType.Type.CHARACTER_SET, kind=exp.var("utf8mb4"))
    return exp.Cast(this=_standard_text(value, kind), to=utf8)


def _date_add(value: exp.Expression, days: exp.Expression, kind: Kind | None) -> exp.Expression:
    return exp.DateAdd(this=value, expression=days, unit=exp.var("DAY"))


def _sqlite_date_add(
    value: exp.Expression, days: exp.Expression, kind: Kind | None
) -> exp.Expression:
    modifier = _concat(_text(days), exp.Literal.string(" days"))
    return _fn("DATETIME" if kind == "timestamp" else "DATE", value, modifier)


def _spark_add_days(
    value: exp.Expression, days: exp.Expression, kind: Kind | None
) -> exp.Expression:
    # Spark's DATE_ADD returns a DATE even for a timestamp: keep the time of day.
    if kind == "timestamp":
        return _fn("TIMESTAMPADD", exp.var("DAY"), days, value)
    return exp.DateAdd(this=value, expression=days, unit=exp.var("DAY"))


def _java_replacement(text: str) -> str:
    r"""A literal replacement for Java's ``Matcher.replaceAll`` (``$`` and ``\`` are special).

    >>> _java_replacement("[REDACTED:x]"), _java_replacement("$1\\")
    ('[REDACTED:x]', '\\$1\\\\')
    """
    return text.replace("\\", "\\\\").replace("$", "\\$")


# PostgreSQL AREs spell word boundaries \y and \Y; there \b is a backspace, so a portable
# pattern with \b would silently never match (and leak). Outside brackets only.
_ARE_ESCAPES = {"b": "y", "B": "Y"}


def _postgres_regex(pattern: str) -> str:
    r"""Translate the portable subset's ``\b``/``\B`` to PostgreSQL's ``\y``/``\Y``.

    >>> _postgres_regex(r"\b[0-9]{3}\b [\b] []\b]\B")
    '\\y[0-9]{3}\\y [\\b] []\\b]\\Y'
    """
    out, in_class, i = [], False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            out.append("\\" + (escaped if in_class else _ARE_ESCAPES.get(escaped, escaped)))
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            # "[]...]" and "[^]...]": a leading "]" is a literal, not the end of the class
            lead = pattern[i + 1 : i + 3]
            skip = 2 if lead in ("^]",) else 1 if lead[:1] in ("]", "^") else 0
            out.append(pattern[i : i + 1 + skip])
            i += 1 + skip
            continue
        if char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class Engine:
    """SQL builders for one engine; every builder returns a sqlglot expression.

    Attributes:
        dialect: The sqlglot dialect that writes this engine's SQL.
        canonical_text: Value → its canonical text (see ``tokens.canonical_text``).
        digest: UTF-8 text → lowercase hex SHA-256.
        repeat: (text, count) → text repeated count times.
        regexp_replace_all: (text, pattern, replacement) → every match replaced.
        hex_int: seven lowercase hex characters → a non-negative integer.
        add_days: (date or timestamp, days, kind) → shifted value.
        verified: Whether tests run this engine's SQL on a real server.
        replace_many: (text, [(pattern, replacement), ...]) → all replaced in one flat call, for
            engines whose parser limits nesting (SQLite); ``None`` nests ``regexp_replace_all``.
        regexp_contains: (text, pattern) → whether the pattern matches anywhere (NULL for NULL),
            used to skip the replacement passes of rows without a match; ``None``: never skip.
        subkey: subkey → the SQL that yields it: a string literal, or (PostgreSQL) a read of
            the transaction setting :func:`~jupyter_masking.mask.keys.subkey_setting` names,
            which the connection sets with a bound value. PostgreSQL writes the text of a
            failing statement to its log by default, and any user can make a query fail.
    """

    dialect: str
    canonical_text: Callable[[exp.Expression, Kind | None], exp.Expression]
    digest: Builder1
    repeat: Builder2
    regexp_replace_all: Callable[[exp.Expression, str, str], exp.Expression]
    hex_int: Builder1
    add_days: Callable[[exp.Expression, exp.Expression, Kind | None], exp.Expression]
    verified: bool = True
    replace_many: Callable[[exp.Expression, list[tuple[str, str]]], exp.Expression] | None = None
    regexp_contains: Callable[[exp.Expression, str], exp.Expression] | None = None
    subkey: Callable[[str], exp.Expression] = exp.Literal.string


def _setting(subkey: str) -> exp.Expression:
    # a scalar subquery runs once per query (an init plan), not once per row
    return exp.Subquery(this=exp.select(_fn("CURRENT_SETTING", subkey_setting(subkey))))


def _repeat(text: exp.Expression, count: exp.Expression) -> exp.Expression:
    return exp.Repeat(this=text, times=count)


def _regexp_like(text: exp.Expression, pattern: str) -> exp.Expression:
    """``REGEXP_MATCHES`` (DuckDB), ``~`` (PostgreSQL), ``RLIKE`` (Spark): a match anywhere."""
    return exp.RegexpLike(this=text, expression=exp.Literal.string(pattern))


def _mysql_contains(text: exp.Expression, pattern: str) -> exp.Expression:
    # MariaDB has no REGEXP_LIKE; REGEXP_INSTR runs the same PCRE with the same collation
    # (case rules) as REGEXP_REPLACE, so the guard and the replacement agree.
    return exp.GT(this=_fn("REGEXP_INSTR", text, pattern), expression=exp.Literal.number(0))


ENGINES: dict[str, Engine] = {
    "duckdb": Engine(
        dialect="duckdb",
        canonical_text=_standard_text,
        digest=lambda v: _fn("SHA256", v),
        repeat=_repeat,
        regexp_replace_all=lambda v, p, r: _fn("REGEXP_REPLACE", v, p, r, "g"),
        hex_int=lambda h: exp.cast(_concat(exp.Literal.string("0x"), h), "bigint"),
        add_days=_date_add,
        regexp_contains=_regexp_like,
    ),
    "postgres": Engine(
        dialect="postgres",
        canonical_text=_standard_text,
        digest=lambda v: _fn("ENCODE", _fn("SHA256", _fn("CONVERT_TO", v, "UTF8")), "hex"),
        repeat=_repeat,
        regexp_replace_all=lambda v, p, r: _fn("REGEXP_REPLACE", v, _postgres_regex(p), r, "g"),
        hex_int=lambda h: exp.cast(
            exp.cast(_concat(exp.Literal.string("x"), h), exp.DataType.build("BIT(28)")), "int"
        ),
        add_days=_date_add,
        regexp_contains=lambda v, p: _regexp_like(v, _postgres_regex(p)),
        subkey=_setting,
    ),
    "mysql": Engine(
        dialect="mysql",
        canonical_text=_mysql_text,
        digest=lambda v: _fn("LOWER", _fn("SHA2", v, 256)),
        repeat=_repeat,
        # MariaDB and MySQL 8 REGEXP_REPLACE replace every match; there is no flag argument.
        regexp_replace_all=lambda v, p, r: _fn("REGEXP_REPLACE", v, p, r),
        hex_int=lambda h: exp.cast(_fn("CONV", h, 16, 10), "bigint"),
        add_days=_date_add,
        regexp_contains=_mysql_contains,
    ),
    "sqlite": Engine(
        dialect="sqlite",
        canonical_text=_standard_text,
        digest=lambda v: _fn("JM_SHA256", v),
        repeat=lambda t, n: _fn("JM_REPEAT", t, n),
        regexp_replace_all=lambda v, p, r: _fn("JM_REGEXP_REPLACE", v, p, r),
        hex_int=lambda h: _fn("JM_HEX_INT", h),
        add_days=_sqlite_date_add,
        # ~30 nested calls overflow SQLite's parser stack: one variadic call instead.
        replace_many=lambda v, pairs: _fn(
            "JM_REGEXP_REPLACE_MANY", v, *[part for pair in pairs for part in pair]
        ),
    ),
    # Spark SQL (Java regex; REGEXP_REPLACE replaces every match; SHA2 hashes the UTF-8
    # bytes of a string). Verified on PySpark local[2] by tests/test_spark_engine.py.
    "spark": Engine(
        dialect="spark",
        canonical_text=_standard_text,
        digest=lambda v: _fn("SHA2", v, 256),
        repeat=_repeat,
        regexp_replace_all=lambda v, p, r: _fn("REGEXP_REPLACE", v, p, _java_replacement(r)),
        # DATE_ADD takes an INT day count under ANSI mode: 7 hex digits always fit
        hex_int=lambda h: exp.cast(_fn("CONV", h, 16, 10), "int"),
        add_days=_spark_add_days,
        regexp_contains=_regexp_like,
    ),
    # Generated from vendor documentation, never executed here (no server in CI): the
    # SQL is well-formed, but determinism against the engines above is not tested.
    "snowflake": Engine(
        dialect="snowflake",
        canonical_text=_standard_text,
        digest=lambda v: _fn("SHA2", v, 256),
        repeat=_repeat,
        regexp_replace_all=lambda v, p, r: _fn("REGEXP_REPLACE", v, p, r),
        hex_int=lambda h: _fn("TO_NUMBER", h, "XXXXXXX"),
        add_days=_date_add,
        verified=False,
    ),
    "bigquery": Engine(
        dialect="bigquery",
        canonical_text=_standard_text,
        digest=lambda v: _fn("TO_HEX", _fn("SHA256", v)),
        repeat=_repeat,
        regexp_replace_all=lambda v, p, r: _fn("REGEXP_REPLACE", v, p, r),
        hex_int=lambda h: exp.cast(_concat(exp.Literal.string("0x"), h), "bigint"),
        add_days=_date_add,
        verified=False,
    ),
    "trino": Engine(
        dialect="trino",
        canonical_text=_standard_text,
        digest=lambda v: _fn("LOWER", _fn("TO_HEX", _fn("SHA256", _fn("TO_UTF8", v)))),
        # Trino's REPEAT builds an array; padding an empty string repeats a character.
        repeat=lambda t, n: _fn("LPAD", "", n, t),
        regexp_replace_all=lambda v, p, r: _fn("REGEXP_REPLACE", v, p, r),
        hex_int=lambda h: _fn("FROM_BASE", h, 16),
        add_days=_date_add,
        verified=False,
    ),
}

ALIASES = {"mariadb": "mysql", "postgresql": "postgres"}
VERIFIED = tuple(sorted(name for name, engine in ENGINES.items() if engine.verified))


def engine_for(dialect: str) -> Engine:
    """The engine record for a sqlglot dialect name; ``ValueError`` for unsupported ones."""
    name = ALIASES.get(dialect.lower(), dialect.lower())
    try:
        return ENGINES[name]
    except KeyError:
        supported = ", ".join(sorted([*ENGINES, *ALIASES]))
        raise ValueError(
            f"masking has no SQL form for dialect {dialect!r}; supported: {supported}"
        ) from None


def concat(*parts: exp.Expression) -> exp.Expression:
    """Text concatenation that every engine above understands."""
    return _concat(*parts)


def call(name: str, *args: exp.Expression | str | int) -> exp.Expression:
    """A function call written verbatim (used for engine functions and registered ones)."""
    return _fn(name, *args)
