"""Person-name word lists, loaded lazily from Faker's locale providers.

Detection uses them to recognise names without an NER model; the mask engine uses the
same tuples to draw realistic pseudonyms (index a tuple with a keyed hash). Lists are
sorted and de-duplicated, so an index into them is stable for a given Faker version.

>>> "James" in first_names() and "Smith" in last_names()
True
>>> first_names() == tuple(sorted(set(first_names())))
True
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from functools import cache

# Locales whose names we recognise; en_US first, since the mask engine draws from it.
LOCALES: tuple[str, ...] = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT")

# First names that are also common capitalised English words at a sentence start; they
# stay in the lists, but inside free text they start a name only before a known family
# name ("Mark Johnson", not "Mark Down").
AMBIGUOUS_FIRST_NAMES = frozenset(
    {"April", "Art", "Bill", "Can", "Case", "Chance", "Dale", "Dean", "Do", "Grant", "Guy"}
    | {"Hope", "Joy", "June", "Mark", "May", "Miles", "Page", "Price", "Rich", "Will"}
)


def _names(attribute: str, locales: Iterable[str]) -> tuple[str, ...]:
    found: set[str] = set()
    for locale in locales:
        module = importlib.import_module(f"faker.providers.person.{locale}")
        found.update(str(name) for name in getattr(module.Provider, attribute, ()))
    return tuple(sorted(name for name in found if name.isalpha() or "-" in name))


@cache
def first_names(locales: tuple[str, ...] = LOCALES) -> tuple[str, ...]:
    """Given names of ``locales``, sorted and de-duplicated.

    Args:
        locales: Faker locale codes; the default covers English, German, French,
            Spanish and Italian names.

    Returns:
        A tuple of names, e.g. ``('Aaron', 'Abigail', ...)``.
    """
    return _names("first_names", locales)


@cache
def last_names(locales: tuple[str, ...] = LOCALES) -> tuple[str, ...]:
    """Family names of ``locales``, sorted and de-duplicated (see :func:`first_names`)."""
    return _names("last_names", locales)


@cache
def _lowered(kind: str) -> frozenset[str]:
    names = first_names() if kind == "first" else last_names()
    return frozenset(name.lower() for name in names)


def is_first_name(word: str) -> bool:
    """Whether ``word`` is a known given name, ignoring case.

    >>> is_first_name("mary"), is_first_name("invoice")
    (True, False)
    """
    return word.lower() in _lowered("first")


def is_last_name(word: str) -> bool:
    """Whether ``word`` is a known family name, ignoring case."""
    return word.lower() in _lowered("last")


def text_first_names() -> tuple[str, ...]:
    """Given names that start a name match in free text before any capitalised word."""
    return tuple(name for name in first_names() if not _needs_known_surname(name))


def guarded_first_names() -> tuple[str, ...]:
    """Given names that are also common words (``May``) or very short (``Al``).

    Inside free text they start a name only before a known family name.
    """
    return tuple(name for name in first_names() if _needs_known_surname(name))


def _needs_known_surname(name: str) -> bool:
    return name in AMBIGUOUS_FIRST_NAMES or len(name) <= 2
