"""DuckDB connections on the demo database: read-only, sandboxed, capped, interruptible."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from jupyter_masking.demo.build import build_demo
from jupyter_masking.errors import BadInput
from jupyter_masking.gateway.connections import ConnectionConfig, open_connection
from jupyter_masking.gateway.dberrors import QueryFailed
from jupyter_masking.gateway.engines.duckdb import DuckDBConnection
from jupyter_masking.identity import Identity

ALICE = Identity(user="alice", groups=("analysts",))
SLOW = "SELECT count(*) FROM range(100000000) AS a, range(1000000) AS b"


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("duck") / "demo.duckdb")


@pytest.fixture
def conn(demo_file: Path) -> Iterator[DuckDBConnection]:
    connection = open_connection(
        ConnectionConfig("demo", f"duckdb:///{demo_file}", max_rows=1000, statement_timeout_s=20)
    )
    assert isinstance(connection, DuckDBConnection)
    yield connection
    connection.close()


def test_execute_returns_arrow_with_bound_parameters(conn: DuckDBConnection) -> None:
    result = conn.execute(
        "SELECT id, email FROM customers WHERE id < $n ORDER BY id", {"n": 4}, ALICE
    )
    assert result.table.column("id").to_pylist() == [1, 2, 3]
    assert result.truncated is False
    assert result.duration_ms > 0


@pytest.mark.parametrize("sql", ["SELECT $v AS v", "SELECT :v AS v"])
def test_an_injection_string_is_bound_not_spliced(conn: DuckDBConnection, sql: str) -> None:
    attack = "x'; DROP TABLE customers; --"
    assert conn.execute(sql, {"v": attack}, ALICE).table.column("v").to_pylist() == [attack]
    found = conn.execute(
        "SELECT count(*) AS n FROM customers WHERE email = $v", {"v": attack}, ALICE
    )
    assert found.table.column("n").to_pylist() == [0]
    assert (
        conn.execute("SELECT count(*) AS n FROM customers", {}, ALICE).table["n"][0].as_py() == 500
    )


def test_when_rows_fit_under_the_cap_then_all_arrive(conn: DuckDBConnection) -> None:
    result = conn.execute("SELECT id FROM orders", {}, ALICE, max_rows=1000)
    assert result.table.num_rows == 1000
    everything = conn.execute("SELECT id FROM customers", {}, ALICE, max_rows=1000)
    assert everything.table.num_rows == 500
    assert not everything.truncated
    assert sorted(everything.table.column("id").to_pylist()) == list(range(1, 501))


def test_when_rows_exceed_the_cap_then_result_is_cut_and_says_so(conn: DuckDBConnection) -> None:
    result = conn.execute("SELECT * FROM orders", {}, ALICE, max_rows=10)
    assert result.table.num_rows == 10
    assert result.truncated
    exact = conn.execute("SELECT * FROM orders LIMIT 10", {}, ALICE, max_rows=10)
    assert exact.table.num_rows == 10
    assert not exact.truncated


def test_a_call_cannot_raise_the_configured_row_cap(conn: DuckDBConnection) -> None:
    result = conn.execute("SELECT * FROM orders", {}, ALICE, max_rows=1_000_000)
    assert result.table.num_rows == 1000
    assert result.truncated


def test_empty_result_keeps_column_names_and_types(conn: DuckDBConnection) -> None:
    result = conn.execute("SELECT id, email FROM customers WHERE false", {}, ALICE)
    assert result.table.num_rows == 0
    assert result.table.column_names == ["id", "email"]
    assert str(result.table.schema.field("id").type) == "int32"


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO customers (id) VALUES (9999)",
        "UPDATE customers SET email = 'x'",
        "DELETE FROM orders",
        "DROP TABLE payments",
        "CREATE TABLE stolen AS SELECT * FROM customers",
        "ALTER TABLE customers ADD COLUMN x INTEGER",
    ],
)
def test_when_a_write_reaches_duckdb_then_the_engine_refuses_it(
    conn: DuckDBConnection, sql: str
) -> None:
    with pytest.raises(QueryFailed) as caught:
        conn.execute(sql, {}, ALICE)
    assert caught.value.kind in {"read_only", "permission"}
    assert conn.execute("SELECT count(*) AS n FROM orders", {}, ALICE).table["n"][0].as_py() == 2000


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "COPY customers TO '/tmp/jm_stolen.csv'",
        "ATTACH '/tmp/jm_other.duckdb' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SELECT * FROM 'https://example.com/x.parquet'",
    ],
)
def test_when_file_or_network_access_reaches_duckdb_then_it_fails(
    conn: DuckDBConnection, sql: str
) -> None:
    with pytest.raises(QueryFailed):
        conn.execute(sql, {}, ALICE)
    assert not Path("/tmp/jm_stolen.csv").exists()
    assert not Path("/tmp/jm_other.duckdb").exists()


def test_when_more_than_one_statement_is_sent_then_bad_input(conn: DuckDBConnection) -> None:
    with pytest.raises(BadInput, match="exactly one"):
        conn.execute("SELECT 1; SELECT 2", {}, ALICE)


def test_when_the_timeout_passes_then_the_query_is_interrupted_and_serving_continues(
    conn: DuckDBConnection,
) -> None:
    with pytest.raises(QueryFailed) as caught:
        conn.execute(SLOW, {}, ALICE, timeout_s=0.3)
    assert caught.value.kind == "timeout"
    assert "timed out" in str(caught.value)
    assert conn.execute("SELECT 42 AS x", {}, ALICE).table["x"][0].as_py() == 42


def test_when_a_value_cannot_be_converted_then_the_error_does_not_show_it(
    conn: DuckDBConnection,
) -> None:
    with pytest.raises(QueryFailed) as caught:
        conn.execute("SELECT CAST(email AS INTEGER) FROM customers", {}, ALICE)
    assert caught.value.kind == "data"
    assert "@" not in str(caught.value)
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None


def test_unknown_names_are_reported_with_the_name(conn: DuckDBConnection) -> None:
    with pytest.raises(QueryFailed, match="emial") as caught:
        conn.execute("SELECT emial FROM customers", {}, ALICE)
    assert caught.value.kind == "undefined"
    assert "\n" not in str(caught.value)


def test_when_a_parameter_is_missing_then_parameters_error(conn: DuckDBConnection) -> None:
    with pytest.raises(QueryFailed) as caught:
        conn.execute("SELECT $a AS a, $b AS b", {"a": 1}, ALICE)
    assert caught.value.kind == "parameters"


def test_schema_lists_tables_and_views_with_types_and_view_sql(conn: DuckDBConnection) -> None:
    schema = conn.schema()
    assert schema.dialect == "duckdb"
    assert schema.default_db == "main"
    customers = schema.table(None, "customers")
    assert customers is not None
    assert customers.kind == "table"
    assert [c.name for c in customers.columns][:3] == ["id", "full_name", "email"]
    assert customers.column("date_of_birth") is not None
    assert customers.column("date_of_birth").type == "DATE"  # type: ignore[union-attr]
    orders = schema.table("main", "orders")
    assert orders is not None
    assert orders.column("amount").type == "DECIMAL(10,2)"
    view = schema.table("main", "customer_contacts")
    assert view is not None
    assert view.kind == "view"
    assert view.view_sql is not None
    assert "customers" in view.view_sql
    assert view.view_sql.upper().startswith("SELECT")
    assert schema.mapping().column_names("main.customer_contacts") == [
        "id",
        "full_name",
        "email",
        "phone",
    ]


def test_schema_is_cached_until_refresh(conn: DuckDBConnection) -> None:
    first = conn.schema()
    assert conn.schema() is first
    assert conn.schema(refresh=True) is not first


def test_schemas_option_limits_introspection(demo_file: Path) -> None:
    config = ConnectionConfig("demo", f"duckdb:///{demo_file}", schemas=("nothing_here",))
    connection = open_connection(config)
    try:
        assert connection.schema().tables == ()
    finally:
        connection.close()


def test_sample_returns_requested_columns_skipping_all_null_rows(conn: DuckDBConnection) -> None:
    table = conn.schema().table("main", "payments")
    assert table is not None
    frame = conn.sample(table, ["card_number"], n=50)
    assert list(frame.columns) == ["card_number"]
    assert len(frame) == 50
    assert frame["card_number"].notna().all()


def test_connect_hook_registers_functions_for_every_later_query(conn: DuckDBConnection) -> None:
    def register(db: duckdb.DuckDBPyConnection) -> None:
        db.create_function(
            "jm_twice", lambda x: x * 2, [duckdb.sqltypes.BIGINT], duckdb.sqltypes.BIGINT
        )

    conn.add_connect_hook(register)
    assert conn.execute("SELECT jm_twice(21) AS v", {}, ALICE).table["v"][0].as_py() == 42
    assert (
        conn.execute("SELECT jm_twice(id) AS v FROM customers WHERE id = 2", {}, ALICE)
        .table["v"][0]
        .as_py()
        == 4
    )


def test_security_settings_cannot_be_overridden_by_config(demo_file: Path) -> None:
    config = ConnectionConfig(
        "demo", f"duckdb:///{demo_file}", connect_args={"enable_external_access": True}
    )
    with pytest.raises(Exception, match="cannot be changed"):
        open_connection(config)


def test_harmless_settings_pass_through(demo_file: Path) -> None:
    config = ConnectionConfig("demo", f"duckdb:///{demo_file}", connect_args={"threads": 1})
    connection = open_connection(config)
    try:
        value = connection.execute("SELECT current_setting('threads') AS t", {}, ALICE)
        assert value.table["t"][0].as_py() == 1
    finally:
        connection.close()


@pytest.mark.parametrize(("rows", "cap"), [(150_000, 1_000_000), (150_000, 70_001)])
def test_results_larger_than_one_arrow_batch_arrive_whole_or_capped(
    demo_file: Path, rows: int, cap: int
) -> None:
    connection = open_connection(
        ConnectionConfig("big", f"duckdb:///{demo_file}", max_rows=1_000_000)
    )
    try:
        result = connection.execute(
            "SELECT range AS n FROM range($rows) ORDER BY n", {"rows": rows}, ALICE, max_rows=cap
        )
    finally:
        connection.close()
    assert result.table.num_rows == min(rows, cap)
    assert result.truncated == (rows > cap)
    assert result.table.column("n").to_pylist()[-1] == min(rows, cap) - 1


def test_closing_while_a_query_runs_interrupts_it_instead_of_failing(demo_file: Path) -> None:
    # a kernel unloading the extension after the user gave up on a query (Ctrl-C)
    connection = open_connection(ConnectionConfig("demo", f"duckdb:///{demo_file}"))
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            connection.execute(SLOW, {}, ALICE)
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(0.5)
    started = time.monotonic()
    connection.close()
    worker.join(10)
    assert not worker.is_alive()
    assert time.monotonic() - started < 5
    assert len(outcome) == 1
    assert isinstance(outcome[0], QueryFailed)
