"""Policy decision speed against the 50 µs budget (issue 3), on the demo policy and a big one.

Run: ``python benchmarks/bench_policy.py``. Prints, per policy, microseconds per call for
cached decisions, uncached decisions (every identity new), column-tag lookups, and a naive
reference that re-matches every rule with fnmatch on every call; ratios are against the
budget and against the naive reference. The research prototype measured 8–34 µs/decision.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path

from jupyter_masking import classes
from jupyter_masking.identity import Identity
from jupyter_masking.policy import PolicyEngine, parse_effect

BUDGET_US = 50.0
DEMO = Path(__file__).parents[1] / "jupyter_masking" / "demo" / "policy.yaml"


def big_policy(rules: int) -> str:
    lines = ["version: 1", "name: big", "columns:"]
    lines += [f"  db.s{i}.t{i}.c{i}: pii.email" for i in range(rules)]
    lines += ['  "*.*.*.email": pii.email', "rules:"]
    for i in range(rules):
        kind, effect = ("grant", "hash") if i % 2 else ("restrict", "redact")
        glob = f", 'ops-{i}-*'" if i % 10 == 0 else ""  # one rule in ten uses a group glob
        lines += [
            f"  - id: r{i}",
            f"    kind: {kind}",
            f"    when: {{groups: [team-{i}{glob}], actor: human}}",
            f"    classes: ['{classes.ALL[i % len(classes.ALL)]}', 'secret.*']",
            f"    effect: {effect}",
        ]
    return "\n".join(lines) + "\n"


def per_call_us(function: Callable[[int], object], calls: int) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for i in range(calls):
            function(i)
        best = min(best, time.perf_counter() - start)
    return best / calls * 1e6


def naive(engine: PolicyEngine) -> Callable[[Identity, str], str]:
    """Linear scan of the raw rules with fnmatch: what the compiled index saves."""
    rules = engine.loaded.policy.rules

    def matches(rule_when: object, identity: Identity) -> bool:
        when = rule_when
        users, groups, actor = when.users, when.groups, when.actor  # type: ignore[attr-defined]
        if users and not any(fnmatchcase(identity.user, p) for p in users):
            return False
        if groups and not any(fnmatchcase(g, p) for g in identity.groups for p in groups):
            return False
        return not actor or any(fnmatchcase(identity.actor, p) for p in actor)

    def decide(identity: Identity, data_class: str) -> str:
        effect = engine.default_for(data_class)[0]
        grants = [
            parse_effect(r.effect)
            for r in rules
            if r.kind == "grant"
            and any(fnmatchcase(data_class, p) for p in r.classes)
            and matches(r.when, identity)
        ]
        if grants:
            effect = max(grants, key=lambda e: e.rank)
        caps = [
            parse_effect(r.effect)
            for r in rules
            if r.kind == "restrict"
            and any(fnmatchcase(data_class, p) for p in r.classes)
            and matches(r.when, identity)
        ]
        if caps and min(c.rank for c in caps) <= effect.rank:
            effect = min(caps, key=lambda e: e.rank)
        return effect.label

    return decide


def bench(name: str, engine: PolicyEngine, groups: list[str]) -> None:
    people = [
        Identity(f"user{i}", (groups[i % len(groups)],), "human" if i % 3 else "ai:jupyter-ai")
        for i in range(2000)
    ]
    names = classes.ALL
    count = len(people)

    def cached(i: int) -> object:
        return engine.decide(people[i % 20], names[i % len(names)])

    def uncached(i: int) -> object:
        engine._cache.clear()  # measure the decision itself, not the cache
        return engine.decide(people[i % count], names[i % len(names)])

    reference = naive(engine)

    def naive_call(i: int) -> object:
        return reference(people[i % count], names[i % len(names)])

    def tag_cold(i: int) -> object:
        engine._tags.clear()
        return engine.tagged_class(f"db.s{i % 50}.t{i % 50}.email")

    def tag_warm(i: int) -> object:
        return engine.tagged_class(f"db.s{i % 50}.t{i % 50}.email")

    rows = [
        ("decide, cached", per_call_us(cached, 20000)),
        ("decide, uncached", per_call_us(uncached, 4000)),
        ("naive fnmatch reference", per_call_us(naive_call, 2000)),
        ("tagged_class, cold", per_call_us(tag_cold, 2000)),
        ("tagged_class, cached", per_call_us(tag_warm, 20000)),
    ]
    naive_us = rows[2][1]
    print(f"\n{name}: {len(engine.rules)} rules, {len(engine.loaded.policy.columns)} column tags")
    print(f"  {'operation':<26}{'µs/call':>10}{'x budget':>10}{'vs naive':>10}")
    for label, us in rows:
        print(f"  {label:<26}{us:>10.2f}{us / BUDGET_US:>10.3f}{naive_us / us:>9.1f}x")


def main() -> None:
    cpu = platform.processor() or platform.machine()
    print(f"machine: {cpu}, {os.cpu_count()} cores; Python {platform.python_version()}")
    print(f"budget: {BUDGET_US:.0f} µs per decision")
    start = time.perf_counter()
    demo = PolicyEngine.load(DEMO)
    load_ms = (time.perf_counter() - start) * 1e3
    bench(
        f"demo policy (load {load_ms:.1f} ms)",
        demo,
        ["analysts", "support", "fraud", "contractors"],
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.yaml"
        path.write_text(big_policy(200), encoding="utf-8")
        start = time.perf_counter()
        big = PolicyEngine.load(path)
        load_ms = (time.perf_counter() - start) * 1e3
        bench(f"200-rule policy (load {load_ms:.1f} ms)", big, [f"team-{i}" for i in range(200)])


if __name__ == "__main__":
    main()
