"""Free-text masking on the notes column: span masking in DuckDB, then the result scan.

Prints, in one run on the same notes (benchmarks/_frame.py; every note holds a name, a
phone and an email):

* DuckDB: ``SELECT notes`` (the floor), every class as its own nested ``regexp_replace``
  pass (the plain form, ``frequent=`` every class), and the guarded form the gateway
  uses (rarely present classes behind one ``regexp_matches`` guard per group); both must
  give the same text;
* the result scan over the SQL-masked notes: ``find_spans_many`` (names remain) and
  ``pseudonymize_spans``, next to ``utf8_upper`` (one Arrow kernel writing a new string
  column: the floor for rewriting every note);
* the same two steps over the raw notes (three spans per row).

Figures are the best of ``--repeats`` runs; CPU time is shown too, since the machine is
shared (the load average is printed).

Run: python benchmarks/bench_freetext.py [--rows 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from _frame import build_frame
from sqlglot import exp

from jupyter_masking.detect import SQL_SPAN_PATTERNS, find_spans_many
from jupyter_masking.mask import MaskingKey, SqlContext, pseudonymize_spans, span_mask_sql

KEY = MaskingKey(b"bench-freetext-key-0123456789abcdef")


def best(repeats: int, work: Callable[[], object]) -> tuple[float, float]:
    """Best wall and best CPU seconds of ``repeats`` runs."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def line(label: str, rows: int, figures: tuple[float, float], base: float | None) -> str:
    wall, cpu = figures
    ratio = f"{wall / base:7.2f}x" if base else f"{'':8}"
    return f"{label:46} {wall:8.3f} {cpu:8.3f} {rows / wall:12,.0f} {ratio}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows, repeats = args.rows, args.repeats

    notes = build_frame(max(rows, 100_000))["notes"].head(rows).reset_index(drop=True)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, duckdb {duckdb.__version__}, pyarrow {pa.__version__}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"notes: {rows:,} rows, {notes.str.len().mean():.0f} characters on average\n")
    header = f"{'':46} {'wall s':>8} {'cpu s':>8} {'rows/s':>12} {'ratio':>8}"

    con = duckdb.connect()
    con.register("source", pd.DataFrame({"notes": notes}))
    con.execute("CREATE TABLE notes AS SELECT notes FROM source")
    ctx = SqlContext("duckdb", "pii.free_text", "", exp.DataType.build("text"))
    column = exp.column("notes")
    # The plain form applies the classes in the guarded form's order, so both must agree.
    order = [c for c in SQL_SPAN_PATTERNS if c not in ("pii.email", "pii.phone")]
    ordered = {c: SQL_SPAN_PATTERNS[c] for c in [*order, "pii.email", "pii.phone"]}
    forms = {
        "SELECT notes (floor)": column,
        f"nested: {len(ordered)} regexp_replace passes": span_mask_sql(
            column, ordered, ctx, frequent=set(ordered)
        ),
        "guarded (what the gateway runs)": span_mask_sql(column, SQL_SPAN_PATTERNS, ctx),
    }
    outputs = {}
    print("span masking in DuckDB (SQL)\n" + header)
    base = None
    for label, form in forms.items():
        sql = f"SELECT {form.sql('duckdb')} AS notes FROM notes"
        figures = best(repeats, lambda s=sql: con.execute(s).fetchall())
        outputs[label] = con.execute(sql).df()["notes"]
        base = base or figures[0]
        print(line(label, rows, figures, base))
    nested, guarded = list(outputs.values())[1:]
    assert nested.equals(guarded), "guarded span masking differs from the nested passes"
    masked = guarded

    for title, texts in (("the SQL-masked notes", masked), ("the raw notes", notes)):
        found = find_spans_many(texts)
        spans = sum(len(f) for f in found)
        print(f"\nresult scan of {title} ({spans / rows:.2f} spans per row)\n" + header)
        array = pa.array(texts, pa.large_string())
        floor = best(repeats, lambda a=array: pc.utf8_upper(a))
        print(line("utf8_upper (floor: one Arrow kernel)", rows, floor, None))
        detect = best(repeats, lambda t=texts: find_spans_many(t))
        print(line("find_spans_many", rows, detect, floor[0]))
        replace = best(repeats, lambda t=texts, f=found: pseudonymize_spans(t, f, KEY))
        print(line("pseudonymize_spans", rows, replace, floor[0]))
        both = (detect[0] + replace[0], detect[1] + replace[1])
        print(line("both", rows, both, floor[0]))


if __name__ == "__main__":
    main()
