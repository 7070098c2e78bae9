"""Each operator's SQL form on real DuckDB, SQLite, PostgreSQL and MariaDB vs its Python twin.

The cross-engine determinism contract lives here too: the same key, class and value give the
same token and the same presented pseudonym whichever engine computed the token.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from jupyter_masking.mask import (
    MaskingKey,
    PyContext,
    SqlContext,
    build,
    parse_operator_call,
    present,
    pseudonym_token_sql,
    pseudonym_tokens,
    register_sqlite,
    span_mask_sql,
    token_many,
    token_sql,
)
from jupyter_masking.mask.engines import engine_for
from jupyter_masking.mask.keys import subkey_setting
from jupyter_masking.mask.kinds import kind_of

KEY = MaskingKey(b"engine-test-master-key-0123456789abcdef")
ENGINES = ("duckdb", "sqlite", "postgres", "mariadb")


class Runner:
    """Creates a one-column table of a type, fills it, and selects expressions over it."""

    def __init__(
        self,
        name: str,
        execute: Callable[[str, Sequence[Any] | None], list[tuple[Any, ...]]],
        param: str,
    ) -> None:
        self.name = name
        self.dialect = engine_for(name).dialect
        self._execute = execute
        self._param = param
        self._tables = 0

    def column_type(self, type_sql: str) -> exp.DataType:
        return exp.DataType.build(type_sql, dialect=self.dialect)

    def select(
        self,
        type_sql: str,
        values: Sequence[Any],
        exprs: Sequence[exp.Expression],
        subkeys: Sequence[str] = (),
    ) -> list[list[Any]]:
        """One result list per expression, in the order of ``values``.

        ``subkeys``: those the expressions use; PostgreSQL SQL reads them from settings,
        which are set here as the gateway's connection sets them.
        """
        if self.name == "postgres":
            for subkey in subkeys:
                self._execute("SELECT set_config(%s, %s, false)", (subkey_setting(subkey), subkey))
        self._tables += 1
        table = f"t{self._tables}"
        ddl_type = self.column_type(type_sql).sql(self.dialect)
        self._execute(f"CREATE TABLE {table} (i INT, v {ddl_type})", None)
        for i, value in enumerate(values):
            self._execute(
                f"INSERT INTO {table} VALUES ({self._param}, {self._param})",
                (i, self._adapt(value)),
            )
        select = (
            exp.select(*[e.as_(f"c{n}") for n, e in enumerate(exprs)]).from_(table).order_by("i")
        )
        rows = self._execute(select.sql(self.dialect), None)
        return [[row[n] for row in rows] for n in range(len(exprs))]

    def _adapt(self, value: Any) -> Any:
        if self.name == "sqlite" and isinstance(value, dt.datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S")
        if self.name == "sqlite" and isinstance(value, dt.date):
            return value.isoformat()
        if self.name == "sqlite" and isinstance(value, decimal.Decimal):
            return float(value)
        return value


def _sqlalchemy_runner(name: str, url: str) -> Iterator[Runner]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None

        def execute(sql: str, params: Sequence[Any] | None) -> list[tuple[Any, ...]]:
            cursor = raw.cursor()
            cursor.execute(sql, params)
            rows = list(cursor.fetchall()) if cursor.description else []
            raw.commit()
            return rows

        yield Runner(name, execute, "%s")
    engine.dispose()


@pytest.fixture(params=ENGINES)
def runner(request: pytest.FixtureRequest) -> Iterator[Runner]:
    name = request.param
    if name == "duckdb":
        con = duckdb.connect()
        yield Runner(
            name,
            lambda sql, p: con.execute(sql, p).fetchall() if p else con.execute(sql).fetchall(),
            "?",
        )
        con.close()
    elif name == "sqlite":
        conn = sqlite3.connect(":memory:")
        register_sqlite(conn)
        yield Runner(name, lambda sql, p: conn.execute(sql, p or ()).fetchall(), "?")
        conn.close()
    elif name == "postgres":
        yield from _sqlalchemy_runner(name, request.getfixturevalue("pg_schema").url)
    else:
        yield from _sqlalchemy_runner(name, request.getfixturevalue("mariadb_database").url)


def norm(value: Any) -> Any:
    """A comparable form across drivers: dates as ISO text, numbers as float, NULL as None."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, decimal.Decimal)):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def masked_by_engine(
    runner: Runner, call: str, data_class: str, type_sql: str, values: list[Any]
) -> tuple[list[Any], list[Any]]:
    """(raw column, final masked column) as the engine (+ presenter) returns them."""
    op = build(parse_operator_call(call))
    ctx = SqlContext(runner.name, data_class, KEY.subkey(data_class), runner.column_type(type_sql))
    exprs = [exp.column("v"), op.sql(exp.column("v"), ctx)]
    raw, masked = runner.select(type_sql, values, exprs, [ctx.subkey])
    if op.presents:
        masked = present(data_class, pd.Series(masked, dtype=object)).tolist()
    return raw, masked


def masked_by_python(call: str, data_class: str, values: list[Any]) -> list[Any]:
    op = build(parse_operator_call(call))
    return op.python(
        pd.Series(values, dtype=object), PyContext(data_class, KEY.subkey(data_class))
    ).tolist()


D1, D2 = dt.date(1987, 5, 17), dt.date(2024, 2, 29)
T1 = dt.datetime(1987, 5, 17, 13, 4, 5)
TEXTS = ["ada@example.com", "Zoë O'Brien", "東京 😀", "a\\b", " padded ", ""]

# (operator call, data class, SQL type, values, type must survive)
CASES: list[tuple[str, str, str, list[Any], bool]] = [
    ("pseudonym", "pii.email", "text", [*TEXTS, None], False),
    ("pseudonym", "pii.person_name", "varchar(40)", ["Ada Lovelace", "Ada Lovelace", None], False),
    (
        "pseudonym",
        "financial.credit_card",
        "text",
        ["4111-1111-1111-1111", "378282246310005", None],
        False,
    ),
    ("pseudonym", "pii.ip_address", "text", ["10.1.2.3", "fe80::1", None], False),
    ("pseudonym", "gov_id.us_ssn", "bigint", [123456789, None], False),
    ("hash", "pii.email", "text", [*TEXTS, None], False),
    ("hash(length=12)", "pii.email", "int", [5, -7, 0, None], False),
    ("hash(length=16)", "pii.date_of_birth", "date", [D1, D2, None], False),
    ("hash(length=16)", "x.event_time", "timestamp", [T1, None], False),
    (
        "hash",
        "financial.amount",
        "decimal(10,2)",
        [decimal.Decimal("12.50"), decimal.Decimal("-3.00"), None],
        False,
    ),
    (
        "partial(keep_last=4)",
        "financial.credit_card",
        "text",
        ["4111111111111111", "1234", "12", "", None],
        False,
    ),
    (
        "partial(keep_first=2, keep_last=2, mask_char='#')",
        "pii.phone",
        "text",
        ["+1 555 0100", "東京都港区", None],
        False,
    ),
    ("partial(keep_last=4)", "gov_id.us_ssn", "bigint", [123456789, None], False),
    ("redact", "pii.email", "text", ["a@b.c", None], False),
    ("redact", "pii.date_of_birth", "date", [D1, None], False),
    ("null", "pii.email", "text", ["a@b.c", None], False),
    ("null", "pii.date_of_birth", "date", [D1], False),
    ("generalize(to=year)", "pii.date_of_birth", "date", [D1, D2, None], True),
    ("generalize(to=month)", "pii.date_of_birth", "date", [D1, D2, None], True),
    ("generalize(to=decade)", "pii.date_of_birth", "date", [D1, dt.date(2000, 1, 1), None], True),
    ("generalize(to=month)", "x.event_time", "timestamp", [T1, None], True),
    ("generalize(bucket=10)", "x.age", "int", [37, -3, 0, 10, None], True),
    (
        "generalize(bucket=1000)",
        "x.salary",
        "decimal(10,2)",
        [decimal.Decimal("12345.67"), None],
        True,
    ),
    ("generalize(bucket=5)", "x.score", "double", [7.5, -0.25, None], True),
    ("generalize(keep=3)", "pii.postal_address", "text", ["94107", "941", "SW1A 1AA", None], False),
    ("date_shift", "pii.date_of_birth", "date", [D1, D2, dt.date(2000, 1, 1), None], True),
    ("date_shift(max_days=365)", "x.event_time", "timestamp", [T1, None], True),
    (
        "email_domain",
        "pii.email",
        "text",
        ["ada@lovelace.org", "nobody", "a@b@c", "x@", "Zoë@例え.jp", None],
        False,
    ),
]


@pytest.mark.parametrize(("call", "data_class", "type_sql", "values", "keeps_type"), CASES)
def test_sql_form_equals_python_form_on_every_engine(
    runner: Runner, call: str, data_class: str, type_sql: str, values: list[Any], keeps_type: bool
) -> None:
    raw, masked = masked_by_engine(runner, call, data_class, type_sql, values)
    if runner.name == "sqlite" and call == "hash" and type_sql.startswith("decimal"):
        # SQLite has no decimal type (the values arrive as REAL), so the tokens may differ
        # from the other engines'; they must still be tokens: distinct, never the raw value.
        tokens = [m for r, m in zip(raw, masked, strict=True) if r is not None]
        assert all(isinstance(t, str) and len(t) >= 16 for t in tokens), tokens
        assert len(set(tokens)) == len({norm(r) for r in raw if r is not None})
        assert not {norm(r) for r in raw} & {norm(t) for t in tokens}
        return
    expected = masked_by_python(call, data_class, values)
    assert [norm(v) for v in masked] == [norm(v) for v in expected]
    for before, after in zip(raw, masked, strict=True):
        if before is None:
            assert norm(after) is None, "NULL must stay NULL"
        elif keeps_type:
            assert type(after) is type(before), f"{call} changed {type(before)} to {type(after)}"


@pytest.mark.parametrize(
    "call", ["pseudonym", "hash", "partial", "email_domain", "generalize(keep=2)"]
)
def test_text_outputs_never_contain_the_raw_value(runner: Runner, call: str) -> None:
    secret = "SECRET-sentinel-4242@corp.example"
    _, masked = masked_by_engine(runner, call, "pii.email", "text", [secret])
    assert "SECRET" not in masked[0]
    assert "sentinel" not in masked[0]


def test_when_master_key_is_used_then_only_the_subkey_reaches_sql(runner: Runner) -> None:
    ctx = SqlContext(runner.name, "pii.email", KEY.subkey("pii.email"), None)
    sql = build(parse_operator_call("pseudonym")).sql(exp.column("v"), ctx).sql(runner.dialect)
    if runner.name == "postgres":  # read from a setting: the server may log statement text
        assert KEY.subkey("pii.email") not in sql
        assert subkey_setting(KEY.subkey("pii.email")) in sql
    else:
        assert KEY.subkey("pii.email") in sql
    assert KEY.to_text() not in sql
    assert "engine-test-master-key" not in sql
    assert "subkey" not in repr(ctx)


def test_quotes_in_parameters_and_class_names_stay_literal(runner: Runner) -> None:
    _, masked = masked_by_engine(
        runner, 'partial(mask_char="\'")', "pii.email", "text", ["abcdefgh"]
    )
    assert masked == ["''''efgh"]
    _, masked = masked_by_engine(runner, "redact", "x.y'); DROP TABLE t1; --", "text", ["v"])
    assert masked == ["[REDACTED:x.y'); DROP TABLE t1; --]"]


KINDS: list[tuple[str, list[Any]]] = [
    ("text", [*TEXTS, "ADA@EXAMPLE.COM", None]),
    ("varchar(64)", ["ada@example.com", "trailing  "]),
    ("int", [0, 42, -42, 2147483647]),
    ("bigint", [9007199254740993, -1]),
    ("date", [D1, D2, dt.date(1000, 1, 1), dt.date(9999, 12, 31)]),
    (
        "timestamp",
        [T1, dt.datetime(2024, 2, 29, 23, 59, 59), dt.datetime(2024, 1, 1, 1, 2, 3, 456789)],
    ),
    ("decimal(12,3)", [decimal.Decimal("1.500"), decimal.Decimal("-0.001")]),
]


def test_tokens_agree_across_all_four_engines_and_python(
    pg_schema: Any, mariadb_database: Any
) -> None:
    """The determinism contract: one key, class and value → one token, in every engine."""
    runners: dict[str, Runner] = {}
    con = duckdb.connect()
    runners["duckdb"] = Runner(
        "duckdb", lambda s, p: con.execute(s, p).fetchall() if p else con.execute(s).fetchall(), "?"
    )
    lite = sqlite3.connect(":memory:")
    register_sqlite(lite)
    runners["sqlite"] = Runner("sqlite", lambda s, p: lite.execute(s, p or ()).fetchall(), "?")
    pg = _sqlalchemy_runner("postgres", pg_schema.url)
    maria = _sqlalchemy_runner("mariadb", mariadb_database.url)
    runners["postgres"], runners["mariadb"] = next(pg), next(maria)
    subkey = KEY.subkey("pii.email")
    for type_sql, values in KINDS:
        expected = token_many(subkey, pd.Series(values, dtype=object)).tolist()
        for name, run in runners.items():
            if name == "sqlite" and type_sql.startswith("decimal"):
                continue  # SQLite has no decimal type: not guaranteed (documented)
            kind = kind_of(run.column_type(type_sql))
            sql = token_sql(exp.column("v"), subkey, engine_for(name), kind)
            (tokens,) = run.select(type_sql, values, [sql], [subkey])
            assert [norm(t) for t in tokens] == [norm(t) for t in expected], f"{name} {type_sql}"
    for gen in (pg, maria):
        gen.close()
    con.close()
    lite.close()


@pytest.mark.parametrize(
    "data_class",
    [
        "pii.email",
        "pii.person_name",
        "financial.credit_card",
        "pii.ip_address",
        "financial.iban",
        "secret.github_token",
        "health.us_npi",
    ],
)
def test_pseudonyms_agree_with_python_for_every_class(runner: Runner, data_class: str) -> None:
    values = ["4111 1111 1111 1111", "2001:db8::7", "ada@example.com", None]
    subkey = KEY.subkey(data_class)
    sql = pseudonym_token_sql(
        exp.column("v"), data_class, subkey, engine_for(runner.name), "string"
    )
    (tokens,) = runner.select("text", values, [sql], [subkey])
    from_engine = present(data_class, pd.Series(tokens, dtype=object)).tolist()
    from_python = present(
        data_class, pseudonym_tokens(pd.Series(values, dtype=object), data_class, subkey)
    ).tolist()
    assert [norm(v) for v in from_engine] == [norm(v) for v in from_python]


def test_rotating_the_key_changes_every_pseudonym(runner: Runner) -> None:
    other = MaskingKey.generate()
    values = ["ada@example.com", "bob@example.com", "carol@example.com"]
    before = masked_by_engine(runner, "pseudonym", "pii.email", "text", values)[1]
    ctx = SqlContext(runner.name, "pii.email", other.subkey("pii.email"), None)
    sql = build(parse_operator_call("pseudonym")).sql(exp.column("v"), ctx)
    (tokens,) = runner.select("text", values, [sql], [ctx.subkey])
    after = present("pii.email", pd.Series(tokens, dtype=object)).tolist()
    assert all(a != b for a, b in zip(before, after, strict=True))


PATTERNS = {
    "pii.email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    "gov_id.us_ssn": r"[0-9]{3}-[0-9]{2}-[0-9]{4}",
}


def test_span_masking_replaces_every_match_in_sql(runner: Runner) -> None:
    notes = [
        "mail ada@example.com or bob@example.org; ssn 123-45-6789 and 987-65-4321",
        "nothing here",
        "quote ' and backslash \\ stay",
        None,
    ]
    ctx = SqlContext(runner.name, "pii.free_text", "", runner.column_type("text"))
    (masked,) = runner.select("text", notes, [span_mask_sql(exp.column("v"), PATTERNS, ctx)])
    assert masked[0] == (
        "mail [REDACTED:pii.email] or [REDACTED:pii.email]; "
        "ssn [REDACTED:gov_id.us_ssn] and [REDACTED:gov_id.us_ssn]"
    )
    assert masked[1:] == notes[1:]


def test_span_masking_of_a_derivation_still_masks(runner: Runner) -> None:
    ctx = SqlContext(runner.name, "pii.free_text", "", None)
    upper = exp.Upper(this=exp.column("v"))
    (masked,) = runner.select(
        "text", ["write to ada@example.com"], [span_mask_sql(upper, PATTERNS, ctx)]
    )
    assert masked == ["WRITE TO [REDACTED:pii.email]"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        # no NUL and no lone surrogates (category Cs): neither is text a database can store
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=40,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_text_tokens_the_same_in_duckdb_sqlite_and_python(values: list[str]) -> None:
    subkey = KEY.subkey("pii.email")
    expected = token_many(subkey, pd.Series(values, dtype=object)).tolist()
    con = duckdb.connect()
    lite = sqlite3.connect(":memory:")
    register_sqlite(lite)
    try:
        for name, run in (
            (
                "duckdb",
                Runner(
                    "duckdb",
                    lambda s, p: con.execute(s, p).fetchall() if p else con.execute(s).fetchall(),
                    "?",
                ),
            ),
            ("sqlite", Runner("sqlite", lambda s, p: lite.execute(s, p or ()).fetchall(), "?")),
        ):
            (tokens,) = run.select(
                "text", values, [token_sql(exp.column("v"), subkey, engine_for(name), "string")]
            )
            assert tokens == expected
    finally:
        con.close()
        lite.close()


def test_word_boundaries_in_patterns_work_on_every_engine(runner: Runner) -> None:
    # PostgreSQL reads \b as a backspace; unless translated, this pattern would never match there.
    patterns = {"gov_id.us_ssn": r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b"}
    ctx = SqlContext(runner.name, "pii.free_text", "", runner.column_type("text"))
    notes = ["ssn 123-45-6789.", "id x1123-45-67890 is not one"]
    (masked,) = runner.select("text", notes, [span_mask_sql(exp.column("v"), patterns, ctx)])
    assert masked == ["ssn [REDACTED:gov_id.us_ssn].", notes[1]]


GUARD_NOTES = [
    "key AKIAIOSFODNN7EXAMPLE and mail ada@example.com",
    "card 4111 1111 1111 1111, call (555) 010-0199",
    "password=hunter22 ssn 123-45-6789 from 10.0.0.7",
    "nothing sensitive, just ORD-2024-001 and 12 apples",
    "only an email: bob@example.org",
    "IBAN GB82 WEST 1234 5698 7654 32 and nic 00:1A:2B:3C:4D:5E",
    None,
]


def test_guarded_span_masking_gives_exactly_the_nested_passes_result(runner: Runner) -> None:
    from jupyter_masking.detect import SQL_SPAN_PATTERNS

    ctx = SqlContext(runner.name, "pii.free_text", "", runner.column_type("text"))
    column = exp.column("v")
    guarded = span_mask_sql(column, SQL_SPAN_PATTERNS, ctx)
    # Every class frequent: the plain nested form, in the same order as the guarded one.
    order = [c for c in SQL_SPAN_PATTERNS if c not in ("pii.email", "pii.phone")]
    ordered = {c: SQL_SPAN_PATTERNS[c] for c in [*order, "pii.email", "pii.phone"]}
    nested = span_mask_sql(column, ordered, ctx, frequent=set(ordered))
    fast, plain = runner.select("text", GUARD_NOTES, [guarded, nested])
    assert fast == plain
    for raw in ("AKIAIOSFODNN7", "ada@", "4111 1111", "010-0199", "hunter22", "123-45-6789"):
        assert not any(raw in text for text in fast if text), raw
    assert fast[3] == GUARD_NOTES[3]
    assert fast[6] is None
