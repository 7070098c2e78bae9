"""Keyed digest tokens: ``sha256(subkey || canonical text of the value)`` as lowercase hex.

The same token comes out of DuckDB, PostgreSQL, MariaDB, SQLite and Python, because every
side hashes the same UTF-8 text. Canonical text per kind of value:

========== ============================ =========================================
kind       canonical text               agreement across engines
========== ============================ =========================================
string     the string itself            guaranteed (UTF-8; MariaDB via utf8mb4)
integer    decimal digits, ``-`` sign   guaranteed
date       ``YYYY-MM-DD``               guaranteed for years 1000-9999
timestamp  ``YYYY-MM-DD HH:MM:SS``      guaranteed without time zone; fractions of
                                        a second are dropped (they hash equal)
decimal    digits with the column scale guaranteed for DECIMAL/NUMERIC columns,
                                        except SQLite (no decimal type)
boolean    ``true`` / ``false``         not guaranteed (MariaDB and SQLite say 1/0)
float      shortest round-trip text     not guaranteed; integral floats hash as
                                        integers so that pandas' NULL-able integer
                                        columns (float64) still agree
========== ============================ =========================================

NULL stays NULL.

>>> token("0" * 64, "alice@example.com")[:12]
'1aaa6c8dac64'
>>> token_many("0" * 64, pd.Series(["alice@example.com", None])).isna().tolist()
[False, True]
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import math

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
from sqlglot import exp

from jupyter_masking.mask.engines import Engine, concat
from jupyter_masking.mask.kinds import Kind

STR = pd.StringDtype("pyarrow", na_value=np.nan)


def canonical_text(value: object) -> str:
    """The text a value is hashed as (see the module table).

    >>> canonical_text(dt.date(2024, 1, 31)), canonical_text(-5), canonical_text(12.0)
    ('2024-01-31', '-5', '12')
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isfinite(number) and number.is_integer() and abs(number) < 2**53:
            return str(int(number))
        return repr(number)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return canonical_text(pd.Timestamp(value))
    return str(value)


def token(subkey: str, value_text: str) -> str:
    """``sha256(subkey || value_text)`` as 64 lowercase hex characters."""
    return hashlib.sha256((subkey + value_text).encode("utf-8")).hexdigest()


def token_many(subkey: str, values: pd.Series) -> pd.Series:
    """Tokens for a column, computed once per distinct value; missing values stay missing.

    Returns:
        A ``str`` Series on the same index.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    prefix = hashlib.sha256(subkey.encode("utf-8"))

    def digest(value: object) -> str:
        state = prefix.copy()
        state.update((value if type(value) is str else canonical_text(value)).encode("utf-8"))
        return state.hexdigest()

    # tolist(): iterating an Arrow-backed array converts one value per call, far slower
    return take_strings([digest(v) for v in uniques.tolist()], codes, values.index)


def take_strings(uniques: list[str] | pa.Array, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """``uniques[codes]`` as a ``str`` Series, with code -1 meaning missing."""
    table = uniques if isinstance(uniques, pa.Array) else pa.array(uniques, type=pa.string())
    taken = table.take(pa.array(codes, mask=codes < 0))
    series: pd.Series = pd.Series(pd.array(taken, dtype=STR), index=index)
    return series


def token_sql(
    column: exp.Expression, subkey: str, engine: Engine, kind: Kind | None
) -> exp.Expression:
    """The token as SQL: ``CASE WHEN c IS NULL THEN NULL ELSE digest(subkey || text(c)) END``.

    How the subkey is written depends on the engine (see ``Engine.subkey``).
    """
    text = engine.canonical_text(column.copy(), kind)
    digest = engine.digest(concat(engine.subkey(subkey), text))
    return (
        exp.case().when(exp.Is(this=column.copy(), expression=exp.null()), exp.null()).else_(digest)
    )
