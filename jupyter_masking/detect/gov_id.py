"""Detectors for government identifiers: US SSN, ITIN, passport, driver's licence; UK NINO.

SSNs and ITINs share a shape and are told apart by their area rules (ITINs start with
9, SSNs never do). Undashed nine-digit numbers, passports and licences look like any
id, so inside text they need a context word, and a column needs its name.
"""

from __future__ import annotations

from jupyter_masking import classes as c
from jupyter_masking.detect import validators as v
from jupyter_masking.detect.model import Detector, Pattern

_SSN_SHAPES = r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b|\b[0-9]{3} [0-9]{2} [0-9]{4}\b"


def _context(words: str, value: str) -> str:
    """A case-insensitive context word, optional ``#``/``:``/``no.``, then the value."""
    return r"(?i:" + words + r")(?:\s?(?:#|no\.?|num(?:ber)?|:))?\s{0,3}" + value


DETECTORS: tuple[Detector, ...] = (
    Detector(
        c.GOV_ID_US_SSN,
        (
            Pattern("ssn", _SSN_SHAPES, 0.85),
            Pattern(
                "ssn_context",
                _context(r"ssn|social security", r"[0-9]{9}\b"),
                0.7,
                value=r"([0-9]{9})$",
            ),
        ),
        v.us_ssn,
        value_regex=r"[0-9]{3}-?[0-9]{2}-?[0-9]{4}",
    ),
    Detector(
        c.GOV_ID_US_ITIN,
        (Pattern("itin", _SSN_SHAPES, 0.85),),
        v.us_itin,
        value_regex=r"9[0-9]{2}-?[0-9]{2}-?[0-9]{4}",
    ),
    Detector(
        c.GOV_ID_UK_NINO,
        (
            Pattern(
                "nino",
                r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b",
                0.8,
            ),
        ),
        v.uk_nino,
    ),
    Detector(
        c.GOV_ID_US_PASSPORT,
        (
            Pattern(
                "passport_context",
                _context(r"passport", r"[A-Z]?[0-9]{8,9}\b"),
                0.6,
                value=r"([A-Z]?[0-9]{8,9})$",
            ),
        ),
        value_regex=r"[A-Z]?[0-9]{8,9}",
        strong=False,
    ),
    Detector(
        c.GOV_ID_US_DRIVER_LICENSE,
        (
            Pattern(
                "license_context",
                _context(r"driver'?s? licen[cs]e|\bDL\b", r"[A-Z0-9][A-Z0-9\-]{4,18}[0-9]\b"),
                0.5,
                value=r"([A-Z0-9][A-Z0-9\-]{4,18}[0-9])$",
            ),
        ),
        value_regex=r"(?=.*[0-9])[A-Z0-9][A-Z0-9\- ]{3,18}[A-Z0-9]",
        strong=False,
        min_share=0.7,
    ),
)
