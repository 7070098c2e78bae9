"""The decision, pure: (identity, data class) -> raw | mask:<operator> | deny, and why.

Semantics (Cedar-like, see ``effect.py`` for the permissiveness order):

1. Start from the class default (the policy's, else the built-in one).
2. The most permissive matching *grant* replaces it (ties: the first rule).
3. The most restrictive matching *restrict* caps the result: it applies when its
   effect is no more permissive than the result so far, and a restrict never
   loosens anything (ties: the first rule).
4. ``deny`` is the least permissive effect, so a matching deny always wins;
   grants cannot deny and restricts cannot be ``raw`` (checked at load).

>>> from jupyter_masking.identity import Identity
>>> from jupyter_masking.policy.model import Rule
>>> grant = compile_rule(Rule(id="g", kind="grant", classes=("pii.email",), effect="raw"))
>>> cap = compile_rule(Rule(id="r", kind="restrict", classes=("*",), effect="redact",
...                          when={"actor": "ai:*"}))
>>> default, rules = (parse_effect("pseudonym"), "default:pii.email"), ClassRules((grant, cap))
>>> effect, rule = decide_effect(default, rules, Identity("alice"))
>>> str(effect), rule
('raw', 'g')
>>> effect, rule = decide_effect(default, rules, Identity("alice", actor="ai:x"))
>>> str(effect), rule
('redact', 'r')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase, translate
from typing import Literal

from jupyter_masking import classes
from jupyter_masking.identity import Identity
from jupyter_masking.mask.spec import OperatorCall
from jupyter_masking.policy.effect import Effect, EffectKind, parse_effect
from jupyter_masking.policy.model import Rule, When, has_glob


@dataclass(frozen=True)
class Decision:
    """What happens to one data class for one identity, and why.

    Attributes:
        effect: ``raw``, ``mask`` or ``deny``.
        operator: The masking operator call when ``effect`` is ``mask``.
        rule_id: The deciding rule: a rule id, ``default:<class>`` or ``builtin:<class>``.
        reason: One sentence a user can read.
        data_class: The data class decided on.
    """

    effect: EffectKind
    operator: OperatorCall | None
    rule_id: str
    reason: str
    data_class: str = ""

    @property
    def label(self) -> str:
        """``raw``, ``deny`` or ``mask:<operator call>``."""
        return f"mask:{self.operator}" if self.operator else self.effect

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "class": self.data_class,
            "effect": self.effect,
            "operator": str(self.operator) if self.operator else None,
            "rule": self.rule_id,
            "reason": self.reason,
        }


def glob_regex(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One compiled regex for any of ``patterns`` (fnmatch globs, case-sensitive)."""
    parts = [translate(pattern) for pattern in patterns]
    return re.compile("|".join(parts)) if parts else None


@dataclass(frozen=True)
class Names:
    """Matches names against literal names (a set lookup) and globs (one regex).

    With ``colon_prefix``, ``ai:mcp`` also matches ``ai:mcp:claude-desktop``.

    >>> Names.of(["ai:mcp"], colon_prefix=True).match("ai:mcp:claude")
    True
    >>> Names.of(["support", "fraud-*"]).match_any(("analysts", "fraud-eu"))
    True
    """

    literals: frozenset[str]
    regex: re.Pattern[str] | None

    @classmethod
    def of(cls, patterns: Iterable[str], *, colon_prefix: bool = False) -> Names:
        """Compile ``patterns`` (names and globs)."""
        patterns = tuple(patterns)
        globs = [p for p in patterns if has_glob(p)]
        if colon_prefix:
            globs += [p + ":*" for p in patterns]
        return cls(frozenset(p for p in patterns if not has_glob(p)), glob_regex(globs))

    def match(self, name: str) -> bool:
        """Whether ``name`` is one of the names or matches a glob."""
        return name in self.literals or (self.regex is not None and bool(self.regex.match(name)))

    def match_any(self, names: tuple[str, ...]) -> bool:
        """Whether any of ``names`` matches."""
        if not self.literals.isdisjoint(names):
            return True
        regex = self.regex
        return regex is not None and any(regex.match(name) for name in names)


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready for matching: its effect parsed and its globs compiled."""

    id: str
    kind: Literal["grant", "restrict"]
    effect: Effect
    rank: int
    class_patterns: tuple[str, ...]
    users: Names | None
    groups: Names | None
    actor: Names | None

    def covers(self, data_class: str) -> bool:
        """Whether this rule names ``data_class`` (exactly or by a glob)."""
        return any(fnmatchcase(data_class, p) for p in self.class_patterns)

    def matches(self, identity: Identity) -> bool:
        """Whether the rule's ``when`` holds for ``identity``."""
        return when_matches(self.users, self.groups, self.actor, identity)


def when_matches(
    users: Names | None, groups: Names | None, actor: Names | None, identity: Identity
) -> bool:
    """All given conditions hold; a missing condition matches everyone."""
    if users is not None and not users.match(identity.user):
        return False
    if groups is not None and not groups.match_any(identity.groups):
        return False
    return actor is None or actor.match(identity.actor)


def compile_when(when: When) -> tuple[Names | None, Names | None, Names | None]:
    """The (users, groups, actor) matchers of a ``when`` (``None`` for a missing key)."""
    return (
        Names.of(when.users) if when.users is not None else None,
        Names.of(when.groups) if when.groups is not None else None,
        Names.of(when.actor, colon_prefix=True) if when.actor is not None else None,
    )


def compile_rule(rule: Rule) -> CompiledRule:
    """Parse the effect and compile the globs of a validated rule."""
    users, groups, actor = compile_when(rule.when)
    effect = parse_effect(rule.effect)
    return CompiledRule(rule.id, rule.kind, effect, effect.rank, rule.classes, users, groups, actor)


class _Ordered:
    """Rules in decision order (the first match decides), indexed by literal group names.

    Most rules name groups literally; looking those up by the identity's groups
    keeps a decision fast however many rules a policy has.
    """

    def __init__(self, rules: Iterable[CompiledRule]) -> None:
        self.open: list[tuple[int, CompiledRule]] = []
        self.by_group: dict[str, list[tuple[int, CompiledRule]]] = {}
        for position, rule in enumerate(rules):
            if rule.groups is not None and rule.groups.regex is None:
                for group in rule.groups.literals:
                    self.by_group.setdefault(group, []).append((position, rule))
            else:
                self.open.append((position, rule))

    def first_match(self, identity: Identity) -> CompiledRule | None:
        candidates = self.open
        if self.by_group and identity.groups:
            keyed = [item for g in identity.groups for item in self.by_group.get(g, ())]
            if keyed:
                candidates = sorted([*self.open, *keyed], key=_position)
        for _, rule in candidates:
            if rule.matches(identity):
                return rule
        return None


def _position(item: tuple[int, CompiledRule]) -> int:
    return item[0]


class ClassRules:
    """The grants and restricts that name one class, ready to decide.

    Grants are ordered most permissive first and restricts strictest first; the
    sort is stable, so among equals the rule written first wins.
    """

    def __init__(self, rules: Iterable[CompiledRule]) -> None:
        rules = tuple(rules)
        self.grants = _Ordered(sorted((r for r in rules if r.kind == "grant"), key=_descending))
        self.restricts = _Ordered(sorted((r for r in rules if r.kind == "restrict"), key=_rank))


def _descending(rule: CompiledRule) -> int:
    return -rule.rank


def _rank(rule: CompiledRule) -> int:
    return rule.rank


def decide_effect(
    default: tuple[Effect, str], rules: ClassRules, identity: Identity
) -> tuple[Effect, str]:
    """Apply the class's grants, then its restricts, to the class default."""
    effect, rule_id = default
    grant = rules.grants.first_match(identity)
    if grant is not None:
        effect, rule_id = grant.effect, grant.id
    cap = rules.restricts.first_match(identity)
    if cap is not None and cap.rank <= effect.rank:
        effect, rule_id = cap.effect, cap.id
    return effect, rule_id


def class_index(
    rules: Iterable[CompiledRule], names: Iterable[str] = classes.ALL
) -> dict[str, ClassRules]:
    """For each class, the rules that name it."""
    rules = tuple(rules)
    return {name: ClassRules(r for r in rules if r.covers(name)) for name in names}
