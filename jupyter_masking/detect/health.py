"""Detectors for health identifiers: US NPI and MBI, UK NHS number.

NPI and NHS numbers are ten digits, like phone numbers and ids, and their checksums
pass one time in ten or eleven by chance; so in text they need a context word and a
column needs its name. An MBI's letter/digit positions are distinctive enough alone.
"""

from __future__ import annotations

from jupyter_masking import classes as c
from jupyter_masking.detect import validators as v
from jupyter_masking.detect.model import Detector, Pattern

_MBI_LETTER = "[AC-HJKMNP-RT-Y]"
_MBI_EITHER = "[AC-HJKMNP-RT-Y0-9]"

DETECTORS: tuple[Detector, ...] = (
    Detector(
        c.HEALTH_US_MBI,
        (
            Pattern(
                "mbi",
                rf"\b[1-9]{_MBI_LETTER}{_MBI_EITHER}[0-9]-?{_MBI_LETTER}{_MBI_EITHER}[0-9]-?"
                rf"{_MBI_LETTER}{_MBI_LETTER}[0-9][0-9]\b",
                0.8,
            ),
        ),
        v.us_mbi,
    ),
    Detector(
        c.HEALTH_US_NPI,
        (
            Pattern(
                "npi_context",
                r"(?i:npi)(?i: number| no\.?| #)?[:\s]{0,3}[12][0-9]{9}\b",
                0.8,
                value=r"([0-9]{10})$",
            ),
        ),
        v.us_npi,
        value_regex=r"[12][0-9]{9}",
        strong=False,
    ),
    Detector(
        c.HEALTH_UK_NHS,
        (
            Pattern(
                "nhs_context",
                r"(?i:nhs)(?i: number| no\.?| #)?[:\s]{0,3}[0-9]{3}[ \-]?[0-9]{3}[ \-]?[0-9]{4}\b",
                0.8,
                value=r"([0-9]{3}[ \-]?[0-9]{3}[ \-]?[0-9]{4})$",
            ),
        ),
        v.uk_nhs,
        value_regex=r"[0-9]{3}[ \-]?[0-9]{3}[ \-]?[0-9]{4}",
        strong=False,
    ),
)
