"""What a policy can do to a value: ``raw``, ``deny``, or mask with an operator, and their order.

Grants pick the *most* permissive effect and restricts the *least*, so effects need
a total order. Permissiveness is how much of the raw value a reader learns:

``raw > partial > date_shift > generalize > email_domain > pseudonym > hash > redact > null > deny``

``partial`` shows real characters, ``date_shift`` and ``generalize`` an approximate
value, ``email_domain`` one part of it, ``pseudonym`` and ``hash`` only equality
(pseudonyms are easier to read), ``redact`` only that a value exists, ``null``
nothing, and ``deny`` refuses the query. Two calls of the same operator with
different parameters rank equal; the rule that comes first in the policy wins.

>>> parse_effect("partial(keep_last=4)").rank > parse_effect("pseudonym").rank
True
>>> str(parse_effect("raw")), parse_effect("deny").kind
('raw', 'deny')
>>> parse_effect("pseudo")
Traceback (most recent call last):
...
ValueError: unknown operator 'pseudo' — did you mean 'pseudonym'?
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Literal

from jupyter_masking.errors import MaskingError
from jupyter_masking.mask.spec import OperatorCall, parse_operator_call

EffectKind = Literal["raw", "mask", "deny"]

RAW = "raw"
DENY = "deny"
MASK = "mask"

# Higher is more permissive. Every name in mask.spec.OPERATOR_NAMES has a rank (tested).
PERMISSIVENESS: dict[str, int] = {
    RAW: 100,
    "partial": 80,
    "date_shift": 70,
    "generalize": 60,
    "email_domain": 50,
    "pseudonym": 40,
    "hash": 30,
    "redact": 20,
    "null": 10,
    DENY: 0,
}
# An operator added later without a rank sits just above redact: masked, but not trusted more.
UNRANKED_OPERATOR = 25

# How a reason sentence says what happened: "pii.email is pseudonymised for ...".
VERBS: dict[str, str] = {
    RAW: "shown raw",
    DENY: "denied",
    "pseudonym": "pseudonymised",
    "hash": "hashed",
    "partial": "partially masked",
    "redact": "redacted",
    "null": "replaced by NULL",
    "generalize": "generalised",
    "date_shift": "date-shifted",
    "email_domain": "reduced to its domain",
}


@dataclass(frozen=True)
class Effect:
    """One effect: ``raw``, ``deny``, or ``mask`` with an operator call.

    Attributes:
        kind: ``raw``, ``mask`` or ``deny``.
        operator: The operator call when ``kind`` is ``mask``, else ``None``.
    """

    kind: EffectKind
    operator: OperatorCall | None = None

    @property
    def rank(self) -> int:
        """Permissiveness: higher reveals more (see the module docstring)."""
        name = self.operator.name if self.operator else self.kind
        return PERMISSIVENESS.get(name, UNRANKED_OPERATOR)

    @property
    def label(self) -> str:
        """``raw``, ``deny`` or ``mask:<operator call>``, as tests and audit events write it."""
        return f"mask:{self.operator}" if self.operator else self.kind

    def verb(self) -> str:
        """Past participle for reasons: ``pseudonymised``, ``partially masked (keep_last=4)``."""
        name = self.operator.name if self.operator else self.kind
        text = VERBS.get(name, f"masked with {name}")
        if self.operator and self.operator.params:
            text += str(self.operator)[len(name) :].replace("(", " (", 1)
        return text

    def __str__(self) -> str:
        return str(self.operator) if self.operator else self.kind


def parse_effect(text: str) -> Effect:
    """Read ``raw``, ``deny`` or an operator call; raise ``ValueError`` with a readable reason.

    >>> parse_effect("generalize(to=year)").operator
    OperatorCall(name='generalize', params={'to': 'year'})
    """
    stripped = text.strip()
    if stripped in (RAW, DENY):
        return Effect("raw") if stripped == RAW else Effect("deny")
    call = parse_operator_call(stripped)
    check_operator_params(call)
    return Effect("mask", call)


def check_operator_params(call: OperatorCall) -> None:
    """Validate parameters with ``jupyter_masking.mask.validate_call`` when it exists.

    The operator module owns parameter rules; until it provides ``validate_call``
    only the syntax (checked by ``parse_operator_call``) is enforced.
    """
    validate = getattr(importlib.import_module("jupyter_masking.mask"), "validate_call", None)
    if validate is None:
        return
    try:
        validate(call)
    except MaskingError as error:
        raise ValueError(error.message) from None
