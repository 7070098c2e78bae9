"""The audit event: contract shape, hashing, canonical JSON and SQL normalization."""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import subprocess
from datetime import datetime, timezone

import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from jupyter_masking.audit.canonical import _write, canonical_json, format_number
from jupyter_masking.audit.event import (
    GENESIS_HASH,
    AuditEvent,
    EventDraft,
    EventIdentity,
    OutputLineage,
)
from jupyter_masking.audit.normalize import normalize_sql, normalize_tree, sha256_hex
from jupyter_masking.identity import Identity

CONTRACT_KEYS = {
    "id", "seq", "time", "identity", "notebook", "cell_id", "execution_count", "connection",
    "dialect", "sql", "sql_fingerprint", "tables", "columns_read", "outputs", "rows",
    "duration_ms", "policy_version", "outcome", "reason", "prev_hash", "hash",
}  # fmt: skip
OUTPUT_KEYS = {
    "name", "sources", "data_class", "effect", "operator", "rule", "transform", "detected_by",
}  # fmt: skip
WHEN = datetime(2026, 11, 28, 7, 5, 29, 123456, tzinfo=timezone.utc)


def draft(**overrides: object) -> EventDraft:
    fields: dict[str, object] = {
        "identity": {"user": "alice", "groups": ["analysts"], "actor": "human"},
        "notebook": "work/demo.ipynb",
        "cell_id": "c1a2",
        "execution_count": 3,
        "connection": "demo",
        "dialect": "duckdb",
        "sql": "SELECT email FROM customers WHERE id = 42",
        "tables": ["demo.main.customers"],
        "columns_read": ["demo.main.customers.email", "demo.main.customers.id"],
        "outputs": [
            {
                "name": "email",
                "sources": ["demo.main.customers.email"],
                "data_class": "pii.email",
                "effect": "mask",
                "operator": "pseudonym",
                "rule": "default:pii.email",
                "transform": "identity",
                "detected_by": "policy",
            }
        ],
        "rows": 10,
        "duration_ms": 12.3,
        "policy_version": "demo@1a2b3c4d5e6f",
        "outcome": "allowed",
    }
    fields.update(overrides)
    return EventDraft.model_validate(fields)


def sealed(d: EventDraft | None = None, seq: int = 1, prev: str = GENESIS_HASH) -> AuditEvent:
    return (d or draft()).seal(seq=seq, prev_hash=prev, event_id="ab" * 16, time=WHEN)


def test_event_json_has_exactly_the_contract_keys() -> None:
    data = sealed().to_dict()
    assert set(data) == CONTRACT_KEYS
    assert set(data["outputs"][0]) == OUTPUT_KEYS
    assert set(data["identity"]) == {"user", "groups", "actor"}
    assert data["time"] == "2026-11-28T07:05:29.123456Z"
    assert data["sql"] == "SELECT email FROM customers WHERE id = ?"


def test_hash_is_sha256_of_sorted_compact_json_without_the_hash() -> None:
    event = sealed()
    body = event.to_dict()
    body.pop("hash")
    # Independent of our encoder: plain json gives the same bytes for these values.
    expected = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert event.hash == hashlib.sha256(expected.encode()).hexdigest()
    assert event.prev_hash == GENESIS_HASH == "0" * 64


def test_every_field_is_covered_by_the_hash() -> None:
    event = sealed()
    changes = {
        "seq": 2,
        "rows": 11,
        "outcome": "refused",
        "prev_hash": "1" * 64,
        "time": datetime(2026, 11, 28, 7, 5, 29, 123457, tzinfo=timezone.utc),
        "identity": EventIdentity(user="alice", groups=["admins"]),
        "outputs": [OutputLineage(name="email", effect="raw")],
        "sql": "SELECT ssn FROM customers WHERE id = ?",
    }
    for field, value in changes.items():
        forged = event.model_copy(update={field: value})
        assert forged.compute_hash() != event.hash, field


def test_event_round_trips_through_its_stored_json_with_the_same_hash() -> None:
    event = sealed(draft(reason="x" * 5000, outcome="failed", duration_ms=1 / 3))
    again = AuditEvent.model_validate_json(event.to_json())
    assert again == event
    assert again.compute_hash() == event.hash
    assert again.duration_ms == 0.333
    assert again.reason is not None
    assert len(again.reason) == 1000


def test_a_draft_strips_literals_from_raw_sql_so_no_value_is_kept() -> None:
    d = draft(sql="SELECT * FROM c WHERE email = 'bob@example.com' AND card = 4111111111111111")
    assert "bob@example.com" not in d.sql
    assert "4111" not in d.sql
    assert d.sql_fingerprint == sha256_hex(d.sql)
    assert "bob@example.com" not in sealed(d).to_json()


def test_a_draft_from_an_identity_takes_notebook_and_cell() -> None:
    who = Identity("carol", ("fraud", "analysts"), actor="ai:jupyter-ai", notebook="a.ipynb")
    d = EventDraft.for_query(
        who, connection="c", dialect="postgres", sql="SELECT 1", outcome="allowed"
    )
    assert d.identity == EventIdentity(
        user="carol", groups=["analysts", "fraud"], actor="ai:jupyter-ai"
    )
    assert (d.notebook, d.cell_id) == ("a.ipynb", None)


@pytest.mark.parametrize(
    "overrides",
    [
        {"outcome": "ok"},
        {"rows": -1},
        {"duration_ms": math.nan},
        {"duration_ms": math.inf},
        {"unknown_field": 1},
        {"outputs": [{"name": "x", "effect": "hide"}]},
        {"outputs": [{"name": "x", "transform": "masking"}]},
        {"outputs": [{"name": "x", "detected_by": "magic"}]},
        {"identity": {"user": ""}},
        {"identity": {"user": "a", "actor": "root"}},
        {"sql_fingerprint": "not-hex", "sql": "SELECT ?"},
    ],
)
def test_malformed_drafts_are_rejected(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        draft(**overrides)


def test_a_stored_event_with_a_malformed_hash_or_id_is_rejected() -> None:
    data = sealed().to_dict()
    for field, value in {"hash": "A" * 64, "id": "xyz", "prev_hash": "0" * 63, "seq": 0}.items():
        with pytest.raises(ValidationError):
            AuditEvent.model_validate({**data, field: value})


# (dialect, SQL as typed, SQL as the audit keeps it)
NORMALIZED = [
    ("duckdb",
     "SELECT email FROM customers WHERE id = 42",
     "SELECT email FROM customers WHERE id = ?"),
    ("postgres",
     "select a from t where b in ('x', 'y') limit 5",
     "SELECT a FROM t WHERE b IN (?, ?) LIMIT ?"),
    ("postgres",
     "SELECT a FROM t WHERE b IS NULL AND c = TRUE OR d = false",
     "SELECT a FROM t WHERE b IS NULL AND c = TRUE OR d = FALSE"),
    ("postgres",
     "SELECT * FROM t WHERE d > DATE '1980-02-03'",
     "SELECT * FROM t WHERE d > CAST(? AS DATE)"),
    ("postgres",
     "SELECT * FROM t WHERE a = $1 AND b = 'x'",
     "SELECT * FROM t WHERE a = $1 AND b = ?"),
    ("postgres",
     "SELECT E'bob\\n', $$dollar$$, x'ff', U&'d\\0061t' FROM t",
     "SELECT ?, ?, ?, ? FROM t"),
    ("mysql",
     "SELECT N'x', 0x1F, b'101' FROM t LIMIT 10 OFFSET 5",
     "SELECT ?, ?, ? FROM t LIMIT ? OFFSET ?"),
    ("duckdb",
     "SELECT [1, 2], -5, 1e5 FROM t WHERE a = 'bob' /* bob@x.com */",
     "SELECT [?, ?], -?, ? FROM t WHERE a = ?"),
    ("postgres", "SELECT 'only a literal'", "SELECT ?"),
    ("postgres", "SELECT 1; SELECT 'x'", "SELECT ?; SELECT ?"),
]  # fmt: skip


@pytest.mark.parametrize(("dialect", "sql", "expected"), NORMALIZED)
def test_normalize_replaces_every_literal(dialect: str, sql: str, expected: str) -> None:
    normalized, fingerprint = normalize_sql(sql, dialect)
    assert normalized == expected
    assert fingerprint == hashlib.sha256(expected.encode()).hexdigest()


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("postgres", "SELEC 'bob@example.com' FORM t"),
        ("postgres", "CALL leak('bob@example.com')"),  # a Command keeps raw text
        ("duckdb", "SHOW 'bob@example.com'"),
        ("mysql", "EXPLAIN ANALYZE SELECT 'bob@example.com'"),
        ("no-such-dialect", "SELECT 'bob@example.com'"),
        ("postgres", ""),
    ],
)
def test_unparseable_sql_keeps_only_its_length_and_digest(dialect: str, sql: str) -> None:
    normalized, fingerprint = normalize_sql(sql, dialect)
    if normalized.startswith("<unparseable"):
        assert normalized == f"<unparseable SQL: {len(sql)} chars>"
        assert fingerprint == hashlib.sha256(sql.encode()).hexdigest()
    assert "bob@example.com" not in normalized


def test_sqlglot_fallback_warnings_do_not_log_raw_sql(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("DEBUG"):
        normalize_sql("CALL leak('bob@example.com')", "postgres")
    assert "bob@example.com" not in caplog.text


def test_same_query_shape_has_the_same_fingerprint_and_others_differ() -> None:
    a = normalize_sql("SELECT x FROM t WHERE id = 1", "postgres")[1]
    b = normalize_sql("select x from t where id=2", "postgres")[1]
    c = normalize_sql("SELECT x FROM t WHERE ids = 1", "postgres")[1]
    assert a == b != c


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0"), (-0.0, "0"), (12.0, "12"), (12.3, "12.3"), (0.1 + 0.2, "0.30000000000000004"),
        (1e21, "1e+21"), (1e20, "100000000000000000000"), (1.5e-7, "1.5e-7"), (1e-6, "0.000001"),
        (-2.5e-9, "-2.5e-9"), (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (123456789012345.67, "123456789012345.67"),
    ],
)  # fmt: skip
def test_numbers_are_written_as_ecmascript_does(value: float, text: str) -> None:
    assert format_number(value) == text
    assert float(text) == value


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_random_floats_match_javascript_number_to_string() -> None:
    rng = random.Random(8785)
    values = [rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30) for _ in range(400)]
    values += [float(rng.randint(-(10**17), 10**17)) for _ in range(50)]
    script = (
        "const v = JSON.parse(require('fs').readFileSync(0));"
        "console.log(JSON.stringify(v.map(String)))"
    )
    out = subprocess.run(
        ["node", "-e", script], input=json.dumps([repr(v) for v in values]).replace('"', ""),
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert [format_number(v) for v in values] == json.loads(out)


def test_canonical_json_escapes_like_jcs_and_refuses_what_has_no_form() -> None:
    assert canonical_json({"z": 'a"b\\c\n\u0001é€'}) == '{"z":"a\\"b\\\\c\\n\\u0001é€"}'
    assert canonical_json([True, False, None, -3]) == "[true,false,null,-3]"
    for bad in (math.nan, {1: "x"}, {"a": object()}):
        with pytest.raises(ValueError):
            canonical_json(bad)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(), kids, max_size=4),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_the_fast_encoder_writes_the_same_bytes_as_the_reference_one(value: object) -> None:
    parts: list[str] = []
    _write(value, parts)
    assert canonical_json(value) == "".join(parts)


def test_raw_sql_with_a_borrowed_fingerprint_is_rejected() -> None:
    raw = "SELECT * FROM c WHERE email = 'bob@example.com'"
    normalized, fingerprint = normalize_sql(raw, "postgres")
    with pytest.raises(ValidationError, match="pass raw SQL alone"):
        draft(sql=raw, sql_fingerprint=fingerprint)
    assert draft(sql=normalized, sql_fingerprint=fingerprint).sql == normalized


def test_an_already_parsed_query_can_be_normalized_without_parsing_again() -> None:
    tree = sqlglot.parse_one("SELECT a FROM t WHERE b = 'bob@example.com' -- x", dialect="mysql")
    sql, fingerprint = normalize_tree(tree, "mysql")
    assert (sql, fingerprint) == normalize_sql(tree.sql(dialect="mysql"), "mysql")
    assert "bob@example.com" in tree.sql()  # the caller's tree is left alone
    assert draft(sql=sql, sql_fingerprint=fingerprint, dialect="mysql").sql == sql
