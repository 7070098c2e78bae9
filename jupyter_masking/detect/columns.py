"""Column classification: a column's name and a sample of its values give its class.

The rule, in order:

1. A name rule (:mod:`~jupyter_masking.detect.names`) proposes a class. It is taken when
   at least the detector's ``min_share`` (0.8; 0.5 for names and addresses) of the
   sampled values validate as that class: confidence ``0.5 + 0.5 * share``. With no
   non-null values to check, the name alone gives confidence 0.5. Otherwise the name
   is overruled (a column ``ssn`` full of dates is not an SSN column).
2. Numbers, booleans and timestamps get a class only from a name rule: order ids and
   amounts are never phone or NHS numbers because their digits happen to fit.
3. Text columns: a class whose content is distinctive (``strong``: emails, cards, IBANs,
   tokens...) is taken when ``min_share`` of the values are whole, validated matches:
   confidence ``0.9 * share``. Nine- and ten-digit shapes are never taken this way.
4. Otherwise no class; the classes of spans found inside the values are reported as
   ``span_classes`` (free text such as notes holding emails).

>>> import pandas as pd
>>> classify_column("contact", ["ann@example.com", "bob@example.org"]).data_class
'pii.email'
>>> classify_column("ssn", pd.Series(["2024-01-05", "2023-12-31"])).data_class is None
True
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from functools import cache
from typing import Any

import re2

from jupyter_masking import classes as c
from jupyter_masking.detect import pii, wordlists
from jupyter_masking.detect import validators as v
from jupyter_masking.detect.gc_pause import gc_paused
from jupyter_masking.detect.model import ColumnClassification, Detector, Finding
from jupyter_masking.detect.names import name_rule
from jupyter_masking.detect.registry import BY_CLASS
from jupyter_masking.detect.spans import find_spans_many

_WORD = re.compile(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'\-]*\.?")
_DATE = re.compile(pii._DATE + r"(?:[T ][0-9:.+\-Z]*)?")
_ADDRESS = re.compile(r"[0-9].*[A-Za-z]{2,}|[A-Za-z]{2,}.*[0-9]")


def _looks_like_name(text: str) -> bool:
    words = text.split()
    if not 1 <= len(words) <= 4 or not all(_WORD.fullmatch(w) for w in words):
        return False
    return any(wordlists.is_first_name(w) or wordlists.is_last_name(w) for w in words)


def _looks_like_address(text: str) -> bool:
    return len(text.split()) >= 2 and _ADDRESS.search(text) is not None


_CARD_VALUE = re.compile(r"[0-9]{12,19}|[0-9]{4}(?:[ \-]?[0-9]{2,6}){2,4}")


def _card_value(text: str) -> bool:
    # With a name rule, any Luhn-valid 12-19 digit number: old and rare issuer ranges
    # (13-digit Visa, 15-digit JCB) are not worth the text-pattern's caution here.
    number = v.digits(text)
    return _CARD_VALUE.fullmatch(text) is not None and 12 <= len(number) <= 19 and v.luhn(number)


# Value checks that are not a pattern plus validator.
_SPECIAL_CHECKS: dict[str, Callable[[str], bool]] = {
    c.FINANCIAL_CREDIT_CARD: _card_value,
    c.PII_PERSON_NAME: _looks_like_name,
    c.PII_POSTAL_ADDRESS: _looks_like_address,
    c.PII_DATE_OF_BIRTH: lambda text: _DATE.fullmatch(text) is not None,
}


@cache
def _shape(data_class: str) -> Callable[[str], Any]:
    """Full-match function for a whole value of ``data_class``."""
    detector = BY_CLASS[data_class]
    if detector.value_regex is not None:
        return re.compile(detector.value_regex).fullmatch
    plain = [p.regex for p in detector.patterns if p.value is None]
    if not plain:
        return lambda text: None
    source = "|".join(f"(?:{regex})" for regex in plain)
    try:  # Python's re is faster per call on short values than the re2 wrapper
        return re.compile(source).fullmatch
    except re.error:
        compiled: Any = re2.compile(source)
        return compiled.fullmatch  # type: ignore[no-any-return]


def value_validates(data_class: str, text: str) -> bool:
    """Whether one whole value (already stripped) is a valid ``data_class`` value.

    >>> value_validates("financial.credit_card", "4111111111111111")
    True
    >>> value_validates("gov_id.us_ssn", "2024-01-05")
    False
    """
    special = _SPECIAL_CHECKS.get(data_class)
    if special is not None:
        return special(text)
    detector: Detector = BY_CLASS[data_class]
    if not _shape(data_class)(text):
        return False
    return detector.validator is None or detector.validator(text)


def _strings(values: Any) -> tuple[list[str], str]:
    """Non-null values as stripped strings, and the column kind: text, number, time, bool."""
    import pandas as pd

    if hasattr(values, "to_pandas"):
        values = values.to_pandas()
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    if pd.api.types.is_bool_dtype(series.dtype):
        return [], "bool"
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        return _texts(series)
    series = series.dropna()
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return [str(v.date()) for v in series], "time"
    if pd.api.types.is_numeric_dtype(series.dtype):
        floats = pd.api.types.is_float_dtype(series.dtype)
        return [str(int(v)) if floats and v == int(v) else str(v) for v in series], "number"
    return _texts(series)


def _texts(series: Any) -> tuple[list[str], str]:
    """Non-null values of ``series`` as stripped, non-empty strings."""
    # per value in Python: for a sample this size pandas' per-call overhead dominates
    missing = series.isna().to_numpy().tolist()
    texts = (
        v if type(v) is str else str(v)
        for v, na in zip(series.tolist(), missing, strict=True)
        if not na
    )
    return [t for t in map(str.strip, texts) if t], "text"


def _sample(values: Any, size: int) -> Any:
    """At most ``size`` values, evenly spread over the column (deterministic)."""
    count = len(values)
    if count <= size:
        return values
    step = count / size
    positions = [int(i * step) for i in range(size)]
    if hasattr(values, "iloc"):
        return values.iloc[positions]
    if hasattr(values, "take"):
        import pyarrow as pa

        return values.take(pa.array(positions))
    return [values[i] for i in positions]


def classify_column(name: str, values: Any, sample: int = 1000) -> ColumnClassification:
    """The class of a column from its name and (a sample of) its values.

    Args:
        name: The column name.
        values: A pandas Series, a pyarrow array or a sequence of values.
        sample: How many values to look at, spread evenly over the column.

    Returns:
        The class (or ``None``) with its confidence and evidence.

    >>> classify_column("phone_no", ["555-010-0199", "(555) 010-0123"]).evidence
    "name rule 'phone_no'; 2/2 sampled values validated"
    """
    with gc_paused():
        texts, kind = _strings(_sample(values, sample))
        return _decide(name, texts, kind, _rejected(name, texts), _Spans())


def classify_frame(frame: Any, sample: int = 1000) -> dict[str, ColumnClassification]:
    """:func:`classify_column` for every column of a DataFrame, scanning text in one batch.

    Args:
        frame: A pandas DataFrame.
        sample: Rows to look at, spread evenly over the frame.

    Returns:
        Classification per column name, in column order.
    """
    with gc_paused():
        return _classify_frame(_sample(frame, sample))


def _classify_frame(sampled: Any) -> dict[str, ColumnClassification]:
    prepared = {str(col): _strings(sampled[col]) for col in sampled.columns}
    rejected = {col: _rejected(col, texts) for col, (texts, _) in prepared.items()}
    spans = _Spans()
    # One batch for everything worth scanning: all text of columns without a name rule,
    # and the values a name rule rejected.
    spans.ensure(
        [
            t
            for col, (texts, kind) in prepared.items()
            if kind == "text"
            for t in _worth_scanning(texts, rejected[col])
        ]
    )
    return {
        col: _decide(col, texts, kind, rejected[col], spans)
        for col, (texts, kind) in prepared.items()
    }


def _worth_scanning(texts: list[str], rejected: list[str] | None) -> list[str]:
    return texts if rejected is None else rejected


def _rejected(name: str, texts: list[str]) -> list[str] | None:
    """The values that fail the column's name rule (``None`` without a rule)."""
    rule = name_rule(name)
    if rule is None:
        return None
    verdicts = {t: value_validates(rule[0], t) for t in dict.fromkeys(texts)}
    return [t for t in texts if not verdicts[t]]


class _Spans:
    """Findings per distinct text, scanned in batches on demand."""

    def __init__(self) -> None:
        self.known: dict[str, list[Finding]] = {}

    def ensure(self, texts: list[str]) -> None:
        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        if missing:
            self.known.update(zip(missing, find_spans_many(missing), strict=True))

    def __call__(self, text: str) -> list[Finding] | None:
        return self.known.get(text)


def _whole(text: str, findings: list[Finding] | None) -> str | None:
    if findings and len(findings) == 1 and findings[0].start == 0 and findings[0].end == len(text):
        return findings[0].data_class
    return None


def _decide(
    name: str, texts: list[str], kind: str, rejected: list[str] | None, spans: _Spans
) -> ColumnClassification:
    total = len(texts)
    rule = name_rule(name)
    notes: list[str] = []
    if rule is not None and rejected is not None:
        hinted, words = rule
        if total == 0:
            return ColumnClassification(
                name, hinted, 0.5, f"name rule '{words}'; no non-null values sampled"
            )
        spans.ensure(rejected if kind == "text" else [])
        rejected = [t for t in rejected if _whole(t, spans(t)) != hinted]
        valid = total - len(rejected)
        share = valid / total
        evidence = f"name rule '{words}'; {valid}/{total} sampled values validated"
        if share >= BY_CLASS[hinted].min_share:
            confidence = round(0.5 + 0.5 * share, 2)
            return ColumnClassification(
                name, hinted, confidence, evidence, _span_classes(rejected, spans)
            )
        notes.append(
            f"name rule '{words}' overruled: only {valid}/{total} sampled values validated"
        )
    if kind != "text" or total == 0:
        notes.append(f"{kind} column without a name rule" if rule is None else f"{kind} column")
        return ColumnClassification(name, None, 0.0, "; ".join(notes))

    spans.ensure(texts)
    counts = Counter(_whole(t, spans(t)) for t in texts)
    for data_class, count in counts.most_common():
        detector = BY_CLASS.get(data_class) if data_class else None
        if detector is None or not detector.strong or count / total < detector.min_share:
            continue
        rest = [t for t in texts if _whole(t, spans(t)) != data_class]
        evidence = f"content: {count}/{total} sampled values validated as {data_class}"
        return ColumnClassification(
            name,
            data_class,
            round(0.9 * count / total, 2),
            "; ".join([*notes, evidence]),
            _span_classes(rest, spans),
        )
    found = _span_classes(texts, spans)
    hits = sum(1 for t in texts if spans(t))
    notes.append(
        f"free text: spans in {hits}/{total} sampled values" if found else "no sensitive content"
    )
    return ColumnClassification(name, None, 0.0, "; ".join(notes), found)


def _span_classes(texts: list[str], spans: _Spans) -> tuple[str, ...]:
    return tuple(sorted({f.data_class for t in dict.fromkeys(texts) for f in (spans(t) or ())}))
