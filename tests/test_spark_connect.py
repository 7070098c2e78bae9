"""The gateway over Spark Connect (``sc://``), against a local Spark Connect server.

The server is the one the pyspark wheel ships (``SparkConnectServer``), started once for
the module in its own process group on a free port. Tables are written through a separate
Spark Connect client session, as a data engineer would on a cluster.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytest.importorskip("pyspark")
pytest.importorskip("grpc")
if shutil.which("java") is None:  # pragma: no cover - CI installs a JRE
    pytest.skip("Spark needs Java 17 (openjdk-17-jre-headless)", allow_module_level=True)

from jupyter_masking.audit.store import open_store
from jupyter_masking.config import GatewayConfig
from jupyter_masking.demo.build import build_demo, demo_tables
from jupyter_masking.errors import Refused
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.gateway.dberrors import QueryFailed
from jupyter_masking.gateway.pipeline import Gateway
from jupyter_masking.identity import Identity
from jupyter_masking.mask import MaskingKey
from jupyter_masking.policy import PolicyHolder

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
]

ALICE = Identity(user="alice", groups=("analysts",))
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
START_TIMEOUT_S = 300


@dataclass
class Setup:
    gateway: Gateway
    client: Any

    def masked(self, sql: str, engine: str = "cluster") -> pd.DataFrame:
        return self.gateway.query(QueryRequest(sql, connection=engine), ALICE).frame


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"Spark Connect server exited: {log.read_text()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(1)
    pytest.fail("Spark Connect server did not start in time")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import pyspark

    home = tmp_path_factory.mktemp("spark-connect")
    spark_home = Path(pyspark.__file__).parent
    port = _free_port()
    log = home / "server.log"
    command = [
        str(spark_home / "bin" / "spark-submit"),
        "--class",
        SERVER_CLASS,
        "--master",
        "local[2]",
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        f"spark.sql.warehouse.dir={home / 'warehouse'}",
        "--conf",
        "spark.sql.shuffle.partitions=4",
        "spark-internal",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SPARK_HOME": str(spark_home)},
            start_new_session=True,
        )
    try:
        _wait_for(port, process, log)
        yield f"sc://localhost:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def setup(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    from pyspark.sql.connect.session import SparkSession as RemoteSession

    client = RemoteSession.builder.remote(server).create()
    client.sql("CREATE DATABASE IF NOT EXISTS shop")
    for name, table in demo_tables(7).items():
        client.createDataFrame(table).write.mode("overwrite").saveAsTable(f"shop.{name}")
    home = tmp_path_factory.mktemp("connect-gateway")
    demo = build_demo(home / "demo.duckdb")
    config = GatewayConfig.model_validate(
        {
            "connections": {
                "cluster": {"url": server, "statement_timeout_s": 60},
                "duck": {"url": f"duckdb:///{demo}"},
            },
            "default_connection": "cluster",
        }
    )
    gateway = Gateway(
        config,
        policy=PolicyHolder(None),
        key=MaskingKey.generate(),
        store=open_store(str(home / "audit.db")),
    )
    yield Setup(gateway, client)
    gateway.close()
    client.stop()


def _cells(frame: pd.DataFrame) -> list[list[str]]:
    return [[str(v) for v in row] for row in frame.astype(object).itertuples(index=False)]


@pytest.mark.parametrize(
    "table_sql",
    [
        "SELECT id, full_name, email, ssn, date_of_birth FROM {t}customers ORDER BY id LIMIT 25",
        "SELECT id, body FROM {t}support_tickets ORDER BY id LIMIT 10",
    ],
)
def test_spark_connect_masks_exactly_like_duckdb(setup: Setup, table_sql: str) -> None:
    remote = setup.masked(table_sql.format(t="shop."))
    local = setup.masked(table_sql.format(t=""), engine="duck")
    assert _cells(remote) == _cells(local)


def test_non_sensitive_answers_equal_raw_over_connect(setup: Setup) -> None:
    sql = "SELECT status, count(*) AS n, sum(amount) AS total FROM shop.orders GROUP BY status"
    ordered = f"{sql} ORDER BY status"
    raw = setup.client.sql(ordered).toArrow().to_pandas()
    assert _cells(setup.masked(ordered)) == _cells(raw)


STATEMENTS = [  # not a query at all: the engine guard refuses them too
    "INSERT INTO shop.orders SELECT * FROM shop.orders",
    "CACHE TABLE shop.orders",
    "SELECT TRANSFORM(id) USING 'cat' AS (x) FROM shop.orders",
]
QUERIES = [  # plain queries the analyzer refuses (Java calls, file readers)
    "SELECT reflect('java.lang.System', 'getenv', 'HOME')",
    "SELECT * FROM csv.`/etc/passwd`",
]


@pytest.mark.parametrize("sql", STATEMENTS + QUERIES)
def test_attacks_are_refused_over_connect(setup: Setup, sql: str) -> None:
    before = setup.client.sql("SELECT count(*) AS n FROM shop.orders").collect()[0][0]
    with pytest.raises(Refused):
        setup.gateway.query(QueryRequest(sql), ALICE)
    if sql in STATEMENTS:
        _, source = setup.gateway._source("cluster")
        with pytest.raises(Refused):  # the engine guard, without the analyzer in front
            source.connection.execute(sql, {}, ALICE)
    assert setup.client.sql("SELECT count(*) AS n FROM shop.orders").collect()[0][0] == before


def test_timeout_and_unknown_names_over_connect(setup: Setup) -> None:
    _, source = setup.gateway._source("cluster")
    with pytest.raises(QueryFailed) as caught:
        source.connection.execute(
            "SELECT sum(id % 7) AS s FROM range(1000000000000)", {}, ALICE, timeout_s=1.0
        )
    assert caught.value.kind == "timeout"
    with pytest.raises(QueryFailed) as caught:
        source.connection.execute("SELECT nope FROM shop.orders", {}, ALICE)
    assert caught.value.kind == "undefined"
    assert "\n" not in str(caught.value)
