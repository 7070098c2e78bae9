"""SQLite connections: mode=ro, query_only and an authorizer; a progress-handler timeout."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_masking.demo.build import load_demo_into
from jupyter_masking.gateway.connections import ConnectionConfig, open_connection
from jupyter_masking.gateway.dberrors import QueryFailed
from jupyter_masking.gateway.engines.sqlite import SQLiteConnection
from jupyter_masking.identity import Identity

ALICE = Identity(user="alice", groups=("analysts",))
SLOW = (
    "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 1000000000) "
    "SELECT count(*) FROM r"
)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "demo.db"
    load_demo_into(f"sqlite:///{path}")
    return path


@pytest.fixture
def conn(demo_file: Path) -> Iterator[SQLiteConnection]:
    connection = open_connection(
        ConnectionConfig("demo", f"sqlite:///{demo_file}", max_rows=1000, statement_timeout_s=20)
    )
    assert isinstance(connection, SQLiteConnection)
    yield connection
    connection.close()


def count(conn: SQLiteConnection, table: str) -> int:
    result = conn.execute(f"SELECT count(*) AS n FROM {table}", {}, ALICE)
    return int(result.table["n"][0].as_py())


def test_execute_binds_named_parameters(conn: SQLiteConnection) -> None:
    result = conn.execute("SELECT id FROM customers WHERE id < :n ORDER BY id", {"n": 3}, ALICE)
    assert result.table.column("id").to_pylist() == [1, 2]


def test_an_injection_string_is_bound_not_spliced(conn: SQLiteConnection) -> None:
    attack = "x'; DROP TABLE customers; --"
    assert conn.execute("SELECT :v AS v", {"v": attack}, ALICE).table["v"][0].as_py() == attack
    found = conn.execute(
        "SELECT count(*) AS n FROM customers WHERE email = :v", {"v": attack}, ALICE
    )
    assert found.table["n"][0].as_py() == 0
    assert count(conn, "customers") == 500


def test_when_rows_fit_under_the_cap_then_all_arrive(conn: SQLiteConnection) -> None:
    result = conn.execute("SELECT id FROM orders", {}, ALICE, max_rows=1000)
    assert result.table.num_rows == 1000
    everything = conn.execute("SELECT id FROM customers", {}, ALICE, max_rows=1000)
    assert everything.table.num_rows == 500
    assert not everything.truncated
    assert sorted(everything.table.column("id").to_pylist()) == list(range(1, 501))


def test_when_rows_exceed_the_cap_then_result_is_cut_and_says_so(conn: SQLiteConnection) -> None:
    result = conn.execute("SELECT * FROM orders", {}, ALICE, max_rows=7)
    assert result.table.num_rows == 7
    assert result.truncated


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO customers (id) VALUES (9999)",
        "UPDATE customers SET email = 'x'",
        "DELETE FROM orders",
        "DROP TABLE payments",
        "CREATE TABLE stolen AS SELECT * FROM customers",
        "CREATE TEMP TABLE stolen AS SELECT * FROM customers",
        "PRAGMA query_only = 0",
        "PRAGMA writable_schema = 1",
    ],
)
def test_when_a_write_reaches_sqlite_then_it_is_refused(conn: SQLiteConnection, sql: str) -> None:
    with pytest.raises(QueryFailed) as caught:
        conn.execute(sql, {}, ALICE)
    assert caught.value.kind in {"read_only", "permission"}
    assert count(conn, "orders") == 2000


def test_when_attach_tries_to_create_a_file_then_it_is_refused(
    conn: SQLiteConnection, tmp_path: Path
) -> None:
    target = tmp_path / "other.db"
    with pytest.raises(QueryFailed) as caught:
        conn.execute(f"ATTACH 'file:{target}?mode=rwc' AS other", {}, ALICE)
    assert caught.value.kind == "permission"
    assert not target.exists()


def test_when_the_timeout_passes_then_the_query_stops_and_serving_continues(
    conn: SQLiteConnection,
) -> None:
    with pytest.raises(QueryFailed) as caught:
        conn.execute(SLOW, {}, ALICE, timeout_s=0.3)
    assert caught.value.kind == "timeout"
    assert count(conn, "customers") == 500


def test_when_a_writer_holds_the_lock_then_lock_wait_error(demo_file: Path) -> None:
    config = ConnectionConfig("demo", f"sqlite:///{demo_file}", connect_args={"timeout": 0.2})
    connection = open_connection(config)
    writer = sqlite3.connect(demo_file, isolation_level=None)
    try:
        writer.execute("BEGIN EXCLUSIVE")
        with pytest.raises(QueryFailed) as caught:
            connection.execute("SELECT count(*) FROM customers", {}, ALICE)
        assert caught.value.kind == "lock_wait"
        writer.execute("ROLLBACK")
        assert connection.execute("SELECT 1 AS x", {}, ALICE).table["x"][0].as_py() == 1
    finally:
        writer.close()
        connection.close()


def test_unknown_names_are_reported_with_the_name(conn: SQLiteConnection) -> None:
    with pytest.raises(QueryFailed, match="emial") as caught:
        conn.execute("SELECT emial FROM customers", {}, ALICE)
    assert caught.value.kind == "undefined"


def test_syntax_errors_do_not_echo_the_query(conn: SQLiteConnection) -> None:
    with pytest.raises(QueryFailed) as caught:
        conn.execute("SELECT FROM WHERE 'alice@example.com'", {}, ALICE)
    assert caught.value.kind == "syntax"
    assert "alice" not in str(caught.value)


def test_schema_lists_tables_and_views(conn: SQLiteConnection) -> None:
    schema = conn.schema()
    assert schema.dialect == "sqlite"
    assert schema.default_db == "main"
    names = {t.name for t in schema.tables}
    assert {"customers", "orders", "payments", "support_tickets", "legacy_export"} <= names
    view = schema.table(None, "customer_contacts")
    assert view is not None
    assert view.kind == "view"
    assert view.view_sql is not None
    assert view.view_sql.upper().startswith("SELECT")
    assert [c.name for c in view.columns] == ["id", "full_name", "email", "phone"]


def test_hooks_reach_pooled_connections_and_see_the_tagged_sql(conn: SQLiteConnection) -> None:
    conn.execute("SELECT 1", {}, ALICE)  # a pooled connection exists before the hook
    seen: list[str] = []

    def hook(dbapi: sqlite3.Connection) -> None:
        dbapi.create_function("jm_twice", 1, lambda x: x * 2, deterministic=True)
        dbapi.set_trace_callback(seen.append)

    conn.add_connect_hook(hook)
    bob = Identity(user="bob", actor="ai:jupyter-ai")
    assert conn.execute("SELECT jm_twice(21) AS v", {}, bob).table["v"][0].as_py() == 42
    assert any("user='bob'" in s and "actor='ai%3Ajupyter-ai'" in s for s in seen)


def test_sample_returns_non_null_rows(conn: SQLiteConnection) -> None:
    table = conn.schema().table("main", "payments")
    assert table is not None
    frame = conn.sample(table, ["iban"], n=20)
    assert len(frame) == 20
    assert frame["iban"].notna().all()


def test_when_every_pooled_connection_is_busy_then_resources_error(demo_file: Path) -> None:
    import sqlalchemy as sa

    connection = open_connection(ConnectionConfig("demo", f"sqlite:///{demo_file}"))
    assert isinstance(connection, SQLiteConnection)
    connection.engine.dispose()
    connection.engine = sa.create_engine(
        "sqlite://",
        creator=connection.engine.pool._creator,  # type: ignore[attr-defined]
        poolclass=sa.QueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=0.1,
    )
    held = connection.engine.connect()
    try:
        with pytest.raises(QueryFailed) as caught:
            connection.execute("SELECT 1", {}, ALICE)
        assert caught.value.kind == "resources"
    finally:
        held.close()
        connection.close()
    assert "pool exhausted" in str(caught.value)
