"""Utility under attack conditions: masking must not cost the answers analysts need.

On every engine (DuckDB, SQLite, PostgreSQL, MariaDB) holding the same demo rows: queries over
non-sensitive columns return exactly the raw answer; distinct counts, joins and group-bys over
pseudonymised columns equal the raw ones; filters on masked columns see masked values
(Snowflake semantics), so they cannot serve as oracles; pseudonyms are the same in every engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd
import pytest
from test_attack_harness import (
    ALICE,
    ENGINES,
    SUPPORT,
    Lab,
    frame_rows,
    needles,
    open_lab,
)

from jupyter_masking.demo.build import demo_frames

EXACT = [
    "SELECT id, city, country, created_at FROM customers ORDER BY id",
    "SELECT status, count(*) AS n, sum(amount) AS total FROM orders "
    "GROUP BY status ORDER BY status",
    "SELECT o.status, count(*) AS n FROM orders o JOIN customers c ON c.id = o.customer_id "
    "WHERE c.country = 'US' AND o.amount > 100 GROUP BY o.status ORDER BY o.status",
    "SELECT product_code, max(amount) AS top FROM orders GROUP BY product_code "
    "ORDER BY product_code LIMIT 20",
    "SELECT p.id, p.amount, o.status FROM payments p JOIN orders o ON o.id = p.order_id "
    "WHERE p.amount BETWEEN 50 AND 60 ORDER BY p.id",
    "SELECT count(*) AS n FROM support_tickets WHERE customer_id IN "
    "(SELECT id FROM customers WHERE city LIKE 'North%')",
    "WITH big AS (SELECT customer_id, sum(amount) AS s FROM orders GROUP BY customer_id) "
    "SELECT count(*) AS n, max(s) AS m FROM big WHERE s > 1000",
]


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The attack lab (tests/test_attack_harness.py) for this module."""
    yield from open_lab(request, tmp_path_factory.mktemp("lab"))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("sql", EXACT, ids=[f"q{i}" for i in range(len(EXACT))])
def test_queries_over_non_sensitive_columns_return_exactly_the_raw_answer(
    lab: Lab, engine: str, sql: str
) -> None:
    result = lab.query(engine, sql)
    raw = lab.raw(engine, sql)
    assert len(result.frame) > 0
    assert frame_rows(result.frame) == frame_rows(raw)
    assert result.masked == []


DISTINCT = {
    "customers": ("email", "phone", "full_name"),
    "orders": ("customer_email",),
    "payments": ("card_number", "iban"),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("table", "column"), [(t, c) for t, columns in DISTINCT.items() for c in columns]
)
def test_count_distinct_of_a_pseudonymised_column_equals_the_raw_count(
    lab: Lab, engine: str, table: str, column: str
) -> None:
    sql = f"SELECT count(DISTINCT {column}) AS n FROM {table}"
    expected = demo_frames()[table][column].nunique()
    assert lab.query(engine, sql).frame["n"].iloc[0] == expected
    assert lab.raw(engine, sql)["n"].iloc[0] == expected


@pytest.mark.parametrize("engine", ENGINES)
def test_joins_and_group_bys_on_pseudonymised_emails_keep_their_raw_shape(
    lab: Lab, engine: str
) -> None:
    join = "SELECT count(*) AS n FROM customers c JOIN orders o ON o.customer_email = c.email"
    groups = "SELECT customer_email, count(*) AS n FROM orders GROUP BY customer_email"
    assert frame_rows(lab.query(engine, join).frame) == frame_rows(lab.raw(engine, join))
    masked = lab.query(engine, groups).frame
    raw = lab.raw(engine, groups)
    assert sorted(masked["n"]) == sorted(raw["n"])
    assert set(masked["customer_email"]).isdisjoint(raw["customer_email"])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("predicate", "rows_on_raw"),
    [
        ("ssn LIKE '1%'", "some"),
        ("substring(ssn, 1, 3) = '{ssn3}'", "some"),
        ("email = '{email}'", "one"),
        ("email LIKE '{local}%'", "some"),
        ("full_name = '{name}'", "one"),
    ],
)
def test_filters_on_masked_columns_see_masked_values_not_raw_ones(
    lab: Lab, engine: str, predicate: str, rows_on_raw: str
) -> None:
    first = demo_frames()["customers"].iloc[0]
    where = predicate.format(
        ssn3=first["ssn"][:3],
        email=first["email"],
        local=first["email"].split("@")[0],
        name=first["full_name"],
    )
    sql = f"SELECT count(*) AS n FROM customers WHERE {where}"
    on_raw = int(lab.raw(engine, sql)["n"].iloc[0])
    assert on_raw == 1 if rows_on_raw == "one" else on_raw > 0
    assert int(lab.query(engine, sql).frame["n"].iloc[0]) == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_support_staff_see_contacts_raw_but_an_ai_acting_for_them_does_not(
    lab: Lab, engine: str
) -> None:
    sql = "SELECT id, email, phone FROM customers ORDER BY id LIMIT 5"
    raw = frame_rows(lab.raw(engine, sql))
    assert frame_rows(lab.query(engine, sql, SUPPORT).frame) == raw
    ai = lab.query(engine, sql, SUPPORT.acting_as("ai:jupyter-ai"))
    assert {o.name for o in ai.masked} == {"email", "phone"}
    assert needles().leaks(ai.frame) == []


def test_pseudonyms_are_the_same_on_every_engine(lab: Lab) -> None:
    sql = (
        "SELECT c.id, full_name, email, phone, card_number, iban FROM customers c "
        "JOIN payments p ON p.id = c.id WHERE c.id <= 20 ORDER BY c.id"
    )
    results = {}
    for engine in ENGINES:
        if engine not in lab.missing:
            results[engine] = frame_rows(lab.query(engine, sql).frame)
    assert len(results) >= 2
    first = next(iter(results.values()))
    assert all(rows == first for rows in results.values()), sorted(results)


TOKEN = re.compile(r"^[0-9a-f]{64}$")
EMAIL = re.compile(r"^[a-z0-9._]+@example\.(com|org|net)$")


@pytest.mark.parametrize("engine", ENGINES)
def test_identity_outputs_look_real_and_derived_outputs_stay_digest_tokens(
    lab: Lab, engine: str
) -> None:
    sql = "SELECT email, upper(email) AS shout, ssn FROM customers ORDER BY id LIMIT 50"
    frame = lab.query(engine, sql).frame
    assert frame["email"].map(lambda v: bool(EMAIL.match(v))).all()
    assert frame["shout"].map(lambda v: bool(TOKEN.match(v.lower()))).all()
    assert frame["ssn"].str.fullmatch(r"\*+[0-9]{4}").all()
    raw = demo_frames()["customers"].sort_values("id").head(50)
    assert (frame["ssn"].str[-4:].to_numpy() == raw["ssn"].str[-4:].to_numpy()).all()


@pytest.mark.parametrize("engine", ["duckdb", "postgres", "mysql"])
def test_free_text_keeps_its_words_with_spans_redacted_and_names_pseudonymised(
    lab: Lab, engine: str
) -> None:
    sql = "SELECT id, body FROM support_tickets ORDER BY id"
    masked = lab.query(engine, sql, ALICE).frame
    raw = lab.raw(engine, sql)
    assert "[REDACTED:pii.email]" in " ".join(masked["body"])
    assert "[REDACTED:pii.phone]" in " ".join(masked["body"])
    shared = pd.Series(
        [m.split()[0] == r.split()[0] for m, r in zip(masked["body"], raw["body"], strict=False)]
    )
    assert shared.mean() > 0.9  # the words around the spans survive
    names = list(demo_frames()["customers"]["full_name"])
    text = "\n".join(masked["body"])
    assert [name for name in names if name in text] == []
