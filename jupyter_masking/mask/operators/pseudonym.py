"""``pseudonym``: a keyed digest token in SQL, a realistic value after presenting.

The same key, class and value give the same pseudonym in every query and engine,
so joins, GROUP BY and ``count(DISTINCT ...)`` keep working. The output is text.

>>> from jupyter_masking.mask.base import PyContext
>>> op = Pseudonym.from_params({})
>>> out = op.python(pd.Series(["ada@example.com", None]), PyContext("pii.email", "0" * 64))
>>> out.isna().tolist()
[False, True]
"""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
from sqlglot import exp

from jupyter_masking.mask.base import NoParams, Operator, PyContext, SqlContext
from jupyter_masking.mask.presenters import present
from jupyter_masking.mask.shapes import pseudonym_token_sql, pseudonym_tokens


class Pseudonym(Operator[NoParams]):
    """Deterministic, keyed, realistic replacement per class (see ``present``)."""

    name: ClassVar[str] = "pseudonym"
    presents: ClassVar[bool] = True

    def sql(self, column: exp.Expression, ctx: SqlContext) -> exp.Expression:
        """The pseudonym token; the gateway presents it after the query."""
        return pseudonym_token_sql(column, ctx.data_class, ctx.subkey, ctx.engine, ctx.kind)

    def python(self, values: pd.Series, ctx: PyContext) -> pd.Series:
        """Tokens then presenter, per distinct value."""
        return present(ctx.data_class, pseudonym_tokens(values, ctx.data_class, ctx.subkey))
