"""Cut many strings at character ranges and join them back with replacements, in Arrow.

The result scan replaces spans inside every row of a text column. Building each row in
Python (slices, ``"".join``) cost about 2.5 µs per row (measured on 200k notes); here the
rows are cut into a string array of *segments* that shares the column's own bytes (no
copy), the replacements are taken in place of the span segments, and one list join
rebuilds every row. Python only converts offsets of rows holding non-ASCII characters.

>>> import pyarrow as pa
>>> texts = pa.array(["call 555-0100 now", None, "né à 7"])
>>> cuts = cut(texts, np.array([0, 2]), np.array([5, 5]), np.array([13, 6]))
>>> cuts.spans().to_pylist()
['555-0100', '7']
>>> cuts.join(pa.array(["#", "N"])).to_pylist()
['call # now', None, 'né à N']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]


@dataclass(frozen=True)
class Cuts:
    """A text column cut at its spans: per row, gap, span, gap, …, span, gap.

    Attributes:
        texts: The column (large strings; NULLs stay NULL when joined).
        segments: Every segment of every row, in order, sharing ``texts``' bytes.
        row_first: ``(n + 1,)`` index of each row's first segment (and the total).
        span_segments: Index of each span's segment, in span order.
    """

    texts: pa.Array
    segments: pa.Array
    row_first: np.ndarray
    span_segments: np.ndarray

    def spans(self) -> pa.Array:
        """The text of each span, in span order."""
        return self.segments.take(pa.array(self.span_segments))

    def join(self, replacements: pa.Array) -> pa.Array:
        """Every row with its spans replaced by ``replacements`` (one per span, in order)."""
        if len(replacements) != len(self.span_segments):
            raise ValueError("one replacement per span is needed")
        count = len(self.segments)
        pool = pa.concat_arrays([self.segments, replacements.cast(pa.large_string())])
        take = np.arange(count, dtype=np.int64)
        take[self.span_segments] = count + np.arange(len(self.span_segments), dtype=np.int64)
        pieces = pool.take(pa.array(take))
        rows = pa.LargeListArray.from_arrays(
            pa.array(self.row_first, pa.int64()), pieces, mask=self.texts.is_null()
        )
        return pc.binary_join(rows, pa.scalar("", pa.large_string()))


def cut(texts: pa.Array, rows: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> Cuts:
    """Cut ``texts`` at character ranges ``starts[i]:ends[i]`` of row ``rows[i]``.

    Args:
        texts: A string array (NULL rows must hold no range).
        rows: Row of each range; ranges sorted by row then start, not overlapping, inside
            their text (the caller checks).
        starts: Character offset where each range starts.
        ends: Character offset just past each range.

    Returns:
        The cut column; see :class:`Cuts`.
    """
    array = texts.cast(pa.large_string())
    size = len(array)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[
        array.offset : array.offset + size + 1
    ]
    data = array.buffers()[2] or pa.py_buffer(b"")
    rows = np.asarray(rows, dtype=np.int64)
    byte_starts, byte_ends = _byte_offsets(array, rows, starts, ends)
    counts = np.bincount(rows, minlength=size)
    row_first = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(2 * counts + 1, out=row_first[1:])
    first_span = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(counts, out=first_span[1:])
    rank = np.arange(len(rows), dtype=np.int64) - first_span[rows]
    span_segments = row_first[rows] + 2 * rank + 1
    bounds = np.empty(row_first[-1] + 1, dtype=np.int64)
    bounds[row_first[:-1]] = offsets[:-1]
    bounds[-1] = offsets[-1]
    bounds[span_segments] = offsets[rows] + byte_starts
    bounds[span_segments + 1] = offsets[rows] + byte_ends
    segments = pa.LargeStringArray.from_buffers(int(row_first[-1]), pa.py_buffer(bounds), data)
    return Cuts(array, segments, row_first, span_segments)


def _byte_offsets(
    array: pa.Array, rows: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Character offsets as UTF-8 byte offsets (equal unless the row has non-ASCII text)."""
    byte_starts = np.array(starts, dtype=np.int64)
    byte_ends = np.array(ends, dtype=np.int64)
    if len(rows) == 0:
        return byte_starts, byte_ends
    ascii_rows = pc.string_is_ascii(array).fill_null(True).to_numpy(zero_copy_only=False)
    wide = np.flatnonzero(~ascii_rows[rows])
    if len(wide):
        texts = array.take(pa.array(rows[wide])).to_pylist()
        for position, text in zip(wide.tolist(), texts, strict=True):
            start, end = int(starts[position]), int(ends[position])
            byte_starts[position] = len(text[:start].encode("utf-8"))
            byte_ends[position] = byte_starts[position] + len(text[start:end].encode("utf-8"))
    return byte_starts, byte_ends
