"""What the read-only connection layer costs, per engine, against the bare driver.

For DuckDB, SQLite, PostgreSQL and MariaDB it prints, side by side:

* small query (one row by key): median latency of the bare driver (one open connection,
  execute + fetch) and of ``Connection.execute`` (pool checkout, read-only transaction,
  identity tag, timeout, row cap, Arrow), and the ratio;
* bulk query (100,000 rows x 6 columns to Arrow): bare driver ``fetchall`` (DuckDB:
  ``to_arrow_table``), ``pandas.read_sql`` through SQLAlchemy (what SQL magics do; DuckDB
  through duckdb-engine), and ``Connection.execute``, with ratios against the bare driver.

PostgreSQL and MariaDB use a scratch schema/database, dropped afterwards.

Usage: ``python benchmarks/bench_connections.py [--small N] [--bulk N] [--rows N]
[--skip-servers]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import sqlalchemy as sa

from jupyter_masking.gateway.connections import Connection, ConnectionConfig, open_connection
from jupyter_masking.gateway.engines.duckdb import LOCKED
from jupyter_masking.identity import Identity

PG = os.environ.get("JM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB = os.environ.get("JM_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
ALICE = Identity(user="alice", groups=("analysts",))
BULK = "SELECT id, email, phone, amount, city, created FROM bench"


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``fn`` in ms, after one warm-up call."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


# --- data: the same 6-column table on every engine ------------------------------------------

DUCK_SQL = (
    "CREATE TABLE bench AS SELECT i::INTEGER AS id, 'user' || i || '@example.com' AS email,"
    " '555-' || lpad((i % 10000)::VARCHAR, 4, '0') AS phone,"
    " ((i % 100000) / 100.0)::DECIMAL(10,2) AS amount, 'city' || (i % 50) AS city,"
    " TIMESTAMP '2020-01-01' + INTERVAL (i) SECOND AS created FROM range(1, {n} + 1) t(i)"
)
SQLITE_SQL = (
    "CREATE TABLE bench AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r"
    " WHERE i < {n}) SELECT i AS id, 'user' || i || '@example.com' AS email,"
    " '555-' || substr('0000' || (i % 10000), -4) AS phone, (i % 100000) / 100.0 AS amount,"
    " 'city' || (i % 50) AS city, datetime('2020-01-01', '+' || i || ' seconds') AS created FROM r"
)
# mod() rather than %: psycopg and PyMySQL read % as a placeholder
PG_SQL = (
    "CREATE TABLE bench AS SELECT i AS id, 'user' || i || '@example.com' AS email,"
    " '555-' || lpad(mod(i, 10000)::text, 4, '0') AS phone,"
    " (mod(i, 100000) / 100.0)::numeric(10,2) AS amount, 'city' || mod(i, 50) AS city,"
    " TIMESTAMP '2020-01-01' + i * INTERVAL '1 second' AS created"
    " FROM generate_series(1, {n}) AS i"
)
MARIADB_SQL = (
    "CREATE TABLE bench AS SELECT seq AS id, CONCAT('user', seq, '@example.com') AS email,"
    " CONCAT('555-', LPAD(mod(seq, 10000), 4, '0')) AS phone,"
    " CAST(mod(seq, 100000) / 100 AS DECIMAL(10,2)) AS amount,"
    " CONCAT('city', mod(seq, 50)) AS city,"
    " TIMESTAMP '2020-01-01 00:00:00' + INTERVAL seq SECOND AS created FROM seq_1_to_{n}"
)


def measure(
    label: str,
    ours: Connection,
    bare_small: Callable[[], Any],
    bare_bulk: Callable[[], Any],
    pandas_bulk: Callable[[], Any] | None,
    args: argparse.Namespace,
) -> list[str]:
    small_sql = "SELECT * FROM bench WHERE id = 4242"
    ours_small = timed(lambda: ours.execute(small_sql, {}, ALICE), args.small)
    base_small = timed(bare_small, args.small)
    ours_bulk = timed(lambda: ours.execute(BULK, {}, ALICE, max_rows=args.rows + 1), args.bulk)
    base_bulk = timed(bare_bulk, args.bulk)
    pd_bulk = timed(pandas_bulk, args.bulk) if pandas_bulk else float("nan")
    return [
        f"{label:<10} {base_small:9.2f} {ours_small:9.2f} {ours_small / base_small:6.1f}x"
        f"   {base_bulk:9.1f} {pd_bulk:9.1f} {ours_bulk:9.1f} {ours_bulk / base_bulk:6.2f}x"
        f" {ours_bulk / pd_bulk:6.2f}x"
    ]


def bench_duckdb(tmp: Path, args: argparse.Namespace) -> list[str]:
    path = tmp / "bench.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(DUCK_SQL.format(n=args.rows))
    copy = tmp / "bench-engine.duckdb"  # one file cannot be open twice with different settings
    shutil.copy(path, copy)
    ours = open_connection(ConnectionConfig("bench", f"duckdb:///{path}", max_rows=10**7))
    raw = duckdb.connect(str(path), read_only=True, config=dict(LOCKED))
    engine = sa.create_engine(f"duckdb:///{copy}", connect_args={"read_only": True})

    def pandas_bulk() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with engine.connect() as conn:
                return pd.read_sql(sa.text(BULK), conn)

    try:
        return measure(
            "duckdb",
            ours,
            lambda: raw.execute("SELECT * FROM bench WHERE id = 4242").fetchall(),
            lambda: raw.sql(BULK).to_arrow_table(),
            pandas_bulk,
            args,
        )
    finally:
        ours.close()
        raw.close()
        engine.dispose()


def bench_sqlite(tmp: Path, args: argparse.Namespace) -> list[str]:
    path = tmp / "bench.db"
    with sqlite3.connect(path) as con:
        con.execute(SQLITE_SQL.format(n=args.rows))
        con.execute("CREATE UNIQUE INDEX bench_id ON bench (id)")
    ours = open_connection(ConnectionConfig("bench", f"sqlite:///{path}", max_rows=10**7))
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    engine = sa.create_engine(f"sqlite:///{path}")

    def pandas_bulk() -> Any:
        with engine.connect() as conn:
            return pd.read_sql(sa.text(BULK), conn)

    try:
        return measure(
            "sqlite",
            ours,
            lambda: raw.execute("SELECT * FROM bench WHERE id = 4242").fetchall(),
            lambda: raw.execute(BULK).fetchall(),
            pandas_bulk,
            args,
        )
    finally:
        ours.close()
        raw.close()
        engine.dispose()


def bench_server(label: str, admin_url: str, create: str, args: argparse.Namespace) -> list[str]:
    name = f"jm_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url)
    is_pg = admin.dialect.name == "postgresql"
    quote = '"' if is_pg else "`"
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE {'SCHEMA' if is_pg else 'DATABASE'} {quote}{name}{quote}")
    url = sa.make_url(admin_url)
    url = (
        url.update_query_dict({"options": f"-csearch_path={name}"})
        if is_pg
        else url.set(database=name)
    )
    text_url = url.render_as_string(hide_password=False)
    engine = sa.create_engine(text_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(create.format(n=args.rows))
            conn.exec_driver_sql("ALTER TABLE bench ADD PRIMARY KEY (id)")
        ours = open_connection(ConnectionConfig("bench", text_url, max_rows=10**7))
        raw = engine.raw_connection()
        cursor = raw.cursor()

        def bare_small() -> Any:
            cursor.execute("SELECT * FROM bench WHERE id = 4242")
            return cursor.fetchall()

        def bare_bulk() -> Any:
            cursor.execute(BULK)
            return cursor.fetchall()

        def pandas_bulk() -> Any:
            with engine.connect() as conn:
                return pd.read_sql(sa.text(BULK), conn)

        try:
            return measure(label, ours, bare_small, bare_bulk, pandas_bulk, args)
        finally:
            ours.close()
            raw.close()
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(
                f"DROP {'SCHEMA' if is_pg else 'DATABASE'} {quote}{name}{quote}"
                + (" CASCADE" if is_pg else "")
            )
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=200, help="runs of the small query")
    parser.add_argument("--bulk", type=int, default=5, help="runs of the bulk query")
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the bulk table")
    parser.add_argument("--skip-servers", action="store_true", help="only DuckDB and SQLite")
    args = parser.parse_args()
    python = platform.python_version()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {python}")
    print(
        f"small query: median of {args.small};"
        f" bulk: {args.rows:,} rows x 6 columns, median of {args.bulk}"
    )
    print(
        f"{'engine':<10} {'bare ms':>9} {'ours ms':>9} {'ratio':>7}"
        f"   {'bare ms':>9} {'pandas ms':>9} {'ours ms':>9} {'/bare':>7} {'/pandas':>7}"
    )
    print(f"{'':<10} {'--- small query (1 row) ---':^28}   {'--- bulk to Arrow/DataFrame ---':^55}")
    with tempfile.TemporaryDirectory() as tmp:
        lines = bench_duckdb(Path(tmp), args) + bench_sqlite(Path(tmp), args)
    for line in lines:
        print(line)
    if not args.skip_servers:
        for line in bench_server("postgres", PG, PG_SQL, args):
            print(line)
        for line in bench_server("mariadb", MARIADB, MARIADB_SQL, args):
            print(line)


if __name__ == "__main__":
    main()
