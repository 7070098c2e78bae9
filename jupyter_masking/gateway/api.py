"""What goes into the gateway and what comes out: requests, masked results, explanations.

These types are the one contract every front end shares: the CLI, the notebook magic,
the REST API, the hub service and the MCP tool.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from jupyter_masking.audit.event import AuditEvent, OutputLineage

Outcome = Literal["allowed", "refused"]


@dataclass(frozen=True)
class QueryRequest:
    """One query as a front end hands it to the gateway.

    Attributes:
        sql: The user's SQL, one read statement.
        connection: A configured connection name; ``None`` for the default.
        params: Values of bound parameters (``:name``), never spliced into the SQL.
        max_rows: A row cap lower than the connection's, when wanted.
        notebook: The notebook path relative to the server root, when known.
        cell_id: The nbformat cell id, when known.
        execution_count: The cell's execution count, when known.
        actor: A declared actor (``ai:<tool>``); it may only lower privileges.
    """

    sql: str
    connection: str | None = None
    params: Mapping[str, object] = field(default_factory=dict)
    max_rows: int | None = None
    notebook: str | None = None
    cell_id: str | None = None
    execution_count: int | None = None
    actor: str | None = None


@dataclass(frozen=True)
class Explanation:
    """What the gateway would do with a query, without running it.

    Attributes:
        outcome: ``allowed`` or ``refused``.
        outputs: Per output column: sources, class, effect, operator, rule.
        reason: Why it would be refused, or ``None``.
        hint: What to change, for a refusal.
        policy_version: The policy that decided.
        identity: Who was asking, as ``user via actor (groups)``.
        warnings: What may still stop the query once it runs.
    """

    outcome: Outcome
    outputs: tuple[OutputLineage, ...]
    reason: str | None
    hint: str | None
    policy_version: str
    identity: str
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "hint": self.hint,
            "policy_version": self.policy_version,
            "identity": self.identity,
            "outputs": [o.model_dump(mode="json") for o in self.outputs],
            "warnings": list(self.warnings),
        }

    def render(self) -> str:
        """A plain-text table: one line per output column, then the verdict."""
        lines = [f"as {self.identity} · policy {self.policy_version}"]
        width = max((len(o.name) for o in self.outputs), default=6)
        for out in self.outputs:
            lines.append(f"  {out.name:<{width}}  {describe_output(out)}")
        lines.extend(f"warning: {w}" for w in self.warnings)
        if self.outcome == "refused":
            lines.append(f"refused: {self.reason}" + (f" (hint: {self.hint})" if self.hint else ""))
        else:
            masked = sum(1 for o in self.outputs if o.effect == "mask")
            lines.append(f"would run: {masked} of {len(self.outputs)} columns masked")
        return "\n".join(lines)


@dataclass(frozen=True)
class MaskedResult:
    """A query's masked rows with their lineage and audit event.

    Attributes:
        frame: The masked rows.
        event: The audit event written before the rows were returned.
        truncated: Whether the row cap cut the result.
    """

    frame: pd.DataFrame
    event: AuditEvent
    truncated: bool = False

    @property
    def outputs(self) -> list[OutputLineage]:
        """Per output column lineage, in column order."""
        return list(self.event.outputs)

    @property
    def masked(self) -> list[OutputLineage]:
        """The output columns the gateway masked."""
        return [o for o in self.event.outputs if o.effect == "mask"]

    def to_json(self) -> dict[str, Any]:
        """The CLI/REST contract: columns, rows as JSON scalars, masked columns, event id."""
        return {
            "columns": [str(c) for c in self.frame.columns],
            "rows": [[json_scalar(v) for v in row] for row in self.frame.itertuples(index=False)],
            "masked": [
                {
                    "column": o.name,
                    "class": o.data_class,
                    "effect": o.effect,
                    "operator": o.operator,
                    "rule": o.rule,
                    "sources": list(o.sources),
                }
                for o in self.masked
            ],
            "event_id": self.event.id,
            "truncated": self.truncated,
            "policy_version": self.event.policy_version,
        }


def describe_output(out: OutputLineage) -> str:
    """``masked pii.email by pseudonym (rule default:pii.email) ← demo.main.customers.email``."""
    sources = ", ".join(out.sources) or "no source column"
    if out.effect == "mask":
        what = f"masked {out.data_class} by {out.operator} (rule {out.rule})"
    elif out.effect == "deny":
        what = f"denied {out.data_class} (rule {out.rule})"
    elif out.data_class:
        what = f"raw {out.data_class} (rule {out.rule})"
    else:
        what = "raw"
    return f"{what} ← {sources}"


def json_scalar(value: Any) -> Any:
    """A JSON scalar for one cell: ISO 8601 for dates and times, numbers for decimals."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, (dt.datetime, dt.date, dt.time, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, pd.Timedelta | dt.timedelta):
        return pd.Timedelta(value).isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):  # DuckDB STRUCT/MAP
        return {str(k): json_scalar(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):  # DuckDB LIST, PostgreSQL ARRAY
        return [json_scalar(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return json_scalar(value.item())
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value if isinstance(value, (bool, int, str)) else str(value)
