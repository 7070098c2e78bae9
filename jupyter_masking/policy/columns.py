"""Column tags: which data class ``columns:`` gives a ``catalog.schema.table.column`` path.

Patterns have 4 parts, or 3 (``schema.table.column`` under any catalog); ``*``
matches within one part only. Matching ignores case (tagging too much is the safe
side). When several patterns match, the most specific wins: more literal parts,
then more parts, then fewer glob characters, then the first written.

>>> tags = ColumnTags({"*.crm.customers.email": "pii.email", "crm.*.ssn": "gov_id.us_ssn"})
>>> tags.lookup(["demo", "CRM", "customers", "Email"])
'pii.email'
>>> tags.lookup(["demo", "crm", "people", "ssn"]), tags.lookup(["demo", "crm", "x", "y"])
('gov_id.us_ssn', None)
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from fnmatch import translate

from jupyter_masking.policy.model import has_glob, split_column_pattern

Matcher = str | re.Pattern[str]
# (position in specificity order, matchers for the parts last-first, data class)
Entry = tuple[int, tuple[Matcher, ...], str]


class ColumnTags:
    """The compiled ``columns:`` section, indexed by literal column name."""

    def __init__(self, columns: dict[str, str]) -> None:
        ranked = []
        for order, (pattern, data_class) in enumerate(columns.items()):
            parts = split_column_pattern(pattern)
            matchers = tuple(_matcher(part) for part in reversed(parts))
            literal = sum(1 for m in matchers if isinstance(m, str))
            wildcards = sum(pattern.count(c) for c in "*?[")
            ranked.append(((-literal, -len(parts), wildcards, order), matchers, data_class))
        ranked.sort(key=lambda item: item[0])
        self._by_name: dict[str, list[Entry]] = {}
        self._globbed: list[Entry] = []
        for position, (_, matchers, data_class) in enumerate(ranked):
            entry = (position, matchers, data_class)
            if isinstance(matchers[0], str):
                self._by_name.setdefault(matchers[0], []).append(entry)
            else:
                self._globbed.append(entry)

    def lookup(self, parts: Sequence[str]) -> str | None:
        """The class of the column with these four parts, or ``None``."""
        backwards = [part.lower() for part in reversed(parts)]
        named = self._by_name.get(backwards[0], [])
        for _, matchers, data_class in heapq.merge(named, self._globbed, key=_position):
            if _matches(matchers, backwards):
                return data_class
        return None


def split_path(path: str | Sequence[str]) -> list[str]:
    """The parts of a column path; double-quoted parts may hold dots.

    >>> split_path('demo.main."odd.table".email')
    ['demo', 'main', 'odd.table', 'email']
    """
    if not isinstance(path, str):
        return list(path)
    parts = split_column_pattern(path)
    return [p[1:-1] if len(p) > 1 and p[0] == '"' == p[-1] else p for p in parts]


def _position(entry: Entry) -> int:
    return entry[0]


def _matcher(part: str) -> Matcher:
    if part[:1] == '"':
        return part[1:-1].lower()
    if has_glob(part):
        return re.compile(translate(part), re.IGNORECASE)
    return part.lower()


def _matches(matchers: tuple[Matcher, ...], backwards: list[str]) -> bool:
    for matcher, part in zip(matchers, backwards, strict=False):
        if isinstance(matcher, str):
            if matcher != part:
                return False
        elif not matcher.match(part):
            return False
    return True
