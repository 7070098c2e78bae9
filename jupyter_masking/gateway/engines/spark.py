"""Spark through PySpark: an in-process local session or Spark Connect to a cluster.

URLs:

* ``spark://local[N]?warehouse=/path`` starts (once per process) a local session with
  ``N`` cores whose warehouse is ``/path`` (default: ``<data dir>/spark-warehouse``). With
  the default ``catalog=in-memory`` the connection registers every table directory it
  finds in the warehouse (``<db>.db/<table>`` and ``<table>`` for ``default``), so tables
  written by an earlier process are visible; ``catalog=hive`` keeps a Derby metastore in
  ``<warehouse>/metastore_db`` instead (slow to start; persistent views).
* ``sc://host:port?token=${SPARK_TOKEN}&use_ssl=true`` talks Spark Connect; the options
  become Spark Connect's ``;key=value`` parameters. Keep the token in the query string:
  there it is redacted from every rendering of the URL.

Spark has no read-only transactions. The analyzer's refusals are the guard on this
engine; as a second net every statement is parsed again here, and (local sessions)
by Spark's own parser, and anything but a plain query is refused before Spark sees it.
Give the gateway's principal read-only catalog permissions on a cluster.

Identity reaches the cluster's UI and logs: the sqlcommenter comment in the SQL text,
job tags ``jupyter-masking``, ``jm-user-<user>`` and ``jm-actor-<actor>``, and on local
sessions the job group and description. Results come back as Arrow, capped in Spark
with ``LIMIT``; a timer interrupts the query's jobs by tag at the deadline.

>>> spark_target(sa.make_url("sc://spark.internal:15002?token=abc&use_ssl=true"), "x").remote
'sc://spark.internal:15002/;token=abc;use_ssl=true'
>>> spark_target(sa.make_url("spark://local[2]?warehouse=/tmp/w"), "x").master
'local[2]'
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from jupyter_masking.errors import ConfigError
from jupyter_masking.gateway.connections import Connection, ConnectionConfig
from jupyter_masking.gateway.dberrors import QueryFailed
from jupyter_masking.gateway.engines import spark_session
from jupyter_masking.gateway.engines.spark_guard import check_statement
from jupyter_masking.gateway.engines.spark_session import LocalSettings
from jupyter_masking.gateway.params import render
from jupyter_masking.gateway.tagging import APP
from jupyter_masking.identity import Identity
from jupyter_masking.sql.schema import Schema

_LOCAL = re.compile(r"local(\[(\d+|\*)\])?")
_CONNECT_OPTIONS = frozenset({"token", "use_ssl", "user_id", "user_agent", "session_id"})
_LOCAL_OPTIONS = frozenset({"warehouse", "catalog", "ui"})
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.@-]")
_INTERRUPT_EVERY_S = 0.25

#: Spark error condition (prefix before the first ``.``) -> kind.
CONDITIONS = {
    "TABLE_OR_VIEW_NOT_FOUND": "undefined",
    "UNRESOLVED_COLUMN": "undefined",
    "UNRESOLVED_ROUTINE": "undefined",
    "UNRESOLVED_FIELD": "undefined",
    "SCHEMA_NOT_FOUND": "undefined",
    "PARSE_SYNTAX_ERROR": "syntax",
    "PARSE_EMPTY_STATEMENT": "syntax",
    "UNBOUND_SQL_PARAMETER": "parameters",
    "OPERATION_CANCELED": "timeout",
    "SPARK_JOB_CANCELLED": "timeout",
    "INSUFFICIENT_PERMISSIONS": "permission",
}
#: SQLSTATE class -> kind, when the condition is not in :data:`CONDITIONS`.
STATE_CLASSES = {"22": "data", "08": "connection_lost", "28": "permission", "53": "resources"}


@dataclass(frozen=True)
class SparkTarget:
    """Where a Spark URL points: a local session's settings, or a Spark Connect URL."""

    local: LocalSettings | None = None
    remote: str | None = None

    @property
    def master(self) -> str | None:
        """The local master (``local[2]``), ``None`` for Spark Connect."""
        return self.local.master if self.local else None


def spark_target(url: sa.URL, name: str) -> SparkTarget:
    """Read a ``spark://`` or ``sc://`` URL.

    Raises:
        ConfigError: An unknown option, a non-local ``spark://`` master, or a URL that
            would carry the Spark Connect token outside the query string.
    """
    options = {k: str(v) for k, v in url.query.items()}
    if url.get_backend_name() == "sc":
        unknown = sorted(set(options) - _CONNECT_OPTIONS)
        smuggled = any(";" in value or "=" in value for value in options.values())
        if unknown or smuggled or not url.host or url.database or url.username or url.password:
            raise ConfigError(
                f"connection '{name}': malformed Spark Connect URL",
                hint="use sc://host:port?token=${SPARK_TOKEN}&use_ssl=true (options: "
                + ", ".join(sorted(_CONNECT_OPTIONS))
                + ")",
            )
        params = "".join(f";{k}={v}" for k, v in sorted(options.items()))
        return SparkTarget(remote=f"sc://{url.host}:{url.port or 15002}/{params}")
    master = url.host or ""
    unknown = sorted(set(options) - _LOCAL_OPTIONS)
    if not _LOCAL.fullmatch(master) or url.database or unknown:
        raise ConfigError(
            f"connection '{name}': spark:// URLs name a local session",
            hint="use spark://local[2]?warehouse=/path (options: warehouse, catalog, ui), "
            "or sc://host:port for a cluster",
        )
    catalog = options.get("catalog", "in-memory")
    if catalog not in ("in-memory", "hive"):
        raise ConfigError(f"connection '{name}': catalog must be in-memory or hive")
    warehouse = options.get("warehouse") or str(spark_session.default_warehouse())
    return SparkTarget(
        local=LocalSettings(
            master=master,
            warehouse=str(Path(warehouse).expanduser().resolve()),
            catalog=catalog,
            ui=options.get("ui", "false").lower() in ("1", "true", "yes"),
        )
    )


class SparkConnection(Connection):
    """A Spark session (local or Spark Connect); queries run read-only by refusal."""

    dialect = "spark"

    def __init__(self, config: ConnectionConfig, url: sa.URL) -> None:
        super().__init__(config, url)
        self._target = spark_target(url, self.name)
        self._extra = {str(k): str(v) for k, v in config.connect_args.items()}
        self._session: Any = None
        self._open_lock = threading.Lock()

    @property
    def is_local(self) -> bool:
        """Whether this connection runs an in-process local session."""
        return self._target.local is not None

    def session(self) -> Any:
        """The PySpark session, started on first use (a local one is shared per process)."""
        with self._open_lock:
            if self._session is None:
                self._session = self._guard(self._start)
            return self._session

    def _start(self) -> Any:
        try:
            import pyspark  # noqa: F401
        except ImportError:
            raise ConfigError(
                f"connection '{self.name}': Spark connections need pyspark",
                hint="pip install 'jupyter-masking[spark]' (and a Java 17 runtime)",
            ) from None
        if self._target.remote is not None:
            return spark_session.connect_remote(self._target.remote, self._extra)
        assert self._target.local is not None
        try:
            return spark_session.acquire_local(self._target.local, self._extra)
        except ConfigError:
            raise
        except Exception:  # the launcher's message is long and says little
            failure = ConfigError(
                f"connection '{self.name}': cannot start a local Spark session",
                hint="Spark needs a Java 17 runtime (java on PATH or JAVA_HOME)",
            )
        raise failure

    def _hooks_changed(self) -> None:
        """Spark needs no registered functions: every operator is built-in Spark SQL."""

    def _run(
        self,
        sql: str,
        params: dict[str, object],
        identity: Identity,
        max_rows: int,
        timeout_s: float,
        settings: dict[str, str],  # Spark SQL writes its subkeys literally: none come
    ) -> tuple[pa.Table, bool]:
        spark = self.session()
        check_statement(sql, spark if self.is_local else None)
        statement = render(sql, params, self.dialect, "named")
        tag = f"jm-query-{uuid.uuid4().hex[:16]}"
        tags = [APP, tag, *identity_tags(identity)]
        done, fired = threading.Event(), threading.Event()

        def watch() -> None:
            if done.wait(timeout_s):
                return
            fired.set()
            # jobs the query submits after the deadline must die too: keep interrupting
            while not done.is_set():
                self._interrupt(spark, tag)
                done.wait(_INTERRUPT_EVERY_S)

        watcher = threading.Thread(target=watch, name=f"{tag}-timeout", daemon=True)
        self._mark(spark, identity, tags, f"{APP}:{tags[2].removeprefix('jm-user-')}:{tag}")
        watcher.start()
        try:
            frame = spark.sql(statement, args=params or None)
            table = frame.limit(max_rows + 1).toArrow()
        except Exception:
            if not fired.is_set():
                raise
            timed_out = True
        else:
            timed_out = fired.is_set()
        finally:
            done.set()
            watcher.join()
            self._unmark(spark, tags)
        if timed_out:
            raise QueryFailed("timeout", connection=self.name)
        return table.slice(0, max_rows), table.num_rows > max_rows

    def _mark(self, spark: Any, identity: Identity, tags: list[str], group: str) -> None:
        if not self.is_local:
            for tag in tags:
                spark.addTag(tag)
            return
        # Local: SparkContext job tags, group and description (thread-local properties the
        # query's jobs inherit). Session tags would not do: a classic session can only
        # interrupt them from the thread that added them, and the timeout runs elsewhere.
        context = spark.sparkContext
        for tag in tags:
            context.addJobTag(tag)
        context.setLocalProperty("spark.jobGroup.id", group)
        context.setLocalProperty("spark.job.description", job_description(identity))
        context.setLocalProperty("spark.job.interruptOnCancel", "true")

    def _interrupt(self, spark: Any, tag: str) -> None:
        if self.is_local:
            spark.sparkContext.cancelJobsWithTag(tag)
        else:
            spark.interruptTag(tag)

    def _unmark(self, spark: Any, tags: list[str]) -> None:
        if not self.is_local:
            for tag in tags:
                spark.removeTag(tag)
            return
        context = spark.sparkContext
        for tag in tags:
            context.removeJobTag(tag)
        for key in ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel"):
            context.setLocalProperty(key, None)

    def _introspect(self) -> Schema:
        spark = self.session()
        if self._target.local is not None and self._target.local.catalog == "in-memory":
            spark_session.register_warehouse(spark, Path(self._target.local.warehouse))
        return spark_session.read_schema(spark, self.config.schemas)

    def _classify(self, error: Exception) -> QueryFailed:
        condition, state = _condition(error)
        kind = CONDITIONS.get(condition.split(".")[0]) or STATE_CLASSES.get(state[:2])
        if kind is None:
            kind = "unreachable" if _is_unreachable(error) else "other"
        lines = str(error).strip().splitlines()
        detail = lines[0] if lines else None
        return QueryFailed(kind, connection=self.name, code=condition or None, detail=detail)

    def close(self) -> None:
        """Release the session: stop a Spark Connect session, hand back a local one."""
        with self._open_lock:
            session, self._session = self._session, None
        if session is None:
            return
        if self._target.local is not None:
            spark_session.release_local(self._target.local)
        else:
            session.stop()


def identity_tags(identity: Identity) -> list[str]:
    """Spark job tags naming who runs a query (no commas; unsafe characters become ``_``).

    >>> identity_tags(Identity(user="ann+x@corp", actor="ai:jupyter-ai"))
    ['jm-user-ann_x@corp', 'jm-actor-ai_jupyter-ai']
    """
    return [
        f"jm-user-{_TAG_UNSAFE.sub('_', identity.user)[:64]}",
        f"jm-actor-{_TAG_UNSAFE.sub('_', identity.actor)[:64]}",
    ]


def job_description(identity: Identity) -> str:
    """The Spark job description: who runs it, on one line (shown in the Spark UI).

    >>> job_description(Identity(user="alice", groups=("analysts",), cell_id="c1"))
    'jupyter-masking: user=alice groups=analysts actor=human cell=c1'
    """
    parts = [
        f"user={identity.user}",
        f"groups={','.join(identity.groups) or '-'}",
        f"actor={identity.actor}",
    ]
    if identity.cell_id:
        parts.append(f"cell={identity.cell_id}")
    return " ".join([f"{APP}:", *(re.sub(r"\s+", "_", p) for p in parts)])


def _condition(error: Exception) -> tuple[str, str]:
    get_condition = getattr(error, "getCondition", None) or getattr(error, "getErrorClass", None)
    get_state = getattr(error, "getSqlState", None)
    try:
        condition = get_condition() if callable(get_condition) else None
        state = get_state() if callable(get_state) else None
    except Exception:  # a half-built driver error: classify by type below
        condition, state = None, None
    return condition or "", state or ""


def _is_unreachable(error: Exception) -> bool:
    name = type(error).__name__
    return "Grpc" in name or "Py4JNetworkError" in name or "Connection" in name
