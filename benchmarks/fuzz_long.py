"""Fuzz analyze + rewrite with a longer budget than the test suite, on DuckDB and PostgreSQL.

Runs the generator of ``tests/test_fuzz_harness.py`` for ``--examples`` random queries (each on
both engines, for an identity without raw grants), keeps going after a failure, and prints the
outcome counts per engine and every counterexample. ``--save`` writes each counterexample to
``tests/fixtures/fuzz_regressions/`` so the suite replays it; ``--shrink`` stops at the first
failure and lets hypothesis shrink it to a minimal query instead.

    python benchmarks/fuzz_long.py --examples 2000 [--seed 1] [--save] [--shrink]

PostgreSQL comes from ``$JM_TEST_POSTGRES_URL`` (default: the development server); without
one, only DuckDB is fuzzed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402
from test_fuzz_harness import FuzzLab, FuzzQuery, check, open_fuzz_lab, queries  # noqa: E402

PG_URL = os.environ.get("JM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REGRESSIONS = ROOT / "tests" / "fixtures" / "fuzz_regressions"


def run(lab: FuzzLab, examples: int, seed: int, shrink: bool) -> list[tuple[FuzzQuery, str, str]]:
    """Fuzz ``examples`` queries; return the failures (query, engine, error)."""
    failures: list[tuple[FuzzQuery, str, str]] = []
    engines = tuple(lab.urls)

    @hypothesis_seed(seed)
    @given(query=queries())
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(query: FuzzQuery) -> None:
        for engine in engines:
            try:
                check(lab, engine, query.sql(engine), query.identity)
            except Exception as error:
                if shrink:
                    raise
                lines = traceback.format_exception_only(error)
                failures.append((query, engine, "".join(lines).strip()[:500]))

    fuzz()
    return failures


def save(query: FuzzQuery, engine: str, error: str) -> Path:
    """Write one counterexample as a regression case; returns its path."""
    sql = query.sql(engine)
    digest = hashlib.sha256(sql.encode()).hexdigest()[:10]
    path = REGRESSIONS / f"fuzz_{engine}_{digest}.sql"
    first = error.splitlines()[0][:160]
    path.write_text(
        f"-- identity: {query.identity}\n-- engines: {engine}\n-- found: {first}\n{sql}\n",
        encoding="utf-8",
    )
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="queries to generate")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="hypothesis seed")
    parser.add_argument("--save", action="store_true", help="keep counterexamples as tests")
    parser.add_argument("--shrink", action="store_true", help="stop at and shrink the first")
    parser.add_argument("--no-postgres", action="store_true", help="fuzz DuckDB only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jm-fuzz-") as tmp:
        os.environ["JUPYTER_MASKING_DATA_DIR"] = tmp
        lab_iter = open_fuzz_lab(None if args.no_postgres else PG_URL, Path(tmp))
        lab = next(lab_iter)
        started = time.perf_counter()
        try:
            failures = run(lab, args.examples, args.seed, args.shrink)
        finally:
            elapsed = time.perf_counter() - started
            lab_iter.close()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"seed {args.seed}: {args.examples} queries x {len(lab.urls)} engines in {elapsed:.1f} s")
    print(f"  {sum(lab.outcomes.values()) / elapsed:.1f} gateway queries/s")
    for key, count in sorted(lab.outcomes.items()):
        print(f"  {key:40} {count:6}")
    print(f"failures: {len(failures)}")
    for query, engine, error in failures:
        print(f"--- {engine} as {query.identity}\n{query.sql(engine)}\n{error}")
        if args.save:
            print(f"saved to {save(query, engine, error)}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
