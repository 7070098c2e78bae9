"""Word lists the presenters index with token bits: first and last names.

The single place the name source is chosen: the detection engine's en_US lists
(:mod:`jupyter_masking.detect.wordlists`), kept to plain ASCII names so e-mail local
parts stay valid. Changing a list changes every name pseudonym: treat it like a key
rotation (pin Faker, whose data the lists come from).

>>> len(first_names()), len(last_names())
(690, 1000)
>>> first_names()[:2]
('Aaron', 'Abigail')
"""

from __future__ import annotations

import functools
import re

from jupyter_masking.detect import wordlists

LOCALES = ("en_US",)
_PLAIN = re.compile(r"[A-Z][a-z]+")


@functools.cache
def first_names() -> tuple[str, ...]:
    """Distinct plain first names, sorted."""
    return tuple(n for n in wordlists.first_names(LOCALES) if _PLAIN.fullmatch(n))


@functools.cache
def last_names() -> tuple[str, ...]:
    """Distinct plain last names, sorted."""
    return tuple(n for n in wordlists.last_names(LOCALES) if _PLAIN.fullmatch(n))
