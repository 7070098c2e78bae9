"""``email_domain``: keep only the domain, ``'*****@domain'``.

Text without ``@``, or with more than one ``@``, becomes ``'*****'``, so no part of a
local part can survive. The output is text.

>>> from jupyter_masking.mask.base import PyContext
>>> op = EmailDomain.from_params({})
>>> values = pd.Series(["ada@lovelace.org", "nobody", "a@b@c"])
>>> op.python(values, PyContext("pii.email", "")).tolist()
['*****@lovelace.org', '*****', '*****']
"""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
from sqlglot import exp

from jupyter_masking.mask.base import NoParams, Operator, PyContext, SqlContext, map_text
from jupyter_masking.mask.engines import concat

STARS = "*****"


def keep_domain(text: str) -> str:
    """The Python form for one value."""
    at = text.find("@")
    if at < 0 or "@" in text[at + 1 :]:
        return STARS
    return f"{STARS}@{text[at + 1 :]}"


class EmailDomain(Operator[NoParams]):
    """BigQuery's EMAIL_MASK."""

    name: ClassVar[str] = "email_domain"

    def sql(self, column: exp.Expression, ctx: SqlContext) -> exp.Expression:
        """CASE on the position of ``@``; the domain is what follows it."""
        text = ctx.engine.canonical_text(column.copy(), ctx.kind)
        at = exp.StrPosition(this=text.copy(), substr=exp.Literal.string("@"))
        rest = exp.Substring(
            this=text.copy(), start=exp.Add(this=at.copy(), expression=exp.Literal.number(1))
        )
        second_at = exp.StrPosition(this=rest.copy(), substr=exp.Literal.string("@"))
        stars = exp.Literal.string(STARS)
        return (
            exp.case()
            .when(exp.Is(this=column.copy(), expression=exp.null()), exp.null())
            .when(exp.EQ(this=at, expression=exp.Literal.number(0)), stars.copy())
            .when(exp.GT(this=second_at, expression=exp.Literal.number(0)), stars.copy())
            .else_(concat(exp.Literal.string(STARS + "@"), rest))
        )

    def python(self, values: pd.Series, ctx: PyContext) -> pd.Series:
        """The same, per distinct value."""
        return map_text(values, keep_domain)
