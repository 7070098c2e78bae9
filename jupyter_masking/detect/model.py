"""The records of detection: what a detector declares and what it reports.

A :class:`Detector` is data: its class, the patterns that find it inside text, how a
whole column value is checked, and an optional validator. Findings and column
classifications are frozen, so they can be cached and shared.

>>> Finding("pii.email", 4, 21, 0.9, "pattern email").end
21
>>> ColumnClassification("notes", None, 0.0, "free text", ("pii.email",)).free_text
True
"""

from __future__ import annotations

from dataclasses import dataclass

from jupyter_masking.detect.validators import VALIDATOR_LABELS, Validator


@dataclass(frozen=True)
class Pattern:
    """One regular expression that finds a data class inside text.

    Attributes:
        name: Short name shown in explanations (``visa_16``, ``nanp``).
        regex: RE2 syntax that Python ``re`` also reads: the text to find, possibly with
            context words around it (``SSN: 123456789``).
        score: Confidence of a match that passed the detector's validator, 0..1.
        value: For context patterns, a Python regex whose group 1 is the sensitive part
            of the match; the finding covers only that part. ``None``: the whole match.
    """

    name: str
    regex: str
    score: float
    value: str | None = None


@dataclass(frozen=True)
class Detector:
    """Everything known about one data class, as data.

    Attributes:
        data_class: The class name (a constant of :mod:`jupyter_masking.classes`).
        patterns: Patterns for free text, in priority order; empty for column-only classes.
        validator: Confirms a candidate (checksum, structure); ``None`` accepts every match.
        value_regex: Shape of a whole column value (Python ``re``, full match after strip)
            used when the column name suggests this class; ``None`` uses ``patterns``.
        strong: Whether content alone (no name rule) may classify a column as this class.
            False for classes whose shape ordinary ids share (9 or 10 digit numbers).
        min_share: Share of sampled values that must validate for the class to be taken.
    """

    data_class: str
    patterns: tuple[Pattern, ...] = ()
    validator: Validator | None = None
    value_regex: str | None = None
    strong: bool = True
    min_share: float = 0.8

    @property
    def check_label(self) -> str:
        """How matches are confirmed, for explanations: ``Luhn+IIN valid`` or ``pattern``."""
        if self.validator is None:
            return ""
        return f"{VALIDATOR_LABELS.get(self.validator, self.validator.__name__)} valid"


@dataclass(frozen=True)
class Finding:
    """A sensitive span inside a text value.

    Attributes:
        data_class: The class, e.g. ``pii.email`` (a constant of :mod:`jupyter_masking.classes`).
        start: Offset of the first character, in Python ``str`` indices.
        end: Offset just past the last character.
        score: Confidence, 0..1.
        explanation: Which pattern found it and which check confirmed it.
    """

    data_class: str
    start: int
    end: int
    score: float
    explanation: str


@dataclass(frozen=True)
class ColumnClassification:
    """The class of a whole column, with the evidence for it.

    Attributes:
        column: The column name.
        data_class: The whole-value class of the column, or ``None``.
        confidence: 0..1; name and content together score highest, content alone lower.
        evidence: Human-readable reasons: name rule and the share of sampled values that
            validated, or why the name rule was overruled.
        span_classes: Classes found inside values that are not whole-value matches
            (emails inside notes), sorted.
    """

    column: str
    data_class: str | None
    confidence: float
    evidence: str
    span_classes: tuple[str, ...] = ()

    @property
    def free_text(self) -> bool:
        """True when sensitive spans were found inside values but the column has no class."""
        return bool(self.span_classes) and self.data_class is None
