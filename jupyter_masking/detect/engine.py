"""The per-value scanner: patterns compiled into RE2 alternations, candidates confirmed.

Patterns join one alternation per pass, in :data:`~jupyter_masking.detect.registry.DETECTORS`
order: the leftmost match wins and, at equal positions, the earlier pattern. A
candidate is then confirmed: a context pattern is narrowed to its value, the
validator runs, and a candidate that fails is scanned again without that pattern, so
a phone number that first looked like a card is still found.

Patterns run in passes (secrets and ids; other personal data; person names; names
that start with a common word), each a smaller automaton: the name word list inside
one big automaton made it thrash (measured 15x slower). A finding that overlaps one of
an earlier pass is dropped.

>>> [(f.data_class, f.start) for f in scan("Call Emily Johnson at 555-010-0199")]
[('pii.person_name', 5), ('pii.phone', 22)]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import re2
from re2 import _re2

from jupyter_masking import classes
from jupyter_masking.detect import pii, wordlists
from jupyter_masking.detect.model import Detector, Finding, Pattern
from jupyter_masking.detect.registry import DETECTORS

# Classes scanned in a pass of their own, after the main one; they lose overlaps.
# The pass of each pattern name, class or family (default 0); later passes lose overlaps
# to earlier ones. Smaller automata scan faster than one big one (measured per 100k
# notes: the pii patterns with the rest 0.22 s, apart 0.04 + 0.11 s; the guarded-name
# pattern inside the name pass 0.62 s, apart 0.10 + 0.06 s), and passes run side by
# side. Names come last: they never outrank another finding.
PASS_OF: dict[str, int] = {"pii": 1, classes.PII_PERSON_NAME: 2, "guarded_given_name": 3}
_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_MAY_HOLD = re.compile(r"[0-9@/]|BEGIN|eyJ|[A-Z]{4}")
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


# Word-list tokens in patterns and the lists they stand for.
_TOKENS: dict[str, Callable[[], tuple[str, ...]]] = {
    pii.FIRST_NAMES_TOKEN: wordlists.text_first_names,
    pii.GUARDED_NAMES_TOKEN: wordlists.guarded_first_names,
    pii.LAST_NAMES_TOKEN: wordlists.last_names,
}


def _expand(regex: str) -> str:
    for token, words in _TOKENS.items():
        if token in regex:
            regex = regex.replace(token, "(?:" + "|".join(map(re.escape, words())) + ")")
    return regex


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
    """Entry indexes of each pass, in priority order (see :data:`PASS_OF`)."""
    grouped: dict[int, list[int]] = {}
    for entry in entries():
        data_class = entry.detector.data_class
        keys = (entry.pattern.name, data_class, classes.family(data_class))
        number = next((PASS_OF[key] for key in keys if key in PASS_OF), 0)
        grouped.setdefault(number, []).append(entry.index)
    return tuple(tuple(grouped[number]) for number in sorted(grouped))


def alternation(kept: Sequence[int]) -> str:
    """The RE2 alternation of entries ``kept``, without capture groups."""
    return "|".join(f"(?:{entries()[i].regex})" for i in kept)


@cache
def _grouped(kept: tuple[int, ...]) -> Any:
    """The alternation with one capture group per entry, compiled by RE2.

    It uses RE2's low-level API: the ``re2`` module's match objects cost more than the
    matching itself.
    """
    options = re2.Options()
    options.max_mem = 256 << 20  # the name list makes a large automaton
    source = "|".join(f"({entries()[i].regex})" for i in kept)
    return _re2.RE2(source.encode(), options)


def _matches(text: str, kept: tuple[int, ...]) -> Iterator[tuple[int, int, int]]:
    """``(entry index, start, end)`` of each leftmost-first match, in character offsets."""
    # surrogatepass: a lone surrogate (from JSON "\ud800") keeps its one-character width
    data = text.encode("utf-8", "surrogatepass")
    ascii_only = len(data) == len(text)
    regex, size, position = _grouped(kept), len(data), 0
    while position <= size:
        spans = regex.Match(_UNANCHORED, data, position, size)
        start, end = spans[0]
        if start < 0:
            return
        position = end if end > start else end + 1
        if end == start:
            continue
        group = next(i for i in range(1, len(spans)) if spans[i][0] >= 0)
        if ascii_only:
            yield kept[group - 1], start, end
        else:
            first = len(data[:start].decode("utf-8", "surrogatepass"))
            width = len(data[start:end].decode("utf-8", "surrogatepass"))
            yield kept[group - 1], first, first + width


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
    if not (end > start and (validator is None or validator(piece[start:end]))):
        return [shifted(f, offset) for f in scan_pass(piece, rest)] if rest else []
    found = [finding(index, offset + start, offset + end)]
    if entry.value is None or not rest:
        return found
    if _REFINED.match(entry.detector.data_class):
        # ``api_key=AKIA...`` or ``Bearer eyJ...``: a secret value that is itself a
        # known kind of secret or id is reported as that kind. Context patterns of
        # ids (``NHS number ...``) keep their class: the context is the evidence.
        inner = scan_pass(piece[start:end], rest)
        if len(inner) == 1 and inner[0].start == 0 and inner[0].end == end - start:
            found = [shifted(inner[0], offset + start)]
    # The context around the value may hold other findings ("call ann@x.io 5550100199");
    # every pattern but a name's needs a digit, "@" or "/" (names run in the late pass).
    before, after = piece[:start], piece[end:]
    if _MAY_HOLD.search(before):
        found = [shifted(f, offset) for f in scan_pass(before, rest)] + found
    if _MAY_HOLD.search(after):
        found += [shifted(f, offset + end) for f in scan_pass(after, rest)]
    return found


def scan_pass(text: str, kept: tuple[int, ...]) -> list[Finding]:
    """The confirmed findings of one pass over ``text``."""
    findings: list[Finding] = []
    for index, start, end in _matches(text, kept):
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


@cache
def passes_for(classes: frozenset[str] | None) -> tuple[tuple[int, ...], ...]:
    """:func:`passes` keeping only the entries of ``classes`` (all for ``None``)."""
    if classes is None:
        return passes()
    kept = (tuple(i for i in p if entries()[i].detector.data_class in classes) for p in passes())
    return tuple(p for p in kept if p)


def scan(text: str, classes: frozenset[str] | None = None) -> list[Finding]:
    """Every confirmed finding in ``text`` (of ``classes`` only), sorted and non-overlapping."""
    found: list[Finding] = []
    for kept in passes_for(classes):
        found = merge(found, scan_pass(text, kept))
    return found
