"""``jupyter-masking demo``: build the demo database and show the gateway at work."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from jupyter_masking.cli import Subparsers


@dataclass(frozen=True)
class Showcase:
    """One step of the tour: a title, who asks, and the SQL."""

    title: str
    user: str
    groups: tuple[str, ...]
    sql: str
    actor: str = "human"


SHOWCASES: tuple[Showcase, ...] = (
    Showcase(
        "1. An analyst reads customers: every sensitive column is masked in the database",
        "alice",
        ("analysts",),
        "SELECT id, full_name, email, phone, ssn, date_of_birth, city FROM customers "
        "ORDER BY id LIMIT 5",
    ),
    Showcase(
        "2. Joins on pseudonymised emails still work (same value, same pseudonym)",
        "alice",
        ("analysts",),
        "SELECT c.email, count(*) AS orders, sum(o.amount) AS total FROM customers AS c "
        "JOIN orders AS o ON o.customer_email = c.email GROUP BY c.email "
        "ORDER BY total DESC, c.email LIMIT 5",
    ),
    Showcase(
        "3. Free-text tickets: emails, phones, cards and keys masked inside the text",
        "alice",
        ("analysts",),
        "SELECT id, body FROM support_tickets ORDER BY id LIMIT 4",
    ),
    Showcase(
        "4. An untagged legacy table: columns named c1, c2, payload are classified by content",
        "alice",
        ("analysts",),
        "SELECT c1, c2, c3, payload FROM legacy_export LIMIT 4",
    ),
    Showcase(
        "5. The same contacts as a support agent: the policy grants raw email and phone",
        "sam",
        ("support",),
        "SELECT id, full_name, email, phone FROM customers ORDER BY id LIMIT 3",
    ),
    Showcase(
        "6. The same support agent through an AI tool: AI actors never see raw values",
        "sam",
        ("support",),
        "SELECT id, full_name, email, phone FROM customers ORDER BY id LIMIT 3",
        actor="ai:jupyter-ai",
    ),
    Showcase(
        "7. A write is refused before it reaches the database",
        "alice",
        ("analysts",),
        "DELETE FROM customers WHERE id = 1",
    ),
    Showcase(
        "8. A contractor asking for SSNs is refused by the policy",
        "carol",
        ("contractors",),
        "SELECT full_name, ssn FROM customers LIMIT 3",
    ),
)


def register(subparsers: Subparsers) -> None:
    """Add the ``demo`` command."""
    parser = subparsers.add_parser(
        "demo",
        help="build the demo database and run a tour of masked queries",
        description=(
            "Build (once, seeded) a DuckDB demo company database in the data directory, "
            "then run showcase queries as different users and print what was masked and why."
        ),
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="rebuild the demo database even if it exists"
    )
    parser.add_argument("--build-only", action="store_true", help="build it and run no queries")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the demo and run the showcases."""
    from jupyter_masking.config import GatewayConfig, with_demo
    from jupyter_masking.demo.build import build_demo
    from jupyter_masking.errors import MaskingError
    from jupyter_masking.gateway.api import QueryRequest
    from jupyter_masking.gateway.pipeline import Gateway
    from jupyter_masking.identity import Identity
    from jupyter_masking.render import render_text

    path = build_demo(force=args.rebuild)
    print(f"demo database: {path}")
    if args.build_only:
        return 0
    config = with_demo(GatewayConfig(policy=str(_demo_policy())), path)
    gateway = Gateway.from_config(config)
    try:
        for step in SHOWCASES:
            who = Identity(step.user, step.groups, step.actor)
            print(f"\n=== {step.title}\n--- as {who.describe()}: {step.sql}")
            try:
                print(render_text(gateway.query(QueryRequest(step.sql), who), max_rows=5))
            except MaskingError as error:
                print(f"jupyter-masking: {error}")
    finally:
        gateway.close()
    print(
        "\nEvery query above wrote a hash-chained audit event: "
        "try `jupyter-masking audit verify` and `jupyter-masking audit export --format jsonl`."
    )
    return 0


def _demo_policy() -> object:
    from importlib.resources import files

    return files("jupyter_masking.demo").joinpath("policy.yaml")
