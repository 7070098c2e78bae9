"""Sensitive spans inside free text: redacted in SQL, pseudonymized in Python.

:func:`span_mask_sql` nests one global ``regexp_replace`` per class, so text is masked in
the database before any derivation (``reverse(note)``) can hide it from a later scan.
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
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import pandas as pd
from sqlglot import exp

from jupyter_masking.mask.base import SqlContext
from jupyter_masking.mask.keys import MaskingKey
from jupyter_masking.mask.operators.redact import redaction
from jupyter_masking.mask.presenters import present
from jupyter_masking.mask.shapes import pseudonym_tokens
from jupyter_masking.mask.sqlite import _compiled
from jupyter_masking.mask.tokens import take_strings

_CLASS_NAME = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")


class Span(Protocol):
    """What a detector finding must offer (``detect.Finding`` does)."""

    @property
    def data_class(self) -> str: ...  # noqa: D102

    @property
    def start(self) -> int: ...  # noqa: D102

    @property
    def end(self) -> int: ...  # noqa: D102


def span_mask_sql(
    column: exp.Expression, patterns: Mapping[str, str], ctx: SqlContext
) -> exp.Expression:
    """Replace every match of each class pattern with ``'[REDACTED:<class>]'``, in SQL.

    Args:
        column: The text column (or expression) to mask.
        patterns: Data class → regex in the portable subset (RE2 ∩ PostgreSQL ARE ∩ PCRE);
            applied in mapping order, so list wider patterns (URLs) before narrower ones.
        ctx: The target dialect; ``data_class`` and ``subkey`` are not used.

    Returns:
        Nested ``regexp_replace`` calls with each engine's replace-all behaviour.
    """
    engine = ctx.engine
    masked = engine.canonical_text(column.copy(), ctx.kind)
    pairs: list[tuple[str, str]] = []
    for data_class, pattern in patterns.items():
        if not _CLASS_NAME.fullmatch(data_class):
            raise ValueError(f"span masking: {data_class!r} is not a data class name")
        _compiled(pattern)  # refuses what RE2 cannot run
        pairs.append((pattern, redaction(data_class)))
    if engine.replace_many is not None and pairs:
        return engine.replace_many(masked, pairs)
    for pattern, replacement in pairs:
        masked = engine.regexp_replace_all(masked, pattern, replacement)
    return masked


def _merged(spans: Sequence[Span], length: int) -> list[tuple[int, int, str]]:
    """Spans sorted and merged where they overlap; a merged span keeps its longest class."""
    merged: list[tuple[int, int, str, int]] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if not 0 <= span.start < span.end <= length:
            raise ValueError(
                f"span {span.start}:{span.end} is outside a text of {length} characters"
            )
        if merged and span.start < merged[-1][1]:
            start, end, cls, best = merged[-1]
            size = span.end - span.start
            merged[-1] = (
                start,
                max(end, span.end),
                span.data_class if size > best else cls,
                max(best, size),
            )
        else:
            merged.append((span.start, span.end, span.data_class, span.end - span.start))
    return [(start, end, cls) for start, end, cls, _ in merged]


def pseudonymize_spans(
    text_values: pd.Series, findings: Sequence[Sequence[Span]], key: MaskingKey
) -> pd.Series:
    """Replace each span by ``present(class, token(subkey(class), span text))``.

    Args:
        text_values: The text column.
        findings: Per row (by position), the spans found in that row's text.
        key: The masking key; only its per-class subkeys are used.

    Returns:
        A ``str`` Series on the same index; rows without spans are unchanged.
    """
    if len(findings) != len(text_values):
        raise ValueError("findings must have one entry per text value")
    texts = text_values.tolist()
    plans: list[list[tuple[int, int, str]]] = []
    wanted: dict[str, set[str]] = {}
    for text, spans in zip(texts, findings, strict=True):
        plan = _merged(spans, len(text)) if spans and isinstance(text, str) else []
        plans.append(plan)
        for start, end, cls in plan:
            wanted.setdefault(cls, set()).add(text[start:end])
    lookup: dict[tuple[str, str], str] = {}
    for cls, found in wanted.items():
        originals = pd.Series(sorted(found), dtype=object)
        fakes = present(cls, pseudonym_tokens(originals, cls, key.subkey(cls)))
        lookup.update(zip(((cls, o) for o in originals), fakes.tolist(), strict=True))
    out: list[object] = []
    for text, plan in zip(texts, plans, strict=True):
        if not plan:
            out.append(text if isinstance(text, str) else None)
            continue
        pieces, cursor = [], 0
        for start, end, cls in plan:
            pieces += [text[cursor:start], lookup[(cls, text[start:end])]]
            cursor = end
        out.append("".join([*pieces, text[cursor:]]))
    codes = np.arange(len(out), dtype=np.int64)
    codes[[v is None for v in out]] = -1
    return take_strings([v if v is not None else "" for v in out], codes, text_values.index)
