"""Hand-written notebooks and audit events for the sidebar UI test, following the server contract.

Run ``python tests/ui/ui_notebooks.py`` to rewrite ``fixtures/lineage_demo.ipynb`` and
``fixtures/no_lineage.ipynb``; the test also builds a 500-cell notebook from these helpers.
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
from pathlib import Path
from typing import Any

LINEAGE_MIME = "application/vnd.jupyter-masking.lineage+json"
FIXTURES = Path(__file__).parent / "fixtures"
DEMO = "lineage_demo.ipynb"
EMPTY = "no_lineage.ipynb"
POLICY = "demo@1a2b3c4d5e6f"

Json = dict[str, Any]


def column(
    name: str,
    sources: list[str],
    data_class: str | None = None,
    effect: str = "raw",
    operator: str | None = None,
    rule: str | None = None,
    transform: str = "identity",
    detected_by: str = "none",
) -> Json:
    """One output column's lineage, with the contract's exact keys."""
    return {
        "name": name,
        "sources": sources,
        "data_class": data_class,
        "effect": effect,
        "operator": operator,
        "rule": rule,
        "transform": transform,
        "detected_by": detected_by,
    }


def event(
    seq: int,
    cell_id: str,
    sql: str,
    outputs: list[Json],
    *,
    notebook: str = DEMO,
    user: str = "alice",
    actor: str = "human",
    tables: list[str] | None = None,
    rows: int | None = 5,
    outcome: str = "allowed",
    reason: str | None = None,
    time: str | None = None,
) -> Json:
    """An audit event as the server writes it (hashes are fake but well-formed)."""
    read = sorted({source for out in outputs for source in out["sources"]})
    digest = hashlib.sha256(f"{seq}:{cell_id}:{sql}".encode()).hexdigest()
    return {
        "id": f"ev-{seq:04d}",
        "seq": seq,
        "time": time or f"2026-11-28T07:{seq % 60:02d}:29.123456Z",
        "identity": {"user": user, "groups": ["analysts"], "actor": actor},
        "notebook": notebook,
        "cell_id": cell_id,
        "execution_count": seq,
        "connection": "demo",
        "dialect": "duckdb",
        "sql": sql,
        "sql_fingerprint": digest[:16],
        "tables": tables if tables is not None else sorted({s.rsplit(".", 1)[0] for s in read}),
        "columns_read": read,
        "outputs": outputs,
        "rows": rows if outcome == "allowed" else None,
        "duration_ms": 12.3,
        "policy_version": POLICY,
        "outcome": outcome,
        "reason": reason,
        "prev_hash": "0" * 64,
        "hash": digest,
    }


def masked_output(ev: Json, values: list[list[str]]) -> Json:
    """The display_data bundle a ``%%masked_sql`` cell leaves: HTML, text and lineage."""
    names = [out["name"] for out in ev["outputs"]]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in values
    )
    text = "\n".join(["  ".join(names), *("  ".join(row) for row in values)])
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "text/html": f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>",
            "text/plain": text,
            LINEAGE_MIME: ev,
        },
    }


def code(cell_id: str, source: str, outputs: list[Json], count: int | None) -> Json:
    return {
        "cell_type": "code",
        "id": cell_id,
        "metadata": {},
        "execution_count": count,
        "source": source,
        "outputs": outputs,
    }


def markdown(cell_id: str, source: str) -> Json:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": source}


def notebook(cells: list[Json]) -> Json:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": cells,
    }


C = "demo.main.customers"
ORDERS = "demo.main.orders"

CUSTOMERS = event(
    3,
    "c-customers",
    "SELECT name, email, country FROM customers LIMIT 3",
    [
        column(
            "name",
            [f"{C}.name"],
            "pii.person_name",
            "mask",
            "pseudonym",
            "default:pii.person_name",
            detected_by="policy",
        ),
        column(
            "email",
            [f"{C}.email"],
            "pii.email",
            "mask",
            "pseudonym",
            "default:pii.email",
            detected_by="name",
        ),
        column("country", [f"{C}.country"]),
    ],
    rows=3,
)

SPEND = event(
    4,
    "c-spend",
    "SELECT c.card_number, sum(o.amount) AS total FROM orders o "
    "JOIN customers c ON c.id = o.customer_id GROUP BY 1",
    [
        column(
            "card_number",
            [f"{C}.card_number"],
            "financial.credit_card",
            "mask",
            "partial",
            "analysts:financial.*",
            detected_by="content",
        ),
        column("total", [f"{ORDERS}.amount"], transform="aggregation"),
    ],
    actor="ai:jupyter-ai",
    tables=[C, ORDERS],
    rows=2,
)

REFUSAL = "DELETE is a write; only SELECT queries may run through %%masked_sql."
REFUSED = event(
    5,
    "c-refused",
    "DELETE FROM customers",
    [],
    tables=[C],
    outcome="refused",
    reason=REFUSAL,
)


def demo_notebook() -> Json:
    """Five cells: intro, load the magic, two masked queries (one by an AI tool), a refusal."""
    return notebook(
        [
            markdown("c-intro", "# Lineage demo\nEach `%%masked_sql` cell has lineage."),
            code("c-load", "%load_ext jupyter_masking", [], 1),
            code(
                "c-customers",
                "%%masked_sql demo\n-- who our customers are\n"
                "SELECT name, email, country FROM customers LIMIT 3",
                [
                    masked_output(
                        CUSTOMERS,
                        [
                            ["Mara Quint", "owen.v@example.net", "DE"],
                            ["Ilse Barr", "t.rook@example.org", "FR"],
                            ["Jon Pell", "kay.m@example.com", "DE"],
                        ],
                    )
                ],
                3,
            ),
            code(
                "c-spend",
                "%%masked_sql demo\nSELECT c.card_number, sum(o.amount) AS total\n"
                "FROM orders o JOIN customers c ON c.id = o.customer_id\nGROUP BY 1",
                [
                    masked_output(
                        SPEND, [["************4242", "120.50"], ["************1881", "75.00"]]
                    )
                ],
                4,
            ),
            code(
                "c-plain",
                "total = 1 + 1\nprint(total)",
                [{"output_type": "stream", "name": "stdout", "text": "2\n"}],
                2,
            ),
            code(
                "c-refused",
                "%%masked_sql demo\nDELETE FROM customers",
                [
                    {
                        "output_type": "error",
                        "ename": "Refused",
                        "evalue": REFUSAL,
                        "traceback": [f"Refused: {REFUSAL}"],
                    }
                ],
                5,
            ),
        ]
    )


def empty_notebook() -> Json:
    """A notebook with code and outputs but no masked query."""
    return notebook(
        [
            markdown("e-intro", "# Nothing masked here"),
            code(
                "e-code",
                'print("hello")',
                [{"output_type": "stream", "name": "stdout", "text": "hello\n"}],
                1,
            ),
        ]
    )


def big_notebook(cells: int) -> Json:
    """``cells`` masked-query cells, each with its own lineage bundle: the panel's worst case."""
    out = []
    for i in range(cells):
        cell_id = f"big-{i:04d}"
        ev = copy.deepcopy(CUSTOMERS)
        ev.update(
            {
                "id": f"big-ev-{i:04d}",
                "seq": 1000 + i,
                "cell_id": cell_id,
                "execution_count": i + 1,
                "notebook": "big.ipynb",
            }
        )
        out.append(
            code(
                cell_id,
                f"%%masked_sql demo\nSELECT name, email, country FROM customers -- {i}",
                [masked_output(ev, [["Mara Quint", "owen.v@example.net", "DE"]])],
                i + 1,
            )
        )
    return notebook(out)


def write(path: Path, nb: Json) -> None:
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write(FIXTURES / DEMO, demo_notebook())
    write(FIXTURES / EMPTY, empty_notebook())
