"""Re-run queries skip analysis and planning, and nothing that changes a plan is skipped.

A plan is reused only for the same query, identity (user, groups, actor), policy version and
content profiles; the policy edit case is in ``test_faults_policy.py``. Real DuckDB demo data.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_attack_harness import ALICE, CONTRACTOR, SUPPORT, lab_config

from jupyter_masking.demo.build import build_demo
from jupyter_masking.errors import Refused
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.gateway.pipeline import Gateway
from jupyter_masking.gateway.plan import Plan
from jupyter_masking.identity import Identity
from jupyter_masking.sql.analyze import analyze

EMAILS = "SELECT id, email FROM customers ORDER BY id LIMIT 20"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    demo = build_demo(tmp_path / "demo.duckdb")
    gateway = Gateway.from_config(lab_config(tmp_path, {"demo": f"duckdb:///{demo}"}))
    yield gateway
    gateway.close()


def plan_of(gateway: Gateway, sql: str, identity: Identity) -> Plan:
    """The plan the gateway's cache gives ``identity`` for ``sql``."""
    _, source = gateway._source("demo")
    analysis = analyze(sql, source.connection.schema(), copy=False)
    return source.plans.plan(
        analysis, identity, catalog=source.catalog, policy=gateway.policy.engine, key=gateway.key
    )


def emails(gateway: Gateway, identity: Identity) -> list[str]:
    return list(gateway.query(QueryRequest(sql=EMAILS), identity).frame["email"])


def test_a_rerun_query_reuses_its_plan_and_returns_the_same_rows(gateway: Gateway) -> None:
    first = emails(gateway, ALICE)
    assert plan_of(gateway, EMAILS, ALICE) is plan_of(gateway, EMAILS, ALICE)
    assert emails(gateway, ALICE) == first
    assert all(e.endswith(("example.com", "example.org", "example.net")) for e in first)


def test_identities_never_share_a_plan(gateway: Gateway) -> None:
    masked = emails(gateway, ALICE)
    raw = emails(gateway, SUPPORT)  # support sees contact details raw
    assert not set(masked) & set(raw)
    assert emails(gateway, ALICE) == masked  # interleaved re-runs keep to their own plan
    assert emails(gateway, SUPPORT) == raw
    same_user_other_groups = Identity(SUPPORT.user, ALICE.groups)
    assert emails(gateway, same_user_other_groups) == masked
    as_ai = SUPPORT.acting_as("ai:test")  # the built-in rule: AI actors never see raw values
    assert not set(emails(gateway, as_ai)) & set(raw)


def test_a_cached_plan_does_not_let_a_denied_column_through(gateway: Gateway) -> None:
    sql = "SELECT id, ssn FROM customers LIMIT 5"
    assert len(gateway.query(QueryRequest(sql=sql), ALICE).frame) == 5
    with pytest.raises(Refused, match="no-ssn-for-contractors"):
        gateway.query(QueryRequest(sql=sql), CONTRACTOR)
    with pytest.raises(Refused):  # and again, now that alice's plan is cached
        gateway.query(QueryRequest(sql=sql), CONTRACTOR)


def test_a_new_content_profile_plans_afresh(gateway: Gateway) -> None:
    before = plan_of(gateway, EMAILS, ALICE)
    _, source = gateway._source("demo")
    source.catalog.invalidate()
    after = plan_of(gateway, EMAILS, ALICE)
    assert after is not before
    assert after.sql == before.sql  # same data, same classes: the same masked SQL


def test_analysis_leaves_nothing_behind_in_the_shared_schema_mapping(gateway: Gateway) -> None:
    # sqlglot caches lookups by the query's own table nodes; on a shared mapping those caches
    # grew with every query and made each later lookup slower.
    _, source = gateway._source("demo")
    schema = source.connection.schema()
    for limit in range(1, 41):
        analyze(
            f"SELECT c.email, o.amount FROM customers c JOIN orders o ON o.customer_id = c.id "
            f"LIMIT {limit}",
            schema,
        )
    shared = schema.normalized_mapping()
    assert not getattr(shared, "_find_cache", {})
    assert not getattr(shared, "_normalized_table_cache", {})
