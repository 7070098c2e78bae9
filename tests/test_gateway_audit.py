"""The gateway and its audit trail: refusals are recorded, no data without an event, explain runs
nothing, and no raw value reaches an event.

Real DuckDB (and PostgreSQL/MariaDB through the attack lab); the audit store is the SQLite store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_attack_harness import (
    AI,
    ALICE,
    CONTRACTOR,
    Lab,
    lab_config,
    needles,
    open_lab,
)

from jupyter_masking.demo.build import build_demo
from jupyter_masking.errors import AuditError, MaskingError, Refused
from jupyter_masking.gateway import connections
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.gateway.pipeline import Gateway
from jupyter_masking.identity import Identity


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The attack lab (tests/test_attack_harness.py) for this module."""
    yield from open_lab(request, tmp_path_factory.mktemp("lab"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One DuckDB demo database, shared read-only by this module's gateways."""
    return build_demo(tmp_path_factory.mktemp("demo") / "demo.duckdb")


@pytest.fixture
def gateway(demo: Path, tmp_path: Path) -> Iterator[Gateway]:
    """A DuckDB gateway with its own, empty audit store."""
    gateway = Gateway.from_config(lab_config(tmp_path, {"demo": f"duckdb:///{demo}"}))
    yield gateway
    gateway.close()


def run(gateway: Gateway, sql: str, identity: Identity = ALICE) -> Any:
    return gateway.query(QueryRequest(sql=sql), identity)


def events(gateway: Gateway) -> list[Any]:
    return gateway.store.query(limit=None, newest_first=False)


def as_text(event: Any) -> str:
    return json.dumps(event.to_dict(), default=str)


@pytest.mark.parametrize(
    ("sql", "identity", "named"),
    [
        ("SELECT full_name, ssn FROM customers WHERE ssn LIKE '078%'", CONTRACTOR, "ssn"),
        ("DELETE FROM customers WHERE email = 'ann@example.com'", ALICE, "DELETE"),
        ("SELECT * FROM read_csv('/etc/passwd')", ALICE, "read_csv"),
        ("SELECT reverse(body) FROM support_tickets", ALICE, "reverse"),
    ],
)
def test_a_refused_query_writes_a_refused_event_without_raw_values(
    gateway: Gateway, sql: str, identity: Identity, named: str
) -> None:
    with pytest.raises(Refused) as refused:
        run(gateway, sql, identity)
    (event,) = events(gateway)
    assert event.outcome == "refused"
    assert event.reason == str(refused.value)
    assert named in event.reason
    assert event.identity.user == identity.user
    assert event.rows is None or event.rows == 0
    assert needles().in_text(as_text(event)) == []
    assert "ann@example.com" not in as_text(event)
    assert "078" not in event.sql


def test_an_allowed_query_returns_the_event_it_wrote_before_returning(gateway: Gateway) -> None:
    result = run(gateway, "SELECT id, email, ssn FROM customers ORDER BY id LIMIT 7")
    stored = gateway.store.get(result.event.id)
    assert stored is not None
    assert stored == result.event
    assert stored.outcome == "allowed"
    assert stored.rows == 7
    assert {o.name: o.effect for o in stored.outputs} == {
        "id": "raw",
        "email": "mask",
        "ssn": "mask",
    }
    assert gateway.store.verify().ok


def test_columns_read_only_in_filters_are_recorded(gateway: Gateway) -> None:
    result = run(gateway, "SELECT count(*) AS n FROM customers WHERE ssn LIKE '1%'")
    assert any(path.endswith("customers.ssn") for path in result.event.columns_read)
    assert result.event.outputs[0].sources == []


def test_an_ai_actor_is_recorded_as_such(gateway: Gateway) -> None:
    result = run(gateway, "SELECT email FROM customers LIMIT 1", AI)
    assert result.event.identity.actor == "ai:jupyter-ai"
    assert result.masked[0].rule == "ai-never-raw"


class FailingStore:
    """An audit store that cannot write (a full disk, a lost audit database)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.attempts = 0

    def append(self, draft: Any) -> Any:
        self.attempts += 1
        raise AuditError("cannot append to the audit store: disk full")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_when_the_audit_event_cannot_be_written_no_data_is_returned(gateway: Gateway) -> None:
    failing = FailingStore(gateway.store)
    gateway.store = failing
    with pytest.raises(AuditError):
        run(gateway, "SELECT email FROM customers")
    assert failing.attempts == 1


def test_when_the_sqlite_audit_store_rejects_writes_the_query_fails(gateway: Gateway) -> None:
    run(gateway, "SELECT 1 AS one")  # the store exists and works
    path = Path(str(gateway.config.audit_store))
    with sqlite3.connect(path) as con:
        (table,) = con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%event%'"
        ).fetchone()
        con.execute(
            f"CREATE TRIGGER jm_read_only BEFORE INSERT ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'audit store is read-only'); END"
        )
    with pytest.raises(AuditError):
        run(gateway, "SELECT email, ssn FROM customers")
    assert len(events(gateway)) == 1


@pytest.fixture
def executed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """SQL the gateway runs for users (content profiling, as the gateway itself, not counted)."""
    calls: list[str] = []
    original = connections.Connection.execute

    def spy(self: Any, sql: str, params: Any, identity: Identity, **kw: Any) -> Any:
        if identity != connections.SYSTEM:
            calls.append(sql)
        return original(self, sql, params, identity, **kw)

    monkeypatch.setattr(connections.Connection, "execute", spy)
    return calls


@pytest.mark.parametrize(
    ("sql", "outcome"),
    [
        ("SELECT email, ssn FROM customers", "allowed"),
        ("SELECT ssn FROM customers", "refused"),
        ("DROP TABLE customers", "refused"),
    ],
)
def test_explain_never_runs_the_query(
    gateway: Gateway, executed: list[str], sql: str, outcome: str
) -> None:
    identity = CONTRACTOR if outcome == "refused" else ALICE
    explanation = gateway.explain(QueryRequest(sql=sql), identity)
    assert explanation.outcome == outcome
    assert executed == []
    run(gateway, "SELECT id FROM customers LIMIT 1")
    assert len(executed) == 1  # the spy does see queries that run


def test_explain_shows_what_would_be_masked_without_the_masked_sql(gateway: Gateway) -> None:
    explanation = gateway.explain(QueryRequest(sql="SELECT email, city FROM customers"), ALICE)
    text = json.dumps(explanation.to_dict())
    assert [o.effect for o in explanation.outputs] == ["mask", "raw"]
    assert gateway.key.subkey("pii.email") not in text


def test_the_masked_sql_with_subkeys_is_never_in_an_event(gateway: Gateway) -> None:
    result = run(gateway, "SELECT email, phone, iban FROM customers, payments LIMIT 3")
    text = as_text(result.event)
    for data_class in ("pii.email", "pii.phone", "financial.iban"):
        assert gateway.key.subkey(data_class) not in text
    assert result.event.sql.startswith("SELECT email, phone, iban")


@pytest.mark.parametrize("engine", ["duckdb", "postgres", "mysql"])
def test_derived_free_text_is_refused_after_execution_and_audited_as_refused(
    lab: Lab, engine: str
) -> None:
    with pytest.raises(Refused, match="derives text from free text"):
        lab.query(engine, "SELECT upper(body) AS loud FROM support_tickets")
    event = lab.gateway.store.query(limit=1)[0]
    assert event.outcome == "refused"
    assert event.rows is None
    assert needles().in_text(as_text(event)) == []
    ok = lab.query(
        engine, "SELECT length(body) AS n, body LIKE '%card%' AS card FROM support_tickets"
    )
    assert len(ok.frame) == 400


@pytest.mark.parametrize("engine", ["duckdb", "postgres", "mysql"])
def test_database_errors_carry_no_raw_values(lab: Lab, engine: str) -> None:
    cast = {"mysql": "CAST(body AS DATE)", "duckdb": "body::INT", "postgres": "body::int"}[engine]
    sql = f"SELECT {cast} AS n FROM support_tickets"
    message = None
    try:
        frame = lab.query(engine, sql).frame
    except MaskingError as error:
        message = str(error)
    if message is None:  # MariaDB converts with a warning: the values are then NULL
        assert engine == "mysql"
        assert needles().leaks(frame) == []
        return
    assert needles().in_text(message) == []
    assert "\n" not in message
    event = lab.gateway.store.query(limit=1)[0]
    assert event.outcome in ("failed", "refused")
    assert needles().in_text(as_text(event)) == []
