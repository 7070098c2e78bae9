"""The text form of an operator call, as policies write it: ``partial(keep_last=4)``.

Parsing here is syntax only (a known operator name and ``key=value`` parameters);
each operator validates its own parameters. Unknown names get a did-you-mean hint.

>>> parse_operator_call("partial(keep_last=4)")
OperatorCall(name='partial', params={'keep_last': 4})
>>> parse_operator_call("generalize(to=year)").params
{'to': 'year'}
>>> str(parse_operator_call("redact"))
'redact'
>>> parse_operator_call("pseudo")
Traceback (most recent call last):
...
ValueError: unknown operator 'pseudo' — did you mean 'pseudonym'?
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

# The operator vocabulary from DESIGN.md; these names are contracts.
OPERATOR_NAMES: tuple[str, ...] = (
    "pseudonym",
    "hash",
    "partial",
    "redact",
    "null",
    "generalize",
    "date_shift",
    "email_domain",
)

ParamValue = int | float | bool | str

_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)
_PARAM = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$", re.S)


@dataclass(frozen=True)
class OperatorCall:
    """An operator name with its parameters, e.g. ``partial`` with ``{"keep_last": 4}``."""

    name: str
    params: dict[str, ParamValue] = field(default_factory=dict)

    def __str__(self) -> str:
        if not self.params:
            return self.name
        args = ", ".join(f"{k}={_format(v)}" for k, v in sorted(self.params.items()))
        return f"{self.name}({args})"

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.params.items()))))


def parse_operator_call(text: str) -> OperatorCall:
    """Parse ``name`` or ``name(key=value, ...)``; raise ``ValueError`` with a readable reason."""
    match = _CALL.match(text)
    if not match:
        raise ValueError(f"cannot read operator {text[:60]!r}; write name or name(key=value)")
    name, args = match.group(1), match.group(2)
    if name not in OPERATOR_NAMES:
        raise ValueError(f"unknown operator {name!r}{did_you_mean(name, OPERATOR_NAMES)}")
    params: dict[str, ParamValue] = {}
    for part in _split_args(args or ""):
        param = _PARAM.match(part)
        if not param:
            raise ValueError(f"operator {name}: parameter {part.strip()!r} is not key=value")
        key = param.group(1)
        if key in params:
            raise ValueError(f"operator {name}: parameter {key!r} given twice")
        params[key] = _value(param.group(2))
    return OperatorCall(name, params)


def did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    """`` — did you mean 'x'?`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" — did you mean {close[0]!r}?" if close else ""


def _split_args(args: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in args:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if "".join(current).strip():
        parts.append("".join(current))
    return parts


def _value(text: str) -> ParamValue:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _format(value: ParamValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and not re.fullmatch(r"[A-Za-z0-9_.\-]+", value):
        return repr(value)
    return str(value)
