"""Rendering masked results for people: one summary line, a text table, an HTML table.

Every front end shows the same summary ("3 of 9 columns masked · policy demo@1a2b3c ·
alice (analysts) · event 7f3a…") and marks masked columns in the header. HTML escapes
every value and name.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from jupyter_masking.gateway.api import describe_output

if TYPE_CHECKING:
    from jupyter_masking.audit.event import AuditEvent, OutputLineage
    from jupyter_masking.gateway.api import MaskedResult

MASK_MARK = "🔒"


def summary(event: AuditEvent, *, truncated: bool = False) -> str:
    """The one-line summary of a query's masking, policy, identity and audit event."""
    masked = sum(1 for o in event.outputs if o.effect == "mask")
    who = event.identity.user
    if event.identity.actor != "human":
        who += f" via {event.identity.actor}"
    if event.identity.groups:
        who += f" ({', '.join(event.identity.groups)})"
    parts = [
        f"{masked} of {len(event.outputs)} columns masked",
        f"policy {event.policy_version}",
        who,
        f"event #{event.seq} {event.id[-8:]}",
    ]
    if truncated:
        parts.insert(1, "rows capped")
    return " · ".join(parts)


def header_note(out: OutputLineage) -> str:
    """The tooltip text of a masked column: class, operator and rule."""
    return f"{out.data_class} · {out.operator} · rule {out.rule}"


def render_text(result: MaskedResult, *, max_rows: int = 50) -> str:
    """A plain-text table (masked columns marked), the summary, and why each was masked."""
    import pandas as pd

    frame = result.frame
    marked = {o.name for o in result.masked}
    shown = frame.head(max_rows).copy()
    shown.columns = pd.Index([f"{c} {MASK_MARK}" if c in marked else str(c) for c in frame.columns])
    lines = [shown.to_string(index=False) if len(frame) else "(no rows)"]
    if len(frame) > max_rows:
        lines.append(f"… {len(frame) - max_rows} more rows")
    lines.append(summary(result.event, truncated=result.truncated))
    lines.extend(f"  {o.name}: {describe_output(o)}" for o in result.masked)
    return "\n".join(lines)


def render_html(result: MaskedResult, *, max_rows: int = 20) -> str:
    """An HTML table whose masked headers carry a badge and tooltip, then the summary line."""
    frame = result.frame
    by_name = {o.name: o for o in result.outputs}
    head = []
    for column in frame.columns:
        out = by_name.get(str(column))
        name = html.escape(str(column))
        if out is not None and out.effect == "mask":
            note = html.escape(header_note(out), quote=True)
            head.append(
                f'<th class="jm-masked" title="{note}">{name} '
                f'<span class="jm-badge" aria-label="masked: {note}">{MASK_MARK} '
                f"{html.escape(out.operator or 'masked')}</span></th>"
            )
        else:
            head.append(f"<th>{name}</th>")
    body = []
    for row in frame.head(max_rows).itertuples(index=False):
        cells = "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row)
        body.append(f"<tr>{cells}</tr>")
    more = len(frame) - max_rows
    footer = f"<p class='jm-more'>… {more} more rows</p>" if more > 0 else ""
    line = html.escape(summary(result.event, truncated=result.truncated))
    return (
        "<div class='jm-result'>"
        "<style>.jm-badge{font-size:0.8em;padding:0 4px;border-radius:4px;"
        "background:var(--jp-warn-color3,#fff3cd);color:var(--jp-ui-font-color1,#333)}"
        ".jm-summary{font-size:0.85em;color:var(--jp-ui-font-color2,#666)}</style>"
        f"<table class='dataframe jm-table'><thead><tr>{''.join(head)}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>{footer}"
        f"<p class='jm-summary'>{line}</p></div>"
    )


def _cell(value: object) -> str:
    from jupyter_masking.gateway.api import json_scalar

    return "NULL" if json_scalar(value) is None else str(value)
