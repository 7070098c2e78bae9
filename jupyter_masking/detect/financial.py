"""Detectors for financial identifiers: payment cards, IBANs, ABA routing numbers, wallets.

Card candidates are 12–19 digit runs, plain or grouped as cards are printed (4-4-4-4,
4-6-5); the validator keeps only known issuer prefixes and lengths and Luhn-valid
numbers, so order ids fall through to the other detectors.
"""

from __future__ import annotations

from jupyter_masking import classes as c
from jupyter_masking.detect import validators as v
from jupyter_masking.detect.model import Detector, Pattern

DETECTORS: tuple[Detector, ...] = (
    Detector(
        c.FINANCIAL_IBAN,
        (Pattern("iban", r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", 0.9),),
        v.iban,
    ),
    Detector(
        c.FINANCIAL_CREDIT_CARD,
        (
            Pattern(
                "card",
                r"\b(?:[0-9]{12,19}|[0-9]{4}(?: [0-9]{4}){2,3}(?: [0-9]{1,4})?"
                r"|[0-9]{4}(?:-[0-9]{4}){2,3}(?:-[0-9]{1,4})?"
                r"|[0-9]{4}[ \-][0-9]{6}[ \-][0-9]{4,5})\b",
                0.9,
            ),
        ),
        v.credit_card,
    ),
    Detector(
        c.FINANCIAL_CRYPTO_WALLET,
        (
            Pattern("btc_base58", r"\b[13][1-9A-HJ-NP-Za-km-z]{25,34}\b", 0.9),
            Pattern("btc_bech32", r"\b(?:bc1|tb1)[02-9ac-hj-np-z]{11,71}\b", 0.9),
            Pattern("eth", r"\b0x[0-9a-fA-F]{40}\b", 0.8),
        ),
        v.crypto_wallet,
    ),
    Detector(
        c.FINANCIAL_ABA_ROUTING,
        (
            Pattern(
                "aba_context",
                r"(?i:routing|aba|rtn)(?i: number| no\.?| #)?[:\s]{0,3}[0-9]{9}\b",
                0.7,
                value=r"([0-9]{9})$",
            ),
        ),
        v.aba_routing,
        value_regex=r"[0-9]{9}",
        strong=False,
    ),
)
