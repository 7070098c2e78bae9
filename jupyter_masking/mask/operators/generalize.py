"""``generalize``: coarser values of the same type.

``to=year|month|decade`` truncates dates and timestamps (still a date / timestamp);
``bucket=N`` floors numbers to a multiple of N (still a number of the column type);
``keep=N`` keeps the first N characters of text such as postal codes and masks the rest
(values not longer than N are masked entirely).

>>> from jupyter_masking.mask.base import PyContext
>>> ctx = PyContext("pii.postal_address", "")
>>> Generalize.from_params({"keep": 3}).python(pd.Series(["94107", "12"]), ctx).tolist()
['941**', '**']
>>> Generalize.from_params({"bucket": 10}).python(pd.Series([37, -3]), ctx).tolist()
[30, -10]
>>> Generalize.from_params({})
Traceback (most recent call last):
...
ValueError: generalize: give exactly one of to, bucket, keep
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator
from sqlglot import exp

from jupyter_masking.mask.base import Operator, Params, PyContext, SqlContext, map_text
from jupyter_masking.mask.engines import concat
from jupyter_masking.mask.kinds import cast_back, python_kind
from jupyter_masking.mask.operators.dates import map_dates

Unit = Literal["year", "month", "decade"]
DATE_KINDS = (None, "date", "timestamp")
NUMBER_KINDS = (None, "integer", "decimal", "float")
# Format of the truncated date per unit (decade is built from the year's first 3 digits).
TRUNCATE_FORMAT: dict[str, str] = {"year": "%Y-01-01", "month": "%Y-%m-01", "decade": "%Y"}


class GeneralizeParams(Params):
    """Exactly one of ``to`` (dates), ``bucket`` (numbers), ``keep`` (text)."""

    to: Unit | None = None
    bucket: int | None = Field(None, ge=1)
    keep: int | None = Field(None, ge=0, le=64)

    @model_validator(mode="after")
    def _exactly_one(self) -> GeneralizeParams:
        given = [n for n in ("to", "bucket", "keep") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of to, bucket, keep")
        return self


class Generalize(Operator[GeneralizeParams]):
    """Google DLP's bucketing and time-part generalization; BigQuery's DATE_YEAR_MASK."""

    name: ClassVar[str] = "generalize"
    Params: ClassVar[type[GeneralizeParams]] = GeneralizeParams

    def sql(self, column: exp.Expression, ctx: SqlContext) -> exp.Expression:
        """Truncate, bucket or keep a prefix, then cast back to the column type."""
        p = self.params
        if p.to is not None:
            return self._truncate_sql(column, ctx, p.to)
        if p.bucket is not None:
            return self._bucket_sql(column, ctx, p.bucket)
        assert p.keep is not None
        return self._keep_sql(column, ctx, p.keep)

    def _truncate_sql(self, column: exp.Expression, ctx: SqlContext, unit: str) -> exp.Expression:
        if ctx.kind not in DATE_KINDS:
            raise self.refuse(ctx.kind, "a date or timestamp column")
        fmt = exp.Literal.string(TRUNCATE_FORMAT[unit])
        text: exp.Expression = exp.TimeToStr(this=column.copy(), format=fmt)
        if unit == "decade":
            first3 = exp.Substring(this=text, start=_n(1), length=_n(3))
            text = concat(first3, exp.Literal.string("0-01-01"))
        return cast_back(exp.cast(text, "date"), ctx.column_type)

    def _bucket_sql(self, column: exp.Expression, ctx: SqlContext, size: int) -> exp.Expression:
        if ctx.kind not in NUMBER_KINDS:
            raise self.refuse(ctx.kind, "a number column")
        if ctx.kind == "integer":
            # exact floor to a multiple: v - ((v % n) + n) % n, as % truncates in every engine
            mod = exp.paren(exp.Mod(this=column.copy(), expression=_n(size)))
            positive = exp.Mod(
                this=exp.paren(exp.Add(this=mod, expression=_n(size))), expression=_n(size)
            )
            floored: exp.Expression = exp.Sub(this=column.copy(), expression=exp.paren(positive))
        else:
            floor = exp.Floor(this=exp.Div(this=column.copy(), expression=_n(size)))
            floored = exp.Mul(this=floor, expression=_n(size))
        return cast_back(floored, ctx.column_type)

    def _keep_sql(self, column: exp.Expression, ctx: SqlContext, keep: int) -> exp.Expression:
        engine = ctx.engine
        text = engine.canonical_text(column.copy(), ctx.kind)
        length = exp.Length(this=text.copy())
        star = exp.Literal.string("*")
        head = exp.Substring(this=text, start=_n(1), length=_n(keep))
        rest = engine.repeat(star.copy(), exp.Sub(this=length.copy(), expression=_n(keep)))
        return (
            exp.case()
            .when(exp.Is(this=column.copy(), expression=exp.null()), exp.null())
            .when(exp.LTE(this=length.copy(), expression=_n(keep)), engine.repeat(star, length))
            .else_(concat(head, rest))
        )

    def python(self, values: pd.Series, ctx: PyContext) -> pd.Series:
        """The same, per distinct value; dates stay dates, numbers stay numbers."""
        p, kind = self.params, python_kind(values)
        if p.to is not None:
            if kind not in (*DATE_KINDS, "string"):
                raise self.refuse(kind, "a date or timestamp column")
            unit = p.to
            return map_dates(values, lambda d: _truncate(d, unit), self)
        if p.bucket is not None:
            if kind not in NUMBER_KINDS:
                raise self.refuse(kind, "a number column")
            return _bucket(values, p.bucket)
        keep = p.keep
        assert keep is not None
        return map_text(
            values, lambda t: t[:keep] + "*" * (len(t) - keep) if len(t) > keep else "*" * len(t)
        )


def _n(number: int) -> exp.Expression:
    return exp.Literal.number(number)


def _truncate(value: dt.date, unit: str) -> dt.date:
    year = value.year - value.year % 10 if unit == "decade" else value.year
    month = value.month if unit == "month" else 1
    if isinstance(value, dt.datetime):
        return value.replace(
            year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0
        )
    return dt.date(year, month, 1)


def _bucket(values: pd.Series, size: int) -> pd.Series:
    out: pd.Series
    if pd.api.types.is_integer_dtype(values.dtype):
        out = (values // size) * size
    elif pd.api.types.is_float_dtype(values.dtype):
        out = np.floor(values / size) * size
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        table = np.array([*(_floor_object(v, size) for v in uniques), None], dtype=object)
        out = pd.Series(table[codes], index=values.index, dtype=values.dtype)
    return out


def _floor_object(value: object, size: int) -> object:
    if isinstance(value, decimal.Decimal):
        return (value / size).to_integral_value(rounding=decimal.ROUND_FLOOR) * size
    if isinstance(value, int):
        return value // size * size
    assert isinstance(value, float)
    return float(math.floor(value / size) * size)
