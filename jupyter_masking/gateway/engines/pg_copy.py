"""PostgreSQL results in bulk: ``COPY (query) TO STDOUT`` as CSV, parsed by Arrow in C.

Fetching rows through the driver builds a Python object per value and then an Arrow
array from them; for 100,000 rows of 8 columns that took longer than the query. COPY
streams the same rows as CSV, which Arrow's reader types column by column, with the
types the server declares for the result (asked first with ``LIMIT 0``). Only types
whose CSV text Arrow reads exactly are taken this way; a result with any other type
(``timestamptz``, ``uuid``, ``json``, arrays, ...), or a value Arrow cannot read
(``infinity`` dates), is left to the driver path (:meth:`PooledConnection._fetch`).

The row cap becomes ``LIMIT max_rows + 1`` around the query: PostgreSQL keeps a
subquery's order under a plain outer ``SELECT *``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

# PostgreSQL type OIDs whose CSV text Arrow parses into the same values the driver gives.
_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),  # boolean: t / f
    20: pa.int64(),  # bigint
    21: pa.int64(),  # smallint
    23: pa.int64(),  # integer
    700: pa.float64(),  # real
    701: pa.float64(),  # double precision (Infinity, NaN included)
    25: pa.string(),  # text
    1042: pa.string(),  # character(n), blank-padded as the driver gives it
    1043: pa.string(),  # character varying
    1082: pa.date32(),  # date
    1114: pa.timestamp("us"),  # timestamp without time zone
}
_NUMERIC = 1700
_CONVERT = {
    # NULL is an unquoted empty field; an empty string is "" (quoted) and stays a string;
    # no other text ("NA", "NULL") is missing.
    "null_values": [""],
    "strings_can_be_null": True,
    "quoted_strings_can_be_null": False,
    "true_values": ["t"],
    "false_values": ["f"],
}


def arrow_types(description: Sequence[Any]) -> list[pa.DataType] | None:
    """The Arrow type of each result column, or ``None`` if one has no exact CSV form."""
    types: list[pa.DataType] = []
    for column in description:
        code, precision, scale = column.type_code, column.precision, column.scale
        if code == _NUMERIC and isinstance(precision, int) and isinstance(scale, int):
            if not 0 < precision <= 38:
                return None
            types.append(pa.decimal128(precision, scale))
        elif code in _TYPES:
            types.append(_TYPES[code])
        else:
            return None
    return types


def copy_statement(statement: str, limit: int) -> str:
    """``COPY`` of at most ``limit`` rows of ``statement`` (a single SELECT), as CSV."""
    query = f"SELECT * FROM ({statement}) AS jm_rows LIMIT {int(limit)}"
    return f"COPY ({query}) TO STDOUT (FORMAT csv)"


def fetch(cursor: Any, statement: str, limit: int) -> pa.Table | None:
    """At most ``limit`` rows of ``statement`` through COPY, or ``None`` for the driver path.

    ``statement`` is rendered for psycopg (``%`` doubled) and binds no parameters.
    """
    # The bound LIMIT makes psycopg use the extended protocol, where the server takes exactly
    # one statement: the text COPY wraps next is proven to be one query.
    cursor.execute(f"SELECT * FROM ({statement}) AS jm_rows LIMIT %(jm_none)s", {"jm_none": 0})
    description = cursor.description or ()
    types = arrow_types(description)
    if types is None:
        return None
    names = [d[0] for d in description]
    plain = statement.replace("%%", "%")  # COPY binds nothing: undo pyformat escaping
    try:
        return _read(cursor, plain, limit, names, types)
    except pa.ArrowInvalid:  # a value CSV cannot carry typed ("infinity" dates)
        return None


def _read(
    cursor: Any, statement: str, limit: int, names: list[str], types: list[pa.DataType]
) -> pa.Table:
    """Run the COPY and parse its CSV into columns ``names`` of ``types``.

    Raises:
        pyarrow.ArrowInvalid: A value the types cannot hold.
    """
    buffer = io.BytesIO()
    with cursor.copy(copy_statement(statement, limit)) as copy:
        for chunk in copy:
            buffer.write(chunk)
    if buffer.tell() == 0:  # no rows: Arrow's reader refuses an empty file
        return pa.table([pa.array([], t) for t in types], names=names)
    buffer.seek(0)
    positional = [f"c{i}" for i in range(len(types))]  # result names may repeat
    table = pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=positional),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=dict(zip(positional, types, strict=True)), **_CONVERT
        ),
    )
    return table.rename_columns(names)
