"""Sensitive spans inside free text: the public entry points of the scanner.

:func:`find_spans` scans one string; :func:`find_spans_many` scans a column, once per
distinct value, with the vectorised scanner when there are enough distinct values to
pay for its kernels. Both return the same findings (a property test checks it).

>>> [(f.data_class, f.start, f.end) for f in find_spans("mail bob@example.com now")]
[('pii.email', 5, 20)]
>>> [f.explanation for f in find_spans("card 4111 1111 1111 1111, or 4111 1111 1111 1112")]
['pattern card + Luhn+IIN valid']
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from jupyter_masking.detect import engine
from jupyter_masking.detect.model import Finding

# Below this many distinct values, scanning one by one beats the pyarrow kernels, whose
# regexes are compiled on every call (measured: ~40 ms of compiling per batch).
VECTOR_MIN = 3000


def find_spans(text: str) -> list[Finding]:
    """Every sensitive span in ``text``, sorted and non-overlapping.

    Args:
        text: Any string (a note, a ticket body, a JSON blob).

    Returns:
        Findings with character offsets into ``text``.

    >>> [f.data_class for f in find_spans("key AKIAIOSFODNN7EXAMPLE, call 555-010-0199")]
    ['secret.aws_access_key', 'pii.phone']
    """
    return engine.scan(text)


def find_spans_many(values: Any, classes: Collection[str] | None = None) -> list[list[Finding]]:
    """:func:`find_spans` for every value of a column, working once per distinct value.

    Args:
        values: A sequence of ``str`` or ``None``, a pandas Series or a pyarrow array.
            Other values are scanned as their ``str``; missing values give ``[]``.
        classes: Only look for these classes, e.g. the ones SQL span masking cannot find
            in text it already masked (names): the passes without them are skipped.
            ``None`` looks for every class. Findings of other classes no longer take
            precedence over these, so an overlap may be reported differently.

    Returns:
        One list of findings per input value, in input order. Equal values may share
        one list object: copy it before changing it.

    >>> find_spans_many(["a@b.io", None, "a@b.io"])[2][0].data_class
    'pii.email'
    >>> find_spans_many(["Emily Johnson, a@b.io"], classes={"pii.person_name"})[0][0].end
    13
    """
    wanted = None if classes is None else frozenset(classes)
    codes, uniques = _distinct(values)
    if len(uniques) < VECTOR_MIN:
        texts = uniques if isinstance(uniques, list) else uniques.to_pylist()
        results = [engine.scan(t, wanted) for t in texts]
    else:
        from jupyter_masking.detect import vector

        results = vector.scan_many(uniques, wanted)
    if len(results) == len(codes):  # all distinct, none missing: codes are 0..n-1
        return results
    return [results[code] if code >= 0 else [] for code in codes]


def _distinct(values: Any) -> tuple[Sequence[int], Any]:
    """:func:`factorize`, in Arrow for string columns: the distinct values stay an array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array: Any = None
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        array = values
    elif hasattr(values, "dtype") and hasattr(values, "array") and values.dtype.kind in "OSUT":
        try:  # a pandas Series of text ("str" and object columns)
            array = pa.array(values, type=pa.large_string(), from_pandas=True)
        except (pa.ArrowException, UnicodeEncodeError):  # other types, lone surrogates
            array = None
    if array is None or not (
        pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
    ):
        return factorize(values)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.null_count == 0 and _all_distinct(array):
        return range(len(array)), array  # free text: encoding would find nothing to share
    encoded = pc.dictionary_encode(array)
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    return codes.tolist(), encoded.dictionary


# Rows sampled from the start to tell whether a column is worth encoding.
_PROBE = 1000


def _all_distinct(array: Any) -> bool:
    """Whether a long array looks like all its values differ (its first rows all do)."""
    import pyarrow.compute as pc

    if len(array) < 10 * _PROBE:
        return False
    head = array.slice(0, _PROBE)
    return bool(pc.count_distinct(head).as_py() == _PROBE)


def factorize(values: Any) -> tuple[list[int], list[str]]:
    """Codes into the distinct values (-1 for missing) and those values as strings.

    >>> factorize(["b", None, "a", "b", 7])
    ([0, -1, 1, 0, 2], ['b', 'a', '7'])
    """
    import numpy as np
    import pandas as pd

    if hasattr(values, "to_pandas"):  # pyarrow Array or ChunkedArray
        values = values.to_pandas()
    if isinstance(values, pd.Series):
        objects = values.astype(object).where(values.notna(), None).to_numpy()
    else:
        items = list(values)
        objects = np.empty(len(items), dtype=object)
        objects[:] = items
    codes, uniques = pd.factorize(objects)
    texts = [u if isinstance(u, str) else str(u) for u in uniques.tolist()]
    return codes.tolist(), texts
