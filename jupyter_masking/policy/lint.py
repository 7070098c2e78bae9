"""``policy lint``: every load error, plus warnings about rules that can never change a decision.

Errors (the policy does not load): YAML and schema mistakes, unknown operators and
classes, globs that match nothing, patterns that can never match, duplicates.
Warnings (it loads, but probably not as meant):

- a grant shadowed by a restrict that matches everyone it matches and caps it lower;
- a grant that never widens the class default, or that another grant always beats;
- a restrict that never tightens anything, or that another restrict always beats;
- ``unclassified: raw`` (untagged columns skip content detection), or a glob of
  classes with a raw default.

Coverage between ``when`` clauses is checked conservatively: a warning is only
given when one rule provably matches everyone the other matches.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path

from jupyter_masking import classes
from jupyter_masking.policy.decide import CompiledRule
from jupyter_masking.policy.engine import PolicyEngine
from jupyter_masking.policy.load import read_policy
from jupyter_masking.policy.model import Rule, When, has_glob
from jupyter_masking.policy.problems import Problem


def lint(path: str | Path) -> tuple[PolicyEngine | None, list[Problem]]:
    """Load ``path`` and return the engine (``None`` on errors) and every problem found."""
    loaded, problems = read_policy(path)
    if loaded is None:
        return None, problems
    engine = PolicyEngine(loaded)
    return engine, warnings(engine)


def warnings(engine: PolicyEngine) -> list[Problem]:
    """Warnings about a policy that loaded."""
    loaded = engine.loaded
    found: list[Problem] = []
    if loaded.policy.unclassified == "raw" and "unclassified" in loaded.keys:
        message = "untagged columns are returned raw without content detection; prefer 'scan'"
        found.append(loaded.keys["unclassified"].problem(message, "warning"))
    for key, entry in loaded.policy.classes.items():
        if has_glob(key) and entry.default == "raw":
            message = (
                f"every class matching {key!r} without its own entry is raw by default; "
                "name the classes you mean"
            )
            found.append(loaded.classes[key].problem(message, "warning"))
    rules = loaded.policy.rules
    for index, rule in enumerate(rules):
        warning = _rule_warning(engine, index, rule)
        if warning:
            found.append(loaded.rules[index].problem(warning, "warning"))
    return found


def _rule_warning(engine: PolicyEngine, index: int, rule: Rule) -> str | None:
    rules = engine.loaded.policy.rules
    compiled = engine.rules
    mine = compiled[index]
    names = expand(rule.classes)
    for other_index, other in enumerate(rules):
        if other_index == index or not covers(other, rule):
            continue
        theirs = compiled[other_index]
        where = engine.loaded.rules[other_index]
        if (
            rule.kind == "grant"
            and other.kind == "restrict"
            and theirs.effect.rank < mine.effect.rank
        ):
            return (
                f"grant {rule.id!r} is shadowed by restrict {other.id!r} ({where}), which matches "
                f"everyone it matches: it never gives more than {theirs.effect}"
            )
        if rule.kind == other.kind:
            sign = 1 if rule.kind == "grant" else -1
            beats = sign * (theirs.effect.rank - mine.effect.rank)
            if beats > 0 or (beats == 0 and other_index < index):
                return (
                    f"{rule.kind} {rule.id!r} never decides: {other.kind} {other.id!r} ({where}) "
                    "always wins over it"
                )
    defaults = {name: engine.default_for(name)[0].rank for name in names}
    if rule.kind == "grant" and all(mine.effect.rank <= rank for rank in defaults.values()):
        return (
            f"grant {rule.id!r} never widens access: {mine.effect} is no more than the class "
            "default of any class it names (use kind: restrict to tighten)"
        )
    if rule.kind == "restrict":
        highest = {
            name: max([defaults[name], *(g.effect.rank for g in engine_grants(engine, name))])
            for name in names
        }
        if all(mine.effect.rank > rank for rank in highest.values()):
            return (
                f"restrict {rule.id!r} never tightens anything: {mine.effect} is more permissive "
                "than every decision it could cap"
            )
    return None


def engine_grants(engine: PolicyEngine, data_class: str) -> list[CompiledRule]:
    """The compiled grants that name ``data_class``."""
    return [r for r in engine.rules if r.kind == "grant" and r.covers(data_class)]


def expand(patterns: tuple[str, ...]) -> set[str]:
    """The known classes a list of class names and globs covers."""
    return {name for pattern in patterns for name in classes.matching(pattern)}


def covers(outer: Rule, inner: Rule) -> bool:
    """Whether ``outer`` provably applies wherever ``inner`` does (classes and ``when``)."""
    return expand(inner.classes) <= expand(outer.classes) and when_covers(outer.when, inner.when)


def when_covers(outer: When, inner: When) -> bool:
    """Whether every identity ``inner`` matches is matched by ``outer`` (conservative)."""
    return (
        _dimension(outer.users, inner.users, everyone_star=True, actor=False)
        and _dimension(outer.groups, inner.groups, everyone_star=False, actor=False)
        and _dimension(outer.actor, inner.actor, everyone_star=True, actor=True)
    )


def _dimension(
    outer: tuple[str, ...] | None,
    inner: tuple[str, ...] | None,
    *,
    everyone_star: bool,
    actor: bool,
) -> bool:
    if outer is None:
        return True
    if inner is None:
        # A missing condition matches everyone; only "*" covers that (and not for groups,
        # since "*" there needs at least one group).
        return everyone_star and "*" in outer
    return all(any(_pattern_covers(o, i, actor) for o in outer) for i in inner)


def _pattern_covers(outer: str, inner: str, actor: bool) -> bool:
    if outer in ("*", inner):
        return True
    if not has_glob(inner):
        return fnmatchcase(inner, outer) or (actor and fnmatchcase(inner, outer + ":*"))
    stem = outer[:-1]
    return outer.endswith("*") and not has_glob(stem) and inner.startswith(stem)
