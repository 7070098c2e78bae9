"""The per-value scanner: patterns compiled into RE2 alternations, candidates confirmed.

Patterns join one alternation per pass, in :data:`~jupyter_masking.detect.registry.DETECTORS`
order: the leftmost match wins and, at equal positions, the earlier pattern. A
candidate is then confirmed: a context pattern is narrowed to its value, the
validator runs, and a candidate that fails is scanned again without that pattern, so
a phone number that first looked like a card is still found.

Person names run in a second pass: their word list inside the main automaton made it
thrash (measured 15x slower), and a name never outranks another finding, so a name
that overlaps a finding of the first pass is dropped.

>>> [(f.data_class, f.start) for f in scan("Call Emily Johnson at 555-010-0199")]
[('pii.person_name', 5), ('pii.phone', 22)]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import re2

from jupyter_masking import classes
from jupyter_masking.detect import pii, wordlists
from jupyter_masking.detect.model import Detector, Finding, Pattern
from jupyter_masking.detect.registry import DETECTORS

# Classes scanned in a pass of their own, after the main one; they lose overlaps.
LATE_CLASSES = frozenset({classes.PII_PERSON_NAME})
# Context patterns whose value may be re-labelled by a more specific detector.
_REFINED = re.compile(r"secret\.")


@dataclass(frozen=True)
class Entry:
    """One compiled pattern with its detector."""

    index: int
    detector: Detector
    pattern: Pattern
    regex: str
    value: re.Pattern[str] | None

    @property
    def confirms(self) -> bool:
        """Whether a match needs Python work (narrowing or a validator) before it counts."""
        return self.value is not None or self.detector.validator is not None

    @property
    def explanation(self) -> str:
        """``pattern <name>`` plus the check that confirms it, for findings."""
        label = self.detector.check_label
        return f"pattern {self.pattern.name}" + (f" + {label}" if label else "")


def _expand(regex: str) -> str:
    if pii.FIRST_NAMES_TOKEN not in regex:
        return regex
    names = "|".join(re.escape(name) for name in wordlists.text_first_names())
    return regex.replace(pii.FIRST_NAMES_TOKEN, f"(?:{names})")


@cache
def entries() -> tuple[Entry, ...]:
    """Every pattern of every detector, in priority order, compiled once."""
    entries: list[Entry] = []
    for detector in DETECTORS:
        for pattern in detector.patterns:
            regex = _expand(pattern.regex)
            value = re.compile(pattern.value) if pattern.value else None
            entries.append(Entry(len(entries), detector, pattern, regex, value))
    return tuple(entries)


@cache
def passes() -> tuple[tuple[int, ...], ...]:
    """Entry indexes of each pass, in priority order: the main pass, then the late one."""
    main = tuple(e.index for e in entries() if e.detector.data_class not in LATE_CLASSES)
    late = tuple(e.index for e in entries() if e.detector.data_class in LATE_CLASSES)
    return main, late


def alternation(kept: Sequence[int]) -> str:
    """The RE2 alternation of entries ``kept``, without capture groups."""
    return "|".join(f"(?:{entries()[i].regex})" for i in kept)


@cache
def _grouped(kept: tuple[int, ...]) -> Any:
    """The alternation with one capture group per entry, compiled with RE2."""
    options = re2.Options()
    options.max_mem = 256 << 20  # the name list makes a large automaton
    return re2.compile("|".join(f"({entries()[i].regex})" for i in kept), options)


@cache
def finding(index: int, start: int, end: int) -> Finding:
    """The (shared, immutable) finding of entry ``index`` at ``start:end``."""
    entry = entries()[index]
    return Finding(entry.detector.data_class, start, end, entry.pattern.score, entry.explanation)


def shifted(found: Finding, offset: int) -> Finding:
    """``found`` moved right by ``offset`` characters."""
    if offset == 0:
        return found
    return Finding(
        found.data_class, found.start + offset, found.end + offset, found.score, found.explanation
    )


def confirm(index: int, piece: str, offset: int, kept: tuple[int, ...]) -> list[Finding]:
    """The findings for a candidate: itself when it validates, else what a rescan finds.

    Args:
        index: The entry whose pattern matched ``piece``.
        piece: The matched text.
        offset: Where ``piece`` starts in the value.
        kept: The entries of the pass; the rescan uses them minus ``index``.
    """
    entry = entries()[index]
    start, end = 0, len(piece)
    if entry.value is not None:
        narrowed = entry.value.search(piece)
        start, end = narrowed.span(1) if narrowed else (0, 0)
    validator = entry.detector.validator
    rest = tuple(i for i in kept if i != index)
    if end > start and (validator is None or validator(piece[start:end])):
        if entry.value is not None and rest and _REFINED.match(entry.detector.data_class):
            # ``api_key=AKIA...`` or ``Bearer eyJ...``: a secret value that is itself a
            # known kind of secret or id is reported as that kind. Context patterns of
            # ids (``NHS number ...``) keep their class: the context is the evidence.
            inner = scan_pass(piece[start:end], rest)
            if len(inner) == 1 and inner[0].start == 0 and inner[0].end == end - start:
                return [shifted(inner[0], offset + start)]
        return [finding(index, offset + start, offset + end)]
    return [shifted(f, offset) for f in scan_pass(piece, rest)] if rest else []


def scan_pass(text: str, kept: tuple[int, ...]) -> list[Finding]:
    """The confirmed findings of one pass over ``text``."""
    findings: list[Finding] = []
    for match in _grouped(kept).finditer(text):
        start, end = match.span()
        if start == end:
            continue
        index = kept[match.lastindex - 1]
        if entries()[index].confirms:
            findings.extend(confirm(index, text[start:end], start, kept))
        else:
            findings.append(finding(index, start, end))
    return findings


def merge(first: list[Finding], late: list[Finding]) -> list[Finding]:
    """``first`` plus the ``late`` findings that overlap none of it, sorted by start."""
    if not late:
        return first
    if not first:
        return late
    kept = [f for f in late if not any(f.start < g.end and g.start < f.end for g in first)]
    return sorted(first + kept, key=lambda f: f.start)


def scan(text: str) -> list[Finding]:
    """Every confirmed finding in ``text``, sorted and non-overlapping."""
    main, late = passes()
    return merge(scan_pass(text, main), scan_pass(text, late))
