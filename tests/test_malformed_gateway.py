"""Malformed and extreme input straight into the gateway, on DuckDB and PostgreSQL.

Every case gets either a result whose JSON form (the CLI/REST contract) is valid, strict JSON,
or a clean one-line :class:`~jupyter_masking.errors.MaskingError` of the expected kind; never an
unhandled exception; and the gateway keeps serving (a plain query runs after each case). The
entry points (CLI, magic, REST, MCP) add their own parsing on top: ``test_malformed_entry.py``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from test_attack_harness import ALICE
from test_fuzz_harness import FuzzLab, fuzz_lab

from jupyter_masking.errors import BadInput, DatabaseError, MaskingError, Refused
from jupyter_masking.gateway.api import QueryRequest

__all__ = ["fuzz_lab"]

ANY_ERROR = MaskingError
#: name -> (SQL, engines, expected): ``"ok"`` for a result, else the error class expected.
CASES: dict[str, tuple[str, tuple[str, ...], object]] = {
    "deep-parentheses": (
        "SELECT " + "(" * 3000 + "1" + ")" * 3000,
        ("duckdb", "postgres"),
        BadInput,
    ),
    "deep-functions": (
        "SELECT " + "upper(" * 2000 + "email" + ")" * 2000 + " FROM customers",
        ("duckdb", "postgres"),
        BadInput,
    ),
    "deep-subqueries": (
        "SELECT * FROM " + "(SELECT * FROM " * 300 + "customers" + ") AS x" * 300,
        ("duckdb", "postgres"),
        BadInput,
    ),
    "unterminated-string": ("SELECT 'abc FROM customers", ("duckdb", "postgres"), BadInput),
    "unterminated-comment": ("SELECT email /* FROM customers", ("duckdb", "postgres"), BadInput),
    "unterminated-identifier": ('SELECT "email FROM customers', ("duckdb", "postgres"), BadInput),
    "unterminated-dollar-quote": ("SELECT $$abc FROM customers", ("postgres",), BadInput),
    "empty": ("", ("duckdb",), BadInput),
    "blank": (" \n\t\r ", ("duckdb",), BadInput),
    "only-a-comment": ("-- nothing here", ("duckdb",), BadInput),
    "only-semicolons": (";;;", ("duckdb",), BadInput),
    "big-literal": ("SELECT '" + "x" * 300_000 + "' AS s", ("duckdb", "postgres"), "ok"),
    "binary": (
        "SELECT CAST('ab' AS BLOB) AS b, CAST(NULL AS BLOB) AS n",
        ("duckdb",),
        "ok",
    ),
    "binary-pg": (
        "SELECT CAST('ab' AS BYTEA) AS b, CAST(email AS BYTEA) AS e FROM customers",
        ("postgres",),
        "ok",
    ),
    "nan-infinity": (
        "SELECT CAST('NaN' AS DOUBLE) AS n, CAST('Infinity' AS DOUBLE) AS i, "
        "CAST('-Infinity' AS DOUBLE) AS m",
        ("duckdb", "postgres"),
        "ok",
    ),
    "nan-numeric-pg": ("SELECT CAST('NaN' AS NUMERIC) AS n", ("postgres",), "ok"),
    "time-edges": (
        "SELECT CAST('1969-12-31 23:59:59.999999' AS TIMESTAMP) AS before_epoch, "
        "CAST('9999-12-31 23:59:59' AS TIMESTAMP) AS far, CAST('0001-01-01' AS DATE) AS first, "
        "CAST('2026-03-29 02:30:00+02' AS TIMESTAMPTZ) AS dst_gap, "
        "CAST('2026-10-25 02:30:00+01' AS TIMESTAMPTZ) AS dst_twice",
        ("duckdb", "postgres"),
        "ok",
    ),
    "time-infinity-pg": (
        "SELECT CAST('infinity' AS TIMESTAMP) AS a, CAST('-infinity' AS DATE) AS b",
        ("postgres",),
        DatabaseError,  # Python has no infinite datetime: a clean error (see below)
    ),
    "time-bc-pg": ("SELECT CAST('4713-01-01 BC' AS DATE) AS c", ("postgres",), DatabaseError),
    "nulls-everywhere": (
        "SELECT NULL AS a, CAST(NULL AS TEXT) AS email, NULLIF(email, email) AS e, "
        "NULLIF(ssn, ssn) AS s, NULLIF(card_number, card_number) AS c "
        "FROM customers LEFT JOIN payments ON payments.id = customers.id",
        ("duckdb", "postgres"),
        "ok",
    ),
    "zero-rows": ("SELECT email, ssn FROM customers WHERE 1 = 0", ("duckdb", "postgres"), "ok"),
    "bidi-and-control-text": (
        "SELECT '\u202eevil\u2066' AS t, '\x1b[2J' AS esc, email AS \"\u202e\" FROM customers",
        ("duckdb", "postgres"),
        "ok",
    ),
    "interval-struct-list": (
        "SELECT INTERVAL 5 DAY AS i, {'a': email} AS s, [email, ssn] AS l FROM customers",
        ("duckdb",),
        "ok",
    ),
    "wide-10k": (
        "SELECT " + ", ".join(f"id AS c{i}" for i in range(10_000)) + " FROM customers LIMIT 2",
        ("duckdb",),
        "any",
    ),
    "wide-masked": (
        "SELECT " + ", ".join(f"email AS c{i}" for i in range(500)) + " FROM customers",
        ("duckdb", "postgres"),
        "ok",
    ),
    "huge-number": ("SELECT 123456789012345678901234567890 AS big", ("duckdb", "postgres"), "any"),
    "division-by-zero": ("SELECT 1 / 0 AS x, id FROM customers", ("postgres",), ANY_ERROR),
    "bad-cast-of-a-masked-value": (
        "SELECT CAST(email AS INTEGER) AS n FROM customers",
        ("duckdb", "postgres"),
        ANY_ERROR,
    ),
}


def strict_json(data: object) -> str:
    """JSON text without NaN/Infinity (which strict parsers and browsers reject)."""

    def refuse(token: str) -> float:
        raise ValueError(f"non-standard JSON number {token}")

    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    json.loads(text, parse_constant=refuse)
    return text


@pytest.mark.parametrize(
    ("name", "engine"),
    [(name, engine) for name, (_, engines, _) in CASES.items() for engine in engines],
)
def test_malformed_input_gets_a_result_or_one_clean_error_and_serving_continues(
    fuzz_lab: FuzzLab, name: str, engine: str
) -> None:
    sql, _, expected = CASES[name]
    request = QueryRequest(sql=sql, connection=engine)
    failure: MaskingError | None = None
    try:
        result = fuzz_lab.gateway.query(request, ALICE)
    except MaskingError as error:
        failure = error
    if failure is not None:
        assert expected != "ok", f"{name}: {failure}"
        if isinstance(expected, type):
            assert isinstance(failure, expected), f"{name}: {type(failure).__name__}: {failure}"
        text = str(failure)
        assert "\n" not in text
        assert len(text) < 600
        assert fuzz_lab.needles.in_text(text) == []
    else:
        assert expected in ("ok", "any"), f"{name} ran but should have been refused"
        assert fuzz_lab.needles.leaks(result.frame) == []
        strict_json(result.to_json())
    after = QueryRequest(sql="SELECT id FROM customers", connection=engine)
    assert len(fuzz_lab.gateway.query(after, ALICE).frame) == 40


def test_nan_and_infinity_become_null_in_the_json_contract(fuzz_lab: FuzzLab) -> None:
    sql, _, _ = CASES["nan-infinity"]
    result = fuzz_lab.gateway.query(QueryRequest(sql=sql, connection="duckdb"), ALICE)
    assert math.isnan(result.frame["n"][0])
    assert math.isinf(result.frame["i"][0])
    assert result.to_json()["rows"] == [[None, None, None]]


# --- found by this suite in the analyzer and the PostgreSQL engine -------------------------------

UP_FRONT: dict[str, tuple[str, Any]] = {
    "nul-byte-in-sql": ("SELECT email\x00 FROM customers", BadInput),
    "nul-inside-a-string": ("SELECT 'a\x00b' AS s", BadInput),
    "lone-surrogate": ("SELECT '\udcff\udcfe' AS s", BadInput),
    "chained-conditions": (
        "SELECT id FROM customers WHERE " + " AND ".join(["id > 0"] * 600),
        (BadInput, Refused),
    ),
    "huge-text": ("SELECT 1 AS one -- " + "x" * 1_100_000, BadInput),
}


@pytest.mark.parametrize("name", sorted(UP_FRONT))
def test_input_the_analyzer_cannot_handle_cheaply_is_refused_up_front(
    fuzz_lab: FuzzLab, name: str
) -> None:
    sql, expected = UP_FRONT[name]
    with pytest.raises(expected) as caught:
        fuzz_lab.gateway.query(QueryRequest(sql=sql, connection="duckdb"), ALICE)
    text = str(caught.value)
    assert "\x00" not in text
    assert "\n" not in text


def test_a_huge_in_list_is_refused_up_front(fuzz_lab: FuzzLab) -> None:
    sql = "SELECT id FROM customers WHERE id IN (" + ",".join(map(str, range(30_000))) + ")"
    with pytest.raises((BadInput, Refused)):
        fuzz_lab.gateway.query(QueryRequest(sql=sql, connection="duckdb"), ALICE)


def test_an_unrepresentable_postgres_date_is_reported_as_a_value_problem(
    fuzz_lab: FuzzLab,
) -> None:
    sql = "SELECT CAST('infinity' AS TIMESTAMP) AS a"
    with pytest.raises(DatabaseError) as caught:
        fuzz_lab.gateway.query(QueryRequest(sql=sql, connection="postgres"), ALICE)
    assert getattr(caught.value, "kind", None) == "data"


def test_an_unrepresentable_duckdb_date_is_a_clean_audited_failure(fuzz_lab: FuzzLab) -> None:
    sql = "SELECT CAST('infinity' AS DATE) AS d"
    with pytest.raises(DatabaseError):
        fuzz_lab.gateway.query(QueryRequest(sql=sql, connection="duckdb"), ALICE)
    (event,) = fuzz_lab.gateway.store.query(limit=1)
    assert event.sql == "SELECT CAST(? AS DATE) AS d"  # literals leave the audit
    assert event.outcome == "failed"


def test_a_long_in_list_is_normalized_for_the_audit_log_in_one_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found here: replacing the literals one by one re-parented the whole list each time,
    # so a 20,000-item IN list kept the audit stage busy for minutes (quadratic).
    from sqlglot import exp

    from jupyter_masking.audit.normalize import normalize_sql

    calls = 0
    original = exp.Expr.set

    def counting(self: exp.Expr, *args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        original(self, *args, **kwargs)

    monkeypatch.setattr(exp.Expr, "set", counting)
    values = ",".join(f"'v{i}'" for i in range(20_000))
    text, _ = normalize_sql(f"SELECT id FROM t WHERE id IN ({values}) AND a = 'x'", "duckdb")
    assert text.count("?") == 20_001
    assert "'" not in text
    assert calls < 10
