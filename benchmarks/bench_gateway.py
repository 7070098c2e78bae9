"""The gateway end to end, side by side with the same work done raw.

1. **Plan** (analyze + catalog lookup with warm profiles + policy decisions + rewrite + SQL
   generation) of the 22 TPC-H queries of ``bench_analyze.py`` over a DuckDB TPC-H schema whose
   customer and supplier names, phones and addresses are tagged sensitive: cold (analysis not
   cached) and re-run (analysis cached). Goal: median under 5 ms, p95 under 20 ms.
2. **DuckDB end to end** on a 1,000,000-row ``sales`` table (name, email, phone, SSN and IBAN
   tagged): an aggregate over non-sensitive columns and one over a masked column (goal: within
   1.3x of raw), the non-sensitive one again by month with a median as a report would ask it
   (the gateway's fixed cost per query on more database work), and a 100,000-row fetch of 5
   masked columns (goal: within 2x of raw). Raw means the same SQL on a DuckDB connection,
   fetched into pandas. ``bench_digest.py`` splits the fetch's masking cost further.
3. **PostgreSQL**: the same 100,000-row fetch through the gateway against ``pandas.read_sql``
   (goal: within 1.5x). Skipped when the server at ``$JM_TEST_POSTGRES_URL`` is unreachable.

For the fetches, a stage breakdown shows where the gateway's time goes. Wall-clock medians on a
shared machine; CPU time of the calling thread is shown for the plan (no I/O there).

Usage: ``python benchmarks/bench_gateway.py [--repeat N] [--rows N] [--fetch N] [--no-postgres]``
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import sqlalchemy as sa
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from bench_analyze import QUERIES, TPCH

from jupyter_masking.config import GatewayConfig
from jupyter_masking.detect import first_names, last_names
from jupyter_masking.gateway import connections, pipeline
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.gateway.engines.duckdb import LOCKED
from jupyter_masking.gateway.pipeline import Gateway
from jupyter_masking.gateway.plan import Plan, PlanCache, plan_query
from jupyter_masking.identity import Identity
from jupyter_masking.sql.analyze import _analyze, analyze

ALICE = Identity(user="alice", groups=("analysts",))
KEY = "6b" * 32
PG_URL = os.environ.get("JM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

POLICY = {
    "version": 1,
    "name": "bench",
    "unclassified": "scan",
    "classes": {
        "pii.person_name": {"default": "pseudonym"},
        "pii.email": {"default": "pseudonym"},
        "pii.phone": {"default": "pseudonym"},
        "pii.postal_address": {"default": "pseudonym"},
        "gov_id.us_ssn": {"default": "partial(keep_last=4)"},
        "financial.iban": {"default": "pseudonym"},
    },
    "columns": {
        "*.*.customer.c_name": "pii.person_name",
        "*.*.customer.c_phone": "pii.phone",
        "*.*.customer.c_address": "pii.postal_address",
        "*.*.supplier.s_phone": "pii.phone",
        "*.*.supplier.s_address": "pii.postal_address",
        "*.*.sales.full_name": "pii.person_name",
        "*.*.sales.email": "pii.email",
        "*.*.sales.phone": "pii.phone",
        "*.*.sales.ssn": "gov_id.us_ssn",
        "*.*.sales.iban": "financial.iban",
    },
}

AGGREGATE = (
    "SELECT status, count(*) AS n, sum(amount) AS total, avg(amount) AS mean, "
    "max(created_at) AS latest FROM sales GROUP BY status ORDER BY status"
)
# A report-style aggregate: the same fixed cost per query, on more database work.
AGGREGATE_MONTHLY = (
    "SELECT status, date_trunc('month', created_at) AS month, count(*) AS n, "
    "sum(amount) AS total, quantile_cont(amount, 0.5) AS median_amount "
    "FROM sales GROUP BY status, month ORDER BY status, month"
)
AGGREGATE_MASKED = (
    "SELECT status, count(DISTINCT email) AS customers, count(*) AS n "
    "FROM sales GROUP BY status ORDER BY status"
)
FETCH = (
    "SELECT id, full_name, email, phone, ssn, iban, amount, created_at "
    "FROM sales WHERE id <= {n} ORDER BY id"
)


# --- data ------------------------------------------------------------------------------------


def sales_frame(rows: int, seed: int = 11) -> pd.DataFrame:
    """``rows`` sales rows; about one customer per 20 rows, so values repeat as in real data."""
    rng = np.random.default_rng(seed)
    customers = max(rows // 20, 1)
    firsts = np.array(first_names())[rng.integers(0, len(first_names()), customers)]
    lasts = np.array(last_names())[rng.integers(0, len(last_names()), customers)]
    names = np.char.add(np.char.add(firsts, " "), lasts)
    number = np.arange(customers).astype(str)
    emails = np.char.lower(
        np.char.add(
            np.char.add(np.char.add(firsts, "."), np.char.add(lasts, number)), "@example.com"
        )
    )
    phones = np.array(
        [
            f"({a}) {b}-{c:04d}"
            for a, b, c in zip(
                rng.integers(201, 990, customers),
                rng.integers(200, 999, customers),
                rng.integers(0, 10_000, customers),
                strict=True,
            )
        ]
    )
    ssns = np.array(
        [
            f"{a:03d}-{b:02d}-{c:04d}"
            for a, b, c in zip(
                rng.integers(1, 666, customers),
                rng.integers(1, 99, customers),
                rng.integers(1, 10_000, customers),
                strict=True,
            )
        ]
    )
    ibans = np.array(
        [
            f"DE{c:02d}{n:018d}"
            for c, n in zip(
                rng.integers(10, 99, customers), rng.integers(0, 10**18, customers), strict=True
            )
        ]
    )
    who = rng.integers(0, customers, rows)
    statuses = np.array(["pending", "paid", "shipped", "delivered", "refunded", "cancelled"])
    frame: pd.DataFrame = pd.DataFrame(
        {
            "id": np.arange(1, rows + 1, dtype=np.int64),
            "full_name": names[who],
            "email": emails[who],
            "phone": phones[who],
            "ssn": ssns[who],
            "iban": ibans[who],
            "amount": np.round(rng.uniform(1, 5000, rows), 2),
            "status": statuses[rng.integers(0, len(statuses), rows)],
            "created_at": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 5 * 365 * 86400, rows), unit="s"),
        }
    )
    return frame


def duckdb_database(directory: Path, rows: int) -> Path:
    """The TPC-H schema (empty) and the ``sales`` table, in one DuckDB file (cached)."""
    path = directory / f"bench-gateway-{rows}.duckdb"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    frame = sales_frame(rows)
    with duckdb.connect(str(tmp)) as con:
        for name, spec in TPCH.items():
            con.execute(f"CREATE TABLE {name} ({spec})")
        con.register("frame", frame)
        con.execute(
            "CREATE TABLE sales AS SELECT id, full_name, email, phone, ssn, iban, "
            "CAST(amount AS DECIMAL(10,2)) AS amount, status, created_at FROM frame"
        )
        con.execute("CHECKPOINT")
    tmp.rename(path)
    return path


def postgres_schema(rows: int) -> tuple[str, Callable[[], None]] | None:
    """A scratch schema holding ``sales`` (``rows`` rows), or ``None`` without a server."""
    admin = sa.create_engine(PG_URL)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as error:
        print(f"PostgreSQL unreachable, skipped: {type(error).__name__}")
        return None
    name = f"jm_bench_{uuid.uuid4().hex[:8]}"
    frame = sales_frame(rows)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        conn.execute(
            sa.text(
                f'CREATE TABLE "{name}".sales (id bigint primary key, full_name text, '
                "email text, phone text, ssn text, iban text, amount numeric(10,2), "
                "status text, created_at timestamp)"
            )
        )
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor: Any = raw.cursor()  # psycopg 3: COPY FROM STDIN
        with cursor, cursor.copy(f'COPY "{name}".sales FROM STDIN') as copy:
            for row in frame.itertuples(index=False):
                copy.write_row(row)
        conn.execute(sa.text(f'ANALYZE "{name}".sales'))
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={name}"})

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def gateway(directory: Path, urls: dict[str, str]) -> Gateway:
    policy = directory / "policy.yaml"
    policy.write_text(yaml.safe_dump(POLICY), encoding="utf-8")
    key = directory / "key"
    key.write_text(KEY, encoding="utf-8")
    key.chmod(0o600)
    config = GatewayConfig.model_validate(
        {
            "connections": {
                name: {"url": url, "max_rows": 1_000_000} for name, url in urls.items()
            },
            "default_connection": "duckdb",
            "policy": str(policy),
            "key_file": str(key),
            "audit_store": str(directory / "audit.sqlite"),
            "max_rows": 1_000_000,
        }
    )
    return Gateway.from_config(config)


# --- timing ----------------------------------------------------------------------------------


def timed(function: Callable[[], object], repeat: int, *, cpu: bool = False) -> list[float]:
    """Milliseconds per run (wall, or CPU time of this thread), after one warm-up run."""
    function()
    clock = time.thread_time if cpu else time.perf_counter
    samples = []
    for _ in range(repeat):
        start = clock()
        function()
        samples.append((clock() - start) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


class Stages:
    """Wall time spent in each gateway stage, by wrapping the pipeline's stage functions."""

    NAMES = ("analyze", "_frame", "scan_result", "_present")

    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = defaultdict(list)

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed_stage(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.ms[name].append((time.perf_counter() - start) * 1000)

        return timed_stage

    @contextlib.contextmanager
    def watching(self, gw: Gateway) -> Iterator[None]:
        saved = {name: getattr(pipeline, name) for name in self.NAMES}
        execute = connections.Connection.execute
        plan = PlanCache.plan
        append = gw.store.append
        try:
            for name, function in saved.items():
                setattr(pipeline, name, self.wrap(name, function))
            setattr(PlanCache, "plan", self.wrap("plan", plan))  # noqa: B010
            setattr(connections.Connection, "execute", self.wrap("execute", execute))  # noqa: B010
            setattr(gw.store, "append", self.wrap("audit", append))  # noqa: B010
            yield
        finally:
            for name, function in saved.items():
                setattr(pipeline, name, function)
            setattr(PlanCache, "plan", plan)  # noqa: B010
            setattr(connections.Connection, "execute", execute)  # noqa: B010
            setattr(gw.store, "append", append)  # noqa: B010

    def report(self, total: float) -> str:
        parts = [f"{name} {statistics.median(ms):.0f}" for name, ms in self.ms.items()]
        rest = total - sum(statistics.median(ms) for ms in self.ms.values())
        return "    stages (median ms): " + ", ".join(parts) + f", other {rest:.0f}"


def row(label: str, gateway_ms: float, raw_ms: float, masked_ms: float, goal: float) -> str:
    ratio = gateway_ms / raw_ms
    verdict = "ok" if ratio <= goal else "MISSED"
    return (
        f"  {label:44}{gateway_ms:10.1f}{raw_ms:10.1f}{ratio:9.2f}x{goal:8.1f}x  {verdict:8}"
        f"{masked_ms:10.1f}{masked_ms / raw_ms:9.2f}x"
    )


HEADER = (
    f"  {'query':44}{'gateway':>10}{'raw':>10}{'ratio':>10}{'goal':>9}  {'':8}"
    f"{'masked':>10}{'m / raw':>10}"
)
FLOOR_NOTE = (
    "  masked: the gateway's rewritten SQL fetched the way raw is, without the gateway;"
    " masked / raw:\n  what computing the masks in the database costs on that fetch path"
)


def masked_plan(gw: Gateway, connection: str | None, sql: str, identity: Identity = ALICE) -> Plan:
    """The gateway's plan for ``sql``: the SQL it runs and the settings that SQL reads."""
    _, source = gw._source(connection)
    analysis = analyze(sql, source.connection.schema())
    return plan_query(
        analysis, identity, catalog=source.catalog, policy=gw.policy.engine, key=gw.key
    )


def masked_sql(gw: Gateway, connection: str | None, sql: str, identity: Identity = ALICE) -> str:
    """The SQL the gateway runs for ``sql`` (holds subkeys: a benchmark may look at it)."""
    return masked_plan(gw, connection, sql, identity).sql


# --- the benchmarks --------------------------------------------------------------------------


def bench_plan(gw: Gateway, repeat: int) -> None:
    _, source = gw._source("duckdb")
    schema = source.connection.schema()
    policy, catalog, key = gw.policy.engine, source.catalog, gw.key

    def plan_cold(sql: str) -> Plan:
        return plan_query(_analyze(sql, schema, ()), ALICE, catalog=catalog, policy=policy, key=key)

    def plan_cached(sql: str) -> Plan:
        return plan_query(analyze(sql, schema), ALICE, catalog=catalog, policy=policy, key=key)

    masked = 0
    samples: dict[str, list[float]] = {"cold": [], "cached": []}
    for sql in QUERIES.values():
        masked += sum(p.masked for p in plan_cold(sql).columns.values())
        samples["cold"] += timed(functools.partial(plan_cold, sql), repeat, cpu=True)
        samples["cached"] += timed(functools.partial(plan_cached, sql), repeat, cpu=True)
    print(
        f"\n1. Plan of {len(QUERIES)} TPC-H queries ({masked} masked columns read), "
        f"{repeat} runs each, CPU ms (goal: median < 5, p95 < 20)"
    )
    print(f"  {'':24}{'median':>10}{'p95':>10}{'max':>10}")
    for label, values in samples.items():
        median, high = statistics.median(values), p95(values)
        verdict = "ok" if median < 5 and high < 20 else "MISSED"
        name = f"plan, analysis {label}"
        print(f"  {name:24}{median:10.2f}{high:10.2f}{max(values):10.2f}  {verdict}")


def bench_duckdb(gw: Gateway, path: Path, rows: int, fetch: int, repeat: int) -> None:
    raw = duckdb.connect(str(path), read_only=True, config=dict(LOCKED))

    def run_raw(sql: str) -> pd.DataFrame:
        frame: pd.DataFrame = raw.execute(sql).df()
        return frame

    def run_gateway(sql: str) -> pd.DataFrame:
        return gw.query(QueryRequest(sql=sql, connection="duckdb"), ALICE).frame

    print(f"\n2. DuckDB, sales table of {rows:,} rows; median wall ms of {repeat} runs")
    print(HEADER)
    cases = [
        ("aggregate, non-sensitive columns", AGGREGATE, 1.3),
        ("the same by month, with a median", AGGREGATE_MONTHLY, 1.3),
        ("aggregate, count(DISTINCT masked email)", AGGREGATE_MASKED, 1.3),
        (f"fetch {fetch:,} rows, 5 masked columns", FETCH.format(n=fetch), 2.0),
    ]
    for label, sql, goal in cases:
        assert len(run_gateway(sql)) == len(run_raw(sql))
        stages = Stages()
        with stages.watching(gw):
            through = statistics.median(timed(functools.partial(run_gateway, sql), repeat))
        direct = statistics.median(timed(functools.partial(run_raw, sql), repeat))
        masked = masked_sql(gw, "duckdb", sql)
        alone = statistics.median(timed(functools.partial(run_raw, masked), repeat))
        print(row(label, through, direct, alone, goal))
        print(stages.report(through))
    print(FLOOR_NOTE)
    fixed_cost(gw, run_raw, run_gateway, AGGREGATE, rounds=20 * repeat)
    raw.close()


@contextlib.contextmanager
def without_audit_and_scan(gw: Gateway) -> Iterator[None]:
    """The gateway with no audit write and no result scan: not a mode the product has."""
    append, scan = gw.store.append, vars(pipeline)["scan_result"]
    setattr(gw.store, "append", lambda draft: None)  # noqa: B010
    setattr(pipeline, "scan_result", lambda frame, outputs, *a, **k: (frame, outputs))  # noqa: B010
    try:
        yield
    finally:
        setattr(gw.store, "append", append)  # noqa: B010
        setattr(pipeline, "scan_result", scan)  # noqa: B010


def fixed_cost(
    gw: Gateway,
    run_raw: Callable[[str], object],
    run_gateway: Callable[[str], object],
    sql: str,
    rounds: int,
) -> None:
    """The gateway's fixed cost per query, with and without the two steps that must run.

    Interleaved rounds (raw, gateway, gateway without audit and scan), so that the three
    medians see the same machine: on a short query the differences are a few milliseconds.
    """
    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        for label in ("raw", "gateway", "without"):
            start = time.perf_counter()
            if label == "raw":
                run_raw(sql)
            elif label == "gateway":
                run_gateway(sql)
            else:
                with without_audit_and_scan(gw):
                    run_gateway(sql)
            samples[label].append((time.perf_counter() - start) * 1000)
    raw, through, bare = (statistics.median(samples[k]) for k in ("raw", "gateway", "without"))
    print(
        f"  fixed cost per query, the non-sensitive aggregate, {rounds} interleaved rounds:\n"
        f"    raw {raw:.1f} ms; gateway {through:.1f} ms ({through / raw:.2f}x,"
        f" +{through - raw:.1f} ms); without the audit write and result scan"
        f" {bare:.1f} ms ({bare / raw:.2f}x, +{bare - raw:.1f} ms)"
    )


def bench_postgres(gw: Gateway, url: str, fetch: int, repeat: int) -> None:
    sql = FETCH.format(n=fetch)
    engine = sa.create_engine(url)

    def run_raw() -> pd.DataFrame:
        with engine.connect() as conn:
            return pd.read_sql(sa.text(sql), conn)

    def run_gateway() -> pd.DataFrame:
        return gw.query(QueryRequest(sql=sql, connection="postgres"), ALICE).frame

    masked = masked_plan(gw, "postgres", sql)

    def run_masked() -> pd.DataFrame:
        with engine.connect() as conn:  # one transaction: the settings the SQL reads hold
            for name, value in masked.settings.items():
                setting = {"n": name, "v": value}
                conn.exec_driver_sql("SELECT set_config(%(n)s, %(v)s, true)", setting)
            return pd.read_sql(masked.sql, conn)

    assert len(run_gateway()) == len(run_raw()) == len(run_masked()) == fetch
    print(f"\n3. PostgreSQL, median wall ms of {repeat} runs (raw: pandas.read_sql)")
    print(HEADER)
    stages = Stages()
    with stages.watching(gw):
        through = statistics.median(timed(run_gateway, repeat))
    direct = statistics.median(timed(run_raw, repeat))
    alone = statistics.median(timed(run_masked, repeat))
    print(row(f"fetch {fetch:,} rows, 5 masked columns", through, direct, alone, 1.5))
    print(stages.report(through))
    print(FLOOR_NOTE)
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per end-to-end query")
    parser.add_argument("--plan-repeat", type=int, default=20, help="timed runs per plan")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the sales table")
    parser.add_argument("--fetch", type=int, default=100_000, help="rows fetched")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {sys.version.split()[0]}, "
        f"duckdb {version('duckdb')}, pandas {version('pandas')}, sqlglot {version('sqlglot')}, "
        f"load average {os.getloadavg()[0]:.1f} (shared machine)"
    )
    directory = Path(tempfile.gettempdir()) / "jm-bench-gateway"
    directory.mkdir(exist_ok=True)
    os.environ["JUPYTER_MASKING_DATA_DIR"] = str(directory)
    urls = {"duckdb": f"duckdb:///{duckdb_database(directory, args.rows)}"}
    postgres = None if args.no_postgres else postgres_schema(args.fetch)
    if postgres is not None:
        urls["postgres"] = postgres[0]
    gw = gateway(directory, urls)
    try:
        bench_plan(gw, args.plan_repeat)
        bench_duckdb(
            gw, Path(urls["duckdb"].removeprefix("duckdb:///")), args.rows, args.fetch, args.repeat
        )
        if postgres is not None:
            bench_postgres(gw, postgres[0], args.fetch, args.repeat)
    finally:
        gw.close()
        if postgres is not None:
            postgres[1]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
