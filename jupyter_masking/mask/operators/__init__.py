"""The operator table: one row per operator, each in its own module.

>>> sorted(OPERATORS) == sorted(OPERATOR_NAMES)
True
>>> build(parse_operator_call("partial(keep_last=4)")).describe()
'partial'
>>> validate_call(parse_operator_call("hash(length=4)"))
Traceback (most recent call last):
...
ValueError: hash: length must be >= 8
"""

from __future__ import annotations

from typing import Any

from jupyter_masking.mask.base import Operator
from jupyter_masking.mask.operators.date_shift import DateShift
from jupyter_masking.mask.operators.email_domain import EmailDomain
from jupyter_masking.mask.operators.generalize import Generalize
from jupyter_masking.mask.operators.hash import Hash
from jupyter_masking.mask.operators.null import Null
from jupyter_masking.mask.operators.partial import Partial
from jupyter_masking.mask.operators.pseudonym import Pseudonym
from jupyter_masking.mask.operators.redact import Redact
from jupyter_masking.mask.spec import (
    OPERATOR_NAMES,
    OperatorCall,
    did_you_mean,
    parse_operator_call,
)

OPERATORS: dict[str, type[Operator[Any]]] = {
    op.name: op
    for op in (Pseudonym, Hash, Partial, Redact, Null, Generalize, DateShift, EmailDomain)
}


def build(call: OperatorCall) -> Operator[Any]:
    """The operator instance for a call, with validated parameters (``ValueError`` if not)."""
    cls = OPERATORS.get(call.name)
    if cls is None:
        raise ValueError(
            f"unknown operator {call.name!r}{did_you_mean(call.name, list(OPERATORS))}"
        )
    return cls.from_params(call.params)


def validate_call(call: OperatorCall) -> None:
    """Check a call at policy load; raises ``ValueError`` with a readable reason."""
    build(call)


__all__ = [
    "OPERATORS",
    "OPERATOR_NAMES",
    "DateShift",
    "EmailDomain",
    "Generalize",
    "Hash",
    "Null",
    "Partial",
    "Pseudonym",
    "Redact",
    "build",
    "parse_operator_call",
    "validate_call",
]
