"""Value kinds: the few families of column types that operators treat differently.

A kind comes from the column's SQL type (``exp.DataType``) on the SQL side, and from the
values themselves on the Python side; ``None`` means "unknown, treat as text".

>>> kind_of(exp.DataType.build("varchar(20)"))
'string'
>>> kind_of(exp.DataType.build("numeric(10, 2)"))
'decimal'
>>> kind_of(None) is None
True
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Literal

import numpy as np
import pandas as pd
from sqlglot import exp

Kind = Literal["string", "integer", "decimal", "float", "date", "timestamp", "boolean", "other"]

_T = exp.DataType.Type
_FLOATS = {_T.DOUBLE, _T.FLOAT, _T.UDOUBLE}
_TIMESTAMPS = exp.DataType.TEMPORAL_TYPES - {_T.DATE, _T.DATE32, _T.TIME, _T.TIMETZ}

# Checked in order: the first family that contains the type wins.
_FAMILIES: tuple[tuple[Kind, frozenset[exp.DType]], ...] = (
    ("string", frozenset(exp.DataType.TEXT_TYPES)),
    ("boolean", frozenset({_T.BOOLEAN})),
    ("integer", frozenset(exp.DataType.INTEGER_TYPES - {_T.BIT})),
    ("float", frozenset(_FLOATS)),
    ("decimal", frozenset(exp.DataType.REAL_TYPES - _FLOATS)),
    ("date", frozenset({_T.DATE, _T.DATE32})),
    ("timestamp", frozenset(_TIMESTAMPS)),
)


def kind_of(column_type: exp.DataType | None) -> Kind | None:
    """The kind of a SQL column type, or ``None`` when the type is unknown."""
    if column_type is None or column_type.this == _T.UNKNOWN:
        return None
    for kind, types in _FAMILIES:
        if column_type.this in types:
            return kind
    return "other"


def python_kind(values: pd.Series) -> Kind | None:
    """The kind of a pandas column, from its dtype or its first non-missing value.

    >>> python_kind(pd.Series([dt.date(2024, 1, 2), None]))
    'date'
    >>> python_kind(pd.Series([1, 2]))
    'integer'
    """
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp"
    present = values.dropna()
    if present.empty:
        return None
    return _value_kind(present.iloc[0])


def _value_kind(value: object) -> Kind:
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, (int, np.integer)):
        return "integer"
    if isinstance(value, decimal.Decimal):
        return "decimal"
    if isinstance(value, (float, np.floating)):
        return "float"
    if isinstance(value, (dt.datetime, np.datetime64)):
        return "timestamp"
    if isinstance(value, dt.date):
        return "date"
    return "other"


def cast_back(expression: exp.Expression, column_type: exp.DataType | None) -> exp.Expression:
    """Cast a masked value back to the column's non-text type so it stays usable."""
    if kind_of(column_type) in (None, "string", "other"):
        return expression
    assert column_type is not None
    return exp.cast(expression, column_type.copy())


def typed_null(column_type: exp.DataType | None) -> exp.Expression:
    """``NULL`` of the column's type (a bare ``NULL`` when the type is unknown).

    >>> typed_null(exp.DataType.build("date")).sql("postgres")
    'CAST(NULL AS DATE)'
    """
    if column_type is None or column_type.this == _T.UNKNOWN:
        return exp.null()
    return exp.cast(exp.null(), column_type.copy())
