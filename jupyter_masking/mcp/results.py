"""What the MCP tools return: pydantic models (the published output schemas) and their text form.

Every tool answers twice, as the MCP specification suggests: ``structuredContent``
validated against the models here, and one text block for clients that only show
text. The text block starts with :data:`~jupyter_masking.mcp.limits.DATA_NOTICE` and
carries every database-derived string (values, column and table names) inside the
fenced data block, never in the surrounding prose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from jupyter_masking.audit.event import OutputLineage
from jupyter_masking.errors import MaskingError
from jupyter_masking.gateway.api import Explanation, MaskedResult, describe_output, json_scalar
from jupyter_masking.mcp.limits import DATA_NOTICE, Capped, Caps, cap_rows, dump, frame_data


class ColumnDecision(BaseModel):
    """What the gateway did to one output column, and why."""

    column: str
    data_class: str | None = Field(description="data class, e.g. pii.email; null if none")
    effect: Literal["raw", "mask", "deny"]
    operator: str | None = Field(description="masking operator, e.g. pseudonym")
    rule: str | None = Field(description="the policy rule that decided")
    sources: list[str] = Field(description="source columns, catalog.schema.table.column")
    why: str = Field(description="one readable sentence")

    @classmethod
    def of(cls, out: OutputLineage) -> ColumnDecision:
        """From the gateway's lineage of one output column."""
        return cls(
            column=out.name,
            data_class=out.data_class,
            effect=out.effect,
            operator=out.operator,
            rule=out.rule,
            sources=list(out.sources),
            why=describe_output(out),
        )


class QueryResult(BaseModel):
    """Masked rows of one query (the ``masked_query`` tool)."""

    notice: str = DATA_NOTICE
    columns: list[str]
    rows: list[list[Any]] = Field(description="masked values, row by row, JSON scalars")
    row_count: int
    masked: list[ColumnDecision] = Field(description="the columns that came back masked")
    capped: Literal["rows", "bytes"] | None = Field(
        description="why rows were left out: the row cap or the byte cap; null if none were"
    )
    more_rows: bool = Field(description="the query had more rows than were returned")
    shortened_cells: int = Field(description="text cells cut to the per-cell limit")
    actor: str
    event_id: str = Field(description="the audit event written for this query")
    policy_version: str | None


class ColumnInfo(BaseModel):
    """One column of a table and what this actor would get from it."""

    name: str
    type: str
    data_class: str | None
    free_text: bool = False
    detected_by: str | None = None
    effect: str = Field(description="raw, deny or mask:<operator> for this actor")
    rule: str | None = None


class TableInfo(BaseModel):
    """One table or view."""

    table: str
    kind: str
    columns: list[ColumnInfo]


class TablesResult(BaseModel):
    """The ``describe_tables`` answer."""

    notice: str = DATA_NOTICE
    actor: str
    tables: list[TableInfo]
    capped: Literal["bytes"] | None = None


class ExplainResult(BaseModel):
    """The ``explain`` answer: what would be masked or refused, without running anything."""

    notice: str = DATA_NOTICE
    outcome: Literal["allowed", "refused"]
    reason: str | None
    hint: str | None
    actor: str
    policy_version: str
    outputs: list[ColumnDecision]


_LIMITS: dict[str, Callable[[Caps, int], str]] = {
    "rows": lambda caps, row_cap: f"the row limit ({row_cap})",
    "bytes": lambda caps, row_cap: f"the byte limit ({caps.max_bytes} bytes of rows)",
}


def query_result(result: MaskedResult, caps: Caps, *, row_cap: int, actor: str) -> CallToolResult:
    """The tool result for masked rows, capped."""
    frame = result.frame
    rows = ([json_scalar(v) for v in row] for row in frame.itertuples(index=False, name=None))
    capped: Capped = cap_rows(rows, caps, row_cap=row_cap)
    cap = capped.cap or ("rows" if result.truncated else None)
    model = QueryResult(
        columns=[str(c) for c in frame.columns],
        rows=capped.rows,
        row_count=len(capped.rows),
        masked=[ColumnDecision.of(o) for o in result.masked],
        capped=cap,
        more_rows=capped.cap is not None or result.truncated,
        shortened_cells=capped.shortened_cells,
        actor=actor,
        event_id=result.event.id,
        policy_version=result.event.policy_version,
    )
    header = (
        f"{model.row_count} rows, {len(model.masked)} of {len(model.columns)} columns masked"
        + (f"; stopped at {_LIMITS[cap](caps, row_cap)}, more rows exist" if cap else "")
        + (f"; {model.shortened_cells} long cells shortened" if model.shortened_cells else "")
        + f"; audit event {model.event_id}; policy {model.policy_version}; actor {actor}."
    )
    head = {"columns": model.columns, "masked": [m.model_dump() for m in model.masked]}
    return _result(model, frame_data(header, [head, *model.rows]))


def tables_result(tables: list[dict[str, Any]], caps: Caps, *, actor: str) -> CallToolResult:
    """The tool result for ``describe_tables``, cut at the byte cap."""
    kept: list[TableInfo] = []
    used = 0
    capped: Literal["bytes"] | None = None
    for raw in tables:
        table = TableInfo.model_validate(raw)
        used += len(dump(table.model_dump()).encode())
        if used > caps.max_bytes:
            capped = "bytes"
            break
        kept.append(table)
    model = TablesResult(actor=actor, tables=kept, capped=capped)
    header = f"{len(kept)} tables; effects are for actor {actor}" + (
        f"; {len(tables) - len(kept)} more tables left out by the byte limit" if capped else ""
    )
    return _result(model, frame_data(header + ".", [t.model_dump() for t in kept]))


def explain_result(explanation: Explanation, *, actor: str) -> CallToolResult:
    """The tool result for ``explain``."""
    model = ExplainResult(
        outcome=explanation.outcome,
        reason=explanation.reason,
        hint=explanation.hint,
        actor=actor,
        policy_version=explanation.policy_version,
        outputs=[ColumnDecision.of(o) for o in explanation.outputs],
    )
    masked = sum(1 for o in model.outputs if o.effect == "mask")
    header = (
        f"would run: {masked} of {len(model.outputs)} columns masked"
        if model.outcome == "allowed"
        else "would be refused (reason and hint in the data block)"
    ) + f"; actor {actor}; policy {model.policy_version}."
    items: list[Any] = [{"outcome": model.outcome, "reason": model.reason, "hint": model.hint}]
    return _result(model, frame_data(header, items + [o.model_dump() for o in model.outputs]))


def error_result(error: MaskingError) -> CallToolResult:
    """A refusal or failure: ``isError`` with the one-line message and ``{code, message, hint}``."""
    return CallToolResult(
        content=[TextContent(type="text", text=str(error))],
        structured_content={"error": error.to_dict()},
        is_error=True,
    )


def _result(model: BaseModel, text: str) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=model.model_dump(mode="json"),
    )
