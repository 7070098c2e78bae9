"""``redact``: ``'[REDACTED:<class>]'`` for text, a NULL of the column's type otherwise.

NULL stays NULL. When the column type is unknown the text form is used.

>>> from jupyter_masking.mask.base import PyContext
>>> Redact.from_params({}).python(pd.Series(["x", None]), PyContext("pii.email", "")).tolist()
['[REDACTED:pii.email]', nan]
"""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
from sqlglot import exp

from jupyter_masking.mask.base import NoParams, Operator, PyContext, SqlContext, null_like
from jupyter_masking.mask.kinds import python_kind, typed_null

TEXT_KINDS = (None, "string")


def redaction(data_class: str) -> str:
    """The replacement text for a class.

    >>> redaction("secret.jwt")
    '[REDACTED:secret.jwt]'
    """
    return f"[REDACTED:{data_class}]"


class Redact(Operator[NoParams]):
    """Replace every value; nothing of it survives but NULL-ness."""

    name: ClassVar[str] = "redact"

    def sql(self, column: exp.Expression, ctx: SqlContext) -> exp.Expression:
        """The redaction literal, or a typed NULL for non-text columns."""
        if ctx.kind not in TEXT_KINDS:
            return typed_null(ctx.column_type)
        return (
            exp.case()
            .when(exp.Is(this=column.copy(), expression=exp.null()), exp.null())
            .else_(exp.Literal.string(redaction(ctx.data_class)))
        )

    def python(self, values: pd.Series, ctx: PyContext) -> pd.Series:
        """The same, keeping the missing positions."""
        if python_kind(values) not in TEXT_KINDS:
            return null_like(values)
        out = pd.Series(redaction(ctx.data_class), index=values.index, dtype="str")
        kept: pd.Series = out.where(values.notna())
        return kept
