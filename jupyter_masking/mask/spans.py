"""Sensitive spans inside free text: redacted in SQL, pseudonymized in Python.

:func:`span_mask_sql` runs one global ``regexp_replace`` per class (classes rarely present
behind a cheap guard), so text is masked in the database before any derivation
(``reverse(note)``) can hide it from a later scan.
:func:`pseudonymize_spans` is the result-scan side: each found span becomes the class's
pseudonym, the same one the value gets in its own column.

>>> from sqlglot import exp
>>> from jupyter_masking.mask.base import SqlContext
>>> ctx = SqlContext("postgres", "pii.free_text", "", exp.DataType.build("text"))
>>> span_mask_sql(exp.column("note"), {"pii.email": "[a-z]+@[a-z.]+"}, ctx).sql("postgres")
"REGEXP_REPLACE(note, '[a-z]+@[a-z.]+', '[REDACTED:pii.email]', 'g')"
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from itertools import chain
from operator import attrgetter
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]
from sqlglot import exp

from jupyter_masking import classes as c
from jupyter_masking.mask.base import SqlContext
from jupyter_masking.mask.keys import MaskingKey
from jupyter_masking.mask.operators.redact import redaction
from jupyter_masking.mask.presenters import present
from jupyter_masking.mask.shapes import pseudonym_tokens
from jupyter_masking.mask.splice import cut
from jupyter_masking.mask.sqlite import _compiled
from jupyter_masking.mask.tokens import STR, take_strings

_CLASS_NAME = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")


class Span(Protocol):
    """What a detector finding must offer (``detect.Finding`` does)."""

    @property
    def data_class(self) -> str: ...  # noqa: D102

    @property
    def start(self) -> int: ...  # noqa: D102

    @property
    def end(self) -> int: ...  # noqa: D102


# Classes most free text holds: a guard would cost a scan and skip nothing, so they get
# plain passes (after the guarded ones).
FREQUENT: frozenset[str] = frozenset({c.PII_EMAIL, c.PII_PHONE})
# Secrets are guarded apart from the other classes: a row holding a card-like number
# then skips the 19 secret passes (two guards cost about one scan each).
_OWN_GUARD = "secret."


def span_mask_sql(
    column: exp.Expression,
    patterns: Mapping[str, str],
    ctx: SqlContext,
    *,
    frequent: Collection[str] = FREQUENT,
) -> exp.Expression:
    """Replace every match of each class pattern with ``'[REDACTED:<class>]'``, in SQL.

    Each class is one ``regexp_replace`` pass, since the label names the class. A pass
    scans the whole text whether it matches or not (measured: about the same cost per
    pass), so the passes of rarely present classes run behind one guard, the alternation
    of their patterns: ``CASE WHEN text ~ '(p1)|(p2)|…' THEN <their passes> ELSE text END``.
    A row without any of them costs one scan instead of one per class; the ``frequent``
    classes follow as plain passes. Engines without a guard form nest every pass.

    Args:
        column: The text column (or expression) to mask.
        patterns: Data class → regex in the portable subset (RE2 ∩ PostgreSQL ARE ∩ PCRE);
            applied in mapping order within two guarded groups (secrets, other rare
            classes; the group of the first class runs first), then the frequent classes,
            so list wider patterns (URLs) before narrower ones.
        ctx: The target dialect; ``data_class`` and ``subkey`` are not used.
        frequent: Classes expected in most values (e.g. the column profile's span classes):
            they get unguarded passes. Naming every class gives the plain nested form.

    Returns:
        The masked text expression, with each engine's replace-all behaviour.

    >>> ctx = SqlContext("postgres", "pii.free_text", "", exp.DataType.build("text"))
    >>> patterns = {"secret.jwt": "eyJ[a-z]+", "pii.email": "[a-z]+@x"}
    >>> print(span_mask_sql(exp.column("n"), patterns, ctx).sql("postgres", pretty=True))
    REGEXP_REPLACE(
      CASE
        WHEN n ~ '(eyJ[a-z]+)'
        THEN REGEXP_REPLACE(n, 'eyJ[a-z]+', '[REDACTED:secret.jwt]', 'g')
        ELSE n
      END,
      '[a-z]+@x',
      '[REDACTED:pii.email]',
      'g'
    )
    """
    engine = ctx.engine
    text = engine.canonical_text(column.copy(), ctx.kind)
    groups: dict[bool, list[tuple[str, str]]] = {}
    plain: list[tuple[str, str]] = []
    for data_class, pattern in patterns.items():
        if not _CLASS_NAME.fullmatch(data_class):
            raise ValueError(f"span masking: {data_class!r} is not a data class name")
        _compiled(pattern)  # refuses what RE2 cannot run
        pair = (pattern, redaction(data_class))
        if data_class in frequent:
            plain.append(pair)
        else:
            groups.setdefault(data_class.startswith(_OWN_GUARD), []).append(pair)
    guarded = [pair for group in groups.values() for pair in group]
    if engine.replace_many is not None and (guarded or plain):
        return engine.replace_many(text, guarded + plain)  # one flat call, guard inside
    masked = text
    for group in groups.values():
        passes = masked.copy()
        for pattern, replacement in group:
            passes = engine.regexp_replace_all(passes, pattern, replacement)
        if engine.regexp_contains is None:
            masked = passes
            continue
        # The guard reads the unmasked text: labels added by an earlier group match none
        # of the patterns, so they cannot change what it finds.
        any_of = "|".join(f"({pattern})" for pattern, _ in group)
        guard = engine.regexp_contains(text.copy(), any_of)
        masked = exp.case().when(guard, passes).else_(masked)
    for pattern, replacement in plain:
        masked = engine.regexp_replace_all(masked, pattern, replacement)
    return masked


def pseudonymize_spans(
    text_values: pd.Series, findings: Sequence[Sequence[Span]], key: MaskingKey
) -> pd.Series:
    """Replace each span by ``present(class, token(subkey(class), span text))``.

    Overlapping spans merge first (the longest one names the class). The work is
    columnar: spans become arrays, each class's distinct span texts get their pseudonyms
    in one batch, and the rows are rebuilt by :mod:`~jupyter_masking.mask.splice`.

    Args:
        text_values: The text column.
        findings: Per row (by position), the spans found in that row's text.
        key: The masking key; only its per-class subkeys are used.

    Returns:
        A ``str`` Series on the same index; rows without spans are unchanged, values that
        are not strings become missing.

    >>> from jupyter_masking.detect import find_spans_many
    >>> notes = pd.Series(["mail ann@example.com", None])
    >>> pseudonymize_spans(notes, find_spans_many(notes), MaskingKey(b"k" * 32)).tolist()
    ['mail derek.foster749009@example.com', nan]
    """
    if len(findings) != len(text_values):
        raise ValueError("findings must have one entry per text value")
    texts = _arrow_texts(text_values)
    rows, starts, ends, labels, names = _flat_spans(texts, findings)
    everything = np.arange(len(texts), dtype=np.int64)
    codes = np.where(texts.is_valid().to_numpy(zero_copy_only=False), everything, -1)
    if len(rows) == 0:
        return take_strings(texts.cast(pa.string()), codes, text_values.index)
    rows, starts, ends, labels = _merged_arrays(rows, starts, ends, labels)
    cuts = cut(texts, rows, starts, ends)
    originals = cuts.spans()
    parts, positions = [], []
    for label, data_class in enumerate(names):
        chosen = np.flatnonzero(labels == label)
        if len(chosen) == 0:
            continue
        found = pd.Series(pd.array(originals.take(pa.array(chosen)), dtype=STR))
        fakes = present(data_class, pseudonym_tokens(found, data_class, key.subkey(data_class)))
        parts.append(pa.array(fakes, type=pa.large_string(), from_pandas=True))
        positions.append(chosen)
    order = np.argsort(np.concatenate(positions), kind="stable")
    replaced = cuts.join(pa.concat_arrays(parts).take(pa.array(order)))
    return take_strings(replaced.cast(pa.string()), codes, text_values.index)


def _arrow_texts(values: pd.Series) -> pa.Array:
    """The column as Arrow strings, non-strings as NULL."""
    objects = values.to_numpy(dtype=object)  # missing values are not str: they become NULL
    is_text = np.fromiter((isinstance(v, str) for v in objects), dtype=bool, count=len(objects))
    if not is_text.all():
        objects = objects.copy()
        objects[~is_text] = None
    try:
        return pa.array(objects, type=pa.large_string())
    except UnicodeEncodeError:  # a lone surrogate: no str result could hold it either
        raise ValueError("text holds characters UTF-8 cannot encode (lone surrogates)") from None


_START, _END, _CLASS = attrgetter("start"), attrgetter("end"), attrgetter("data_class")


def _flat_spans(
    texts: pa.Array, findings: Sequence[Sequence[Span]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Rows, starts, ends and class numbers of every span of a text row, checked."""
    counts = np.fromiter(map(len, findings), dtype=np.int64, count=len(findings))
    flat = list(chain.from_iterable(findings))
    total = len(flat)
    rows = np.repeat(np.arange(len(findings), dtype=np.int64), counts)
    starts = np.fromiter(map(_START, flat), dtype=np.int64, count=total)
    ends = np.fromiter(map(_END, flat), dtype=np.int64, count=total)
    numbers: dict[str, int] = {}
    labels = np.fromiter(
        (numbers.setdefault(name, len(numbers)) for name in map(_CLASS, flat)),
        dtype=np.int64,
        count=total,
    )
    valid = texts.is_valid().to_numpy(zero_copy_only=False)
    keep = valid[rows]  # spans of missing values are ignored, as they have no text
    rows, starts, ends, labels = rows[keep], starts[keep], ends[keep], labels[keep]
    lengths = pc.utf8_length(texts).fill_null(0).to_numpy(zero_copy_only=False)[rows]
    bad = np.flatnonzero(~((starts >= 0) & (starts < ends) & (ends <= lengths)))
    if len(bad):
        first = bad[0]
        raise ValueError(
            f"span {starts[first]}:{ends[first]} is outside a text of {lengths[first]} characters"
        )
    return rows, starts, ends, labels, list(numbers)


def _merged_arrays(
    rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Spans sorted by row and start, merged where they overlap; the first longest names it."""
    order = np.lexsort((-ends, starts, rows))
    rows, starts, ends, labels = rows[order], starts[order], ends[order], labels[order]
    width = int(ends.max()) + 1
    reach = np.maximum.accumulate(rows * width + ends)
    opens = np.ones(len(rows), dtype=bool)
    opens[1:] = rows[1:] * width + starts[1:] >= reach[:-1]
    if opens.all():
        return rows, starts, ends, labels
    firsts = np.flatnonzero(opens)
    merged_labels = labels[firsts].copy()
    sizes = ends - starts
    group_sizes = np.diff(np.append(firsts, len(rows)))
    for group in np.flatnonzero(group_sizes > 1).tolist():
        begin = firsts[group]
        members = slice(begin, begin + group_sizes[group])
        merged_labels[group] = labels[members][np.argmax(sizes[members])]  # first longest
    return rows[firsts], starts[firsts], np.maximum.reduceat(ends, firsts), merged_labels
