"""Detectors for personal data: contact details, addresses, dates of birth, names.

Phone numbers are found by format, not by ``phonenumbers`` validity (which rejects
half of all test and fake numbers), and need separators or context: a bare run of
ten digits in text is an id as often as a phone. Person names inside free text are
best effort: a known given name followed by a capitalised word, a given name that is
also a common word (``Mark``) followed by a known family name, or a title such as
``Mr.``. The ``<...>`` tokens are replaced by the word lists when the engine compiles.
"""

from __future__ import annotations

from jupyter_masking import classes as c
from jupyter_masking.detect import validators as v
from jupyter_masking.detect.model import Detector, Pattern

FIRST_NAMES_TOKEN = "<FIRST_NAMES>"
GUARDED_NAMES_TOKEN = "<GUARDED_FIRST_NAMES>"
LAST_NAMES_TOKEN = "<LAST_NAMES>"

# Simple on purpose: a tighter local/domain grammar made the combined pass 1.5x slower.
_EMAIL = r"[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9][A-Za-z0-9.\-]*\.[A-Za-z]{2,24}\b"
_EXT = r"(?: ?(?:x|ext\.?|extension) ?[0-9]{1,6}\b|\b)"
_SEP = r"[\-. ]"
_NANP = (
    r"(?:(?:\+1|001|1)[\-. ]?)?(?:\([0-9]{3}\) ?|\b[0-9]{3}" + _SEP + r")[0-9]{3}" + _SEP
    + r"[0-9]{4}" + _EXT
)  # fmt: skip
_INTL = r"\+[1-9][0-9]{0,2}[\-. ]?(?:\(0?[0-9]{1,4}\)[\-. ]?)?[0-9]{2,5}(?:[\-. ][0-9]{2,5}){1,4}\b"
# A phone word, then up to 16 characters without digits ("Call back ", "phone (").
_PHONE_CONTEXT = r"\b(?i:phone|mobile|cell|tel|call|fax|sms|whatsapp)[A-Za-z.]*[^0-9\n]{0,16}"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_H = r"[0-9A-Fa-f]{1,4}"
_DATE = (
    r"(?:(?:19|20)[0-9]{2}[\-/.](?:0?[1-9]|1[0-2])[\-/.](?:0?[1-9]|[12][0-9]|3[01])"
    r"|(?:0?[1-9]|[12][0-9]|3[01])[\-/.](?:0?[1-9]|1[0-2])[\-/.](?:19|20)[0-9]{2}"
    r"|(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12][0-9]|3[01])/(?:19|20)[0-9]{2})"
)
_STREET_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl"
    r"|Terrace|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Plaza|Alley|Crescent"
    r"|Close|Gardens|Grove|Row|Walk|Loop|Pike|Ridge|Hill|Park|Mews)"
)
_UNIT = r"(?:,? (?:Apt\.?|Suite|Unit|#) ?[0-9A-Za-z]{1,6})?"
_SUFFIX = r"(?: (?:Jr|Sr)\.?| (?:II|III|IV|MD|DDS|DVM|PhD)\b)?"
_CITY_ZIP = r"(?:,?\s+[A-Z][A-Za-z]+(?: [A-Z][A-Za-z]+){0,2},? [A-Z]{2} [0-9]{5}(?:-[0-9]{4})?)?"

DETECTORS: tuple[Detector, ...] = (
    Detector(
        c.PII_URL,
        (Pattern("url", r"\b(?:https?|ftp)://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]]", 0.6),),
    ),
    Detector(c.PII_EMAIL, (Pattern("email", _EMAIL, 0.9),)),
    Detector(
        c.PII_IP_ADDRESS,
        (
            Pattern("ipv4", rf"\b{_OCTET}(?:\.{_OCTET}){{3}}\b", 0.7),
            Pattern(
                "ipv6",
                rf"\b(?:{_H}:){{7}}{_H}\b|\b(?:{_H}:){{1,6}}:(?:{_H}(?::{_H}){{0,5}})?"
                rf"|::{_H}(?::{_H}){{0,6}}\b",
                0.7,
            ),
        ),
        v.ip_address,
    ),
    Detector(
        c.PII_MAC_ADDRESS,
        (
            Pattern("mac", r"\b[0-9A-Fa-f]{2}(?:[:\-][0-9A-Fa-f]{2}){5}\b", 0.7),
            Pattern("mac_dotted", r"\b[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\b", 0.7),
        ),
        v.mac_address,
    ),
    Detector(
        c.PII_PHONE,
        (
            Pattern("nanp", _NANP, 0.7),
            Pattern("international", _INTL, 0.6),
            Pattern(
                "phone_context",
                _PHONE_CONTEXT + r"\+?[0-9]{10,14}\b",
                0.6,
                value=r"(\+?[0-9]{10,14})$",
            ),
        ),
        # No validator: the patterns fix the digit count, and a per-match Python check on
        # the commonest finding in notes cost a third of the vectorised scan.
        value_regex=r"\+?[0-9 ().\-]{10,20}(?: ?(?:x|ext\.?) ?[0-9]{1,6})?",
    ),
    Detector(
        c.PII_DATE_OF_BIRTH,
        (
            Pattern(
                "dob_context",
                r"(?i:dob|d\.o\.b\.|date of birth|birth ?date|born(?: on)?)[:\s]{0,3}"
                + _DATE
                + r"\b",
                0.8,
                value=r"([0-9][0-9\-/.]+[0-9])$",
            ),
        ),
        value_regex=_DATE,
        strong=False,
    ),
    Detector(
        c.PII_POSTAL_ADDRESS,
        (
            Pattern(
                "us_street",
                r"\b[0-9]{1,6}(?: [A-Z][a-z]+){1,4} "
                + _STREET_SUFFIX
                + r"\b\.?"
                + _UNIT
                + _CITY_ZIP,
                0.6,
            ),
        ),
        strong=False,
        min_share=0.5,
    ),
    Detector(
        c.PII_PERSON_NAME,
        (
            Pattern(
                "title_name",
                r"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.? [A-Z][a-z]+(?:[\-'][A-Z][a-z]+)?"
                r"(?: [A-Z][a-z]+(?:[\-'][A-Z][a-z]+)?)?" + _SUFFIX,
                0.6,
            ),
            Pattern(
                "guarded_given_name",
                r"\b"
                + GUARDED_NAMES_TOKEN
                + r"(?: [A-Z]\.?)? "
                + LAST_NAMES_TOKEN
                + r"\b"
                + _SUFFIX,
                0.5,
            ),
            Pattern(
                "given_name",
                r"\b" + FIRST_NAMES_TOKEN + r"(?: [A-Z]\.?)?"
                r" (?:Mc|Mac|O')?[A-Z][a-z]+(?:-[A-Z][a-z]+)?\b" + _SUFFIX,
                0.5,
            ),
        ),
        strong=False,
        min_share=0.5,
    ),
)
