"""PostgreSQL connections: read-only transactions, identity for row-level security, faults."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from jupyter_masking.demo.build import load_demo_into
from jupyter_masking.gateway.connections import ConnectionConfig, open_connection, redact_url
from jupyter_masking.gateway.dberrors import QueryFailed
from jupyter_masking.gateway.engines.postgres import PostgresConnection
from jupyter_masking.identity import Identity

pytestmark = pytest.mark.postgres

ALICE = Identity(user="alice", groups=("analysts", "emea"))
SECRET = "s3cret-Pw"  # trust auth ignores it; it must still never show


def with_password(url: str) -> str:
    return sa.make_url(url).set(password=SECRET).render_as_string(hide_password=False)


@pytest.fixture
def demo(pg_schema: Any) -> Any:
    load_demo_into(pg_schema.url)
    return pg_schema


@pytest.fixture
def conn(demo: Any) -> Iterator[PostgresConnection]:
    config = ConnectionConfig(
        "warehouse",
        with_password(demo.url),
        max_rows=1000,
        statement_timeout_s=20,
        schemas=(demo.name,),
    )
    connection = open_connection(config)
    assert isinstance(connection, PostgresConnection)
    yield connection
    connection.close()


def scalar(conn: PostgresConnection, sql: str, identity: Identity = ALICE) -> Any:
    return conn.execute(sql, {}, identity).table.column(0)[0].as_py()


def test_execute_binds_parameters_and_keeps_percent_literals(conn: PostgresConnection) -> None:
    result = conn.execute(
        "SELECT id FROM customers WHERE id < %(n)s AND email LIKE '%@%' ORDER BY id",
        {"n": 4},
        ALICE,
    )
    assert result.table.column("id").to_pylist() == [1, 2, 3]
    colon = conn.execute("SELECT id FROM customers WHERE id = :n", {"n": 2}, ALICE)
    assert colon.table.column("id").to_pylist() == [2]


def test_an_injection_string_is_bound_not_spliced(conn: PostgresConnection) -> None:
    attack = "x'; DROP TABLE customers; --"
    assert conn.execute("SELECT %(v)s AS v", {"v": attack}, ALICE).table["v"][0].as_py() == attack
    found = conn.execute("SELECT count(*) FROM customers WHERE email = :v", {"v": attack}, ALICE)
    assert found.table.column(0)[0].as_py() == 0
    assert scalar(conn, "SELECT count(*) FROM customers") == 500


def test_when_rows_fit_under_the_cap_then_all_arrive(conn: PostgresConnection) -> None:
    result = conn.execute("SELECT id FROM orders", {}, ALICE, max_rows=1000)
    assert result.table.num_rows == 1000
    everything = conn.execute("SELECT id FROM customers", {}, ALICE, max_rows=1000)
    assert everything.table.num_rows == 500
    assert not everything.truncated
    assert sorted(everything.table.column("id").to_pylist()) == list(range(1, 501))


def test_when_rows_exceed_the_cap_then_result_is_cut_and_says_so(conn: PostgresConnection) -> None:
    result = conn.execute("SELECT * FROM orders ORDER BY id", {}, ALICE, max_rows=25)
    assert result.table.num_rows == 25
    assert result.truncated
    assert result.table.column("id").to_pylist() == list(range(1, 26))
    assert str(result.table.schema.field("amount").type) == "decimal128(10, 2)"


def test_identity_reaches_the_session(conn: PostgresConnection) -> None:
    agent = ALICE.acting_as("ai:jupyter-ai")
    row = conn.execute(
        "SELECT current_setting('jupyter_masking.user') AS u,"
        " current_setting('jupyter_masking.groups') AS g,"
        " current_setting('jupyter_masking.actor') AS a,"
        " current_setting('application_name') AS app,"
        " current_setting('transaction_read_only') AS ro,"
        # the tagged query is the session's current statement (COPY) or, for results that
        # stream through a server-side cursor, that cursor's statement
        " concat_ws(' ', current_query(), (SELECT string_agg(statement, ' ') FROM pg_cursors))"
        " AS q",
        {},
        agent,
    ).table.to_pylist()[0]
    assert row["u"] == "alice"
    assert row["g"] == "analysts,emea"
    assert row["a"] == "ai:jupyter-ai"
    assert row["app"] == "jupyter-masking:alice"
    assert row["ro"] == "on"
    assert "/*actor='ai%3Ajupyter-ai',app='jupyter-masking',user='alice'*/" in row["q"]


def test_identity_settings_do_not_leak_to_the_next_query(conn: PostgresConnection) -> None:
    conn.execute("SELECT 1", {}, Identity(user="mallory"))
    bob = Identity(user="bob")
    assert scalar(conn, "SELECT current_setting('jupyter_masking.user')", bob) == "bob"
    assert scalar(conn, "SELECT current_setting('jupyter_masking.groups')", bob) == ""


def test_row_level_security_sees_the_identity(demo: Any, pg_url: str) -> None:
    role = f"jm_rls_{uuid.uuid4().hex[:10]}"
    admin = demo.engine
    with admin.begin() as c:
        c.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
        c.exec_driver_sql(f'GRANT USAGE ON SCHEMA "{demo.name}" TO "{role}"')
        c.exec_driver_sql(f'CREATE TABLE "{demo.name}".notes (owner text, body text)')
        c.exec_driver_sql(
            f"INSERT INTO \"{demo.name}\".notes VALUES ('alice', 'a1'), ('alice', 'a2'),"
            " ('bob', 'b1'), ('carol', 'c1')"
        )
        c.exec_driver_sql(f'GRANT SELECT ON "{demo.name}".notes TO "{role}"')
        c.exec_driver_sql(f'ALTER TABLE "{demo.name}".notes ENABLE ROW LEVEL SECURITY')
        c.exec_driver_sql(
            f'CREATE POLICY by_user ON "{demo.name}".notes USING ('
            " owner = current_setting('jupyter_masking.user', true)"
            " OR 'auditors' = ANY(string_to_array("
            "    current_setting('jupyter_masking.groups', true), ',')))"
        )
    url = sa.make_url(demo.url).set(username=role).render_as_string(hide_password=False)
    connection = open_connection(ConnectionConfig("rls", url, schemas=(demo.name,)))
    try:
        sql = "SELECT body FROM notes ORDER BY body"
        assert connection.execute(sql, {}, ALICE).table["body"].to_pylist() == ["a1", "a2"]
        bob = Identity(user="bob")
        assert connection.execute(sql, {}, bob).table["body"].to_pylist() == ["b1"]
        auditor = Identity(user="dave", groups=("auditors",))
        assert connection.execute(sql, {}, auditor).table.num_rows == 4
        nobody = Identity(user="eve")
        assert connection.execute(sql, {}, nobody).table.num_rows == 0
        # the role sees only what it may read
        assert [t.name for t in connection.schema().tables] == ["notes"]
    finally:
        connection.close()
        with admin.begin() as c:
            c.exec_driver_sql(f'DROP OWNED BY "{role}"')
            c.exec_driver_sql(f'DROP ROLE "{role}"')


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT nextval('jm_seq')",
        "SELECT jm_write()",
        "SELECT set_config('default_transaction_read_only', 'off', false), jm_write()",
        "INSERT INTO customers (id) VALUES (9999)",
        "WITH gone AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM gone",
    ],
)
def test_when_a_write_reaches_postgres_then_the_transaction_refuses_it(
    demo: Any, conn: PostgresConnection, sql: str
) -> None:
    with demo.engine.begin() as c:
        c.exec_driver_sql(f'CREATE SEQUENCE "{demo.name}".jm_seq')
        c.exec_driver_sql(
            f'CREATE FUNCTION "{demo.name}".jm_write() RETURNS int LANGUAGE sql AS'
            f" 'INSERT INTO \"{demo.name}\".customers (id) VALUES (9999) RETURNING id'"
        )
    with pytest.raises(QueryFailed) as caught:
        conn.execute(sql, {}, ALICE)
    # writes inside a SELECT hit the read-only transaction; bare writes cannot even be
    # declared as a cursor
    assert caught.value.kind in {"read_only", "syntax", "other"}
    if sql.startswith("SELECT"):
        assert caught.value.kind == "read_only"
    assert scalar(conn, "SELECT count(*) FROM customers") == 500
    assert scalar(conn, "SELECT count(*) FROM orders") == 2000


def test_when_the_timeout_passes_then_timeout_error_and_serving_continues(
    conn: PostgresConnection,
) -> None:
    with pytest.raises(QueryFailed) as caught:
        conn.execute("SELECT pg_sleep(5)", {}, ALICE, timeout_s=0.3)
    assert caught.value.kind == "timeout"
    assert scalar(conn, "SELECT 7") == 7


def test_when_a_lock_is_held_then_lock_wait_error(demo: Any, conn: PostgresConnection) -> None:
    with demo.engine.connect() as holder:
        holder.exec_driver_sql(f'LOCK TABLE "{demo.name}".customers IN ACCESS EXCLUSIVE MODE')
        with pytest.raises(QueryFailed) as caught:
            conn.execute("SELECT count(*) FROM customers", {}, ALICE, timeout_s=1.0)
        holder.rollback()
    assert caught.value.kind == "lock_wait"
    assert scalar(conn, "SELECT count(*) FROM customers") == 500


def test_when_the_connection_is_killed_mid_query_then_clear_error_and_reconnect(
    demo: Any, conn: PostgresConnection
) -> None:
    victim = Identity(user=f"victim_{uuid.uuid4().hex[:8]}")
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            conn.execute("SELECT pg_sleep(20)", {}, victim)
        except BaseException as error:  # recorded for the assertion below
            outcome["error"] = error

    worker = threading.Thread(target=run)
    worker.start()
    killed = False
    for _ in range(100):
        with demo.engine.begin() as admin:
            killed = bool(
                admin.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = %(app)s",
                    {"app": f"jupyter-masking:{victim.user}"},
                ).scalar()
            )
        if killed:
            break
        time.sleep(0.05)
    worker.join(30)
    assert killed
    error = outcome["error"]
    assert isinstance(error, QueryFailed)
    assert error.kind == "connection_lost"
    assert SECRET not in str(error)
    assert scalar(conn, "SELECT 1") == 1


def test_errors_never_carry_the_url_password_or_values(conn: PostgresConnection) -> None:
    with pytest.raises(QueryFailed) as caught:
        conn.execute("SELECT CAST(email AS integer) FROM customers", {}, ALICE)
    assert caught.value.kind == "data"
    text = str(caught.value) + repr(caught.value.to_dict())
    assert "@" not in text
    assert SECRET not in text
    assert caught.value.__context__ is None
    assert SECRET not in repr(conn)
    assert SECRET not in redact_url(conn.config.url)


def test_when_the_server_is_unreachable_then_unreachable_without_password() -> None:
    url = f"postgresql://bob:{SECRET}@127.0.0.1:1/nothing"
    connection = open_connection(ConnectionConfig("down", url, connect_args={"connect_timeout": 2}))
    try:
        with pytest.raises(QueryFailed) as caught:
            connection.execute("SELECT 1", {}, ALICE)
    finally:
        connection.close()
    assert caught.value.kind == "unreachable"
    assert SECRET not in str(caught.value)
    assert "bob" not in str(caught.value)


def test_unknown_names_are_reported_with_the_name(conn: PostgresConnection) -> None:
    with pytest.raises(QueryFailed, match="emial") as caught:
        conn.execute("SELECT emial FROM customers", {}, ALICE)
    assert caught.value.kind == "undefined"


def test_schema_has_tables_views_and_current_schema(demo: Any, conn: PostgresConnection) -> None:
    schema = conn.schema()
    assert schema.default_db == demo.name
    assert {t.db for t in schema.tables} == {demo.name}
    orders = schema.table(None, "orders")
    assert orders is not None
    assert orders.column("amount").type == "numeric(10,2)"  # type: ignore[union-attr]
    assert orders.column("ordered_at").type == "timestamp without time zone"  # type: ignore[union-attr]
    view = schema.table(demo.name, "customer_contacts")
    assert view is not None
    assert view.kind == "view"
    assert view.view_sql is not None
    assert "customers" in view.view_sql
    assert not view.view_sql.rstrip().endswith(";")


def test_sample_reads_raw_rows_for_profiling(demo: Any, conn: PostgresConnection) -> None:
    table = conn.schema().table(demo.name, "support_tickets")
    assert table is not None
    frame = conn.sample(table, ["body", "subject"], n=30)
    assert list(frame.columns) == ["body", "subject"]
    assert len(frame) == 30


@pytest.mark.parametrize(("rows", "cap"), [(25_000, 100_000), (25_000, 20_001), (20_000, 20_000)])
def test_results_larger_than_one_fetch_batch_arrive_whole_or_capped(
    conn: PostgresConnection, rows: int, cap: int
) -> None:
    config = ConnectionConfig("big", conn.config.url, max_rows=100_000)
    big = open_connection(config)
    try:
        result = big.execute(
            "SELECT g AS n FROM generate_series(1, %(rows)s) AS g",
            {"rows": rows},
            ALICE,
            max_rows=cap,
        )
    finally:
        big.close()
    assert result.table.num_rows == min(rows, cap)
    assert result.truncated == (rows > cap)
    assert result.table.column("n").to_pylist()[-1] == min(rows, cap)


# Values CSV could confuse: text spelling NULL or NA, empty vs missing, quotes, commas,
# newlines, leading zeros, non-ASCII, infinities, decimals, dates and timestamps.
TRICKY = """SELECT id, na, empty, nothing, quoted, zeros, uni, flag, f, d::numeric(6,2) AS d, day,
  ts, current_query() LIKE 'COPY %%' AS bulk
FROM (VALUES
  (1, 'NA', '', NULL::text, 'a,"b"' || chr(10) || 'c', '00123', 'héllo ✓', true,
   'Infinity'::float8, 1.50::numeric(6,2), DATE '2024-02-29', TIMESTAMP '2024-02-29 23:59:59.5'),
  (2, 'NULL', ' ', 'x', '\\N', '-0', '', false, -2.5::float8, NULL, NULL, NULL)
) AS v(id, na, empty, nothing, quoted, zeros, uni, flag, f, d, day, ts) WHERE {cond} ORDER BY id"""


def test_bulk_results_hold_exactly_what_the_driver_gives(conn: PostgresConnection) -> None:
    bulk = conn.execute(TRICKY.format(cond="TRUE"), {}, ALICE).table
    driver = conn.execute(TRICKY.format(cond="id < :n"), {"n": 10}, ALICE).table
    assert bulk.column("bulk").to_pylist() == [True, True]  # no parameter: COPY
    assert driver.column("bulk").to_pylist() == [False, False]  # bound parameter: the cursor
    bulk, driver = bulk.drop_columns(["bulk"]), driver.drop_columns(["bulk"])
    assert bulk.schema == driver.schema
    assert bulk.to_pylist() == driver.to_pylist()
    assert bulk.column("na").to_pylist() == ["NA", "NULL"]
    assert bulk.column("empty").to_pylist() == ["", " "]
    assert bulk.column("nothing").to_pylist() == [None, "x"]
    assert bulk.column("quoted").to_pylist() == ['a,"b"\nc', "\\N"]
    assert bulk.column("zeros").to_pylist() == ["00123", "-0"]


def test_bulk_results_keep_the_order_under_the_row_cap(conn: PostgresConnection) -> None:
    result = conn.execute(
        "SELECT id, email FROM customers WHERE email LIKE '%@%' ORDER BY id DESC",
        {},
        ALICE,
        max_rows=7,
    )
    assert result.truncated
    assert result.table.column("id").to_pylist() == list(range(500, 493, -1))
    empty = conn.execute("SELECT id, email FROM customers WHERE id < 0", {}, ALICE)
    assert empty.table.num_rows == 0
    assert empty.table.column_names == ["id", "email"]


def test_results_with_other_types_still_arrive_through_the_driver(conn: PostgresConnection) -> None:
    row = conn.execute(
        "SELECT TIMESTAMPTZ '2024-01-01 00:00+00' AS at, '{\"a\": 1}'::jsonb AS doc,"
        " 'NaN'::float8 AS nan",
        {},
        ALICE,
    ).table.to_pylist()[0]
    assert row["at"].year == 2024
    assert row["doc"] == '{"a": 1}'
    assert math.isnan(row["nan"])
    # a value the bulk path cannot type goes the driver's way, which reports it as before
    with pytest.raises(QueryFailed) as caught:
        conn.execute("SELECT DATE 'infinity' AS forever", {}, ALICE)
    assert caught.value.kind == "data"


def test_text_that_would_break_out_of_the_bulk_wrapper_runs_nothing(
    conn: PostgresConnection,
) -> None:
    # The engine only ever gets SQL sqlglot wrote, but should that ever be unbalanced, the
    # server refuses the wrapped text as more than one statement before anything runs.
    escape = "SELECT 1 AS a) AS q LIMIT 0; SELECT pg_sleep(3) --"
    started = time.monotonic()
    with pytest.raises(QueryFailed) as caught:
        conn.execute(escape, {}, ALICE)
    assert caught.value.kind == "syntax"
    assert time.monotonic() - started < 2
