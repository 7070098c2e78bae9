"""``%%masked_sql`` next to JupySQL's unmasked ``%%sql``, fetching the same rows into pandas.

The contract (brief H1): ``%%masked_sql`` fetching 200,000 rows x 13 columns (9 of them
sensitive) from DuckDB within 2x of JupySQL's ``%%sql`` with ``autopandas`` on the same
query. Both run as cells in one IPython ``InteractiveShell``; the frame is
``benchmarks/_frame.py`` (Faker values, nearly all distinct, a free-text ``notes`` column
holding names, phones and emails). DuckDB will not open one file twice in a process with
different settings, so each reader gets its own identical copy. Both capture the result
(``df <<``), so neither timing includes display. Figures are the median and best of
``REPEAT`` runs after one warm-up run (connection, schema and profiling caches).
A plain ``duckdb ... .df()`` fetch is printed as the floor, the gateway's rewritten SQL run
the same way (what the database's own masking costs, before any gateway work), and the
gateway's ``query()`` without the magic, to separate the magic's own cost from masking's.
A second query leaves out the free-text column, whose span masking dominates.

Run: python benchmarks/bench_magic.py [rows]     (needs: pip install jupysql duckdb-engine)
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("PLOOMBER_STATS_ENABLED", "false")  # JupySQL telemetry off

import duckdb
import pandas as pd
import yaml
from _frame import build_frame
from bench_gateway import masked_sql
from IPython.core.interactiveshell import InteractiveShell

REPEAT = 3
TABLE = "customer_orders"
QUERIES = (  # (label, SQL, columns); constants, not user input
    ("contract", f"SELECT * FROM {TABLE}", 13),
    ("without free text", f"SELECT * EXCLUDE (notes) FROM {TABLE}", 12),
)


def timed(ip: InteractiveShell, cell: str) -> tuple[float, Any]:
    start = time.perf_counter()
    result = ip.run_cell(cell, store_history=False)
    elapsed = time.perf_counter() - start
    if result.error_in_exec is not None or result.error_before_exec is not None:
        raise RuntimeError(f"cell failed: {result.error_in_exec or result.error_before_exec}")
    return elapsed, result.result


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    work = Path(tempfile.mkdtemp(prefix="jm-bench-magic-"))
    frame = build_frame(rows)
    for copy in ("floor", "plain", "masked"):
        with duckdb.connect(str(work / f"{copy}.duckdb")) as con:
            con.register("source", frame)
            con.execute(
                f"CREATE TABLE {TABLE} AS SELECT * REPLACE "
                "(CAST(date_of_birth AS DATE) AS date_of_birth) FROM source"
            )
    config = work / "gateway.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "connections": {
                    "bench": {"url": f"duckdb:///{work / 'masked.duckdb'}", "max_rows": rows}
                },
                "default_connection": "bench",
                "max_rows": rows,
                "audit_store": str(work / "audit.sqlite3"),
                "local_identity": {"user": "bench", "groups": ["analysts"]},
            }
        )
    )
    os.environ["JUPYTER_MASKING_DATA_DIR"] = str(work / "data")

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "sql")
    ip.run_line_magic("config", "SqlMagic.autopandas = True")
    ip.run_line_magic("config", "SqlMagic.displaycon = False")
    ip.run_line_magic("config", "SqlMagic.feedback = 0")
    ip.run_cell(f"%sql duckdb:///{work / 'plain.duckdb'}")
    ip.run_line_magic("load_ext", "jupyter_masking")
    ip.run_line_magic("config", f"MaskedSql.config_path = {str(config)!r}")

    floor_con = duckdb.connect(str(work / "floor.duckdb"), read_only=True)
    client = ip.find_cell_magic("masked_sql").__self__.client
    import sql  # JupySQL

    from jupyter_masking.gateway.api import QueryRequest

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, pandas {pd.__version__}, duckdb {duckdb.__version__}, "
        f"jupysql {getattr(sql, '__version__', '?')}; load average {os.getloadavg()[0]:.1f}"
    )
    verdicts = []
    for label, query, columns in QUERIES:
        # each run: the floor, JupySQL, the gateway alone, the magic; interleaved so that the
        # machine's load drifts over all of them alike. Results are captured (``df <<``): no
        # display in any timing.
        rewritten = masked_sql(client.gateway, None, query, client.identity)
        runs: dict[str, Callable[[], object]] = {
            "duckdb .df() (floor, no magic)": lambda q=query: floor_con.execute(q).df(),
            "masked SQL alone, duckdb .df()": lambda q=rewritten: floor_con.execute(q).df(),
            "JupySQL %%sql (autopandas)": lambda q=query: timed(ip, f"%%sql df <<\n{q}"),
            "gateway query() (no magic)": lambda q=query: client.query(QueryRequest(sql=q)),
            "%%masked_sql (masked+audited)": lambda q=query: timed(ip, f"%%masked_sql df <<\n{q}"),
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        for round_ in range(REPEAT + 1):
            for name, work_ in runs.items():
                start = time.perf_counter()
                work_()
                if round_:  # round 0 warms connections, schema and profile caches
                    times[name].append(time.perf_counter() - start)
        masked = ip.user_ns["df"]
        assert masked.shape == (rows, columns), masked.shape
        sensitive = [o["name"] for o in masked.attrs["jupyter_masking"]["outputs"]
                     if o["effect"] == "mask"]  # fmt: skip
        print(f"\n{label}: {query!r} -> {rows:,} rows x {columns} columns; "
              f"masked {len(sensitive)}: {', '.join(sensitive)}")  # fmt: skip
        print(f"{'':34} {'median s':>9} {'best s':>8} {'vs %%sql':>9}")
        base = statistics.median(times["JupySQL %%sql (autopandas)"])
        for name, values in times.items():
            median = statistics.median(values)
            print(f"{name:34} {median:9.3f} {min(values):8.3f} {median / base:8.2f}x")
        magic = statistics.median(times["%%masked_sql (masked+audited)"])
        alone = statistics.median(times["gateway query() (no magic)"])
        floor = statistics.median(times["masked SQL alone, duckdb .df()"])
        verdicts.append(
            f"{label}: %%masked_sql / %%sql = {magic / base:.2f}x "
            f"({'within' if magic <= 2 * base else 'NOT within'} 2x); "
            f"the magic's own cost over the gateway call: {magic - alone:+.3f} s; "
            f"the masked SQL alone / %%sql = {floor / base:.2f}x"
        )
    floor_con.close()
    print()
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
