"""What the keyed digest costs a DuckDB fetch, measured on the SQL the gateway generates.

Pseudonyms are computed inside the database as ``sha256(subkey || value)`` (DESIGN.md: the
same token from every engine, so predicates, joins and GROUP BY see masked values). This script
takes the gateway's rewritten SQL for ``bench_gateway.py``'s fetch (100,000 rows, 4 pseudonym
columns and one partial mask) and runs it straight on DuckDB, fetched with ``.df()`` like the
raw query, in variants that each remove one part of the cost:

* ``sha256(subkey || value)``: the SQL as generated (4 digests per row);
* the same on one DuckDB thread: whether the digests run in parallel at all;
* ``sha256(value)``: no subkey, so one SHA-256 block per value instead of two (not keyed:
  a floor for any SHA-256, not a candidate);
* ``md5(subkey || value)``: a cheaper digest (for comparison only: no engine-wide contract);
* ``subkey || value``: the same rows and string sizes with no digest at all.

Each line prints its time and its ratio to the raw fetch; the fetch goal is 2x.

Usage: ``python benchmarks/bench_digest.py [--repeat N] [--rows N] [--fetch N]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
from bench_gateway import FETCH, duckdb_database, gateway, masked_sql, timed

GOAL = 2.0


def variants(generated: str) -> dict[str, str]:
    """The generated SQL and its variants, by what each computes per masked value."""
    digest = "SHA256("
    assert generated.count(digest) == 4, "expected 4 pseudonym columns in the fetch"
    return {
        "sha256(subkey || value), as generated": generated,
        "sha256(value): no subkey, one block": unkeyed(generated),
        "md5(subkey || value)": generated.replace(digest, "MD5("),
        "subkey || value: no digest": generated.replace(digest, "("),
    }


def unkeyed(generated: str) -> str:
    """``generated`` with each ``SHA256('<subkey>' || x)`` reduced to ``SHA256(x)``."""
    parts = generated.split("SHA256('")
    return parts[0] + "".join("SHA256(" + part.split("' || ", 1)[1] for part in parts[1:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per query")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the sales table")
    parser.add_argument("--fetch", type=int, default=100_000, help="rows fetched")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {sys.version.split()[0]}, "
        f"duckdb {version('duckdb')}, load average {os.getloadavg()[0]:.1f} (shared machine)"
    )
    directory = Path(tempfile.gettempdir()) / "jm-bench-gateway"
    directory.mkdir(exist_ok=True)
    os.environ["JUPYTER_MASKING_DATA_DIR"] = str(directory)
    path = duckdb_database(directory, args.rows)
    sql = FETCH.format(n=args.fetch)
    gw = gateway(directory, {"duckdb": f"duckdb:///{path}"})
    try:
        generated = masked_sql(gw, "duckdb", sql)
    finally:
        gw.close()

    con = duckdb.connect(str(path), read_only=True)  # unlocked: this script sets threads
    threads = con.execute("SELECT current_setting('threads')").fetchone()

    def run(query: str) -> float:
        return statistics.median(timed(lambda: con.execute(query).df(), args.repeat))

    raw = run(sql)
    print(
        f"\nDuckDB fetch of {args.fetch:,} rows from {args.rows:,}; median wall ms of "
        f"{args.repeat} runs, fetched with .df(); {threads[0] if threads else '?'} threads"
    )
    print(f"  {'per masked value':42}{'ms':>9}{'/ raw':>9}")
    print(f"  {'raw (no masking)':42}{raw:9.1f}{1.0:8.2f}x")
    ratios: dict[str, float] = {}
    for label, query in variants(generated).items():
        elapsed = run(query)
        ratios[label] = elapsed / raw
        print(f"  {label:42}{elapsed:9.1f}{elapsed / raw:8.2f}x")
        if label.endswith("as generated"):
            con.execute("SET threads = 1")
            single = run(query)
            con.execute("RESET threads")
            print(f"  {'  the same on 1 thread':42}{single:9.1f}{single / raw:8.2f}x")
    counted = con.execute(f"SELECT count(DISTINCT email), count(*) FROM ({sql}) AS f").fetchone()
    if counted:
        print(f"  distinct emails in the fetch: {counted[0]:,} of {counted[1]:,} rows")
    cheapest = min(r for label, r in ratios.items() if label.startswith("sha256"))
    verdict = "above" if cheapest > GOAL else "within"
    print(
        f"  the cheapest SHA-256 variant alone: {cheapest:.2f}x raw, {verdict} the gateway's"
        f" goal of {GOAL}x for the whole fetch"
    )
    con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
