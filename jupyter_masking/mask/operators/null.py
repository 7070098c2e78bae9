"""``null``: a NULL of the column's type, so the column keeps its type.

>>> from jupyter_masking.mask.base import PyContext
>>> Null.from_params({}).python(pd.Series([1, 2]), PyContext("x.y", "")).dtype
Int64Dtype()
"""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
from sqlglot import exp

from jupyter_masking.mask.base import NoParams, Operator, PyContext, SqlContext, null_like
from jupyter_masking.mask.kinds import typed_null


class Null(Operator[NoParams]):
    """BigQuery's ALWAYS_NULL."""

    name: ClassVar[str] = "null"

    def sql(self, column: exp.Expression, ctx: SqlContext) -> exp.Expression:
        """``CAST(NULL AS <column type>)``."""
        return typed_null(ctx.column_type)

    def python(self, values: pd.Series, ctx: PyContext) -> pd.Series:
        """All missing, with a dtype that can hold missing values."""
        return null_like(values)
