"""Operators in Python: parameter validation at policy load, Python forms, types and refusals."""

from __future__ import annotations

import datetime as dt
import decimal

import numpy as np
import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

from jupyter_masking.errors import Refused
from jupyter_masking.mask import (
    OPERATOR_NAMES,
    OPERATORS,
    PyContext,
    SqlContext,
    build,
    parse_operator_call,
    validate_call,
)
from jupyter_masking.mask.operators import DateShift

CTX = PyContext("pii.email", "ab" * 32)


def run(call: str, values: pd.Series, ctx: PyContext = CTX) -> pd.Series:
    return build(parse_operator_call(call)).python(values, ctx)


def test_every_design_operator_has_exactly_one_class() -> None:
    assert sorted(OPERATORS) == sorted(OPERATOR_NAMES)
    assert {cls.name for cls in OPERATORS.values()} == set(OPERATOR_NAMES)
    assert [n for n, cls in OPERATORS.items() if cls.presents] == ["pseudonym"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("partial(keep_last=-1)", "partial: keep_last must be >= 0"),
        ("partial(keep_first=65)", "partial: keep_first must be <= 64"),
        ("partial(mask_char='')", "partial: mask_char must be at least 1 character(s)"),
        ("partial(mask_char='**')", "partial: mask_char must be at most 1 character(s)"),
        (
            "partial(keep_lst=4)",
            "partial: unknown parameter 'keep_lst' — did you mean 'keep_last'?",
        ),
        ("partial(keep_last=4.5)", "partial: keep_last must be an integer"),
        ("partial(keep_last=true)", "partial: keep_last must be an integer"),
        ("partial(keep_last='4')", "partial: keep_last must be an integer"),
        ("hash(length=7)", "hash: length must be >= 8"),
        ("hash(length=65)", "hash: length must be <= 64"),
        ("redact(text=x)", "redact: unknown parameter 'text' (known: none)"),
        ("null(x=1)", "null: unknown parameter 'x' (known: none)"),
        ("generalize", "generalize: give exactly one of to, bucket, keep"),
        ("generalize(to=year, bucket=10)", "generalize: give exactly one of to, bucket, keep"),
        ("generalize(to=week)", "generalize: to must be one of 'year', 'month' or 'decade'"),
        ("generalize(bucket=0)", "generalize: bucket must be >= 1"),
        ("generalize(keep=-2)", "generalize: keep must be >= 0"),
        ("date_shift(max_days=0)", "date_shift: max_days must be >= 1"),
        ("date_shift(days=3)", "date_shift: unknown parameter 'days' — did you mean 'max_days'?"),
        ("email_domain(keep=1)", "email_domain: unknown parameter 'keep' (known: none)"),
        ("pseudonym(locale=fr)", "pseudonym: unknown parameter 'locale' (known: none)"),
    ],
)
def test_when_params_are_invalid_then_validate_call_explains_in_one_line(
    call: str, message: str
) -> None:
    with pytest.raises(ValueError) as error:
        validate_call(parse_operator_call(call))
    assert str(error.value) == message


@pytest.mark.parametrize(
    "call",
    [
        "pseudonym",
        "hash",
        "hash(length=8)",
        "partial(keep_first=1, keep_last=2, mask_char=x)",
        "redact",
        "null",
        "generalize(to=year)",
        "generalize(bucket=100)",
        "generalize(keep=0)",
        "date_shift(max_days=3650)",
        "email_domain",
    ],
)
def test_valid_calls_build_and_describe_themselves(call: str) -> None:
    op = build(parse_operator_call(call))
    assert op.describe().split("(")[0] == call.split("(")[0]
    assert repr(op).startswith("<operator ")


def test_partial_never_shows_a_short_value_whole() -> None:
    out = run("partial(keep_first=2, keep_last=2)", pd.Series(["abcd", "abcde", "ab", ""]))
    assert out.tolist() == ["****", "ab*de", "**", ""]


def test_partial_counts_characters_not_bytes() -> None:
    assert run("partial(keep_last=1)", pd.Series(["東京都"])).tolist() == ["**都"]


def test_partial_on_numbers_works_on_their_text() -> None:
    assert run("partial(keep_last=4)", pd.Series([123456789, None], dtype="Int64")).tolist() == [
        "*****6789",
        np.nan,
    ]


def test_hash_is_keyed_and_deterministic() -> None:
    values = pd.Series(["a", "b", "a"])
    out = run("hash", values)
    assert out[0] == out[2] != out[1]
    assert len(out[0]) == 64
    assert set(out[0]) <= set("0123456789abcdef")
    assert run("hash", values, PyContext("pii.email", "cd" * 32))[0] != out[0]
    assert run("hash", values, PyContext("pii.phone", "ab" * 32))[0] == out[0], (
        "the subkey carries the class"
    )


def test_integers_with_nulls_hash_like_integers() -> None:
    # pandas turns a NULL-able integer column into float64; it must still agree with SQL.
    as_float = run("hash", pd.Series([42, None]))
    as_int = run("hash", pd.Series([42]))
    assert as_float[0] == as_int[0]
    assert pd.isna(as_float[1])


def test_redact_keeps_nulls_and_types() -> None:
    assert run("redact", pd.Series(["x", None], dtype="str")).tolist() == [
        "[REDACTED:pii.email]",
        np.nan,
    ]
    dates = run("redact", pd.Series([dt.date(2020, 1, 1), None], dtype=object))
    assert dates.isna().all()
    ints = run("redact", pd.Series([1, 2]))
    assert ints.isna().all()
    assert str(ints.dtype) == "Int64"


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        (pd.Series([1, 2]), "Int64"),
        (pd.Series([1.5]), "float64"),
        (pd.Series([True]), "boolean"),
        (pd.Series(pd.to_datetime(["2020-01-01"])), "datetime64[us]"),
        (pd.Series(["a"]), "str"),
    ],
)
def test_null_keeps_a_usable_dtype(values: pd.Series, dtype: str) -> None:
    out = run("null", values)
    assert out.isna().all()
    assert str(out.dtype) == dtype or out.dtype.kind == values.dtype.kind


def test_generalize_dates_stay_dates_in_every_python_form() -> None:
    d = dt.date(1987, 5, 17)
    assert run("generalize(to=year)", pd.Series([d, None], dtype=object)).tolist() == [
        dt.date(1987, 1, 1),
        None,
    ]
    stamps = pd.Series(pd.to_datetime(["1987-05-17 13:04:05", None]))
    out = run("generalize(to=month)", stamps)
    assert out.dtype == stamps.dtype
    assert out[0] == pd.Timestamp("1987-05-01")
    assert pd.isna(out[1])
    assert run("generalize(to=decade)", pd.Series(["1987-05-17"])).tolist() == ["1980-01-01"]


def test_generalize_buckets_floor_and_keep_number_types() -> None:
    assert run("generalize(bucket=10)", pd.Series([37, -3, 0])).tolist() == [30, -10, 0]
    floats = run("generalize(bucket=5)", pd.Series([7.5, -0.25, np.nan]))
    assert floats.dtype == np.float64
    assert floats[:2].tolist() == [5.0, -5.0]
    assert np.isnan(floats[2])
    decimals = run(
        "generalize(bucket=1000)", pd.Series([decimal.Decimal("12345.67"), None], dtype=object)
    )
    assert decimals.tolist() == [decimal.Decimal("12000"), None]


def test_date_shift_is_consistent_per_value_bounded_and_keyed() -> None:
    op = build(parse_operator_call("date_shift(max_days=7)"))
    assert isinstance(op, DateShift)
    dates = [dt.date(2000, 1, 1) + dt.timedelta(days=i) for i in range(400)]
    shifts = [op.days(d, "ab" * 32) for d in dates]
    assert all(-7 <= s <= 7 for s in shifts)
    assert len(set(shifts)) == 15, "every shift in the range occurs"
    out = op.python(pd.Series(dates + dates[:3], dtype=object), CTX)
    assert out.tolist()[-3:] == out.tolist()[:3]
    other = op.python(pd.Series(dates, dtype=object), PyContext("pii.email", "cd" * 32))
    assert other.tolist() != out.tolist()[:400]


def test_date_shift_keeps_time_of_day() -> None:
    stamps = pd.Series(pd.to_datetime(["2024-02-29 23:59:59"]))
    out = run("date_shift", stamps)
    assert out.dtype == stamps.dtype
    assert out[0].time() == dt.time(23, 59, 59)


def test_email_domain_never_keeps_a_local_part() -> None:
    values = pd.Series(["ada@lovelace.org", "plain", "a@b@c.org", "@x.org", "x@", None])
    assert run("email_domain", values).tolist() == [
        "*****@lovelace.org",
        "*****",
        "*****",
        "*****@x.org",
        "*****@",
        np.nan,
    ]


@pytest.mark.parametrize(
    ("call", "type_sql"),
    [
        ("generalize(to=year)", "text"),
        ("generalize(bucket=10)", "date"),
        ("generalize(bucket=10)", "varchar(5)"),
        ("date_shift", "int"),
        ("date_shift", "text"),
    ],
)
def test_when_operator_does_not_fit_the_column_type_then_the_query_is_refused(
    call: str, type_sql: str
) -> None:
    ctx = SqlContext("postgres", "pii.date_of_birth", "ab" * 32, exp.DataType.build(type_sql))
    with pytest.raises(Refused, match=r"cannot mask a .* column; it needs"):
        build(parse_operator_call(call)).sql(exp.column("v"), ctx)


@pytest.mark.parametrize(
    ("call", "values"),
    [
        ("generalize(to=year)", pd.Series([1, 2])),
        ("date_shift", pd.Series([1.5])),
        ("date_shift", pd.Series(["not a date"])),
        ("generalize(bucket=10)", pd.Series(["12"])),
    ],
)
def test_python_forms_refuse_the_same_misfits(call: str, values: pd.Series) -> None:
    with pytest.raises(Refused):
        run(call, values)


def test_unknown_dialect_is_refused_by_name() -> None:
    ctx = SqlContext("oracle", "pii.email", "ab" * 32, None)
    with pytest.raises(
        ValueError,
        match="no SQL form for dialect 'oracle'; supported: bigquery, duckdb, mariadb, mysql",
    ):
        build(parse_operator_call("hash")).sql(exp.column("v"), ctx)


def test_outputs_keep_the_input_index() -> None:
    values = pd.Series(["a@b.c", None, "d@e.f"], index=[10, 20, 30])
    for name in OPERATORS:
        call = {"generalize": "generalize(keep=1)", "date_shift": "redact"}.get(name, name)
        assert run(call, values).index.tolist() == [10, 20, 30]


@pytest.mark.parametrize("dialect", ["snowflake", "bigquery", "trino"])
@pytest.mark.parametrize(
    ("call", "type_sql"),
    [
        ("pseudonym", "text"),
        ("hash(length=16)", "date"),
        ("partial(keep_first=1)", "text"),
        ("generalize(to=decade)", "date"),
        ("generalize(bucket=10)", "int"),
        ("date_shift", "date"),
        ("email_domain", "text"),
    ],
)
def test_unverified_dialects_generate_sql_their_parser_reads_back(
    dialect: str, call: str, type_sql: str
) -> None:
    ctx = SqlContext(dialect, "financial.credit_card", "ab" * 32, exp.DataType.build(type_sql))
    sql = build(parse_operator_call(call)).sql(exp.column("v"), ctx).sql(dialect)
    reparsed = sqlglot.parse_one(f"SELECT {sql} FROM t", read=dialect)
    assert reparsed.find(exp.Column) is not None
    uses_key = call.split("(")[0] in ("pseudonym", "hash", "date_shift")
    assert ("ab" * 32 in sql) is uses_key
    assert not ctx.engine.verified
