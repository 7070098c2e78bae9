"""Planning one query: analyze, classify, decide, rewrite.

The plan is everything the gateway decides before touching data: which physical columns
are read, what class each holds, what the policy says for this identity, and the SQL
that masks them inside the database. ``--explain`` shows a plan; ``query`` runs one.
The rewritten SQL carries per-class subkeys (on PostgreSQL it reads them from transaction
settings instead, whose values the plan carries): it is executed, never shown or logged.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from sqlglot import exp

from jupyter_masking.audit.event import OutputLineage
from jupyter_masking.catalog import Catalog, ColumnInfo
from jupyter_masking.detect import DETECTORS, SQL_SPAN_PATTERNS
from jupyter_masking.errors import Refused
from jupyter_masking.identity import Identity
from jupyter_masking.mask import MaskingKey, SqlContext, build, span_mask_sql
from jupyter_masking.mask.keys import subkey_setting
from jupyter_masking.policy import Decision, PolicyEngine
from jupyter_masking.sql.analyze import Analysis
from jupyter_masking.sql.lineage import OutputColumn, SourceColumn, table_of
from jupyter_masking.sql.rewrite import rewrite
from jupyter_masking.sql.schema import Table

SPAN_OPERATOR = "redact(spans)"
# Span classes SQL has no pattern for (names, addresses): only the result scan masks them,
# and it can only find them in free text that reaches it unchanged.
SCAN_ONLY_CLASSES = frozenset(d.data_class for d in DETECTORS) - frozenset(SQL_SPAN_PATTERNS)
_TEXT_TYPES = (exp.DataType.TEXT_TYPES | {exp.DataType.Type.UNKNOWN}) - {exp.DataType.Type.NAME}


@dataclass(frozen=True)
class ColumnPlan:
    """How one physical column is read for this identity.

    Attributes:
        info: What the catalog knows about the column.
        decision: The policy's decision for its class (``None`` when unclassified).
        operator: The operator text applied in SQL, ``redact(spans)`` for free text, or ``None``.
        presents: Whether the masked output is a token that needs the presenter.
        span_rule: The rule(s) behind span masking of free text.
        scan_only: Free text that may hold spans (names) only the result scan can mask and
            this identity may not see raw.
    """

    info: ColumnInfo
    decision: Decision | None = None
    operator: str | None = None
    presents: bool = False
    span_rule: str | None = None
    scan_only: bool = False

    @property
    def masked(self) -> bool:
        """Whether the column is read through a mask."""
        return self.operator is not None


@dataclass(frozen=True)
class Plan:
    """A query, understood and rewritten for one identity.

    Attributes:
        analysis: The analyzer's view of the query.
        columns: Per physical column the query reads, its plan.
        sql: The rewritten SQL to execute (holds subkeys: never show it).
        outputs: Per output column, the lineage the audit event records.
        present: Output name → data class, for outputs that carry pseudonym tokens unchanged.
        free_text: Output name → whether it passes :attr:`ColumnPlan.scan_only` free text
            unchanged (the scan masks it) or derives from it (text derived so is refused).
        settings: Transaction setting → subkey, for the settings :attr:`sql` reads its
            subkeys from (PostgreSQL); the connection sets them with bound values.
    """

    analysis: Analysis
    columns: Mapping[SourceColumn, ColumnPlan]
    sql: str
    outputs: tuple[OutputLineage, ...]
    present: Mapping[str, str] = field(default_factory=dict)
    free_text: Mapping[str, bool] = field(default_factory=dict)
    denied: tuple[Refused, ...] = ()
    settings: Mapping[str, str] = field(default_factory=dict, repr=False)


def plan_query(
    analysis: Analysis,
    identity: Identity,
    *,
    catalog: Catalog,
    policy: PolicyEngine,
    key: MaskingKey,
    refuse_denied: bool = True,
) -> Plan:
    """Classify, decide and rewrite an analysed query for ``identity``.

    Args:
        analysis: The analysed query.
        identity: Who asks.
        catalog: Column classes of the connection.
        policy: The policy that decides.
        key: The masking key (only per-class subkeys reach the SQL).
        refuse_denied: Raise on the first denied column (running a query); ``False`` plans it
            as NULL and lists every denial in :attr:`Plan.denied` (explaining a query).

    Raises:
        Refused: A column the query reads is denied to this identity.
    """
    columns: dict[SourceColumn, ColumnPlan] = {}
    masks: dict[Table, dict[str, exp.Expression]] = {}
    denied: list[Refused] = []
    read: dict[Table, list[str]] = {}
    for source in analysis.columns_read:
        read.setdefault(source.table, []).append(source.column)
    for table in analysis.tables:
        infos = catalog.columns(table, policy.tagged_class)
        types = {column.name: column.type for column in table.columns}
        # Only columns the query reads are planned and projected: an unread column is never
        # computed, so it can neither leak nor cost (a denied one is simply absent).
        for name in read.get(table, ()):
            planned, sql = _plan_column(
                infos[name], types[name], identity, policy, key, analysis.dialect
            )
            if planned.decision is not None and planned.decision.effect == "deny":
                denied.append(_denied(planned, identity))
                if refuse_denied:
                    raise denied[0]
                sql = exp.cast(exp.null(), _data_type(types[name], analysis.dialect))
            columns[SourceColumn(table, name)] = planned
            if sql is not None:
                masks.setdefault(table, {})[name] = sql
    rewritten = rewrite(
        analysis.expression, masks, resolve=table_of, dialect=analysis.dialect, keep=read
    )
    outputs = tuple(_lineage(o, columns) for o in analysis.outputs)
    present = {
        out.name: columns[out.sources[0]].info.data_class or ""
        for out in analysis.outputs
        if out.transform == "identity"
        and len(out.sources) == 1
        and columns[out.sources[0]].presents
    }
    free_text = {
        out.name: out.transform == "identity"
        for out in analysis.outputs
        if any(columns[s].scan_only for s in out.sources if s in columns)
    }
    text = rewritten.sql(analysis.dialect, copy=False)  # our own copy, not used again
    return Plan(
        analysis,
        columns,
        text,
        outputs,
        present,
        free_text,
        tuple(denied),
        _settings(text, columns, key),
    )


def _settings(
    sql: str, columns: Mapping[SourceColumn, ColumnPlan], key: MaskingKey
) -> dict[str, str]:
    """The subkey settings ``sql`` reads (none where the engine writes subkeys literally)."""
    subkeys = (key.subkey(p.info.data_class) for p in columns.values() if p.info.data_class)
    return {name: sub for sub in subkeys if (name := subkey_setting(sub)) in sql}


class PlanCache:
    """The plans of recent queries, so that a re-run cell skips planning.

    A plan is reused only for the same analysis (the analyzer's cached object: same SQL, same
    live schema), the same user, groups and actor, the same policy version and the same
    content profiles of the tables it reads; anything else plans afresh. Refusals are never
    cached. Plans are shared between threads and must not be modified.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._plans: OrderedDict[Hashable, Plan] = OrderedDict()

    def plan(
        self,
        analysis: Analysis,
        identity: Identity,
        *,
        catalog: Catalog,
        policy: PolicyEngine,
        key: MaskingKey,
    ) -> Plan:
        """:func:`plan_query` for a query that runs, from the cache when nothing changed."""
        entry = (
            id(analysis),
            identity.user,
            identity.groups,
            identity.actor,
            policy.version,
            catalog.stamps(analysis.tables),
        )
        with self._lock:
            cached = self._plans.get(entry)
            # id() is only unique while the object lives: the plan holds its analysis
            if cached is not None and cached.analysis is analysis:
                self._plans.move_to_end(entry)
                return cached
        plan = plan_query(analysis, identity, catalog=catalog, policy=policy, key=key)
        with self._lock:
            self._plans[entry] = plan
            while len(self._plans) > self.size:
                self._plans.popitem(last=False)
        return plan


def _plan_column(
    info: ColumnInfo,
    column_type: str,
    identity: Identity,
    policy: PolicyEngine,
    key: MaskingKey,
    dialect: str,
) -> tuple[ColumnPlan, exp.Expression | None]:
    data_type = _data_type(column_type, dialect)
    if info.data_class is not None:
        decision = policy.decide(identity, info.data_class)
        if decision.effect != "mask" or decision.operator is None:
            return ColumnPlan(info, decision), None
        operator = build(decision.operator)
        context = SqlContext(dialect, info.data_class, key.subkey(info.data_class), data_type)
        sql = operator.sql(exp.column(info.path.rsplit(".", 1)[1], quoted=True), context)
        plan = ColumnPlan(info, decision, str(decision.operator), operator.presents)
        return plan, sql
    if info.free_text and data_type.this in _TEXT_TYPES:
        return _plan_spans(info, data_type, identity, policy, dialect)
    return ColumnPlan(info), None


def _plan_spans(
    info: ColumnInfo,
    data_type: exp.DataType,
    identity: Identity,
    policy: PolicyEngine,
    dialect: str,
) -> tuple[ColumnPlan, exp.Expression | None]:
    # SQL cannot validate spans, so every class not raw for this identity is masked.
    decisions = {c: policy.decide(identity, c) for c in SQL_SPAN_PATTERNS}
    patterns = {c: p for c, p in SQL_SPAN_PATTERNS.items() if decisions[c].effect != "raw"}
    scan_only = any(policy.decide(identity, c).effect != "raw" for c in SCAN_ONLY_CLASSES)
    if not patterns:
        return ColumnPlan(info, scan_only=scan_only), None
    seen = [c for c in info.span_classes if c in patterns] or list(patterns)
    rules = sorted({decisions[c].rule_id for c in seen})
    context = SqlContext(dialect, "pii.free_text", "", data_type)
    name = info.path.rsplit(".", 1)[1]
    sql = span_mask_sql(exp.column(name, quoted=True), patterns, context)
    rule = rules[0] if len(rules) == 1 else f"{rules[0]} (+{len(rules) - 1} more)"
    return ColumnPlan(info, None, SPAN_OPERATOR, False, rule, scan_only), sql


def _lineage(output: OutputColumn, columns: Mapping[SourceColumn, ColumnPlan]) -> OutputLineage:
    plans = [columns[s] for s in output.sources if s in columns]
    sources = [columns[s].info.path if s in columns else s.path for s in output.sources]
    masked = [p for p in plans if p.masked]
    chosen = masked[0] if masked else next((p for p in plans if p.info.data_class), None)
    if chosen is None:
        return OutputLineage(name=output.name, sources=sources, transform=output.transform)
    decision = chosen.decision
    return OutputLineage(
        name=output.name,
        sources=sources,
        data_class=chosen.info.data_class or _span_label(chosen),
        effect="mask" if chosen.masked else (decision.effect if decision else "raw"),
        operator=chosen.operator,
        rule=decision.rule_id if decision else chosen.span_rule,
        transform=output.transform,
        detected_by=chosen.info.detected_by if chosen.info.data_class else "content",
    )


def _span_label(plan: ColumnPlan) -> str:
    classes = plan.info.span_classes
    return "free_text:" + ",".join(classes) if classes else "free_text"


def _denied(plan: ColumnPlan, identity: Identity) -> Refused:
    decision = plan.decision
    assert decision is not None
    return Refused(
        f"{plan.info.data_class} is denied to {identity.describe()}",
        column=plan.info.path,
        rule_id=decision.rule_id,
        hint="leave this column out of the query (also from SELECT *, WHERE and JOIN)",
    )


def _data_type(text: str, dialect: str) -> exp.DataType:
    """The parsed column type (a copy: operators may build it into their SQL)."""
    return _parsed_type(text, dialect).copy()


@functools.lru_cache(maxsize=1024)
def _parsed_type(text: str, dialect: str) -> exp.DataType:
    # parsing a type name costs about as much as the rest of planning a column
    try:
        return exp.DataType.build(text, dialect=dialect)
    except Exception:  # an exotic type name is simply "unknown"
        return exp.DataType.build("unknown")
