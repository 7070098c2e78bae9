"""PySpark sessions for :mod:`.spark`, warehouse registration and the Spark catalog's schema.

One local session is shared per process; each Spark Connect connection has its own session.

A local Spark session is a process-wide singleton (one SparkContext per JVM): connections
with the same settings share it; a connection with other settings may replace it only
once no connection uses it. The local session runs in UTC, with subkeys (64 hex
characters) redacted from plans and the UI, and a small shuffle partition count.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify_tables import qualify_tables

from jupyter_masking.config import data_dir
from jupyter_masking.errors import ConfigError
from jupyter_masking.gateway.engines.introspect import rows_to_schema
from jupyter_masking.sql.schema import Schema

#: Settings every session gets (connect_args may add ``spark.*`` settings, not change these).
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.redaction.string.regex": "[0-9a-f]{64}",
}
LOCAL_CONF = {
    "spark.app.name": "jupyter-masking",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.log.level": "ERROR",
    "spark.ui.showConsoleProgress": "false",
}
_FORMATS = {".parquet": "parquet", ".orc": "orc"}
_PLAIN_NAME = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class LocalSettings:
    """A local session: master (``local[2]``), warehouse directory, catalog kind, UI on/off."""

    master: str
    warehouse: str
    catalog: str = "in-memory"
    ui: bool = False

    def conf(self, extra: Mapping[str, str]) -> dict[str, str]:
        """The Spark configuration of this session."""
        conf = {**LOCAL_CONF, **_spark_only(extra), **SESSION_CONF}
        conf["spark.master"] = self.master
        conf["spark.ui.enabled"] = "true" if self.ui else "false"
        conf["spark.sql.warehouse.dir"] = self.warehouse
        conf["spark.sql.catalogImplementation"] = self.catalog
        if self.catalog == "hive":
            metastore = Path(self.warehouse) / "metastore_db"
            conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = (
                f"jdbc:derby:;databaseName={metastore};create=true"
            )
            conf["spark.driver.extraJavaOptions"] = f"-Dderby.system.home={self.warehouse}"
        return conf


class _Local:
    lock = threading.Lock()
    settings: LocalSettings | None = None
    session: Any = None
    users = 0


def default_warehouse() -> Path:
    """``<data dir>/spark-warehouse``: where ``spark://local[N]`` keeps tables by default."""
    return data_dir() / "spark-warehouse"


def acquire_local(settings: LocalSettings, extra: Mapping[str, str]) -> Any:
    """The process's local session with ``settings``, started if needed.

    Raises:
        ConfigError: A session with other settings is in use in this process.
    """
    with _Local.lock:
        if _Local.session is not None and _Local.settings != settings:
            if _Local.users:
                raise ConfigError(
                    "a local Spark session with other settings is already in use",
                    hint="use one spark://local URL (master and warehouse) per process",
                )
            _Local.session.stop()
            _Local.session, _Local.settings = None, None
        if _Local.session is None:
            _Local.session = _start_local(settings.conf(extra))
            _Local.settings = settings
        _Local.users += 1
        return _Local.session


def release_local(settings: LocalSettings) -> None:
    """Hand back a local session; it keeps running for the next connection that wants it."""
    with _Local.lock:
        if _Local.settings == settings and _Local.users:
            _Local.users -= 1


def stop_local() -> None:
    """Stop the local session if no connection uses it (tests, benchmarks)."""
    with _Local.lock:
        if _Local.session is not None and not _Local.users:
            _Local.session.stop()
            _Local.session, _Local.settings = None, None


def _quiet_query_context_loggers() -> None:
    """Silence PySpark's query-context loggers.

    They print a failed plan to stderr, and the plan holds the masking expressions and so
    the per-class subkeys.
    """
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


def _start_local(conf: dict[str, str]) -> Any:
    # The classic classes directly: the generic builder switches to Spark Connect once
    # any Spark Connect session exists in the process.
    from pyspark import SparkConf
    from pyspark.core.context import SparkContext
    from pyspark.sql.session import SparkSession

    _quiet_query_context_loggers()
    if SparkContext._active_spark_context is not None:
        raise ConfigError(
            "another Spark session is already running in this process",
            hint="let jupyter-masking start the local session, or use Spark Connect",
        )
    context = SparkContext(conf=SparkConf().setAll(list(conf.items())))
    context.setLogLevel("ERROR")
    return SparkSession(context)


def connect_remote(url: str, extra: Mapping[str, str]) -> Any:
    """A new Spark Connect session to ``url`` (``sc://host:port/;token=...``)."""
    from pyspark.sql.connect.session import SparkSession as RemoteSession

    _quiet_query_context_loggers()
    session = RemoteSession.builder.remote(url).create()
    for key, value in {**_spark_only(extra), **SESSION_CONF}.items():
        with contextlib.suppress(Exception):  # static on the server: the server's value holds
            session.conf.set(key, value)
    return session


def _spark_only(extra: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in extra.items() if k.startswith("spark.") and k not in SESSION_CONF}


def register_warehouse(spark: Any, warehouse: Path) -> list[str]:
    """Register table directories of ``warehouse`` the in-memory catalog does not know.

    ``<db>.db/<table>/`` becomes ``db.table`` and ``<table>/`` becomes ``default.table``,
    for directories of Parquet or ORC files with plain lowercase names.

    Returns:
        The names registered.
    """
    registered: list[str] = []
    if not warehouse.is_dir():
        return registered
    for path in sorted(warehouse.iterdir()):
        if not path.is_dir() or path.name.startswith((".", "_")) or path.name == "metastore_db":
            continue
        if path.name.endswith(".db"):
            db = path.name.removesuffix(".db")
            tables = [p for p in sorted(path.iterdir()) if p.is_dir()]
        else:
            db, tables = "default", [path]
        for table in tables:
            source = _format(table)
            if source is None or not _plain(db) or not _plain(table.name):
                continue
            name = f"{db}.{table.name}"
            if spark.catalog.tableExists(name):
                continue
            create_db = exp.Create(
                this=exp.Table(this=exp.to_identifier(db, quoted=True)),
                kind="DATABASE",
                exists=True,
            )
            spark.sql(create_db.sql("spark"))
            spark.catalog.createTable(name, path=str(table), source=source)
            registered.append(name)
    return registered


def _plain(name: str) -> bool:
    return bool(name) and set(name) <= _PLAIN_NAME and not name[0].isdigit()


def _format(directory: Path) -> str | None:
    for path in directory.rglob("*"):
        found = _FORMATS.get(path.suffix)
        if found and path.is_file():
            return found
    return None


def read_schema(spark: Any, schemas: Sequence[str] = ()) -> Schema:
    """The tables, persistent views and global temporary views the session's catalog lists.

    Local temporary views are left out: they cannot be named with a database.
    """
    catalog = spark.catalog
    wanted = {s.lower() for s in schemas}
    names = sorted({d.name for d in catalog.listDatabases()} | {"global_temp"})
    rows: list[tuple[Any, ...]] = []
    for db in names:
        if wanted and db.lower() not in wanted:
            continue
        for table in sorted(catalog.listTables(db), key=lambda t: t.name):
            namespace = list(table.namespace or [])
            if table.isTemporary and namespace != ["global_temp"]:
                continue
            quoted = exp.table_(table.name, db=db, quoted=True).sql("spark")
            view_sql = None
            kind = "table"
            if table.tableType == "VIEW" and not table.isTemporary:
                view_sql = _view_query(spark, quoted, db)
                kind = "view" if view_sql else "table"
            for column in catalog.listColumns(quoted):
                rows.append((db, table.name, kind, column.name, column.dataType, view_sql))
    return rows_to_schema("spark", rows, default_db=catalog.currentDatabase())


def _view_query(spark: Any, quoted: str, db: str) -> str | None:
    """A persistent view's query with its tables qualified as Spark resolves them."""
    describe = exp.Describe(this=exp.maybe_parse(quoted, into=exp.Table, dialect="spark"))
    describe.set("style", exp.var("EXTENDED"))
    details = {row[0]: row[1] for row in spark.sql(describe.sql("spark")).collect()}
    text = details.get("View Text")
    if not text:
        return None
    namespace = str(details.get("View Catalog and Namespace") or f"spark_catalog.{db}")
    view_db = namespace.rsplit(".", 1)[-1]
    try:
        query = sqlglot.parse_one(text, read="spark")
    except sqlglot.errors.SqlglotError:
        return None
    qualified = qualify_tables(query, db=view_db, dialect="spark")
    return qualified.sql("spark")
