"""The policy file format, as pydantic models: this is the contract policy authors write.

Field validators check everything that can be checked on one value (operator
names and parameters, data-class names, glob syntax, actor patterns), so errors
point at the exact field; ``load`` adds the checks that span fields and files.

>>> policy = Policy.model_validate({
...     "version": 1,
...     "classes": {"pii.email": "pseudonym"},
...     "rules": [{"id": "r1", "kind": "grant", "classes": ["pii.*"], "effect": "raw",
...                "when": {"groups": ["support"], "actor": "human"}}],
... })
>>> policy.classes["pii.email"].default, policy.rules[0].when.actor
('pseudonym', ('human',))
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, field_validator

from jupyter_masking import classes
from jupyter_masking.mask.spec import did_you_mean
from jupyter_masking.policy.effect import parse_effect

POLICY_FORMAT = 1
GLOB_CHARS = frozenset("*?[")

_NAME_GLOB = re.compile(r"^[A-Za-z0-9_.@+\-*?\[\]!]{1,128}$")
_ACTOR_GLOB = re.compile(r"^(human|\*|ai:[A-Za-z0-9_.@+:\-*?\[\]!]{0,120})$")
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
_COLUMN_PART = re.compile(r'^(?:"[^"]+"|[A-Za-z0-9_$\-*?\[\]!]+)$')


def has_glob(text: str) -> bool:
    """Whether ``text`` contains a glob character (``*``, ``?`` or ``[``)."""
    return any(char in GLOB_CHARS for char in text)


def _class_pattern(text: str) -> str:
    if classes.is_known(text):
        return text
    if has_glob(text):
        if classes.matching(text):
            return text
        raise ValueError(f"class pattern {text!r} matches no known data class")
    raise ValueError(f"unknown data class {text!r}{did_you_mean(text, classes.ALL)}")


def _class_name(text: str) -> str:
    if has_glob(text):
        raise ValueError(f"a column is tagged with one data class, not a pattern ({text!r})")
    return _class_pattern(text)


def _effect(text: str) -> str:
    return str(parse_effect(text))


def _name_glob(text: str) -> str:
    if not _NAME_GLOB.match(text):
        raise ValueError(
            f"{text[:40]!r} never matches: names use letters, digits and _ . @ + - "
            "(with * ? [] globs)"
        )
    return text


def _actor_glob(text: str) -> str:
    if not _ACTOR_GLOB.match(text):
        raise ValueError(
            f"actor {text[:40]!r} never matches: actors are 'human' or 'ai:<tool>' "
            "(globs allowed, e.g. 'ai:*')"
        )
    return text


def _rule_id(text: str) -> str:
    if not _RULE_ID.match(text):
        raise ValueError(
            f"rule id {text[:40]!r} must start with a letter or digit and use only "
            "letters, digits, '_', '.' and '-'"
        )
    return text


def split_column_pattern(text: str) -> list[str]:
    """Split a dotted column path or pattern into parts; double-quoted parts may hold dots.

    >>> split_column_pattern('demo.main."odd.name".email')
    ['demo', 'main', '"odd.name"', 'email']
    """
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _column_pattern(text: str) -> str:
    parts = split_column_pattern(text)
    if len(parts) not in (3, 4):
        raise ValueError(
            f"column pattern {text[:80]!r} has {len(parts)} parts; write "
            "[catalog.]schema.table.column (3 or 4 dotted parts)"
        )
    for part in parts:
        if not _COLUMN_PART.match(part):
            raise ValueError(
                f"column pattern {text[:80]!r}: part {part[:40]!r} is not a name or glob; "
                'double-quote names with other characters ("odd name")'
            )
    return text


def _non_empty(values: tuple[str, ...]) -> tuple[str, ...]:
    if not values:
        raise ValueError("an empty list never matches; remove the key to match everyone")
    return values


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _shorthand_default(value: object) -> object:
    if isinstance(value, str):
        return {"default": value}
    if not isinstance(value, dict):
        raise ValueError("expected an effect such as pseudonym, or {default: <effect>}")
    return value


def _non_empty_classes(values: tuple[str, ...]) -> tuple[str, ...]:
    if not values:
        raise ValueError("must not be empty: name the data classes (or globs) the rule covers")
    return values


ClassPattern = Annotated[str, AfterValidator(_class_pattern)]
ClassName = Annotated[str, AfterValidator(_class_name)]
EffectText = Annotated[str, AfterValidator(_effect)]
NameGlob = Annotated[str, AfterValidator(_name_glob)]
ActorGlob = Annotated[str, AfterValidator(_actor_glob)]
ColumnPattern = Annotated[str, AfterValidator(_column_pattern)]
NameGlobs = Annotated[tuple[NameGlob, ...], BeforeValidator(_as_list), AfterValidator(_non_empty)]
ActorGlobs = Annotated[tuple[ActorGlob, ...], BeforeValidator(_as_list), AfterValidator(_non_empty)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class When(_Strict):
    """Who a rule applies to; every given key must match, and any item of a list may match.

    ``actor: ai:mcp`` also matches ``ai:mcp:claude-desktop`` (a prefix up to ``:``).
    """

    users: NameGlobs | None = None
    groups: NameGlobs | None = None
    actor: ActorGlobs | None = None


class ClassDefault(_Strict):
    """The effect for a class when no grant applies: ``{default: pseudonym}`` or ``pseudonym``."""

    default: EffectText
    description: str | None = None


class Rule(_Strict):
    """A grant (widens the class default) or a restrict (caps whatever the result is)."""

    id: Annotated[str, AfterValidator(_rule_id)]
    kind: Literal["grant", "restrict"]
    when: When = When()
    classes: Annotated[tuple[ClassPattern, ...], AfterValidator(_non_empty_classes)]
    effect: EffectText
    description: str | None = None


class Reviewers(_Strict):
    """Who may review other users' audit events and lineage; AI actors only if ``actor`` says so."""

    users: NameGlobs | None = None
    groups: NameGlobs | None = None
    actor: ActorGlobs = ("human",)


class Policy(_Strict):
    """One policy file (or the merge of a policy directory)."""

    version: int
    name: Annotated[str, AfterValidator(_rule_id)] | None = None
    description: str | None = None
    classes: dict[ClassPattern, Annotated[ClassDefault, BeforeValidator(_shorthand_default)]] = {}
    columns: dict[ColumnPattern, ClassName] = {}
    unclassified: Literal["scan", "raw"] = "scan"
    rules: tuple[Rule, ...] = ()
    reviewers: Reviewers | None = None

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != POLICY_FORMAT:
            raise ValueError(
                f"unsupported policy version {value}; this release reads version {POLICY_FORMAT}"
            )
        return value
