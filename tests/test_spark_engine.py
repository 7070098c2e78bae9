"""The operators' Spark SQL forms on a real PySpark ``local[2]`` session vs their Python twins.

Spark is held to the same table of cases as DuckDB, SQLite, PostgreSQL and MariaDB
(``tests/test_mask_engines.py``), and to the determinism contract: one key, class and
value give one token, and one final pseudonym, whichever engine computed it.
One Spark session serves the module (and the other ``test_spark_*`` modules).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from sqlglot import exp

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - CI installs a JRE
    pytest.skip("Spark needs Java 17 (openjdk-17-jre-headless)", allow_module_level=True)

from test_mask_engines import CASES, KEY, KINDS, PATTERNS, Runner, masked_by_python, norm

from jupyter_masking.gateway.engines.spark_session import LocalSettings, acquire_local
from jupyter_masking.mask import (
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
from jupyter_masking.mask.kinds import kind_of

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")

#: Shared by every Spark test module in this process, so the session starts once; its own
#: warehouse per process (xdist workers run side by side).
SETTINGS = LocalSettings(
    "local[2]", str(Path(tempfile.gettempdir()) / f"jm-spark-tests-{os.getpid()}")
)
atexit.register(shutil.rmtree, SETTINGS.warehouse, ignore_errors=True)


class SparkRunner:
    """Builds a one-column DataFrame of a type and selects expressions over it."""

    name = "spark"
    dialect = "spark"

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self._views = 0

    def column_type(self, type_sql: str) -> exp.DataType:
        return exp.DataType.build(type_sql, dialect=self.dialect)

    def select(
        self, type_sql: str, values: Sequence[Any], exprs: Sequence[exp.Expression]
    ) -> list[list[Any]]:
        self._views += 1
        view = f"jm_engine_t{self._views}"
        column_type = self.column_type(type_sql)
        if column_type.this in exp.DataType.TEXT_TYPES:
            column_type = exp.DataType.build("string")  # CHAR/VARCHAR only exist in tables
        schema = f"i INT, v {column_type.sql(self.dialect)}"
        frame = self.spark.createDataFrame(list(enumerate(values)), schema=schema)
        frame.createOrReplaceTempView(view)
        select = exp.select(*[e.as_(f"c{n}") for n, e in enumerate(exprs)]).from_(view)
        rows = self.spark.sql(select.order_by("i").sql(self.dialect)).collect()
        return [[row[n] for row in rows] for n in range(len(exprs))]


@pytest.fixture(scope="module")
def runner() -> Iterator[SparkRunner]:
    from jupyter_masking.gateway.engines.spark_session import release_local

    spark = acquire_local(SETTINGS, {})
    yield SparkRunner(spark)
    release_local(SETTINGS)


def masked_by_spark(
    runner: SparkRunner, call: str, data_class: str, type_sql: str, values: list[Any]
) -> tuple[list[Any], list[Any]]:
    op = build(parse_operator_call(call))
    ctx = SqlContext("spark", data_class, KEY.subkey(data_class), runner.column_type(type_sql))
    raw, masked = runner.select(type_sql, values, [exp.column("v"), op.sql(exp.column("v"), ctx)])
    if op.presents:
        masked = present(data_class, pd.Series(masked, dtype=object)).tolist()
    return raw, masked


@pytest.mark.parametrize(("call", "data_class", "type_sql", "values", "keeps_type"), CASES)
def test_spark_sql_form_equals_python_form(
    runner: SparkRunner,
    call: str,
    data_class: str,
    type_sql: str,
    values: list[Any],
    keeps_type: bool,
) -> None:
    raw, masked = masked_by_spark(runner, call, data_class, type_sql, values)
    expected = masked_by_python(call, data_class, values)
    assert [norm(v) for v in masked] == [norm(v) for v in expected]
    for before, after in zip(raw, masked, strict=True):
        if before is None:
            assert norm(after) is None, "NULL must stay NULL"
        elif keeps_type:
            assert type(after) is type(before), f"{call} changed {type(before)} to {type(after)}"


def test_tokens_agree_across_spark_duckdb_sqlite_and_python(runner: SparkRunner) -> None:
    """The determinism contract, with Spark in it (PostgreSQL and MariaDB agree with Python
    in ``test_mask_engines.py``, so agreeing with Python is agreeing with them)."""
    con = duckdb.connect()
    lite = sqlite3.connect(":memory:")
    register_sqlite(lite)
    others = (
        Runner(
            "duckdb",
            lambda s, p: con.execute(s, p).fetchall() if p else con.execute(s).fetchall(),
            "?",
        ),
        Runner("sqlite", lambda s, p: lite.execute(s, p or ()).fetchall(), "?"),
    )
    subkey = KEY.subkey("pii.email")
    try:
        for type_sql, values in KINDS:
            expected = token_many(subkey, pd.Series(values, dtype=object)).tolist()
            kind = kind_of(runner.column_type(type_sql))
            (from_spark,) = runner.select(
                type_sql, values, [token_sql(exp.column("v"), subkey, engine_for("spark"), kind)]
            )
            assert [norm(t) for t in from_spark] == [norm(t) for t in expected], type_sql
            for other in others:
                if other.name == "sqlite" and type_sql.startswith("decimal"):
                    continue  # SQLite has no decimal type (documented)
                sql = token_sql(exp.column("v"), subkey, engine_for(other.name), kind)
                (tokens,) = other.select(type_sql, values, [sql])
                assert tokens == from_spark, f"{other.name} vs spark on {type_sql}"
    finally:
        con.close()
        lite.close()


@pytest.mark.parametrize(
    "data_class",
    ["pii.email", "pii.person_name", "financial.credit_card", "pii.ip_address", "financial.iban"],
)
def test_spark_pseudonyms_equal_python_pseudonyms(runner: SparkRunner, data_class: str) -> None:
    values = ["4111 1111 1111 1111", "2001:db8::7", "ada@example.com", None]
    subkey = KEY.subkey(data_class)
    sql = pseudonym_token_sql(exp.column("v"), data_class, subkey, engine_for("spark"), "string")
    (tokens,) = runner.select("text", values, [sql])
    from_spark = present(data_class, pd.Series(tokens, dtype=object)).tolist()
    from_python = present(
        data_class, pseudonym_tokens(pd.Series(values, dtype=object), data_class, subkey)
    ).tolist()
    assert [norm(v) for v in from_spark] == [norm(v) for v in from_python]


def test_span_masking_replaces_every_match_in_spark(runner: SparkRunner) -> None:
    notes = [
        "mail ada@example.com or bob@example.org; ssn 123-45-6789 and 987-65-4321",
        "quote ' and backslash \\ and dollar $1 stay",
        None,
    ]
    ctx = SqlContext("spark", "pii.free_text", "", runner.column_type("text"))
    (masked,) = runner.select("text", notes, [span_mask_sql(exp.column("v"), PATTERNS, ctx)])
    assert masked[0] == (
        "mail [REDACTED:pii.email] or [REDACTED:pii.email]; "
        "ssn [REDACTED:gov_id.us_ssn] and [REDACTED:gov_id.us_ssn]"
    )
    assert masked[1:] == notes[1:]


def test_word_boundaries_survive_spark_string_escapes(runner: SparkRunner) -> None:
    # Spark unescapes backslashes in literals: \b must reach Java's regex, not become a backspace
    patterns = {"gov_id.us_ssn": r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b"}
    ctx = SqlContext("spark", "pii.free_text", "", runner.column_type("text"))
    notes = ["ssn 123-45-6789.", "id x1123-45-67890 is not one"]
    (masked,) = runner.select("text", notes, [span_mask_sql(exp.column("v"), patterns, ctx)])
    assert masked == ["ssn [REDACTED:gov_id.us_ssn].", notes[1]]


def test_quotes_and_injection_in_parameters_stay_literal_in_spark(runner: SparkRunner) -> None:
    _, masked = masked_by_spark(
        runner, 'partial(mask_char="\'")', "pii.email", "text", ["abcdefgh"]
    )
    assert masked == ["''''efgh"]
    _, masked = masked_by_spark(runner, "redact", "x.y'); DROP TABLE t1; --", "text", ["v"])
    assert masked == ["[REDACTED:x.y'); DROP TABLE t1; --]"]


def test_text_outputs_never_contain_the_raw_value_in_spark(runner: SparkRunner) -> None:
    secret = "SECRET-sentinel-4242@corp.example"
    for call in ("pseudonym", "hash", "partial", "email_domain", "generalize(keep=2)"):
        _, masked = masked_by_spark(runner, call, "pii.email", "text", [secret])
        assert "SECRET" not in masked[0], call
        assert "sentinel" not in masked[0], call
