"""Masking on Spark at scale: a 10,000,000-row table in PySpark ``local[2]``, raw vs masked.

For each query it prints, side by side (best and median of ``--repeat`` interleaved runs
after one warm-up each):

* **raw**: the user's SQL straight into Spark (``spark.sql(...).toArrow()``);
* **masked SQL**: the gateway's rewritten SQL run straight into Spark (the engine's share
  of masking: keyed digests computed where the data lives);
* **gateway**: ``Gateway.query`` end to end (analyze, classify, rewrite, run, scan,
  present pseudonyms, write the audit event);

and the ratios masked SQL / raw and gateway / raw. Queries:

* ``agg masked``: an aggregate over a masked column (``count(DISTINCT email)`` per country);
* ``agg plain``: an aggregate over non-sensitive columns of the same table;
* ``fetch 100k``: 100,000 rows with a pseudonymized email (the presenter's work).

The table (``id, email, country, amount, created``; 1,000,000 distinct emails) is written
once as Parquet into the warehouse and reused by later runs with the same ``--rows``.

Usage: ``python benchmarks/bench_spark.py [--rows N] [--fetch N] [--repeat N]
[--warehouse DIR]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_masking.audit.store import open_store
from jupyter_masking.config import GatewayConfig
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.gateway.pipeline import Gateway
from jupyter_masking.gateway.plan import plan_query
from jupyter_masking.identity import Identity
from jupyter_masking.mask import MaskingKey
from jupyter_masking.policy import PolicyHolder
from jupyter_masking.sql.analyze import analyze

ALICE = Identity(user="alice", groups=("analysts",))


def timed(fns: list[Callable[[], Any]], repeat: int) -> list[tuple[float, float]]:
    """(best, median) wall time in seconds of each of ``fns``, after one warm-up call each.

    The functions take turns, round after round, so that load from other processes on a
    shared machine falls on all of them alike.
    """
    for fn in fns:
        fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, times in zip(fns, samples, strict=True):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return [(min(times), statistics.median(times)) for times in samples]


def build_table(spark: Any, rows: int) -> str:
    """``bench_<rows>.events`` in the warehouse, written once."""
    db = f"bench_{rows}"
    name = f"{db}.events"
    if spark.catalog.tableExists(name):
        return name
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
    frame = spark.range(rows).selectExpr(
        "id",
        "concat('user', cast(id % 1000000 AS STRING), '@example.com') AS email",
        "concat('C', cast(id % 20 AS STRING)) AS country",
        "cast((id % 100000) / 100 AS DECIMAL(10, 2)) AS amount",
        "timestamp_seconds(1700000000 + id) AS created",
    )
    started = time.perf_counter()
    frame.write.mode("overwrite").saveAsTable(name)
    print(f"wrote {rows:,} rows in {time.perf_counter() - started:.1f} s")
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows in the table")
    parser.add_argument("--fetch", type=int, default=100_000, help="rows in the fetch query")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement")
    parser.add_argument(
        "--warehouse",
        default=str(Path(tempfile.gettempdir()) / "jm-bench-spark"),
        help="Spark warehouse directory (the table is kept there)",
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    os.environ.setdefault("JUPYTER_MASKING_DATA_DIR", tempfile.mkdtemp(prefix="jm-bench-"))
    url = f"spark://local[2]?warehouse={args.warehouse}"
    config = GatewayConfig.model_validate(
        {
            "connections": {"spark": {"url": url, "max_rows": args.fetch}},
            "default_connection": "spark",
        }
    )
    home = Path(os.environ["JUPYTER_MASKING_DATA_DIR"])
    gateway = Gateway(
        config,
        policy=PolicyHolder(None),
        key=MaskingKey.generate(),
        store=open_store(str(home / "audit.db")),
    )
    _, source = gateway._source("spark")
    connection = source.connection
    spark = connection.session()  # type: ignore[attr-defined]
    connection.schema(refresh=True)  # registers a table an earlier run left in the warehouse
    table = build_table(spark, args.rows)
    spark.catalog.setCurrentDatabase(table.split(".")[0])
    connection.schema(refresh=True)

    queries = {
        "agg masked": "SELECT country, count(DISTINCT email) AS people, sum(amount) AS total"
        " FROM events GROUP BY country",
        "agg plain": "SELECT country, count(*) AS n, sum(amount) AS total, max(created) AS last"
        " FROM events GROUP BY country",
        f"fetch {args.fetch // 1000}k": f"SELECT id, email, country, amount FROM events"
        f" WHERE id < {args.fetch}",
    }
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores,"
        f" load {os.getloadavg()[0]:.1f}; Spark {spark.version} local[2]; {args.rows:,} rows;"
        f" median of {args.repeat}",
        flush=True,
    )
    header = f"{'query':<12} {'raw s':>8} {'masked SQL s':>13} {'gateway s':>10}"
    print(f"{header} {'SQL/raw':>8} {'gw/raw':>8}   (best of {args.repeat}; medians below)")
    medians: list[str] = []
    for label, sql in queries.items():
        analysis = analyze(sql, connection.schema())
        plan = plan_query(
            analysis, ALICE, catalog=source.catalog, policy=gateway.policy.engine, key=gateway.key
        )
        masked_sql = plan.sql  # holds subkeys: run, never printed

        def raw(sql: str = sql) -> None:
            spark.sql(sql).toArrow()

        def engine(sql: str = masked_sql) -> None:
            spark.sql(sql).toArrow()

        def full(sql: str = sql) -> None:
            gateway.query(QueryRequest(sql), ALICE)

        (b_raw, m_raw), (b_sql, m_sql), (b_gw, m_gw) = timed([raw, engine, full], args.repeat)
        print(
            f"{label:<12} {b_raw:>8.2f} {b_sql:>13.2f} {b_gw:>10.2f}"
            f" {b_sql / b_raw:>7.2f}x {b_gw / b_raw:>7.2f}x",
            flush=True,
        )
        medians.append(
            f"{label:<12} {m_raw:>8.2f} {m_sql:>13.2f} {m_gw:>10.2f}"
            f" {m_sql / m_raw:>7.2f}x {m_gw / m_raw:>7.2f}x"
        )
    print("medians:")
    print("\n".join(medians))
    gateway.close()


if __name__ == "__main__":
    main()
