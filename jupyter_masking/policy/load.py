"""Read a policy file or directory: YAML -> validated model, all or nothing, with file:line errors.

A directory policy is every ``*.yaml``/``*.yml`` file in it (not recursive, in name
order), merged: rules are concatenated, ``classes`` and ``columns`` entries are
united, and anything defined twice is an error rather than a silent override.

The version is ``<name>@<12 hex of the content hash>``, plus ``+git:<sha7>`` when
the files sit in a git work tree, so every audit event names the exact policy.
"""

from __future__ import annotations

import hashlib
import subprocess
import typing
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from jupyter_masking import classes
from jupyter_masking.errors import PolicyError
from jupyter_masking.policy.effect import parse_effect
from jupyter_masking.policy.model import Policy, has_glob
from jupyter_masking.policy.problems import Problem, Severity, from_error, validation_problems
from jupyter_masking.policy.yamlpos import Lines, line_of, parse_yaml, render_path
from jupyter_masking.policy.yamlpos import Path as YamlPath

SUFFIXES = (".yaml", ".yml")
_SINGLE_KEYS = ("name", "description", "unclassified", "reviewers")


@dataclass(frozen=True)
class Where:
    """Where something is written: file, line and field path (``rules[2]``)."""

    source: str
    line: int | None
    path: YamlPath
    lines: Lines = field(default_factory=dict, repr=False, compare=False)

    @property
    def field(self) -> str:
        """The rendered field path, e.g. ``rules[2]``."""
        return render_path(self.path)

    def __str__(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source

    def problem(self, message: str, severity: Severity = "error", *sub: str | int) -> Problem:
        """A problem located here, or at a sub-field such as ``"effect"``."""
        path = (*self.path, *sub)
        line = line_of(self.lines, path) or self.line
        return Problem(self.source, line, render_path(path), message, severity)


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy with where each part came from.

    Attributes:
        policy: The merged model.
        name: The policy name (``name:`` or the file or directory name).
        version: ``<name>@<hash12>`` plus ``+git:<sha7>`` inside a git work tree.
        files: The files read, in merge order.
        rules: Where each rule of ``policy.rules`` is written, in the same order.
        classes: Where each ``classes`` key is written.
        columns: Where each ``columns`` key is written.
        keys: Where each top-level key set once (``unclassified``, ``reviewers``, ...) is written.
    """

    policy: Policy
    name: str
    version: str
    files: tuple[Path, ...]
    rules: tuple[Where, ...]
    classes: dict[str, Where] = field(default_factory=dict)
    columns: dict[str, Where] = field(default_factory=dict)
    keys: dict[str, Where] = field(default_factory=dict)


@dataclass
class _File:
    source: str
    policy: Policy
    lines: Lines


def load_policy(path: str | Path, *, git: bool = True) -> LoadedPolicy:
    """Load a policy file or directory, or raise :class:`PolicyError` for its first problem.

    >>> load_policy("/nonexistent/p.yaml")
    Traceback (most recent call last):
    ...
    jupyter_masking.errors.PolicyError: bad policy: /nonexistent/p.yaml: no such file or directory
    """
    loaded, problems = read_policy(path, git=git)
    errors = [p for p in problems if p.severity == "error"]
    if errors or loaded is None:
        raise errors[0].to_error()
    return loaded


def read_policy(path: str | Path, *, git: bool = True) -> tuple[LoadedPolicy | None, list[Problem]]:
    """Read and validate; return the policy (``None`` on any error) and every problem found.

    Args:
        path: A policy file or a directory of them.
        git: Whether to add ``+git:<sha7>`` to the version inside a git work tree.
    """
    root = Path(path)
    files, problems = _policy_files(root)
    parsed: list[_File] = []
    for file in files:
        one, found = _read_file(file)
        problems += found
        if one is not None:
            parsed.append(one)
    if problems:
        return None, problems
    merge = _merge(parsed)
    policy = merge.policy()
    problems = merge.problems + _check(policy, merge.where_rules, merge.where_classes)
    if problems:
        return None, problems
    name = policy.name or (root.stem if root.is_file() else root.resolve().name)
    loaded = LoadedPolicy(
        policy=policy,
        name=name,
        version=policy_version(name, files, git=git),
        files=tuple(files),
        rules=tuple(merge.where_rules),
        classes=merge.where_classes,
        columns=merge.where_columns,
        keys=merge.where_keys,
    )
    return loaded, []


def policy_version(name: str, files: list[Path] | tuple[Path, ...], git: bool = True) -> str:
    """``<name>@<12 hex>`` over the files' names and bytes, plus ``+git:<sha7>`` in a work tree."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    version = f"{name}@{digest.hexdigest()[:12]}"
    commit = _git_commit(files[0].parent) if git and files else None
    return f"{version}+git:{commit}" if commit else version


def _git_commit(directory: Path) -> str | None:
    try:
        result = subprocess.run(  # noqa: S603
            ["git", "-C", str(directory), "rev-parse", "--short=7", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit.isalnum() else None


def _policy_files(root: Path) -> tuple[list[Path], list[Problem]]:
    if root.is_dir():
        files = sorted(
            p for p in root.iterdir() if p.suffix in SUFFIXES and p.is_file() and p.name[0] != "."
        )
        if not files:
            return [], [Problem(str(root), None, None, "no *.yaml or *.yml files in directory")]
        return files, []
    if not root.exists():
        return [], [Problem(str(root), None, None, "no such file or directory")]
    return [root], []


def _read_file(file: Path) -> tuple[_File | None, list[Problem]]:
    source = str(file)
    try:
        data, lines = parse_yaml(file.read_text(encoding="utf-8"), source)
    except UnicodeDecodeError:
        return None, [Problem(source, None, None, "not UTF-8 text")]
    except OSError as error:
        return None, [Problem(source, None, None, f"cannot read: {error.strerror}")]
    except PolicyError as error:
        return None, [from_error(error)]
    if not isinstance(data, dict):
        what = "empty" if data is None else "not a mapping"
        message = f"the file is {what}; a policy is a mapping starting with 'version: 1'"
        return None, [Problem(source, 1, None, message)]
    try:
        return _File(source, Policy.model_validate(data), lines), []
    except ValidationError as error:
        return None, validation_problems(error, Policy, lines, source)


def _where(file: _File, *path: str | int) -> Where:
    return Where(file.source, file.lines.get(path), path, file.lines)


@dataclass
class _Merged:
    """A merge in progress: the united sections and where each entry came from."""

    fields: dict[str, typing.Any] = field(default_factory=dict)
    classes: dict[str, typing.Any] = field(default_factory=dict)
    columns: dict[str, typing.Any] = field(default_factory=dict)
    rules: list[typing.Any] = field(default_factory=list)
    where_rules: list[Where] = field(default_factory=list)
    where_classes: dict[str, Where] = field(default_factory=dict)
    where_columns: dict[str, Where] = field(default_factory=dict)
    where_keys: dict[str, Where] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def policy(self) -> Policy:
        return Policy.model_construct(
            **self.fields, classes=self.classes, columns=self.columns, rules=tuple(self.rules)
        )


def _merge(files: list[_File]) -> _Merged:
    merged = _Merged(fields={"version": files[0].policy.version})
    for file in files:
        policy = file.policy
        for key in _SINGLE_KEYS:
            if key in policy.model_fields_set:
                here = _where(file, key)
                if key in merged.where_keys:
                    merged.problems.append(here.problem(f"also set in {merged.where_keys[key]}"))
                merged.where_keys[key] = here
                merged.fields[key] = getattr(policy, key)
        sections = (
            ("classes", merged.classes, merged.where_classes),
            ("columns", merged.columns, merged.where_columns),
        )
        for section, target, where in sections:
            for key, value in getattr(policy, section).items():
                here = _where(file, section, key)
                if key in where:
                    merged.problems.append(here.problem(f"also defined in {where[key]}"))
                where[key] = here
                target[key] = value
        for index, rule in enumerate(policy.rules):
            merged.rules.append(rule)
            merged.where_rules.append(_where(file, "rules", index))
    return merged


def _check(policy: Policy, rules: list[Where], where_classes: dict[str, Where]) -> list[Problem]:
    """Checks across fields: rule ids, effects that contradict a rule's kind, default conflicts."""
    problems: list[Problem] = []
    first_id: dict[str, Where] = {}
    for rule, where in zip(policy.rules, rules, strict=True):
        if rule.id in first_id:
            message = f"duplicate rule id {rule.id!r} (first at {first_id[rule.id]})"
            problems.append(where.problem(message, "error", "id"))
        first_id.setdefault(rule.id, where)
        kind = parse_effect(rule.effect).kind
        if rule.kind == "grant" and kind == "deny":
            problems.append(
                where.problem("a grant cannot deny; use kind: restrict", "error", "effect")
            )
        if rule.kind == "restrict" and kind == "raw":
            message = "a restrict cannot be raw: it only tightens (use kind: grant)"
            problems.append(where.problem(message, "error", "effect"))
    problems += _default_conflicts(policy, where_classes)
    return problems


def _default_conflicts(policy: Policy, where_classes: dict[str, Where]) -> list[Problem]:
    reported: set[tuple[str, str]] = set()
    problems = []
    for name in classes.ALL:
        best = best_class_keys(name, list(policy.classes))
        for key in best[1:]:
            first = best[0]
            if policy.classes[key].default == policy.classes[first].default:
                continue
            if (first, key) not in reported:
                reported.add((first, key))
                message = (
                    f"conflicts with {render_path(('classes', first))} ({where_classes[first]}) "
                    f"for {name}: equally specific patterns with different defaults"
                )
                problems.append(where_classes[key].problem(message))
    return problems


def best_class_keys(name: str, keys: list[str]) -> list[str]:
    """The ``classes`` keys that match ``name`` most specifically (exact beats any glob).

    >>> best_class_keys("pii.email", ["*", "pii.*", "pii.email"])
    ['pii.email']
    >>> best_class_keys("pii.phone", ["*", "pii.*", "pii.email"])
    ['pii.*']
    """
    from fnmatch import fnmatchcase

    matches = [k for k in keys if k == name or (has_glob(k) and fnmatchcase(name, k))]
    if not matches:
        return []
    score = {k: _specificity(k) for k in matches}
    top = max(score.values())
    return [k for k in matches if score[k] == top]


def _specificity(pattern: str) -> tuple[int, int]:
    literal = sum(1 for char in pattern if char not in "*?[]!")
    return (0 if has_glob(pattern) else 1, literal)
