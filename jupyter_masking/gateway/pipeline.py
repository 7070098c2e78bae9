"""The gateway: one query in with an identity, masked rows and an audit event out.

Stages, in order (data flows one way):

1. **analyze**: parse once, refuse anything but a plain read, qualify against the live schema;
2. **plan**: classify every column read, decide per identity, rewrite with masks in SQL;
3. **execute**: read-only transaction, timeout, row cap, identity tag;
4. **scan**: a second net over outputs nothing classified;
5. **present**: pseudonym tokens become realistic values;
6. **audit**: the hash-chained event is written before any row is returned.

Refusals and failures are audited too; if the audit event cannot be written, the query
fails and no data is returned.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pyarrow as pa

from jupyter_masking.audit.event import EventDraft, OutputLineage
from jupyter_masking.audit.store import AuditStore, open_store
from jupyter_masking.catalog import Catalog
from jupyter_masking.config import GatewayConfig, data_dir
from jupyter_masking.errors import (
    BadInput,
    ConfigError,
    DatabaseError,
    InternalError,
    MaskingError,
    Refused,
)
from jupyter_masking.gateway.api import Explanation, MaskedResult, QueryRequest
from jupyter_masking.gateway.connections import Connection, ConnectionConfig, open_connection
from jupyter_masking.gateway.dberrors import QueryFailed
from jupyter_masking.gateway.plan import Plan, PlanCache, plan_query
from jupyter_masking.gateway.scan import scan_result
from jupyter_masking.identity import Identity
from jupyter_masking.mask import MaskingKey, present, register_sqlite
from jupyter_masking.policy import PolicyHolder
from jupyter_masking.sql.analyze import Analysis, analyze

log = logging.getLogger(__name__)

KEY_ENV = "JUPYTER_MASKING_KEY"


@dataclass
class _Source:
    connection: Connection
    catalog: Catalog
    plans: PlanCache = field(default_factory=PlanCache)


class Gateway:
    """Runs masked queries for identities the caller has authenticated.

    The caller (CLI, kernel, Jupyter server, hub service, MCP server) is responsible for
    *who*: it passes an :class:`Identity` it trusts. Everything else happens here.
    """

    def __init__(
        self,
        config: GatewayConfig,
        *,
        policy: PolicyHolder,
        key: MaskingKey,
        store: AuditStore,
        allow_urls: bool = False,
    ) -> None:
        self.config = config
        self.policy = policy
        self.key = key
        self.store = store
        self.allow_urls = allow_urls
        self._sources: dict[str, _Source] = {}
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: GatewayConfig, *, allow_urls: bool = False) -> Gateway:
        """A gateway with the policy, key and audit store the configuration names."""
        return cls(
            config,
            policy=PolicyHolder(config.policy),
            key=load_key(config.key_file),
            store=open_store(config.audit_store),
            allow_urls=allow_urls,
        )

    # -- the public operations -------------------------------------------------------------

    def query(self, request: QueryRequest, identity: Identity) -> MaskedResult:
        """Run ``request`` for ``identity`` and return masked rows, after auditing them.

        Raises:
            BadInput: The SQL or parameters cannot be understood.
            Refused: By the read-only rules or by the policy.
            DatabaseError: The database failed.
            AuditError: The audit event could not be written (no data is returned).
        """
        who = _identity(identity, request)
        started = time.perf_counter()
        policy = self.policy.engine
        name, source = self._source(request.connection)
        analysis: Analysis | None = None
        plan: Plan | None = None
        try:
            analysis = analyze(request.sql, source.connection.schema(), copy=False)
            params = _bind(analysis, request.params)
            plan = source.plans.plan(
                analysis, who, catalog=source.catalog, policy=policy, key=self.key
            )
            result = source.connection.execute(
                plan.sql,
                params,
                who,
                max_rows=request.max_rows or self.config.max_rows,
                settings=plan.settings,
            )
            frame = _frame(result.table, plan.outputs, name)
            frame, outputs = scan_result(
                frame, plan.outputs, who, policy=policy, key=self.key, free_text=plan.free_text
            )
            frame = _present(frame, plan.present)
        except (BadInput, Refused) as error:
            self._audit(request, who, name, source, analysis, plan, "refused", error, started)
            raise
        except MaskingError as error:
            self._audit(request, who, name, source, analysis, plan, "failed", error, started)
            raise
        except Exception as error:  # a bug below: audited, and its message (values?) kept back
            log.error("internal error in the gateway: %s", type(error).__name__)
            failure = InternalError()
            self._audit(request, who, name, source, analysis, plan, "failed", failure, started)
            raise failure from None
        event = self.store.append(
            self._draft(request, who, name, source, analysis, outputs, started).model_copy(
                update={"rows": len(frame), "outcome": "allowed"}
            )
        )
        return MaskedResult(frame=frame, event=event, truncated=result.truncated)

    def explain(self, request: QueryRequest, identity: Identity) -> Explanation:
        """What ``query`` would mask or refuse for ``identity``, without reading any row."""
        who = _identity(identity, request)
        policy = self.policy.engine
        _, source = self._source(request.connection)
        try:
            analysis = analyze(request.sql, source.connection.schema(), copy=False)
            _bind(analysis, request.params, check_values=False)
            plan = plan_query(
                analysis,
                who,
                catalog=source.catalog,
                policy=policy,
                key=self.key,
                refuse_denied=False,
            )
        except (BadInput, Refused) as error:
            return Explanation(
                "refused", (), error.detail(), error.hint, policy.version, who.describe()
            )
        warnings = tuple(
            f"output {name} derives text from free text: it is refused if it returns text "
            "(names there can only be masked in unchanged text)"
            for name, unchanged in plan.free_text.items()
            if not unchanged
        )
        if plan.denied:
            first = plan.denied[0]
            return Explanation(
                "refused",
                plan.outputs,
                first.detail(),
                first.hint,
                policy.version,
                who.describe(),
                warnings,
            )
        return Explanation(
            "allowed", plan.outputs, None, None, policy.version, who.describe(), warnings
        )

    def describe(self, identity: Identity, connection: str | None = None) -> list[dict[str, Any]]:
        """Tables, columns and their data classes, with what this identity would see."""
        policy = self.policy.engine
        _, source = self._source(connection)
        tables = []
        for table in source.connection.schema().tables:
            infos = source.catalog.columns(table, policy.tagged_class)
            columns = []
            for column in table.columns:
                info = infos[column.name]
                decision = policy.decide(identity, info.data_class) if info.data_class else None
                columns.append(
                    {
                        "name": column.name,
                        "type": column.type,
                        "data_class": info.data_class,
                        "free_text": info.free_text,
                        "detected_by": info.detected_by,
                        "effect": decision.label if decision else "raw",
                        "rule": decision.rule_id if decision else None,
                    }
                )
            tables.append({"table": table.path, "kind": table.kind, "columns": columns})
        return tables

    def connection_names(self) -> list[str]:
        """The configured connection names."""
        return sorted(self.config.connections)

    def close(self) -> None:
        """Close every connection and the audit store."""
        with self._lock:
            for source in self._sources.values():
                source.connection.close()
            self._sources.clear()
        self.store.close()

    # -- helpers ---------------------------------------------------------------------------

    def _source(self, name: str | None) -> tuple[str, _Source]:
        name = self._connection_name(name)
        with self._lock:
            source = self._sources.get(name)
            if source is None:
                source = self._open(name)
                self._sources[name] = source
        return name, source

    def _connection_name(self, name: str | None) -> str:
        if name and "://" in name:
            if not self.allow_urls:
                raise ConfigError(
                    "connection URLs are not accepted by this gateway",
                    hint="use a configured connection name; ask an admin to add one",
                )
            return self._register_url(name)
        chosen = name or self.config.default_connection
        self.config.connection(chosen)  # raises with the known names
        assert chosen is not None
        return chosen

    def _register_url(self, url: str) -> str:
        with self._lock:
            for known, existing in self._urls.items():
                if existing == url:
                    return known
            name = _name_for_url(url, taken=set(self.config.connections) | set(self._urls))
            self._urls[name] = url
        return name

    def _open(self, name: str) -> _Source:
        if name in self._urls:
            config = ConnectionConfig(name, self._urls[name], max_rows=self.config.max_rows)
        else:
            settings = self.config.connection(name)
            config = ConnectionConfig(
                name,
                settings.url,
                statement_timeout_s=settings.statement_timeout_s,
                max_rows=settings.max_rows,
            )
        connection = open_connection(config)
        if connection.dialect == "sqlite":
            connection.add_connect_hook(register_sqlite)
        rows = self.config.profile.sample_rows

        def sample(table: Any) -> pd.DataFrame:
            return connection.sample(table, [c.name for c in table.columns], rows)

        catalog = Catalog(name, sample, ttl_s=self.config.profile.ttl_s)
        return _Source(connection, catalog)

    def _draft(
        self,
        request: QueryRequest,
        who: Identity,
        name: str,
        source: _Source,
        analysis: Analysis | None,
        outputs: tuple[OutputLineage, ...],
        started: float,
    ) -> EventDraft:
        return EventDraft.for_query(
            who,
            execution_count=request.execution_count,
            connection=name,
            dialect=source.connection.dialect,
            sql=request.sql,
            tables=[source.catalog.table_path(t) for t in analysis.tables] if analysis else [],
            columns_read=[source.catalog.path(c.table, c.column) for c in analysis.columns_read]
            if analysis
            else [],
            outputs=list(outputs),
            duration_ms=(time.perf_counter() - started) * 1000,
            policy_version=self.policy.engine.version,
            outcome="allowed",
        )

    def _audit(
        self,
        request: QueryRequest,
        who: Identity,
        name: str,
        source: _Source,
        analysis: Analysis | None,
        plan: Plan | None,
        outcome: str,
        error: MaskingError,
        started: float,
    ) -> None:
        outputs = plan.outputs if plan else ()
        draft = self._draft(request, who, name, source, analysis, outputs, started)
        self.store.append(draft.model_copy(update={"outcome": outcome, "reason": str(error)}))


def _identity(identity: Identity, request: QueryRequest) -> Identity:
    who = identity.acting_as(request.actor)
    if request.notebook is not None or request.cell_id is not None:
        who = who.at(request.notebook, request.cell_id)
    return who


def _bind(
    analysis: Analysis, params: Mapping[str, object], *, check_values: bool = True
) -> dict[str, object]:
    bound: dict[str, object] = {}
    for name in analysis.parameters:
        if name == "?" or name.isdigit():
            raise BadInput(
                "positional parameters are not supported",
                hint="name them, e.g. WHERE id = :customer_id",
            )
        if name not in params:
            if not check_values:
                continue
            raise BadInput(
                f"no value for parameter :{name}",
                hint=f"define {name} in the notebook or pass it as a parameter",
            )
        bound[name] = params[name]
    return bound


def _frame(table: Any, outputs: tuple[OutputLineage, ...], connection: str) -> pd.DataFrame:
    names = [o.name for o in outputs] if table.num_columns == len(outputs) else table.column_names
    unique = len(set(names)) == len(names)
    # Names are set in Arrow (cheaper), except repeated ones: pyarrow converts those wrongly.
    table = table.rename_columns(names if unique else [f"c{i}" for i in range(len(names))])
    try:
        # one block per column: no consolidating copy of wide results
        frame = cast(pd.DataFrame, table.to_pandas(split_blocks=True))
    except (ValueError, OverflowError, pa.ArrowException):
        # a value pandas cannot hold (DuckDB's infinite dates); the message quotes it
        raise QueryFailed("data", connection=connection) from None
    if not unique:
        frame.columns = pd.Index(names)
    return frame


def _present(frame: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    if not columns:
        return frame
    result: pd.DataFrame = frame.copy(deep=False)
    for name, data_class in columns.items():
        if name in result.columns:
            try:
                result[name] = present(data_class, result[name])
            except ValueError:  # not tokens after all (an engine quirk): keep the digest
                log.warning("presenter skipped for output %s", name)
    return result


def _name_for_url(url: str, taken: set[str]) -> str:
    tail = re.split(r"[/:@?]", url.rstrip("/").split("://", 1)[1])
    stem = Path([p for p in tail if p][-1] if any(tail) else "db").stem
    base = re.sub(r"[^A-Za-z0-9_]", "_", stem)[:40] or "db"
    base = base if base[0].isalpha() or base[0] == "_" else f"db_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def load_key(key_file: str | None) -> MaskingKey:
    """The masking key: ``$JUPYTER_MASKING_KEY``, the configured file, else a per-user file.

    The per-user file (mode 600 in the data directory) is created on first use, so an
    embedded gateway keeps the same pseudonyms across sessions.
    """
    if os.environ.get(KEY_ENV):
        return MaskingKey.from_env(KEY_ENV)
    if key_file:
        return MaskingKey.from_file(key_file)
    path = data_dir() / "key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w") as handle:
            handle.write(MaskingKey.generate().to_text())
    return MaskingKey.from_file(path)


def default_config(demo: Path) -> GatewayConfig:
    """The embedded configuration: the demo database as connection ``demo``, built-in policy."""
    return GatewayConfig.model_validate(
        {"connections": {"demo": {"url": f"duckdb:///{demo}"}}, "default_connection": "demo"}
    )


Factory = Callable[[], Gateway]
_ = DatabaseError  # re-exported for callers that catch it from here
