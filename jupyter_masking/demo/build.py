"""Build the demo database: DuckDB in the user's data directory, or any engine by URL.

The tables and their types are one table, :data:`TABLES`, shared by every target. DuckDB
gets exactly those types; other engines get SQLAlchemy's mapping of them (``VARCHAR``
becomes ``TEXT`` on MariaDB, ``TIMESTAMP`` becomes ``DATETIME``). A meta table records the
demo version and seed, so a second build is skipped; a build writes a temporary file and
renames it into place, so a reader never sees half a database.

>>> frames = demo_frames()
>>> sorted(frames), len(frames["customers"])
(['customers', 'legacy_export', 'orders', 'payments', 'support_tickets'], 500)
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlalchemy as sa
from sqlglot import exp

from jupyter_masking.demo.data import generate
from jupyter_masking.gateway.engines.duckdb import LOCKED

if TYPE_CHECKING:
    import pandas as pd

#: Bump when the tables or their contents change: existing demo files are rebuilt.
DEMO_VERSION = "1"
META_TABLE = "jm_demo_meta"
VIEW = "customer_contacts"
VIEW_COLUMNS = ("id", "full_name", "email", "phone")
#: SQLAlchemy dialect name -> sqlglot dialect name, where they differ.
SQLGLOT_DIALECTS = {"postgresql": "postgres", "mariadb": "mysql"}

TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "customers": (
        ("id", "INTEGER"),
        ("full_name", "VARCHAR"),
        ("email", "VARCHAR"),
        ("phone", "VARCHAR"),
        ("ssn", "VARCHAR"),
        ("date_of_birth", "DATE"),
        ("street", "VARCHAR"),
        ("city", "VARCHAR"),
        ("postal_code", "VARCHAR"),
        ("country", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
    ),
    "orders": (
        ("id", "INTEGER"),
        ("customer_id", "INTEGER"),
        ("customer_email", "VARCHAR"),
        ("amount", "DECIMAL(10,2)"),
        ("status", "VARCHAR"),
        ("ordered_at", "TIMESTAMP"),
        ("product_code", "VARCHAR"),
    ),
    "payments": (
        ("id", "INTEGER"),
        ("order_id", "INTEGER"),
        ("card_number", "VARCHAR"),
        ("iban", "VARCHAR"),
        ("amount", "DECIMAL(10,2)"),
        ("paid_at", "TIMESTAMP"),
    ),
    "support_tickets": (
        ("id", "INTEGER"),
        ("customer_id", "INTEGER"),
        ("subject", "VARCHAR"),
        ("body", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
    ),
    "legacy_export": (
        ("c1", "VARCHAR"),
        ("c2", "VARCHAR"),
        ("c3", "DECIMAL(10,2)"),
        ("payload", "VARCHAR"),
    ),
}

ARROW_TYPES: dict[str, pa.DataType] = {
    "INTEGER": pa.int32(),
    "VARCHAR": pa.string(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "DECIMAL(10,2)": pa.decimal128(10, 2),
}

SA_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "INTEGER": sa.Integer(),
    "VARCHAR": sa.String().with_variant(sa.Text(), "mysql", "mariadb"),
    "DATE": sa.Date(),
    "TIMESTAMP": sa.DateTime(),
    "DECIMAL(10,2)": sa.Numeric(10, 2),
}


def demo_path() -> Path:
    """Where the demo database lives: ``$JUPYTER_MASKING_DATA_DIR`` or the user data directory.

    >>> import os; os.environ["JUPYTER_MASKING_DATA_DIR"] = "/tmp/jm-doc"
    >>> demo_path().as_posix()
    '/tmp/jm-doc/demo.duckdb'
    >>> del os.environ["JUPYTER_MASKING_DATA_DIR"]
    """
    from jupyter_masking.config import data_dir

    return data_dir() / "demo.duckdb"


def demo_tables(seed: int = 7) -> dict[str, pa.Table]:
    """Every demo table as Arrow, typed as in :data:`TABLES`."""
    return dict(_tables(seed))


@functools.lru_cache(maxsize=2)
def _tables(seed: int) -> tuple[tuple[str, pa.Table], ...]:
    # cached: generating takes about a second, and Arrow tables are immutable
    rows = generate(seed)
    tables: list[tuple[str, pa.Table]] = []
    for name, columns in TABLES.items():
        schema = pa.schema([(col, ARROW_TYPES[kind]) for col, kind in columns])
        tables.append((name, pa.Table.from_pylist(rows[name], schema=schema)))
    return tuple(tables)


def demo_frames(seed: int = 7) -> dict[str, pd.DataFrame]:
    """Every demo table as a pandas DataFrame (the rows :func:`build_demo` writes)."""
    return {name: table.to_pandas() for name, table in demo_tables(seed).items()}


def _view_sql(dialect: str) -> str:
    query = exp.select(*VIEW_COLUMNS).from_("customers")
    create = exp.Create(this=exp.to_table(VIEW), kind="VIEW", expression=query)
    return create.sql(dialect)


def _create_sql(name: str, columns: tuple[tuple[str, str], ...]) -> str:
    """``CREATE TABLE`` for DuckDB with exactly the declared types."""
    defs = [
        exp.ColumnDef(this=exp.to_identifier(col), kind=exp.DataType.build(kind, dialect="duckdb"))
        for col, kind in columns
    ]
    create = exp.Create(this=exp.Schema(this=exp.to_table(name), expressions=defs), kind="TABLE")
    return create.sql("duckdb")


def _current(path: Path, seed: int) -> bool:
    """Whether ``path`` is a demo database of this version and seed."""
    import duckdb

    if not path.is_file():
        return False
    key = exp.column("key").eq(exp.Placeholder(this="k"))
    query = exp.select("value").from_(META_TABLE).where(key)
    try:
        # the gateway's own settings: DuckDB refuses a second open with different ones
        with duckdb.connect(str(path), read_only=True, config=dict(LOCKED)) as con:
            found = {
                key: con.execute(query.sql("duckdb"), {"k": key}).fetchone()
                for key in ("version", "seed")
            }
    except duckdb.Error:
        return False
    return found == {"version": (DEMO_VERSION,), "seed": (str(seed),)}


def build_demo(path: Path | None = None, *, seed: int = 7, force: bool = False) -> Path:
    """Build the DuckDB demo database at ``path`` (default :func:`demo_path`) and return it.

    Skips the work when a database of the current demo version and seed is already there,
    unless ``force``. The file appears atomically.
    """
    import duckdb

    target = (path or demo_path()).expanduser()
    if not force and _current(target, seed):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".demo-", suffix=".duckdb", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # DuckDB creates the file itself
    try:
        with duckdb.connect(str(tmp)) as con:
            for name, table in demo_tables(seed).items():
                con.execute(_create_sql(name, TABLES[name]))
                con.register("jm_source", table)
                con.execute(exp.insert(exp.select("*").from_("jm_source"), name).sql("duckdb"))
                con.unregister("jm_source")
            con.execute(_view_sql("duckdb"))
            con.execute(_create_sql(META_TABLE, (("key", "VARCHAR"), ("value", "VARCHAR"))))
            insert = exp.insert(
                exp.values([("version", DEMO_VERSION), ("seed", str(seed))]), META_TABLE
            )
            con.execute(insert.sql("duckdb"))
            con.execute("CHECKPOINT")
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return target


def load_demo_into(url: str, seed: int = 7) -> None:
    """Create the demo tables and view, with the same rows, in the database at ``url``.

    ``url`` is a SQLAlchemy URL (PostgreSQL: tables go to the first schema on the search
    path; MariaDB: the URL's database; SQLite: the file). Existing demo tables are replaced.
    """
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    targets = {
        name: sa.Table(name, metadata, *(sa.Column(c, SA_TYPES[k]) for c, k in cols))
        for name, cols in TABLES.items()
    }
    dialect = SQLGLOT_DIALECTS.get(engine.dialect.name, engine.dialect.name)
    drop_view = exp.Drop(tables=[exp.to_table(VIEW)], kind="VIEW", exists=True).sql(dialect)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(drop_view)
            metadata.drop_all(conn)
            metadata.create_all(conn)
            for name, table in demo_tables(seed).items():
                conn.execute(targets[name].insert(), table.to_pylist())
            conn.exec_driver_sql(_view_sql(dialect))
    finally:
        engine.dispose()
