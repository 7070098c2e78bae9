"""Check a hash chain of stored audit events and name the first broken link.

Each stored row holds the event's canonical JSON plus index columns (seq, id, user...)
copied from it. A row is sound when its JSON hashes to its ``hash``, its index columns
match its JSON, its ``seq`` is the next one and its ``prev_hash`` is the previous row's
hash. At the first unsound row, the kind of damage is told from where the links point:

- ``edited``: the content no longer matches its hash, an index column was changed, or
  the previous event was rewritten with a recomputed hash (its successor still holds the
  old one);
- ``deleted``: events are missing (the next event's seq jumps and its link leads nowhere);
- ``inserted``: rows sit between two events that link to each other;
- ``reordered``: an event sits before the event it links to;
- ``truncated``: the chain is sound but the head recorded earlier is not in it. A chain
  alone cannot see the tail cut off; a head kept elsewhere (``audit head``) can.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Literal, NamedTuple

from pydantic import ValidationError

from jupyter_masking.audit.event import GENESIS_HASH, AuditEvent

BreakKind = Literal["edited", "deleted", "inserted", "reordered", "truncated"]


class StoredRow(NamedTuple):
    """One stored event as the store reads it back: the position, indexed copies and JSON."""

    seq: int
    columns: dict[str, object]
    body: str


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of a chain check.

    Attributes:
        ok: Whether every event checked is sound (and the expected head, if any, was found).
        checked: How many events are sound: all when ok, else those before ``broken_seq``.
        head_seq: The seq of the last event when ok (``None`` if empty or broken).
        head_hash: Its hash when ok (the genesis hash if empty, ``None`` if broken).
        broken_seq: The first seq where the chain is broken, or ``None``.
        kind: ``edited``, ``deleted``, ``inserted``, ``reordered`` or ``truncated``.
        detail: One sentence on what is wrong.
    """

    ok: bool
    checked: int
    head_seq: int | None
    head_hash: str | None
    broken_seq: int | None = None
    kind: BreakKind | None = None
    detail: str | None = None

    def describe(self) -> str:
        """One line for people and logs.

        >>> VerifyReport(False, 4, None, None, 5, "deleted", "seq 5 is missing").describe()
        'audit chain broken at seq 5: deleted (seq 5 is missing); 4 events before it are sound'
        """
        if self.ok:
            head = f"head seq {self.head_seq} {self.head_hash}" if self.head_seq else "empty"
            return f"audit chain ok: {self.checked} events, {head}"
        return (
            f"audit chain broken at seq {self.broken_seq}: {self.kind} ({self.detail}); "
            f"{self.checked} events before it are sound"
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return asdict(self)


def index_of(event: AuditEvent) -> dict[str, object]:
    """The index columns a store keeps beside the JSON, derived from the event only."""
    classes = sorted({o.data_class for o in event.outputs if o.data_class})
    return {
        "id": event.id,
        "time": event.to_dict()["time"],
        "user_name": event.identity.user,
        "actor": event.identity.actor,
        "notebook": event.notebook,
        "cell_id": event.cell_id,
        "outcome": event.outcome,
        "tables_key": _key(event.tables),
        "classes_key": _key(classes),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def _key(values: list[str]) -> str:
    # Newline-framed, so "contains \n<value>\n" matches whole names only.
    return "\n" + "".join(f"{v}\n" for v in values)


def verify_rows(
    rows: Iterable[StoredRow],
    find_seq: Callable[[str], int | None],
    expect_head: str | None = None,
) -> VerifyReport:
    """Walk ``rows`` in seq order and report the first broken link.

    Args:
        rows: The stored rows, ordered by their ``seq`` column.
        find_seq: Looks up the ``seq`` of the row whose hash column is the given hash.
        expect_head: A head hash recorded earlier; the chain must contain it.

    Returns:
        A :class:`VerifyReport`.
    """
    checked, head_seq, head_hash = 0, None, GENESIS_HASH
    seen_head = expect_head is None or expect_head == GENESIS_HASH
    for row in rows:
        expected = checked + 1
        problem = _check(row, expected, head_hash, find_seq)
        if problem is not None:
            seq, kind, detail = problem
            return VerifyReport(False, seq - 1, None, None, seq, kind, detail)
        checked, head_seq, head_hash = expected, row.seq, str(row.columns["hash"])
        seen_head = seen_head or head_hash == expect_head
    if not seen_head:
        detail = (
            f"expected head {str(expect_head)[:16]}… is not in the chain: events after "
            f"seq {checked} were removed or the chain was rewritten"
        )
        return VerifyReport(False, checked, None, None, checked + 1, "truncated", detail)
    return VerifyReport(True, checked, head_seq, head_hash)


def _check(
    row: StoredRow, expected: int, prev_hash: str, find_seq: Callable[[str], int | None]
) -> tuple[int, BreakKind, str] | None:
    try:
        event = AuditEvent.model_validate_json(row.body)
    except (ValidationError, ValueError):
        return row.seq, "edited", "the stored JSON is not a valid audit event"
    if event.compute_hash() != event.hash:
        return row.seq, "edited", "the event's content does not match its hash"
    stored = {**row.columns}
    for name, value in index_of(event).items():
        if stored.get(name) != value:
            return row.seq, "edited", f"column {name} does not match the event"
    if event.prev_hash == prev_hash:
        if event.seq == row.seq == expected:
            return None
        return row.seq, "edited", f"seq {row.seq} holds an event numbered {event.seq}"
    return _classify_link(row, event, expected, find_seq)


def _classify_link(
    row: StoredRow, event: AuditEvent, expected: int, find_seq: Callable[[str], int | None]
) -> tuple[int, BreakKind, str]:
    linked = find_seq(event.prev_hash)
    if linked is not None and linked >= row.seq:
        return row.seq, "reordered", f"event {event.seq} is stored before the event it follows"
    if linked is not None or event.seq < expected:
        first = linked + 1 if linked is not None else event.seq
        return first, "inserted", f"seq {first} to {expected - 1} are not part of the chain"
    if event.seq > expected:
        missing = f"{expected}" if event.seq == expected + 1 else f"{expected} to {event.seq - 1}"
        return expected, "deleted", f"seq {missing} missing"
    if expected == 1:
        return row.seq, "edited", "the first event does not start from the genesis hash"
    return (
        expected - 1,
        "edited",
        "the event was rewritten: the next event was chained to a different hash",
    )


def verify_lines(lines: Iterable[str], expect_head: str | None = None) -> VerifyReport:
    """Check a full JSON-lines export (``audit export --format jsonl``) offline.

    Line ``n`` stands where seq ``n`` was stored, so deleted, inserted and reordered
    lines are told apart as in a store. A filtered export is not a whole chain and fails.

    >>> verify_lines([]).ok
    True
    """
    rows: list[StoredRow] = []
    positions: dict[str, int] = {}
    for body in (line for line in lines if line.strip()):
        position = len(rows) + 1
        try:
            event = AuditEvent.model_validate_json(body)
        except (ValidationError, ValueError):
            rows.append(StoredRow(position, {}, body))
            continue
        positions.setdefault(event.hash, position)
        rows.append(StoredRow(position, index_of(event), body))
    return verify_rows(rows, positions.get, expect_head)
