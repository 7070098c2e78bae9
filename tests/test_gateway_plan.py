"""The plan and the result scan: what is read, what is masked, what the scan must see.

Real DuckDB demo data; the masked SQL is inspected here only because it is a test (it holds
subkeys and is never shown to users).
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from typing import cast

import pandas as pd
import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp
from test_attack_harness import ALICE, CONTRACTOR, SUPPORT, lab_config

from jupyter_masking.audit.event import OutputLineage
from jupyter_masking.demo.build import build_demo
from jupyter_masking.errors import Refused
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.gateway.pipeline import Gateway, _frame
from jupyter_masking.gateway.plan import Plan, plan_query
from jupyter_masking.gateway.scan import _is_text
from jupyter_masking.identity import Identity
from jupyter_masking.sql.analyze import analyze
from jupyter_masking.sql.rewrite import rewrite
from jupyter_masking.sql.schema import Column, Table


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("plan")
    demo = build_demo(directory / "demo.duckdb")
    gateway = Gateway.from_config(lab_config(directory, {"demo": f"duckdb:///{demo}"}))
    yield gateway
    gateway.close()


def plan(gateway: Gateway, sql: str, identity: Identity = ALICE) -> Plan:
    _, source = gateway._source("demo")
    analysis = analyze(sql, source.connection.schema())
    return plan_query(
        analysis, identity, catalog=source.catalog, policy=gateway.policy.engine, key=gateway.key
    )


def projected(plan: Plan) -> set[str]:
    """Column names the masking subqueries project."""
    tree = sqlglot.parse_one(plan.sql, read="duckdb")
    return {
        alias.alias
        for subquery in tree.find_all(exp.Subquery)
        for alias in subquery.this.expressions
        if isinstance(alias, exp.Alias)
    }


def test_only_the_columns_a_query_reads_are_planned_and_projected(gateway: Gateway) -> None:
    planned = plan(gateway, "SELECT email FROM customers WHERE city = 'x'")
    assert projected(planned) == {"email", "city"}
    assert {c.column for c in planned.columns} == {"email", "city"}
    assert "ssn" not in planned.sql
    assert "full_name" not in planned.sql


def test_a_denied_column_the_query_does_not_read_costs_nothing(gateway: Gateway) -> None:
    planned = plan(gateway, "SELECT id, email FROM customers", CONTRACTOR)
    assert "ssn" not in planned.sql
    with pytest.raises(Refused, match="no-ssn-for-contractors"):
        plan(gateway, "SELECT id FROM customers ORDER BY ssn", CONTRACTOR)


def test_a_query_reading_no_sensitive_column_runs_on_the_table_itself(gateway: Gateway) -> None:
    for sql in ("SELECT count(*) AS n FROM customers", "SELECT city FROM customers"):
        assert "(SELECT" not in plan(gateway, sql).sql


def test_support_reads_contacts_raw_so_their_columns_are_not_rewritten(gateway: Gateway) -> None:
    planned = plan(gateway, "SELECT email, phone FROM customers", SUPPORT)
    assert "(SELECT" not in planned.sql
    assert [o.effect for o in planned.outputs] == ["raw", "raw"]


def test_free_text_outputs_are_marked_unchanged_or_derived(gateway: Gateway) -> None:
    planned = plan(
        gateway,
        "SELECT t.body, upper(t.body) AS loud, length(t.body) AS n, c.email "
        "FROM support_tickets t JOIN customers c ON c.id = t.customer_id",
    )
    assert planned.free_text == {"body": True, "loud": False, "n": False}


def test_rewrite_keeps_every_column_for_a_reference_that_renames_by_position() -> None:
    users = Table(
        "main", "users", (Column("id", "INT"), Column("email", "TEXT"), Column("ssn", "TEXT"))
    )
    query = exp.maybe_parse("SELECT u.a FROM main.users AS u(a, b)", into=exp.Select)
    masks: dict[Table, dict[str, exp.Expression]] = {
        users: {"email": cast(exp.Expression, exp.func("md5", exp.column("email")))}
    }
    keep = {users: ["email"]}
    sql = rewrite(query, masks, resolve=lambda node: users, dialect="duckdb", keep=keep).sql()
    assert sql == (
        "SELECT u.a FROM (SELECT id AS id, MD5(email) AS email, ssn AS ssn "
        "FROM main.users) AS u(a, b)"
    )
    plain = exp.maybe_parse("SELECT u.email FROM main.users AS u", into=exp.Select)
    sql = rewrite(plain, masks, resolve=lambda node: users, dialect="duckdb", keep=keep).sql()
    assert sql == "SELECT u.email FROM (SELECT MD5(email) AS email FROM main.users) AS u"


@pytest.mark.parametrize(
    ("values", "text"),
    [
        (pd.Series(["a", None], dtype=object), True),
        (pd.Series(["a", "b"], dtype="str"), True),
        (pd.Series([decimal.Decimal("1.5"), None], dtype=object), False),
        (pd.Series([decimal.Decimal("1.5"), "leak@example.com"], dtype=object), True),
        (pd.Series([{"k": "v"}], dtype=object), False),
        (pd.Series([1, 2]), False),
    ],
)
def test_the_scan_reads_columns_holding_strings_and_skips_decimals(
    values: pd.Series, text: bool
) -> None:
    assert _is_text(values) is text


def test_the_trimmed_masked_sql_runs_on_the_engine(gateway: Gateway) -> None:
    sql = (
        "SELECT c.email, o.amount FROM customers c JOIN orders o "
        "ON o.customer_email = c.email ORDER BY o.id LIMIT 3"
    )
    result = gateway.query(QueryRequest(sql=sql), ALICE)
    assert len(result.frame) == 3
    assert [o.name for o in result.masked] == ["email"]


def test_results_with_repeated_column_names_keep_each_column_as_it_came() -> None:
    # pyarrow gives every column of a repeated name the first one's conversion ('1', '2')
    table = pa.table({"a": [1, 2], "b": ["x", "y"]}).rename_columns(["n", "n"])
    outputs = (OutputLineage(name="n", sources=[]), OutputLineage(name="n", sources=[]))
    frame = _frame(table, outputs, "demo")
    assert list(frame.columns) == ["n", "n"]
    assert frame.iloc[:, 0].tolist() == [1, 2]
    assert frame.iloc[:, 1].tolist() == ["x", "y"]
