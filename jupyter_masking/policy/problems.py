"""Problems found in a policy, each with file, line and field, and pydantic errors turned into them.

Pydantic's messages are written for programmers ("Input should be a valid
string"); policy authors get ``rules[2].effect: expected a string, got a list``
instead, with a did-you-mean for misspelt field names.
"""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ValidationError

from jupyter_masking.errors import PolicyError
from jupyter_masking.mask.spec import did_you_mean
from jupyter_masking.policy.yamlpos import Lines, Path, line_of, render_path

Severity = Literal["error", "warning"]

_YAML_TYPES: dict[type, str] = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "an empty value",
}
_EXPECTED: dict[str, str] = {
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
}
# YAML 1.1 reads some bare words as booleans or null; say so, since it surprises everyone.
_YAML_SURPRISE: dict[type, str] = {
    bool: " (YAML reads yes/no/on/off/true/false as booleans; quote the value)",
    type(None): ' (YAML reads null, ~ and a missing value as empty; write "null" in quotes '
    "for the null operator)",
}


@dataclass(frozen=True)
class Problem:
    """One finding: where (file, line, field), what, and how serious.

    >>> str(Problem("p.yaml", 12, "rules[2].effect", "unknown operator 'pseudo'"))
    "p.yaml:12: rules[2].effect: unknown operator 'pseudo'"
    >>> str(Problem("p.yaml", 3, "rules[0]", "never matches", "warning"))
    'p.yaml:3: warning: rules[0]: never matches'
    """

    source: str
    line: int | None
    field: str | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.source, self.line) if p is not None)
        text = f"{self.field}: {self.message}" if self.field else self.message
        if self.severity == "warning":
            text = f"warning: {text}"
        return f"{where}: {text}" if where else text

    def to_error(self) -> PolicyError:
        """This problem as the exception loading raises."""
        return PolicyError(self.message, source=self.source, line=self.line, field=self.field)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "source": self.source,
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
        }


def from_error(error: PolicyError) -> Problem:
    """A :class:`Problem` from a :class:`PolicyError` raised while reading a file."""
    return Problem(error.source or "<policy>", error.line, error.field, error.message)


def validation_problems(
    error: ValidationError, model: type[BaseModel], lines: Lines, source: str
) -> list[Problem]:
    """One problem per pydantic error, located with the YAML line map."""
    problems = []
    items = error.errors(include_url=False)
    misspelt = {
        (*item["loc"][:-1], suggestion)
        for item in items
        if item["type"] == "extra_forbidden"
        for suggestion in _suggestions(model, item["loc"])
    }
    for item in items:
        if item["type"] == "missing" and tuple(item["loc"]) in misspelt:
            continue  # the misspelt field's own error says it all
        loc: Path = tuple(p for p in item["loc"] if p != "[key]")
        if loc and isinstance(loc[-1], int) and loc not in lines and loc[:-1] in lines:
            loc = loc[:-1]  # a scalar written where a list is accepted (actor: human)
        path, message = _describe(item, loc, model)
        problems.append(Problem(source, line_of(lines, path), render_path(path) or None, message))
    return problems


def _describe(item: typing.Any, loc: Path, model: type[BaseModel]) -> tuple[Path, str]:
    kind: str = item["type"]
    value = item.get("input")
    if kind == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        hint = did_you_mean(str(loc[-1]), allowed) or f" (allowed: {', '.join(allowed)})"
        return loc, f"unknown field{hint}"
    if kind == "missing":
        return loc, "required field is missing"
    if kind == "literal_error":
        expected = item["ctx"]["expected"]
        return loc, f"must be {expected}, not {_short(value)}"
    if kind == "too_short":
        return loc, "must not be empty"
    if kind in ("value_error", "assertion_error"):
        return loc, str(item["ctx"]["error"])
    if kind in _EXPECTED:
        got = _YAML_TYPES.get(type(value), type(value).__name__)
        return loc, f"expected {_EXPECTED[kind]}, got {got}{_YAML_SURPRISE.get(type(value), '')}"
    return loc, str(item["msg"])


def _suggestions(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    allowed = _fields_at(model, loc[:-1])
    return difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _fields_at(model: type[BaseModel], loc: Path) -> list[str]:
    """The field names allowed at ``loc`` (for did-you-mean), walking the model's annotations."""
    current: object = model
    skip_key = False
    for part in loc:
        if skip_key or isinstance(part, int):
            skip_key = False
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        by_alias = {info.alias or name: info for name, info in current.model_fields.items()}
        field = by_alias.get(str(part))
        if field is None:
            return []
        current, skip_key = _inner_model(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [info.alias or name for name, info in current.model_fields.items()]
    return []


def _inner_model(annotation: object) -> tuple[object, bool]:
    """The model class inside ``X | None``, ``tuple[X, ...]`` or ``dict[K, X]``; flag dicts."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    is_dict = typing.get_origin(annotation) is dict
    args = typing.get_args(annotation)
    for arg in reversed(args) if is_dict else args:
        found, _ = _inner_model(arg)
        if found is not None:
            return found, is_dict
    return None, False
