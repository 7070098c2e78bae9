"""``policy diff``: which identities and classes change decision between two policies.

Identities are open-ended, so the diff samples them: every user, group and actor
pattern either policy mentions (globs turned into a matching name), plus someone
matching none, with no group, each group, and each pair of groups; for each of
them every known data class is decided under both policies.

>>> sample_name("ai:mcp:*")
'ai:mcp:x'
>>> sample_name("team-[ab]?")
'team-ax'
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from jupyter_masking import classes
from jupyter_masking.errors import BadInput
from jupyter_masking.identity import Identity
from jupyter_masking.policy.decide import Decision
from jupyter_masking.policy.engine import PolicyEngine
from jupyter_masking.policy.model import Reviewers, When

ANYONE = "someone"
ANY_AI = "ai:assistant"
MAX_PAIR_GROUPS = 12


@dataclass(frozen=True)
class Change:
    """One (identity, class) whose decision differs."""

    identity: Identity
    data_class: str
    before: Decision
    after: Decision


@dataclass
class PolicyDiff:
    """What differs between two policies."""

    old_version: str
    new_version: str
    identities: int = 0
    changes: list[Change] = field(default_factory=list)
    columns: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    settings: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Whether nothing differs."""
        return not (self.changes or self.columns or self.settings)


def sample_name(pattern: str) -> str:
    """A concrete name the glob ``pattern`` matches (``*``/``?`` -> ``x``, a set -> its first)."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        end = pattern.find("]", i + 2) if char == "[" else -1
        if char in "*?":
            out.append("x")
        elif end > 0:
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                out.append(next(c for c in "xyz0" if c not in body))
            else:
                out.append(body[0])
            i = end
        else:
            out.append(char)
        i += 1
    name = "".join(out)
    return name if fnmatchcase(name, pattern) else pattern.replace("*", "x")


def sample_identities(*engines: PolicyEngine) -> list[Identity]:
    """Identities that exercise every pattern the policies mention."""
    users, actors = {ANYONE}, {"human", ANY_AI}
    groups: set[str] = set()
    for engine in engines:
        policy = engine.loaded.policy
        whens: list[When | Reviewers] = [r.when for r in policy.rules]
        if policy.reviewers:
            whens.append(policy.reviewers)
        for when in whens:
            users.update(sample_name(p) for p in when.users or ())
            groups.update(sample_name(p) for p in when.groups or ())
            actors.update(sample_name(p) for p in when.actor or ())
    ordered = sorted(groups)
    sets: list[tuple[str, ...]] = [(), *((g,) for g in ordered)]
    if len(ordered) <= MAX_PAIR_GROUPS:
        sets += list(itertools.combinations(ordered, 2))
    found = []
    for user, group_set, actor in itertools.product(sorted(users), sets, sorted(actors)):
        try:
            found.append(Identity(user, group_set, actor))
        except BadInput:
            continue
    return found


def diff(old: PolicyEngine, new: PolicyEngine, *, rules: bool = False) -> PolicyDiff:
    """Compare decisions, column tags and settings; with ``rules``, also rule-only changes."""
    result = PolicyDiff(old.version, new.version)
    people = sample_identities(old, new)
    result.identities = len(people)
    for identity in people:
        for name in classes.ALL:
            before, after = old.decide(identity, name), new.decide(identity, name)
            if before.label != after.label or (rules and before.rule_id != after.rule_id):
                result.changes.append(Change(identity, name, before, after))
        if old.is_reviewer(identity) != new.is_reviewer(identity):
            result.settings.append(
                (
                    f"reviewer {identity.describe()}",
                    _yes(old.is_reviewer(identity)),
                    _yes(new.is_reviewer(identity)),
                )
            )
    old_cols, new_cols = old.loaded.policy.columns, new.loaded.policy.columns
    for key in sorted(set(old_cols) | set(new_cols)):
        if old_cols.get(key) != new_cols.get(key):
            result.columns.append((key, old_cols.get(key), new_cols.get(key)))
    if old.unclassified != new.unclassified:
        result.settings.append(("unclassified", old.unclassified, new.unclassified))
    return result


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def render(result: PolicyDiff) -> str:
    """Plain text: settings, column tags, then changed decisions grouped by identity."""
    lines = [f"policy diff {result.old_version} -> {result.new_version}"]
    lines += [f"  {what}: {before} -> {after}" for what, before, after in result.settings]
    lines += [
        f"  column {key}: {before or 'untagged'} -> {after or 'untagged'}"
        for key, before, after in result.columns
    ]
    by_identity: dict[Identity, list[Change]] = {}
    for change in result.changes:
        by_identity.setdefault(change.identity, []).append(change)
    for identity, changes in by_identity.items():
        lines.append(f"{identity.describe()}:")
        lines += [
            f"  {c.data_class}: {c.before.label} by {c.before.rule_id} -> "
            f"{c.after.label} by {c.after.rule_id}"
            for c in changes
        ]
    lines.append(
        f"{len(result.changes)} decisions changed for {len(by_identity)} of "
        f"{result.identities} sampled identities; {len(result.columns)} column tags changed"
    )
    return "\n".join(lines)


def to_json(result: PolicyDiff) -> dict[str, object]:
    """The diff as a JSON-ready mapping."""
    return {
        "old": result.old_version,
        "new": result.new_version,
        "identities_sampled": result.identities,
        "settings": [{"what": w, "old": b, "new": a} for w, b, a in result.settings],
        "columns": [{"column": k, "old": b, "new": a} for k, b, a in result.columns],
        "changes": [
            {
                "identity": c.identity.to_dict(),
                "class": c.data_class,
                "old": c.before.to_dict(),
                "new": c.after.to_dict(),
            }
            for c in result.changes
        ],
    }
