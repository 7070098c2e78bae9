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


def test_when_every_class_is_frequent_then_passes_nest_in_mapping_order() -> None:
    patterns = {"pii.url": "https?://[^ ]+", "pii.email": "[a-z]+@[a-z.]+"}
    url = "'https?://[^ ]+', '[REDACTED:pii.url]'"
    email = "'[a-z]+@[a-z.]+', '[REDACTED:pii.email]'"
    utf8 = "CAST(note AS CHAR CHARACTER SET utf8mb4)"
    expected = {
        "postgres": f"REGEXP_REPLACE(REGEXP_REPLACE(note, {url}, 'g'), {email}, 'g')",
        "duckdb": f"REGEXP_REPLACE(REGEXP_REPLACE(note, {url}, 'g'), {email}, 'g')",
        "mysql": f"REGEXP_REPLACE(REGEXP_REPLACE({utf8}, {url}), {email})",
        "sqlite": f"JM_REGEXP_REPLACE_MANY(note, {url}, {email})",
    }
    for dialect, sql in expected.items():
        ctx = SqlContext(dialect, "pii.free_text", "", exp.DataType.build("text"))
        masked = span_mask_sql(exp.column("note"), patterns, ctx, frequent=set(patterns))
        assert masked.sql(dialect) == sql


def test_rare_classes_run_behind_one_guard_per_group_and_frequent_ones_last() -> None:
    patterns = {
        "secret.jwt": "eyJ[a-z]+",
        "pii.email": "[a-z]+@[a-z.]+",
        "gov_id.us_ssn": "[0-9]{3}-[0-9]{2}-[0-9]{4}",
    }
    jwt = "REGEXP_REPLACE(note, 'eyJ[a-z]+', '[REDACTED:secret.jwt]', 'g')"
    secrets = f"CASE WHEN REGEXP_MATCHES(note, '(eyJ[a-z]+)') THEN {jwt} ELSE note END"
    digits = "[0-9]{3}-[0-9]{2}-[0-9]{4}"
    ssn = f"REGEXP_REPLACE({secrets}, '{digits}', '[REDACTED:gov_id.us_ssn]', 'g')"
    ids = (
        "CASE WHEN REGEXP_MATCHES(note, '([0-9]{3}-[0-9]{2}-[0-9]{4})') "
        f"THEN {ssn} ELSE {secrets} END"
    )
    ctx = SqlContext("duckdb", "pii.free_text", "", exp.DataType.build("text"))
    sql = span_mask_sql(exp.column("note"), patterns, ctx).sql("duckdb")
    assert sql == f"REGEXP_REPLACE({ids}, '[a-z]+@[a-z.]+', '[REDACTED:pii.email]', 'g')"
    # the guard of each engine runs the same regex flavour as its replacement
    guards = {"postgres": "note ~ '(eyJ[a-z]+)'", "mysql": "REGEXP_INSTR(CAST(note AS CHAR"}
    for dialect, guard in guards.items():
        ctx = SqlContext(dialect, "pii.free_text", "", exp.DataType.build("text"))
        assert guard in span_mask_sql(exp.column("note"), patterns, ctx).sql(dialect)
    # SQLite: one flat call, guarded classes first (its guard is inside the function)
    ctx = SqlContext("sqlite", "pii.free_text", "", exp.DataType.build("text"))
    flat = span_mask_sql(exp.column("note"), patterns, ctx).sql("sqlite")
    assert flat.index("secret.jwt") < flat.index("us_ssn") < flat.index("pii.email")
    assert flat.count("JM_REGEXP_REPLACE_MANY") == 1


def test_unverified_engines_keep_plain_nested_passes() -> None:
    ctx = SqlContext("snowflake", "pii.free_text", "", exp.DataType.build("text"))
    patterns = {"secret.jwt": "eyJ[a-z]+", "pii.email": "[a-z]+@[a-z.]+"}
    sql = span_mask_sql(exp.column("note"), patterns, ctx).sql("snowflake")
    assert "CASE" not in sql
    assert sql.count("REGEXP_REPLACE") == 2


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


def test_spans_in_non_ascii_text_keep_their_character_offsets() -> None:
    notes = pd.Series(["😀 ada@example.com ✓", "é — bob@example.org", "plain cy@example.net"])
    findings = [
        spans_of(text, "pii.email", text.split()[-2 if i == 0 else -1])
        for i, text in enumerate(notes)
    ]
    out = pseudonymize_spans(notes, findings, KEY)
    assert out[0] == f"😀 {column_pseudonym('pii.email', 'ada@example.com')} ✓"
    assert out[1] == f"é — {column_pseudonym('pii.email', 'bob@example.org')}"
    assert out[2] == f"plain {column_pseudonym('pii.email', 'cy@example.net')}"


def test_many_rows_match_a_row_by_row_reference() -> None:
    rows = [f"row {i}: mail u{i % 97}@example.com, café {i}" for i in range(5_000)] + [None, ""]
    notes = pd.Series(rows, dtype=object)
    findings = [
        spans_of(text, "pii.email", f"u{i % 97}@example.com") if text else []
        for i, text in enumerate(rows)
    ]
    out = pseudonymize_spans(notes, findings, KEY)
    fakes = {
        f"u{k}@example.com": column_pseudonym("pii.email", f"u{k}@example.com") for k in range(97)
    }
    expected = [
        text.replace(f"u{i % 97}@example.com", fakes[f"u{i % 97}@example.com"]) if text else text
        for i, text in enumerate(rows)
    ]
    assert out[:5_000].tolist() == expected[:5_000]
    assert pd.isna(out[5_000])
    assert out[5_001] == ""


def test_when_text_holds_lone_surrogates_then_it_refuses_clearly() -> None:
    with pytest.raises(ValueError, match="lone surrogates"):
        pseudonymize_spans(pd.Series(["a\ud800 b"], dtype=object), [[]], KEY)
