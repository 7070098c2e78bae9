"""``partial``: keep the first and/or last characters, mask the rest.

Values not longer than ``keep_first + keep_last`` are masked entirely (never shown
whole). The output is text, with the value's length.

>>> from jupyter_masking.mask.base import PyContext
>>> op = Partial.from_params({"keep_last": 4})
>>> op.python(pd.Series(["4111111111111111", "123", None]), PyContext("c", "0" * 64)).tolist()
['************1111', '***', nan]
"""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
from pydantic import Field
from sqlglot import exp

from jupyter_masking.mask.base import Operator, Params, PyContext, SqlContext, map_text
from jupyter_masking.mask.engines import concat


class PartialParams(Params):
    """``keep_first``/``keep_last`` characters shown; ``mask_char`` replaces the others."""

    keep_first: int = Field(0, ge=0, le=64)
    keep_last: int = Field(4, ge=0, le=64)
    mask_char: str = Field("*", min_length=1, max_length=1)


class Partial(Operator[PartialParams]):
    """BigQuery's FIRST/LAST_FOUR_CHARACTERS, PostgreSQL Anonymizer's ``partial()``."""

    name: ClassVar[str] = "partial"
    Params: ClassVar[type[PartialParams]] = PartialParams

    def sql(self, column: exp.Expression, ctx: SqlContext) -> exp.Expression:
        """CASE on the length: all masked when short, else prefix + mask + suffix."""
        p, engine = self.params, ctx.engine
        text = engine.canonical_text(column.copy(), ctx.kind)
        length = exp.Length(this=text.copy())
        char = exp.Literal.string(p.mask_char)
        kept = p.keep_first + p.keep_last
        parts: list[exp.Expression] = []
        if p.keep_first:
            parts.append(_substring(text, 1, exp.Literal.number(p.keep_first)))
        parts.append(
            engine.repeat(
                char.copy(), exp.Sub(this=length.copy(), expression=exp.Literal.number(kept))
            )
        )
        if p.keep_last:
            start = exp.Sub(this=length.copy(), expression=exp.Literal.number(p.keep_last - 1))
            parts.append(_substring(text, start, None))
        short = exp.LTE(this=length.copy(), expression=exp.Literal.number(kept))
        return (
            exp.case()
            .when(exp.Is(this=column.copy(), expression=exp.null()), exp.null())
            .when(short, engine.repeat(char.copy(), length.copy()))
            .else_(concat(*parts))
        )

    def python(self, values: pd.Series, ctx: PyContext) -> pd.Series:
        """The same masking, per distinct value."""
        p = self.params

        def mask(text: str) -> str:
            middle = len(text) - p.keep_first - p.keep_last
            if middle <= 0:
                return p.mask_char * len(text)
            tail = text[len(text) - p.keep_last :] if p.keep_last else ""
            return text[: p.keep_first] + p.mask_char * middle + tail

        return map_text(values, mask)


def _substring(
    text: exp.Expression, start: exp.Expression | int, length: exp.Expression | None
) -> exp.Expression:
    begin = exp.Literal.number(start) if isinstance(start, int) else start
    return exp.Substring(this=text.copy(), start=begin, length=length)
