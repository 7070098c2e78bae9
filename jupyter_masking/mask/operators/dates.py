"""Shared by date operators: apply a date function per distinct value, keeping the type.

Dates arrive as ``datetime.date`` objects, as ``datetime64`` columns, or as ISO text
(SQLite has no date type); each comes back in the form it arrived in.

>>> map_dates(pd.Series(["2024-05-17", None]), lambda d: d.replace(day=1), None).tolist()
['2024-05-01', nan]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from jupyter_masking.errors import Refused
from jupyter_masking.mask.tokens import take_strings


def map_dates(values: pd.Series, fn: Callable[[dt.date], dt.date], owner: object) -> pd.Series:
    """``fn`` over each distinct date; ``owner`` names the operator in errors."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        shifted: list[Any] = [fn(ts.to_pydatetime()) for ts in uniques]
        table = pd.Series(pd.to_datetime([*shifted, pd.NaT]), dtype=values.dtype).to_numpy()
        stamps: pd.Series = pd.Series(table[codes], index=values.index, dtype=values.dtype)
        return stamps
    results: list[object] = []
    for value in uniques:
        if isinstance(value, str):
            results.append(_iso(fn(_parse(value, owner)), value))
        elif isinstance(value, dt.date):
            results.append(fn(value))
        else:
            raise Refused(f"{owner} cannot mask a value of type {type(value).__name__}")
    if results and all(isinstance(r, str) for r in results):
        return take_strings([str(r) for r in results], codes, values.index)
    table_obj = np.array([*results, None], dtype=object)
    objects: pd.Series = pd.Series(table_obj[codes], index=values.index, dtype=object)
    return objects


def _parse(text: str, owner: object) -> dt.date:
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise Refused(f"{owner} cannot mask text that is not an ISO date") from None
    return parsed if len(text) > 10 else parsed.date()


def _iso(value: dt.date, original: str) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.isoformat()
