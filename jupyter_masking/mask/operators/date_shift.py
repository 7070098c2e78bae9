"""``date_shift``: move each date by a keyed number of days in ``[-max_days, max_days]``.

The shift is derived from the keyed digest of the value itself: the same date always
moves by the same amount (consistent per value, not per person: two dates of one
person move by different amounts). Zero is a possible shift. Dates stay dates,
timestamps stay timestamps (time of day kept).

>>> from jupyter_masking.mask.base import PyContext
>>> op = DateShift.from_params({"max_days": 30})
>>> d = dt.date(2024, 1, 31)
>>> abs((op.python(pd.Series([d]), PyContext("pii.date_of_birth", "0" * 64))[0] - d).days) <= 30
True
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import pandas as pd
from pydantic import Field
from sqlglot import exp

from jupyter_masking.mask.base import Operator, Params, PyContext, SqlContext
from jupyter_masking.mask.kinds import cast_back, python_kind
from jupyter_masking.mask.operators.dates import map_dates
from jupyter_masking.mask.tokens import canonical_text, token, token_sql

DATE_KINDS = (None, "date", "timestamp")
HEX_DIGITS = 7  # 28 bits: fits a signed 32-bit integer in every engine


class DateShiftParams(Params):
    """``max_days``: the largest shift in either direction (1-3650)."""

    max_days: int = Field(30, ge=1, le=3650)


class DateShift(Operator[DateShiftParams]):
    """Google DLP's DateShiftConfig, keyed per value."""

    name: ClassVar[str] = "date_shift"
    Params: ClassVar[type[DateShiftParams]] = DateShiftParams

    def sql(self, column: exp.Expression, ctx: SqlContext) -> exp.Expression:
        """``column + (hexint(token[1:7]) % (2m+1) - m) days``, cast back to its type."""
        if ctx.kind not in DATE_KINDS:
            raise self.refuse(ctx.kind, "a date or timestamp column")
        m = self.params.max_days
        digest = token_sql(column, ctx.subkey, ctx.engine, ctx.kind)
        head = exp.Substring(
            this=digest, start=exp.Literal.number(1), length=exp.Literal.number(HEX_DIGITS)
        )
        number = ctx.engine.hex_int(head)
        days = exp.Sub(
            this=exp.paren(exp.Mod(this=number, expression=exp.Literal.number(2 * m + 1))),
            expression=exp.Literal.number(m),
        )
        shifted = ctx.engine.add_days(column.copy(), exp.paren(days), ctx.kind)
        return cast_back(shifted, ctx.column_type)

    def python(self, values: pd.Series, ctx: PyContext) -> pd.Series:
        """The same shift, per distinct value."""
        kind = python_kind(values)
        if kind not in (*DATE_KINDS, "string"):
            raise self.refuse(kind, "a date or timestamp column")
        m = self.params.max_days

        def shift(value: dt.date) -> dt.date:
            digest = token(ctx.subkey, canonical_text(value))
            return value + dt.timedelta(days=int(digest[:HEX_DIGITS], 16) % (2 * m + 1) - m)

        return map_dates(values, shift, self)

    def days(self, value: dt.date, subkey: str) -> int:
        """The shift applied to one value (for tests and explanations)."""
        digest = token(subkey, canonical_text(value))
        return int(digest[:HEX_DIGITS], 16) % (2 * self.params.max_days + 1) - self.params.max_days
