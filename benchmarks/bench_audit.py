"""Audit append throughput: the hash-chained stores against unchained baselines.

Run: ``python benchmarks/bench_audit.py [--events N] [--writers W] [--repeat R] [--postgres URL]``.
Prints, per backend, single-writer and concurrent (W processes) appends per second
next to a plain insert / fsync'd JSON line without a chain, and verify speed. Each
figure is the best of R runs: fsync latency on shared disks is noisy. SQLite is measured
with synchronous=FULL (the default: durable across power loss) and NORMAL (durable
across process crashes), which shows the chain's CPU cost once fsync is out of the way.
The PostgreSQL part uses a scratch schema, dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from jupyter_masking.audit import EventDraft, open_store

PG_URL = os.environ.get("JM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

DRAFT = {
    "identity": {"user": "alice", "groups": ["analysts"]},
    "notebook": "work/demo.ipynb",
    "cell_id": "c1a2",
    "connection": "demo",
    "dialect": "duckdb",
    "sql": "SELECT email, name FROM customers WHERE id = 42 AND country = 'FR'",
    "tables": ["demo.main.customers"],
    "columns_read": ["demo.main.customers.email", "demo.main.customers.name"],
    "outputs": [
        {"name": "email", "sources": ["demo.main.customers.email"], "data_class": "pii.email",
         "effect": "mask", "operator": "pseudonym", "rule": "default:pii.email"},
        {"name": "name", "sources": ["demo.main.customers.name"], "data_class": "pii.person_name",
         "effect": "mask", "operator": "pseudonym", "rule": "default:pii.person_name"},
    ],
    "rows": 10,
    "duration_ms": 12.3,
    "policy_version": "demo@1a2b3c4d5e6f",
    "outcome": "allowed",
}  # fmt: skip

WRITER = textwrap.dedent(
    """
    import json, sys
    from jupyter_masking.audit import EventDraft, open_store
    store = open_store(sys.argv[1])
    draft = EventDraft.model_validate(json.loads(sys.argv[3]))
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(int(sys.argv[2])):
        store.append(draft)
    store.close()
    """
)


REPEAT = 3


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def best(measure: Callable[[int], float]) -> float:
    """The best rate of REPEAT runs; ``measure(i)`` gets the run number for fresh files."""
    return max(measure(i) for i in range(REPEAT))


def chained_single(location: str, n: int) -> float:
    store = open_store(location)
    draft = EventDraft.model_validate(DRAFT)
    seconds = timed(lambda: [store.append(draft) for _ in range(n)])
    store.close()
    return n / seconds


def chained_concurrent(location: str, writers: int, per_writer: int) -> float:
    open_store(location).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, location, str(per_writer), json.dumps(DRAFT)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        for _ in range(writers)
    ]  # fmt: skip
    for p in procs:  # start the clock once every writer has imported and connected
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
    start = time.perf_counter()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    assert all(p.wait() == 0 for p in procs)
    return writers * per_writer / (time.perf_counter() - start)


def verify_rate(location: str) -> tuple[float, int]:
    store = open_store(location)
    seconds = timed(lambda: store.verify())
    report = store.verify()
    store.close()
    assert report.ok, report.describe()
    return report.checked / seconds, report.checked


def sqlite_plain_insert(path: Path, n: int, synchronous: str) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, body TEXT)")
    body = json.dumps(DRAFT)

    def run() -> None:
        for _ in range(n):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (body) VALUES (?)", (body,))
            conn.execute("COMMIT")

    rate = n / timed(run)
    conn.close()
    return rate


def jsonl_fsync(path: Path, n: int) -> float:
    body = json.dumps(DRAFT) + "\n"

    def run() -> None:
        with path.open("a") as handle:
            for _ in range(n):
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())

    return n / timed(run)


def pg_plain_insert(url: str, n: int) -> float:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS plain"))
        conn.execute(sa.text("CREATE TABLE plain (seq bigserial PRIMARY KEY, body text)"))
    body = json.dumps(DRAFT)

    def run() -> None:
        for _ in range(n):
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO plain (body) VALUES (:b)"), {"b": body})

    rate = n / timed(run)
    engine.dispose()
    return rate


def draft_rate(n: int) -> float:
    return n / timed(lambda: [EventDraft.model_validate(DRAFT) for _ in range(n)])


def row(name: str, value: float, base: float | None = None, unit: str = "events/s") -> None:
    ratio = f"{value / base:6.2f}x" if base else ""
    print(f"  {name:<52} {value:>10,.0f} {unit:<9} {ratio}")


def sqlite_section(base: Path, sync: str, n: int, w: int, jsonl: float | None) -> None:
    print(f"\nSQLite (WAL, synchronous={sync}, BEGIN IMMEDIATE)")

    def loc(name: str) -> str:
        return f"sqlite:///{base}/{name}.sqlite3?synchronous={sync.lower()}"

    plain = best(lambda i: sqlite_plain_insert(base / f"plain{sync}{i}.db", n, sync))
    single = best(lambda i: chained_single(loc(f"one{sync}{i}"), n))
    multi = best(lambda i: chained_concurrent(loc(f"many{sync}{i}"), w, n // w))
    if jsonl is not None:
        row("baseline: JSON line + fsync, no chain", jsonl)
    row("baseline: sqlite3 insert, no chain", plain)
    row("chained append, 1 writer (ratio vs sqlite3 insert)", single, plain)
    row(f"chained append, {w} processes (ratio vs 1 writer)", multi, single)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=400, help="appends per single-writer run")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writer processes")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="runs per figure (best kept)")
    parser.add_argument("--postgres", default=PG_URL, help="PostgreSQL admin URL ('' to skip)")
    args = parser.parse_args()
    globals()["REPEAT"] = args.repeat
    n, w = args.events, args.writers
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"events per run: {n}; concurrent: {w} processes x {n // w}; best of {args.repeat}\n")

    print("draft building (pydantic + literal stripping with sqlglot)")
    row("EventDraft from raw SQL", best(lambda _: draft_rate(n)))

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        jsonl = best(lambda i: jsonl_fsync(base / f"plain{i}.jsonl", n))
        for sync in ("FULL", "NORMAL"):
            sqlite_section(base, sync, n, w, jsonl if sync == "FULL" else None)
        rate, count = verify_rate(f"sqlite:///{base}/manyNORMAL0.sqlite3")
        row(f"verify ({count} events)", rate)

    if not args.postgres:
        return
    schema = f"jm_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.postgres)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(args.postgres).update_query_dict({"options": f"-csearch_path={schema}"})
    location = url.render_as_string(hide_password=False)

    def fresh() -> str:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{schema}".audit_events'))
        return location

    try:
        print("\nPostgreSQL (advisory transaction lock per append)")
        plain = best(lambda _: pg_plain_insert(location, n))
        single = best(lambda _: chained_single(fresh(), n))
        multi = best(lambda _: chained_concurrent(fresh(), w, n // w))
        row("baseline: insert, no chain", plain)
        row("chained append, 1 writer (ratio vs insert)", single, plain)
        row(f"chained append, {w} processes (ratio vs 1 writer)", multi, single)
        rate, count = verify_rate(location)
        row(f"verify ({count} events)", rate)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
