"""Properties of the decision semantics over random policies (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_masking.identity import Identity
from jupyter_masking.policy import LoadedPolicy, PolicyEngine, parse_effect
from jupyter_masking.policy.model import Policy

CLASSES = ["pii.email", "gov_id.us_ssn", "secret.jwt", "pii.*", "*"]
GRANT_EFFECTS = ["raw", "partial(keep_last=4)", "pseudonym", "hash", "redact", "null"]
RESTRICT_EFFECTS = ["partial(keep_last=2)", "pseudonym", "redact", "null", "deny"]
DECIDED = ["pii.email", "gov_id.us_ssn", "secret.jwt", "pii.phone"]

whens = st.fixed_dictionaries(
    {},
    optional={
        "groups": st.lists(st.sampled_from(["a", "b", "c*"]), min_size=1, max_size=2),
        "actor": st.sampled_from(["human", "ai:*", "ai:mcp"]),
        "users": st.lists(st.sampled_from(["u1", "u*"]), min_size=1, max_size=1),
    },
)


def rules(kind: str, effects: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "kind": st.just(kind),
            "when": whens,
            "classes": st.lists(st.sampled_from(CLASSES), min_size=1, max_size=2),
            "effect": st.sampled_from(effects),
        }
    )


policies = st.tuples(
    st.lists(rules("grant", GRANT_EFFECTS), max_size=4),
    st.lists(rules("restrict", RESTRICT_EFFECTS), max_size=3),
)
identities = st.builds(
    Identity,
    user=st.sampled_from(["u1", "u2", "x"]),
    groups=st.lists(st.sampled_from(["a", "b", "cc", "d"]), max_size=2).map(tuple),
    actor=st.sampled_from(["human", "ai:mcp:claude", "ai:jupyter-ai"]),
)


def engine(grants: list[dict[str, Any]], restricts: list[dict[str, Any]]) -> PolicyEngine:
    listed = [{**rule, "id": f"r{i}"} for i, rule in enumerate(grants + restricts)]
    policy = Policy.model_validate({"version": 1, "rules": listed})
    return PolicyEngine(LoadedPolicy(policy, "p", "p@0", (), ()))


@settings(max_examples=150, deadline=None)
@given(policies, rules("restrict", RESTRICT_EFFECTS), identities)
def test_adding_a_restrict_never_loosens_a_decision(
    policy: tuple[list[dict[str, Any]], list[dict[str, Any]]],
    extra: dict[str, Any],
    identity: Identity,
) -> None:
    grants, restricts = policy
    before, after = engine(grants, restricts), engine(grants, [*restricts, extra])
    for name in DECIDED:
        old, new = before.decide(identity, name), after.decide(identity, name)
        assert _rank(new.label) <= _rank(old.label)


@settings(max_examples=150, deadline=None)
@given(policies, identities)
def test_raw_needs_a_matching_raw_grant_and_deny_a_matching_deny(
    policy: tuple[list[dict[str, Any]], list[dict[str, Any]]], identity: Identity
) -> None:
    grants, restricts = policy
    compiled = engine(grants, restricts)
    for name in DECIDED:
        decision = compiled.decide(identity, name)
        rule = next((r for r in compiled.rules if r.id == decision.rule_id), None)
        if decision.effect == "raw":
            assert rule is not None
            assert (rule.kind, str(rule.effect)) == ("grant", "raw")
            assert rule.matches(identity)
            assert rule.covers(name)
        if decision.effect == "deny":
            assert rule is not None
            assert rule.kind == "restrict"
        denies = [
            r
            for r in compiled.rules
            if r.kind == "restrict" and str(r.effect) == "deny" and r.covers(name)
        ]
        if any(r.matches(identity) for r in denies):
            assert decision.effect == "deny"


def _rank(label: str) -> int:
    return parse_effect(label.removeprefix("mask:")).rank
