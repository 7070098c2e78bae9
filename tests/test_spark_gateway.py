"""The gateway on Spark (``spark://local[2]``): the same masking as DuckDB, attacks refused.

The demo tables are written into a warehouse database ``shop`` of the shared local session
(one session per test process, see ``test_spark_engine.SETTINGS``); the same rows sit in a
DuckDB demo file, so both engines answer the same SQL and must mask it identically.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - CI installs a JRE
    pytest.skip("Spark needs Java 17 (openjdk-17-jre-headless)", allow_module_level=True)

from test_spark_engine import SETTINGS

from jupyter_masking.audit.store import open_store
from jupyter_masking.config import GatewayConfig
from jupyter_masking.demo.build import VIEW, VIEW_COLUMNS, build_demo, demo_tables
from jupyter_masking.errors import ConfigError, Refused
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.gateway.connections import ConnectionConfig, open_connection
from jupyter_masking.gateway.dberrors import QueryFailed
from jupyter_masking.gateway.engines.spark import SparkConnection, spark_target
from jupyter_masking.gateway.engines.spark_guard import check_statement
from jupyter_masking.gateway.engines.spark_session import register_warehouse
from jupyter_masking.gateway.pipeline import Gateway
from jupyter_masking.identity import Identity
from jupyter_masking.mask import MaskingKey
from jupyter_masking.policy import PolicyHolder

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")

KEY_TEXT = MaskingKey(b"spark-gateway-test-key-0123456789abcdef").to_text()
SPARK_URL = f"spark://local[2]?warehouse={SETTINGS.warehouse}"
ALICE = Identity(user="alice", groups=("analysts",))
DB = "shop"


@dataclass
class Setup:
    gateway: Gateway
    spark: Any
    connection: SparkConnection

    def masked(self, sql: str, engine: str = "spark", **params: object) -> pd.DataFrame:
        request = QueryRequest(sql, connection=engine, params=params)
        return self.gateway.query(request, ALICE).frame

    def raw(self, sql: str) -> pd.DataFrame:
        frame: pd.DataFrame = self.spark.sql(sql).toArrow().to_pandas()
        return frame


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    home = tmp_path_factory.mktemp("spark-gateway")
    connection = open_connection(ConnectionConfig("setup", SPARK_URL))
    assert isinstance(connection, SparkConnection)
    spark = connection.session()
    spark.sql(f"DROP DATABASE IF EXISTS {DB} CASCADE")
    shutil.rmtree(Path(SETTINGS.warehouse) / f"{DB}.db", ignore_errors=True)  # a crashed run's
    spark.sql(f"CREATE DATABASE {DB}")
    for name, table in demo_tables(7).items():
        spark.createDataFrame(table).write.saveAsTable(f"{DB}.{name}")
    spark.catalog.setCurrentDatabase(DB)  # the view's "customers" means shop.customers
    columns = ", ".join(VIEW_COLUMNS)
    spark.sql(f"CREATE VIEW {DB}.{VIEW} AS SELECT {columns} FROM customers")
    demo = build_demo(home / "demo.duckdb")
    config = GatewayConfig.model_validate(
        {
            "connections": {"spark": {"url": SPARK_URL}, "duck": {"url": f"duckdb:///{demo}"}},
            "default_connection": "spark",
        }
    )
    gateway = Gateway(
        config,
        policy=PolicyHolder(None),
        key=MaskingKey.from_text(KEY_TEXT),
        store=open_store(str(home / "audit.db")),
    )
    yield Setup(gateway, spark, connection)
    gateway.close()
    spark.catalog.setCurrentDatabase("default")
    spark.sql(f"DROP DATABASE IF EXISTS {DB} CASCADE")
    connection.close()


# -- same answers as DuckDB, and as raw where nothing is sensitive ------------------------

SAME_AS_DUCKDB = [
    "SELECT id, full_name, email, phone, ssn, date_of_birth, postal_code FROM customers"
    " ORDER BY id LIMIT 40",
    "SELECT c.email, count(*) AS n FROM orders o JOIN customers c ON o.customer_id = c.id"
    " GROUP BY c.email ORDER BY n DESC, c.email LIMIT 10",
    "SELECT id, card_number, iban FROM payments ORDER BY id LIMIT 20",
    "SELECT id, body FROM support_tickets ORDER BY id LIMIT 20",
    f"SELECT * FROM {VIEW} ORDER BY 1 LIMIT 10",
]


@pytest.mark.parametrize("sql", SAME_AS_DUCKDB)
def test_spark_masks_exactly_like_duckdb(setup: Setup, sql: str) -> None:
    spark, duck = setup.masked(sql), setup.masked(sql, engine="duck")
    assert list(spark.columns) == list(duck.columns)
    assert _cells(spark) == _cells(duck)


def _cells(frame: pd.DataFrame) -> list[list[str]]:
    return [[str(v) for v in row] for row in frame.astype(object).itertuples(index=False)]


def test_masked_values_really_are_masked(setup: Setup) -> None:
    raw = set(setup.raw(f"SELECT email FROM {DB}.customers")["email"])
    masked = setup.masked("SELECT email, ssn FROM customers ORDER BY id")
    assert raw
    assert not raw & set(masked["email"])
    assert masked["ssn"].str.startswith("*****").all()


def test_answers_over_non_sensitive_columns_equal_raw(setup: Setup) -> None:
    sql = (
        "SELECT status, count(*) AS n, sum(amount) AS total, min(ordered_at) AS first"
        " FROM orders GROUP BY status ORDER BY status"
    )
    masked = setup.masked(sql)
    raw = setup.raw(sql.replace("FROM orders", f"FROM {DB}.orders"))
    assert _cells(masked) == _cells(raw)
    assert setup.gateway.store.query(limit=1, newest_first=True)[0].outputs[0].effect in (
        None,
        "raw",
    )


def test_joins_and_group_bys_on_pseudonyms_keep_their_counts(setup: Setup) -> None:
    join = (
        "SELECT count(*) AS n, count(DISTINCT c.email) AS people FROM orders o"
        " JOIN customers c ON o.customer_email = c.email"
    )
    masked = setup.masked(join)
    raw = setup.raw(
        join.replace("orders o", f"{DB}.orders o").replace("customers c", f"{DB}.customers c")
    )
    assert masked.iloc[0].tolist() == raw.iloc[0].tolist()
    assert masked.iloc[0]["n"] > 0


def test_functions_on_masked_columns_see_only_masked_values(setup: Setup) -> None:
    raw = setup.raw(f"SELECT email, ssn FROM {DB}.customers")
    masked = setup.masked(
        "SELECT reverse(email) AS r, upper(email) AS u, substr(ssn, 1, 3) AS s3,"
        " concat_ws('|', email, ssn) AS both FROM customers"
    )
    reversed_emails = {email[::-1] for email in raw["email"]}
    leaked = reversed_emails | set(raw["email"].str.upper()) | set(raw["ssn"].str[:3])
    for column in ("r", "u", "s3"):
        assert not leaked & set(masked[column])
    assert not any(e in b for b in masked["both"] for e in raw["email"][:50])


def test_predicates_see_masked_values_too(setup: Setup) -> None:
    raw_email = setup.raw(f"SELECT email FROM {DB}.customers ORDER BY id LIMIT 1")["email"][0]
    found = setup.masked("SELECT id FROM customers WHERE email = :e", e=raw_email)
    assert found.empty, "a raw value must not be matchable through the mask"
    found = setup.masked("SELECT count(*) AS n FROM customers WHERE ssn LIKE '1%'")
    assert found["n"][0] == 0


def test_row_cap_truncates_and_says_so(setup: Setup) -> None:
    request = QueryRequest("SELECT id, email FROM customers ORDER BY id", max_rows=7)
    result = setup.gateway.query(request, ALICE)
    assert len(result.frame) == 7
    assert result.truncated
    assert result.frame["id"].tolist() == list(range(1, 8))


# -- the attack suite: refused before Spark runs anything ----------------------------------

ATTACKS = [
    "INSERT INTO customers SELECT * FROM customers",
    "INSERT OVERWRITE DIRECTORY '/tmp/jm-leak' SELECT email FROM customers",
    "CREATE TABLE stolen AS SELECT email FROM customers",
    "CREATE TEMPORARY VIEW files USING csv OPTIONS (path '/etc/passwd')",
    "DROP TABLE customers",
    "CACHE TABLE customers",
    "ADD JAR '/tmp/evil.jar'",
    "SET spark.sql.ansi.enabled = false",
    "MSCK REPAIR TABLE customers",
    "EXECUTE IMMEDIATE 'SELECT email FROM customers'",
    "SELECT * FROM csv.`/etc/passwd`",
    "SELECT * FROM text.`/etc/passwd`",
    "SELECT * FROM read_files('/etc/passwd')",
    "SELECT * FROM IDENTIFIER('customers')",
    "SELECT reflect('java.lang.System', 'getenv', 'HOME')",
    "SELECT java_method('java.lang.Runtime', 'getRuntime')",
    "SELECT TRANSFORM(email) USING 'cat' AS (e) FROM customers",
    "SELECT to_json(struct(c.*)) FROM customers c",
    "SELECT c FROM customers c",
    "SELECT input_file_name(), email FROM customers",
    "SELECT current_user()",
    "SELECT email FROM customers; DROP TABLE customers",
    "SELECT my_udf(email) FROM customers",
]


@pytest.mark.parametrize("sql", ATTACKS)
def test_attacks_are_refused_and_audited(setup: Setup, sql: str) -> None:
    with pytest.raises(Refused):
        setup.gateway.query(QueryRequest(sql), ALICE)
    event = setup.gateway.store.query(limit=1, newest_first=True)[0]
    assert event.outcome == "refused"
    assert setup.spark.catalog.tableExists(f"{DB}.customers")
    assert not setup.spark.catalog.tableExists(f"{DB}.stolen")
    assert not Path("/tmp/jm-leak").exists()


def test_engine_guard_refuses_writes_that_bypass_the_analyzer(setup: Setup) -> None:
    before = setup.raw(f"SELECT count(*) AS n FROM {DB}.orders")["n"][0]
    for sql in (
        f"INSERT INTO {DB}.orders SELECT * FROM {DB}.orders",
        f"CACHE TABLE {DB}.orders",
        f"SELECT TRANSFORM(id) USING 'cat' AS (x) FROM {DB}.orders",
    ):
        with pytest.raises(Refused):
            setup.connection.execute(sql, {}, ALICE)
    assert setup.raw(f"SELECT count(*) AS n FROM {DB}.orders")["n"][0] == before


def test_sparks_own_parser_is_the_last_check(setup: Setup) -> None:
    check_statement(f"SELECT id FROM {DB}.orders WHERE id = :id", setup.spark)
    from jupyter_masking.gateway.engines.spark_guard import _check_plan

    for sql in (f"INSERT INTO {DB}.orders SELECT * FROM {DB}.orders", "SET x = 1", "ADD JAR 'x'"):
        with pytest.raises(Refused):
            _check_plan(setup.spark, sql)


# -- the connection: schema, errors, timeout, identity -------------------------------------


def test_schema_comes_from_the_spark_catalog(setup: Setup) -> None:
    schema = setup.connection.schema(refresh=True)
    customers = schema.table(DB, "customers")
    assert customers is not None
    assert [(c.name, c.type) for c in customers.columns[:2]] == [
        ("id", "int"),
        ("full_name", "string"),
    ]
    view = schema.table(DB, VIEW)
    assert view is not None
    assert view.kind == "view"
    assert view.view_sql is not None
    assert "shop" in view.view_sql  # qualified as Spark resolved it
    assert schema.default_db == DB


def test_warehouse_directories_are_registered_as_tables(setup: Setup) -> None:
    path = Path(SETTINGS.warehouse) / "jm_loose.db" / "events"
    setup.spark.range(3).write.mode("overwrite").parquet(str(path))
    try:
        assert "jm_loose.events" in register_warehouse(setup.spark, Path(SETTINGS.warehouse))
        assert register_warehouse(setup.spark, Path(SETTINGS.warehouse)) == []
        assert setup.connection.schema(refresh=True).table("jm_loose", "events") is not None
    finally:
        setup.spark.sql("DROP DATABASE IF EXISTS jm_loose CASCADE")
        shutil.rmtree(path.parent, ignore_errors=True)


def test_unknown_names_are_one_line_errors_without_sql(setup: Setup) -> None:
    with pytest.raises(QueryFailed) as caught:
        setup.connection.execute(f"SELECT nope FROM {DB}.orders", {}, ALICE)
    assert caught.value.kind == "undefined"
    assert "\n" not in str(caught.value)
    with pytest.raises(QueryFailed) as caught:
        setup.connection.execute("SELECT 1 / 0 AS x", {}, ALICE)
    assert caught.value.kind == "data"


def test_timeout_interrupts_the_jobs_and_the_session_survives(setup: Setup) -> None:
    slow = "SELECT sum(id % 7) AS s FROM range(1000000000000)"  # minutes of CPU, no memory
    with pytest.raises(QueryFailed) as caught:
        setup.connection.execute(slow, {}, ALICE, timeout_s=1.0)
    assert caught.value.kind == "timeout"
    assert setup.connection.execute("SELECT 1 AS one", {}, ALICE).table.to_pylist() == [{"one": 1}]


def test_identity_reaches_the_spark_job_description_and_group(setup: Setup) -> None:
    who = Identity(user="carol", groups=("support",), cell_id="cell-9")
    setup.connection.execute(f"SELECT count(*) FROM {DB}.orders", {}, who)
    store = setup.spark.sparkContext._jsc.sc().statusStore()
    jobs = store.jobsList(None)
    found = [jobs.apply(i) for i in range(jobs.size())]
    descriptions = [str(j.description().get()) for j in found if j.description().isDefined()]
    groups = [str(j.jobGroup().get()) for j in found if j.jobGroup().isDefined()]
    assert any("user=carol groups=support actor=human cell=cell-9" in d for d in descriptions)
    assert any(g.startswith("jupyter-masking:carol:jm-query-") for g in groups)


# -- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "spark://spark-master:7077",
        "spark://local[2]/somedb",
        "spark://local[2]?warehouse=/x&password=y",
        "spark://local[2]?catalog=glue",
        "sc://host:15002/;token=abc",
        "sc://host:15002?tokn=abc",
        "sc://user:pw@host:15002",
    ],
)
def test_malformed_spark_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        spark_target(sa.make_url(url), "x")


def test_spark_connect_token_never_shows(tmp_path: Path) -> None:
    config = ConnectionConfig("cluster", "sc://spark.internal:15002?token=s3cr3t&use_ssl=true")
    connection = open_connection(config)  # lazy: nothing is contacted yet
    assert "s3cr3t" not in repr(connection)
    assert "s3cr3t" not in repr(config)
    assert connection.dialect == "spark"


# -- the CLI, in its own process and JVM ------------------------------------------------------


@pytest.mark.slow
def test_cli_query_on_spark_masks_like_the_gateway(setup: Setup, tmp_path: Path) -> None:
    sql = f"SELECT id, email, ssn FROM {DB}.customers ORDER BY id LIMIT 3"
    expected = setup.masked(sql)
    env = {**os.environ, "JUPYTER_MASKING_DATA_DIR": str(tmp_path), "JUPYTER_MASKING_KEY": KEY_TEXT}
    setup.spark.catalog.setCurrentDatabase("default")
    args = ["query", "--user", "alice", "--group", "analysts", "--db", SPARK_URL]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "jupyter_masking", *args, "--format", "json", sql],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
    finally:
        setup.spark.catalog.setCurrentDatabase(DB)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert [row[1] for row in result["rows"]] == expected["email"].tolist()
    assert {m["column"] for m in result["masked"]} == {"email", "ssn"}
