"""The gateway benchmarks still run and print their verdicts (tiny sizes; no timing asserted).

The README's performance figures come from these scripts; a script that no longer runs
against the current code would leave those figures unreproducible.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def run(script: str, tmp_path: Path, *args: str) -> str:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the scripts cache their databases there
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_bench_gateway_prints_each_ratio_and_the_fixed_cost(tmp_path: Path) -> None:
    sizes = ("--rows", "3000", "--fetch", "500", "--repeat", "1", "--plan-repeat", "1")
    out = run("bench_gateway.py", tmp_path, *sizes, "--no-postgres")
    for line in (
        "plan, analysis cold",
        "aggregate, non-sensitive columns",
        "the same by month, with a median",
        "aggregate, count(DISTINCT masked email)",
        "fetch 500 rows, 5 masked columns",
        "fixed cost per query",
        "without the audit write and result scan",
    ):
        assert line in out


def test_bench_digest_runs_every_variant_of_the_generated_sql(tmp_path: Path) -> None:
    out = run("bench_digest.py", tmp_path, "--rows", "3000", "--fetch", "500", "--repeat", "1")
    for line in (
        "sha256(subkey || value), as generated",
        "the same on 1 thread",
        "sha256(value): no subkey, one block",
        "md5(subkey || value)",
        "subkey || value: no digest",
        "the cheapest SHA-256 variant alone",
        "of 500 rows",
    ):
        assert line in out
