"""The scanner for many values at once, in pyarrow kernels (RE2 inside Arrow).

Per pass (see :func:`engine.passes`; passes run in two threads, since Arrow's kernels
release the GIL): ``match_substring_regex`` picks the rows with a match, one
``replace_substring_regex`` wraps every match in a marker, a literal split cuts values
into alternating text/match pieces, and offsets come from the piece lengths.

The pattern behind each match is the first one that matches the piece in full (an
anchored test per block of patterns; most pieces leave after the first hits): that is
the alternative the leftmost-first pass chose, since an earlier pattern matching the
whole piece would have matched at the same position first. Python runs only to
confirm candidates that need it and to build the result lists; findings of later
passes that overlap earlier ones are dropped using sorted int64 keys.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jupyter_masking import classes
from jupyter_masking.detect import engine
from jupyter_masking.detect.gc_pause import gc_paused
from jupyter_masking.detect.model import Finding

# Wraps every match; values that already hold it are scanned one by one.
MARK = "\x01"
# Patterns per anchored test when finding which pattern produced a match.
_BLOCK = 6

IntArray = Any  # numpy int64 arrays; numpy's generics add nothing readable here


class _Lazy(Sequence[str]):
    """An Arrow string array read as Python strings only where a value is needed."""

    def __init__(self, array: pa.Array) -> None:
        self._array = array

    def __len__(self) -> int:
        return len(self._array)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return self._array[index].to_pylist()
        return self._array[index].as_py()


def scan_many(
    values: Sequence[str] | pa.Array, classes: frozenset[str] | None = None
) -> list[list[Finding]]:
    """Findings of each value, as :func:`engine.scan` would return them.

    Args:
        values: Strings, or an Arrow string array without NULLs.
        classes: Only look for these classes (``None``: all).

    >>> [len(found) for found in scan_many(["x@y.io and a@b.io", "none here"])]
    [2, 0]
    """
    # Hundreds of thousands of result lists and findings, none in a reference cycle: the
    # cyclic collector would only walk the heap again and again while they are built.
    with gc_paused():
        return _scan_many(values, classes)


def _scan_many(
    values: Sequence[str] | pa.Array, classes: frozenset[str] | None
) -> list[list[Finding]]:
    if isinstance(values, pa.Array):
        array = values.cast(pa.large_string())
        values = _Lazy(array)
    else:
        try:
            array = pa.array(values, pa.large_string())
        except (UnicodeEncodeError, pa.ArrowException):  # lone surrogates are not UTF-8
            return [engine.scan(value, classes) for value in values]
    marked = _marked(array)
    rows_of = np.flatnonzero(~marked)
    if len(rows_of) < len(values):
        array = array.take(pa.array(rows_of))

    # The passes run side by side: Arrow's regex kernels release the GIL. Large inputs
    # are also split in halves, so that one costly pass (names) does not leave a core idle.
    halves = 2 if len(array) >= _SPLIT_AT else 1
    bounds_of = [len(array) * i // halves for i in range(halves + 1)]
    kept_passes = engine.passes_for(classes)
    if not kept_passes:
        return [[] for _ in range(len(values))]
    tasks = [(kept, a, b) for kept in kept_passes for a, b in itertools.pairwise(bounds_of)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(lambda t: _pass(array.slice(t[1], t[2] - t[1]), t[0]), tasks))
    done = [_joined(parts[i : i + halves], bounds_of[:-1]) for i in range(0, len(parts), halves)]
    width = 1 + max((int(ends.max()) for _, _, ends, _ in done if len(ends)), default=0)
    # Findings are merged as positions into one list of all of them: sorting and
    # concatenating int64 arrays is much cheaper than moving the objects around.
    everything: list[Finding] = []
    sorted_passes = []
    for pass_rows, starts, pass_ends, found in done:
        ids = np.arange(len(everything), len(everything) + len(found), dtype=np.int64)
        everything.extend(found)
        sorted_passes.append(_sorted(pass_rows, starts, pass_ends, ids, width))
    keys, ends, ids = sorted_passes[0]
    for late_keys, late_ends, late_ids in sorted_passes[1:]:
        keep = ~_overlapping(keys, ends, late_keys, late_ends, width)
        keys = np.concatenate([keys, late_keys[keep]])
        ends = np.concatenate([ends, late_ends[keep]])
        ids = np.concatenate([ids, late_ids[keep]])
        order = np.argsort(keys, kind="stable")
        keys, ends, ids = keys[order], ends[order], ids[order]

    ordered = list(map(everything.__getitem__, ids.tolist()))
    bounds = np.searchsorted(keys // width, np.arange(len(array) + 1)).tolist()
    scanned = list(map(ordered.__getitem__, map(slice, bounds[:-1], bounds[1:])))
    if len(rows_of) == len(values):
        return scanned
    results: list[list[Finding]] = [[] for _ in values]
    for position, row in enumerate(rows_of.tolist()):
        results[row] = scanned[position]
    for row in np.flatnonzero(marked).tolist():
        results[row] = engine.scan(values[row], classes)
    return results


def _marked(array: pa.Array) -> IntArray:
    """Which values hold :data:`MARK` (one byte scan of the whole buffer first: rarely any)."""
    data = array.buffers()[2]
    if data is None or not np.any(np.frombuffer(data, dtype=np.uint8) == ord(MARK)):
        return np.zeros(len(array), dtype=bool)
    return pc.match_substring(array, MARK).to_numpy(zero_copy_only=False)


def _joined(
    parts: list[tuple[IntArray, IntArray, IntArray, list[Finding]]], firsts: list[int]
) -> tuple[IntArray, IntArray, IntArray, list[Finding]]:
    """One pass's findings over consecutive slices, as if over the whole array."""
    if len(parts) == 1:
        return parts[0]
    rows = np.concatenate([part[0] + first for part, first in zip(parts, firsts, strict=True)])
    starts = np.concatenate([part[1] for part in parts])
    ends = np.concatenate([part[2] for part in parts])
    return rows, starts, ends, [f for part in parts for f in part[3]]


def _pass(
    array: pa.Array, kept: tuple[int, ...]
) -> tuple[IntArray, IntArray, IntArray, list[Finding]]:
    """Confirmed findings of one pass as parallel (row, start, end, finding) columns."""
    regex = engine.alternation(kept)
    # Only rows with a match go through replace and split; finding out stops at the first
    # match, so it costs little even when every row has one.
    if _mostly_hits(array, regex):  # the filter would keep nearly every row: skip it
        hit_rows = np.arange(len(array))
    else:
        hits = pc.match_substring_regex(array, regex).to_numpy(zero_copy_only=False)
        hit_rows = np.flatnonzero(hits)
        if len(hit_rows) < len(array):
            array = array.take(pa.array(hit_rows))
    wrapped = pc.replace_substring_regex(array, regex, MARK + r"\0" + MARK)
    parts = pc.split_pattern(wrapped, MARK)
    offsets = parts.offsets.to_numpy()
    flat = pc.list_flatten(parts)
    lengths = pc.utf8_length(flat).to_numpy().astype(np.int64)
    local = np.repeat(np.arange(len(array)), np.diff(offsets))
    starts = np.cumsum(lengths) - lengths
    starts -= starts[offsets[:-1]][local]
    picks = np.flatnonzero((np.arange(len(flat)) - offsets[:-1][local]) & 1)
    pieces = flat.take(pa.array(picks))
    kinds = _classify(pieces, kept)
    rows, begins = hit_rows[local[picks]], starts[picks]
    ends = begins + lengths[picks]

    confirms = np.array([e.confirms for e in engine.entries()] + [True])[kinds]
    plain = np.flatnonzero(~confirms)  # an unclassified piece (-1) is checked too
    found = _shared_findings(kinds[plain], begins[plain], ends[plain])
    out_rows, out_starts, out_ends = [rows[plain]], [begins[plain]], [ends[plain]]

    checked = np.flatnonzero(confirms)
    texts = pieces.take(pa.array(checked)).to_pylist()
    columns = (rows[checked].tolist(), kinds[checked].tolist(), begins[checked].tolist(), texts)
    for r, k, s, text in zip(*columns, strict=True):
        if k < 0:
            items = [engine.shifted(f, s) for f in engine.scan_pass(text, kept)]
        else:
            items = engine.confirm(k, text, s, kept)
        found.extend(items)
        out_rows.append(np.full(len(items), r, dtype=np.int64))
        out_starts.append(np.array([f.start for f in items], dtype=np.int64))
        out_ends.append(np.array([f.end for f in items], dtype=np.int64))
    return np.concatenate(out_rows), np.concatenate(out_starts), np.concatenate(out_ends), found


# From this many distinct values, each pass runs over two halves in parallel.
_SPLIT_AT = 20_000
# Rows sampled (from the start) to decide whether filtering rows with a match pays.
_PROBE = 512


def _mostly_hits(array: pa.Array, regex: str) -> bool:
    """Whether 90% of a sample of rows match (e.g. names in notes)."""
    if len(array) < 4 * _PROBE:
        return False
    hits = pc.match_substring_regex(array.slice(0, _PROBE), regex).to_numpy(zero_copy_only=False)
    return bool(hits.sum() >= 0.9 * _PROBE)


def _shared_findings(kinds: IntArray, starts: IntArray, ends: IntArray) -> list[Finding]:
    """One finding per (kind, start, end), built once per distinct triple."""
    if len(kinds) == 0:
        return []
    width = int(ends.max()) + 1
    if width < 1 << 26:  # one int64 key per triple: much faster than unique over rows
        keys = (kinds * width + starts) * width + ends
        distinct_keys, inverse = np.unique(keys, return_inverse=True)
        ends_d = distinct_keys % width
        starts_d = distinct_keys // width % width
        distinct = np.stack([distinct_keys // width // width, starts_d, ends_d], axis=1)
    else:
        distinct, inverse = np.unique(
            np.stack([kinds, starts, ends], axis=1), axis=0, return_inverse=True
        )
    objects = np.empty(len(distinct), dtype=object)
    objects[:] = [engine.finding(k, s, e) for k, s, e in distinct.tolist()]
    shared: list[Finding] = objects[inverse.reshape(-1)].tolist()
    return shared


# Patterns tried first when classifying, because they make most of the matches in
# ordinary text. A match is only given one of them when no earlier pattern matches it.
_COMMON = ("email", "nanp", "url", "ipv4")
# Classes whose pattern, last in its pass, takes every piece the others do not.
_TRUSTED_LAST = frozenset({classes.PII_PERSON_NAME})


def _classify(pieces: pa.Array, kept: tuple[int, ...]) -> IntArray:
    """The entry index of each piece: the first pattern of ``kept`` that matches it in full.

    A piece no anchored test accepts (a word boundary that held only in context) gets
    -1 and is rescanned on its own. In the name pass, pieces the title pattern does not
    take are given names without testing them against the word list, the costliest test.
    """
    kinds = np.full(len(pieces), -1, dtype=np.int64)
    remaining = np.arange(len(pieces))
    names = {engine.entries()[i].pattern.name: position for position, i in enumerate(kept)}
    for name in _COMMON:
        position = names.get(name)
        if position is None or len(remaining) == 0:
            continue
        own = _full_match(pieces, remaining, engine.alternation(kept[position : position + 1]))
        hits = remaining[own]
        if position and len(hits):
            earlier = _full_match(pieces, hits, engine.alternation(kept[:position]))
            hits = hits[~earlier]
        kinds[hits] = kept[position]
        remaining = np.setdiff1d(remaining, hits, assume_unique=True)
    last = len(kept) - 1
    for first in range(0, last, _BLOCK):
        if len(remaining) == 0:
            break
        block = kept[first : min(first + _BLOCK, last)]
        hit = _full_match(pieces, remaining, engine.alternation(block))
        inside, remaining = remaining[hit], remaining[~hit]
        for index in block:
            if len(inside) == 0:
                break
            own = _full_match(pieces, inside, engine.alternation((index,)))
            kinds[inside[own]] = index
            inside = inside[~own]
    if engine.entries()[kept[last]].detector.data_class in _TRUSTED_LAST:
        kinds[remaining] = kept[last]
    else:
        own = _full_match(pieces, remaining, engine.alternation(kept[last:]))
        kinds[remaining[own]] = kept[last]
    return kinds


def _full_match(pieces: pa.Array, which: IntArray, regex: str) -> IntArray:
    if len(which) == 0:
        return np.zeros(0, dtype=bool)
    subset = pieces if len(which) == len(pieces) else pieces.take(pa.array(which))
    result = pc.match_substring_regex(subset, f"^(?:{regex})$")
    return result.to_numpy(zero_copy_only=False)


def _sorted(
    rows: IntArray, starts: IntArray, ends: IntArray, ids: IntArray, width: int
) -> tuple[IntArray, IntArray, IntArray]:
    """One pass's findings sorted by ``row * width + start``: keys, ends, finding ids."""
    keys = rows * width + starts
    order = np.argsort(keys, kind="stable")
    return keys[order], ends[order], ids[order]


def _overlapping(
    keys: IntArray, ends: IntArray, late_keys: IntArray, late_ends: IntArray, width: int
) -> IntArray:
    """For each later finding, whether it overlaps an earlier one in its row.

    Keys are ``row * width + start``, sorted. Earlier findings of a row do not overlap
    each other, so the only candidate is the last one that starts before the later
    finding ends.
    """
    if len(keys) == 0 or len(late_keys) == 0:
        return np.zeros(len(late_keys), dtype=bool)
    late_rows, late_starts = late_keys // width, late_keys % width
    candidate = np.searchsorted(keys, late_keys - late_starts + late_ends, side="left") - 1
    valid = candidate >= 0
    candidate = np.where(valid, candidate, 0)
    same_row = keys[candidate] // width == late_rows
    return valid & same_row & (ends[candidate] > late_starts)
