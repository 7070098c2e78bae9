"""MariaDB connections: read-only sessions and transactions, per-statement limits, faults."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_masking.demo.build import load_demo_into
from jupyter_masking.gateway.connections import ConnectionConfig, open_connection
from jupyter_masking.gateway.dberrors import QueryFailed
from jupyter_masking.gateway.engines.mysql import MySQLConnection
from jupyter_masking.identity import Identity

pytestmark = pytest.mark.mariadb

ALICE = Identity(user="alice", groups=("analysts",))


@pytest.fixture
def demo(mariadb_database: Any) -> Any:
    load_demo_into(mariadb_database.url)
    return mariadb_database


@pytest.fixture
def conn(demo: Any) -> Iterator[MySQLConnection]:
    url = demo.url.replace("mysql+pymysql://", "mariadb://", 1)
    connection = open_connection(
        ConnectionConfig("shop", url, max_rows=1000, statement_timeout_s=20)
    )
    assert isinstance(connection, MySQLConnection)
    yield connection
    connection.close()


def scalar(conn: MySQLConnection, sql: str, identity: Identity = ALICE) -> Any:
    return conn.execute(sql, {}, identity).table.column(0)[0].as_py()


def test_execute_binds_parameters_and_keeps_percent_literals(conn: MySQLConnection) -> None:
    result = conn.execute(
        "SELECT id FROM customers WHERE id < :n AND email LIKE '%@%' ORDER BY id", {"n": 4}, ALICE
    )
    assert result.table.column("id").to_pylist() == [1, 2, 3]


def test_an_injection_string_is_bound_not_spliced(conn: MySQLConnection) -> None:
    attack = "x'; DROP TABLE customers; --"
    assert conn.execute("SELECT :v AS v", {"v": attack}, ALICE).table["v"][0].as_py() == attack
    backslash = "x\\'; DROP TABLE customers; --"
    assert (
        conn.execute("SELECT :v AS v", {"v": backslash}, ALICE).table["v"][0].as_py() == backslash
    )
    assert scalar(conn, "SELECT count(*) FROM customers") == 500


def test_when_rows_fit_under_the_cap_then_all_arrive(conn: MySQLConnection) -> None:
    result = conn.execute("SELECT id FROM orders", {}, ALICE, max_rows=1000)
    assert result.table.num_rows == 1000
    everything = conn.execute("SELECT id FROM customers", {}, ALICE, max_rows=1000)
    assert everything.table.num_rows == 500
    assert not everything.truncated
    assert sorted(everything.table.column("id").to_pylist()) == list(range(1, 501))


def test_when_rows_exceed_the_cap_then_result_is_cut_and_says_so(conn: MySQLConnection) -> None:
    result = conn.execute("SELECT * FROM orders ORDER BY id", {}, ALICE, max_rows=25)
    assert result.table.num_rows == 25
    assert result.truncated
    assert str(result.table.schema.field("amount").type) == "decimal128(10, 2)"
    exact = conn.execute("SELECT * FROM orders LIMIT 25", {}, ALICE, max_rows=25)
    assert exact.table.num_rows == 25
    assert not exact.truncated


def test_the_row_cap_does_not_leak_into_the_next_query(conn: MySQLConnection) -> None:
    conn.execute("SELECT * FROM orders", {}, ALICE, max_rows=3)
    assert conn.execute("SELECT * FROM orders", {}, ALICE).table.num_rows == 1000


def test_identity_comment_reaches_the_server(conn: MySQLConnection) -> None:
    seen = scalar(
        conn,
        "SELECT info FROM information_schema.processlist WHERE id = connection_id()",
        Identity(user="bob", actor="ai:mcp:claude"),
    )
    assert "/*actor='ai%3Amcp%3Aclaude',app='jupyter-masking',user='bob'*/" in seen


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO customers (id) VALUES (9999)",
        "UPDATE customers SET email = 'x'",
        "DELETE FROM orders",
        # DDL commits implicitly and would escape a read-only transaction
        "CREATE TABLE stolen AS SELECT * FROM customers",
        "DROP TABLE payments",
        "CREATE TEMPORARY TABLE t (i INT)",
        "ALTER TABLE customers ADD COLUMN x INT",
    ],
)
def test_when_a_write_reaches_mariadb_then_it_is_refused(
    demo: Any, conn: MySQLConnection, sql: str
) -> None:
    with pytest.raises(QueryFailed) as caught:
        conn.execute(sql, {}, ALICE)
    assert caught.value.kind == "read_only"
    assert scalar(conn, "SELECT count(*) FROM orders") == 2000
    tables = scalar(
        conn,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()",
    )
    assert tables == 6  # five tables and the view, untouched


def test_when_the_timeout_passes_then_timeout_error_and_serving_continues(
    conn: MySQLConnection,
) -> None:
    with pytest.raises(QueryFailed) as caught:
        conn.execute("SELECT SLEEP(5)", {}, ALICE, timeout_s=0.5)
    assert caught.value.kind == "timeout"
    assert scalar(conn, "SELECT 7") == 7


def test_when_a_table_lock_is_held_then_lock_wait_error(demo: Any, conn: MySQLConnection) -> None:
    with demo.engine.connect() as holder:
        holder.exec_driver_sql(f"LOCK TABLES `{demo.name}`.customers WRITE")
        try:
            with pytest.raises(QueryFailed) as caught:
                conn.execute("SELECT count(*) FROM customers", {}, ALICE, timeout_s=2.0)
        finally:
            holder.exec_driver_sql("UNLOCK TABLES")
    assert caught.value.kind == "lock_wait", caught.value
    assert scalar(conn, "SELECT count(*) FROM customers") == 500


def test_when_the_connection_is_killed_mid_query_then_clear_error_and_reconnect(
    demo: Any, conn: MySQLConnection
) -> None:
    victim = Identity(user=f"victim_{uuid.uuid4().hex[:8]}")
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            conn.execute("SELECT SLEEP(20)", {}, victim)
        except BaseException as error:  # recorded for the assertion below
            outcome["error"] = error

    worker = threading.Thread(target=run)
    worker.start()
    killed = False
    for _ in range(100):
        with demo.engine.connect() as admin:
            found = admin.exec_driver_sql(
                "SELECT id FROM information_schema.processlist WHERE info LIKE %(p)s",
                {"p": f"%user='{victim.user}'%"},
            ).scalar()
            if found:
                admin.exec_driver_sql(f"KILL {int(found)}")
                killed = True
                break
        time.sleep(0.05)
    worker.join(30)
    assert killed
    error = outcome["error"]
    assert isinstance(error, QueryFailed)
    assert error.kind == "connection_lost"
    assert scalar(conn, "SELECT 1") == 1


def test_driver_messages_that_quote_values_are_dropped(conn: MySQLConnection) -> None:
    # MariaDB only warns on bad casts in SELECTs, so the driver error is built by hand
    import pymysql

    error = conn._classify(
        pymysql.err.OperationalError(1292, "Truncated incorrect DOUBLE value: 'alice@example.com'")
    )
    assert error.kind == "data"
    assert "alice" not in str(error)
    unknown = conn._classify(pymysql.err.OperationalError(9999, "odd thing near 'bob@example.com'"))
    assert unknown.kind == "other"
    assert "bob" not in str(unknown)


def test_unknown_names_are_reported_with_the_name(conn: MySQLConnection) -> None:
    with pytest.raises(QueryFailed, match="emial") as caught:
        conn.execute("SELECT emial FROM customers", {}, ALICE)
    assert caught.value.kind == "undefined"


def test_schema_lists_the_connected_database_with_views(demo: Any, conn: MySQLConnection) -> None:
    schema = conn.schema()
    assert schema.dialect == "mysql"
    assert schema.default_db == demo.name
    orders = schema.table(None, "orders")
    assert orders is not None
    assert orders.column("amount").type == "decimal(10,2)"  # type: ignore[union-attr]
    view = schema.table(demo.name, "customer_contacts")
    assert view is not None
    assert view.kind == "view"
    assert view.view_sql is not None
    assert "customers" in view.view_sql


def test_sample_reads_raw_rows_for_profiling(demo: Any, conn: MySQLConnection) -> None:
    table = conn.schema().table(demo.name, "legacy_export")
    assert table is not None
    frame = conn.sample(table, ["c1", "payload"], n=10)
    assert len(frame) == 10
    assert frame["c1"].str.contains("@").all()
