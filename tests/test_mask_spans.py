"""Spans in free text: SQL construction checks and Python pseudonymization."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sqlglot import exp

from jupyter_masking.mask import (
    MaskingKey,
    PyContext,
    SqlContext,
    build,
    parse_operator_call,
    pseudonymize_spans,
    span_mask_sql,
)

KEY = MaskingKey(b"spans-test-key-0123456789abcdef!!!!")


@dataclass(frozen=True)
class Finding:
    data_class: str
    start: int
    end: int


def spans_of(text: str, data_class: str, *needles: str) -> list[Finding]:
    return [Finding(data_class, text.index(n), text.index(n) + len(n)) for n in needles]


def column_pseudonym(data_class: str, value: str) -> str:
    op = build(parse_operator_call("pseudonym"))
    return str(op.python(pd.Series([value]), PyContext(data_class, KEY.subkey(data_class)))[0])


def test_a_span_gets_the_same_pseudonym_as_the_value_in_its_own_column() -> None:
    note = "Call ada@example.com about card 4111 1111 1111 1111."
    findings = [
        spans_of(note, "pii.email", "ada@example.com")
        + spans_of(note, "financial.credit_card", "4111 1111 1111 1111")
    ]
    out = pseudonymize_spans(pd.Series([note]), findings, KEY)[0]
    email = column_pseudonym("pii.email", "ada@example.com")
    card = column_pseudonym("financial.credit_card", "4111 1111 1111 1111")
    assert out == f"Call {email} about card {card}."
    assert "ada@" not in out
    assert "4111 1111" not in out


def test_repeated_values_map_consistently_across_rows() -> None:
    notes = pd.Series(
        ["a: x@y.org", "b: x@y.org and z@y.org", None, "no spans"], index=[5, 6, 7, 8]
    )
    findings = [
        spans_of(notes[5], "pii.email", "x@y.org"),
        spans_of(notes[6], "pii.email", "x@y.org", "z@y.org"),
        [],
        [],
    ]
    out = pseudonymize_spans(notes, findings, KEY)
    first = out[5].removeprefix("a: ")
    assert out[6].startswith(f"b: {first} and ")
    assert not out[6].endswith(first)
    assert pd.isna(out[7])
    assert out[8] == "no spans"
    assert out.index.tolist() == [5, 6, 7, 8]


def test_overlapping_spans_are_merged_so_nothing_raw_survives() -> None:
    note = "see https://ada@example.com/x now"
    url = Finding("pii.url", note.index("https"), note.index(" now"))
    email = Finding("pii.email", note.index("ada@"), note.index("/x"))
    out = pseudonymize_spans(pd.Series([note]), [[email, url]], KEY)[0]
    assert out.startswith("see https://example.com/")
    assert out.endswith(" now")
    assert "ada" not in out


def test_when_spans_fall_outside_the_text_then_it_refuses() -> None:
    with pytest.raises(ValueError, match="outside a text of 3 characters"):
        pseudonymize_spans(pd.Series(["abc"]), [[Finding("pii.email", 1, 9)]], KEY)
    with pytest.raises(ValueError, match="one entry per text value"):
        pseudonymize_spans(pd.Series(["abc", "d"]), [[]], KEY)


def test_span_mask_sql_nests_in_mapping_order_with_each_engines_global_flag() -> None:
    patterns = {"pii.url": "https?://[^ ]+", "pii.email": "[a-z]+@[a-z.]+"}
    url = "'https?://[^ ]+', '[REDACTED:pii.url]'"
    email = "'[a-z]+@[a-z.]+', '[REDACTED:pii.email]'"
    utf8 = "CAST(note AS CHAR CHARACTER SET utf8mb4)"
    expected = {
        "postgres": f"REGEXP_REPLACE(REGEXP_REPLACE(note, {url}, 'g'), {email}, 'g')",
        "duckdb": f"REGEXP_REPLACE(REGEXP_REPLACE(note, {url}, 'g'), {email}, 'g')",
        "mysql": f"REGEXP_REPLACE(REGEXP_REPLACE({utf8}, {url}), {email})",
        "sqlite": f"JM_REGEXP_REPLACE(JM_REGEXP_REPLACE(note, {url}), {email})",
    }
    for dialect, sql in expected.items():
        ctx = SqlContext(dialect, "pii.free_text", "", exp.DataType.build("text"))
        assert span_mask_sql(exp.column("note"), patterns, ctx).sql(dialect) == sql


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        ({"pii.email": "(a+)+\\1"}, "not supported by RE2"),
        ({"pii.email'); --": "a"}, "is not a data class name"),
        ({"PII.Email": "a"}, "is not a data class name"),
    ],
)
def test_span_mask_sql_refuses_bad_patterns_and_class_names(
    patterns: dict[str, str], message: str
) -> None:
    ctx = SqlContext("postgres", "pii.free_text", "", None)
    with pytest.raises(ValueError, match=message):
        span_mask_sql(exp.column("note"), patterns, ctx)


def test_no_patterns_leave_the_text_alone() -> None:
    ctx = SqlContext("duckdb", "pii.free_text", "", None)
    assert span_mask_sql(exp.column("note"), {}, ctx).sql("duckdb") == "CAST(note AS TEXT)"


def test_all_null_text() -> None:
    out = pseudonymize_spans(pd.Series([None, np.nan], dtype=object), [[], []], KEY)
    assert out.isna().all()
