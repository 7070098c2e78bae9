"""``hash``: the keyed digest as lowercase hex, optionally shortened.

>>> from jupyter_masking.mask.base import PyContext
>>> Hash.from_params({"length": 12}).python(pd.Series([7]), PyContext("x.y", "0" * 64)).tolist()
['961821836f05']
"""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
from pydantic import Field
from sqlglot import exp

from jupyter_masking.mask.base import Operator, Params, PyContext, SqlContext
from jupyter_masking.mask.tokens import token_many, token_sql


class HashParams(Params):
    """``length``: how many hex characters to keep (8-64)."""

    length: int = Field(64, ge=8, le=64)


class Hash(Operator[HashParams]):
    """``sha256(subkey || value)`` in hex; not reversible without the key."""

    name: ClassVar[str] = "hash"
    Params: ClassVar[type[HashParams]] = HashParams

    def sql(self, column: exp.Expression, ctx: SqlContext) -> exp.Expression:
        """The digest, cut to ``length`` characters."""
        digest = token_sql(column, ctx.subkey, ctx.engine, ctx.kind)
        if self.params.length == 64:
            return digest
        return exp.Substring(
            this=digest, start=exp.Literal.number(1), length=exp.Literal.number(self.params.length)
        )

    def python(self, values: pd.Series, ctx: PyContext) -> pd.Series:
        """The same digest, per distinct value."""
        return token_many(ctx.subkey, values).str.slice(0, self.params.length)
