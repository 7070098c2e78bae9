"""``policy explain``: the decision matrix (class -> effect, rule) for one identity.

>>> from jupyter_masking.identity import Identity
>>> rows = matrix(PolicyEngine.builtin(), Identity("alice"), "secret.j*")
>>> [(d.data_class, d.label, d.rule_id) for d in rows]
[('secret.jwt', 'mask:redact', 'builtin:secret.jwt')]
"""

from __future__ import annotations

from jupyter_masking import classes
from jupyter_masking.identity import Identity
from jupyter_masking.policy.decide import Decision
from jupyter_masking.policy.engine import PolicyEngine


def matrix(engine: PolicyEngine, identity: Identity, pattern: str = "*") -> list[Decision]:
    """The decision for every known class matching ``pattern``, in class order."""
    return [engine.decide(identity, name) for name in classes.matching(pattern)]


def render_table(engine: PolicyEngine, identity: Identity, decisions: list[Decision]) -> str:
    """A plain-text table with a header naming the policy and identity."""
    header = [
        f"policy {engine.version}",
        f"identity {identity.describe()}; actor {identity.actor}",
        f"untagged columns: {engine.unclassified}; reviewer: "
        + ("yes" if engine.is_reviewer(identity) else "no"),
        "",
    ]
    rows = [("CLASS", "EFFECT", "OPERATOR", "RULE")]
    rows += [
        (d.data_class, d.effect, str(d.operator) if d.operator else "-", d.rule_id)
        for d in decisions
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    ]
    return "\n".join(header + lines)


def to_json(
    engine: PolicyEngine, identity: Identity, decisions: list[Decision]
) -> dict[str, object]:
    """The matrix as a JSON-ready mapping."""
    return {
        "policy": engine.version,
        "identity": {
            "user": identity.user,
            "groups": list(identity.groups),
            "actor": identity.actor,
        },
        "unclassified": engine.unclassified,
        "reviewer": engine.is_reviewer(identity),
        "decisions": [d.to_dict() for d in decisions],
    }
