"""The one table of detectors, in priority order.

Order matters inside free text: when two patterns match at the same position, the
earlier one wins. Secrets come first (a password inside a URL is a credential before
it is a URL), then financial, health and government ids (a card number before a
phone number), then general personal data.

>>> DETECTORS[0].data_class
'secret.private_key'
>>> detector("financial.iban").validator.__name__
'iban'
"""

from __future__ import annotations

from collections.abc import Mapping

from jupyter_masking.detect import financial, gov_id, health, pii, secret
from jupyter_masking.detect.model import Detector

DETECTORS: tuple[Detector, ...] = (
    *secret.DETECTORS,
    *financial.DETECTORS,
    *health.DETECTORS,
    *gov_id.DETECTORS,
    *pii.DETECTORS,
)

BY_CLASS: Mapping[str, Detector] = {d.data_class: d for d in DETECTORS}


def detector(data_class: str) -> Detector:
    """The detector of ``data_class``; ``KeyError`` for an unknown class."""
    return BY_CLASS[data_class]
