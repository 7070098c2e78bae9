"""Tampering with a stored chain, as someone with full database access would: verify names it.

Each attack reads every row, changes the list in Python, then rebuilds the table without
its uniqueness constraints (an attacker can drop those) and writes the rows back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from jupyter_masking.audit import EventDraft, open_store
from jupyter_masking.audit.event import AuditEvent, hash_body
from jupyter_masking.audit.sql_store import SqlAuditStore
from jupyter_masking.audit.store import AuditStore

Rows = list[dict[str, Any]]
EVENTS = 6


@dataclass
class Chain:
    location: str
    engine: sa.Engine
    store: AuditStore
    events: list[AuditEvent]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Chain]:
    if request.param == "sqlite":
        location = str(tmp_path / "audit.sqlite3")
        engine = sa.create_engine(f"sqlite:///{location}")
    else:
        scratch = request.getfixturevalue("pg_schema")
        location, engine = scratch.url, sa.create_engine(scratch.url)
    store = open_store(location)
    events = [store.append(draft(rows=i)) for i in range(1, EVENTS + 1)]
    yield Chain(location, engine, store, events)
    store.close()
    engine.dispose()


def draft(**overrides: object) -> EventDraft:
    fields: dict[str, object] = {
        "identity": {"user": "alice", "groups": ["analysts"]},
        "connection": "demo",
        "dialect": "duckdb",
        "sql": "SELECT email FROM customers",
        "tables": ["demo.main.customers"],
        "outcome": "allowed",
    }
    fields.update(overrides)
    return EventDraft.model_validate(fields)


def tamper(chain: Chain, attack: Callable[[Rows], Rows]) -> None:
    loose = sa.MetaData()
    strict = sa.Table("audit_events", sa.MetaData(), autoload_with=chain.engine)
    with chain.engine.begin() as conn:
        rows = [
            dict(r._mapping)
            for r in conn.execute(sa.text("SELECT * FROM audit_events ORDER BY seq"))
        ]
        rows = attack(rows)
        strict.drop(conn)
        columns = [sa.Column(c.name, c.type, primary_key=c.name == "seq") for c in strict.columns]
        table = sa.Table("audit_events", loose, *columns)
        table.create(conn)
        if rows:
            conn.execute(table.insert(), rows)


def rebody(row: dict[str, Any], rehash: bool, **changes: Any) -> dict[str, Any]:
    body = {**json.loads(row["body"]), **changes}
    if rehash:
        body.pop("hash")
        body["hash"] = hash_body(body)
    return {**row, "body": json.dumps(body), "hash": body["hash"]}


def renumber(rows: Rows) -> Rows:
    return [{**row, "seq": i} for i, row in enumerate(rows, start=1)]


def forged_row(chain: Chain, seq: int, prev_hash: str) -> dict[str, Any]:
    event = draft(identity={"user": "mallory"}).seal(
        seq=seq, prev_hash=prev_hash, event_id="f" * 32, time=datetime.now(timezone.utc)
    )
    return SqlAuditStore._row(event)


def swap(a: int, b: int) -> Callable[[Rows], Rows]:
    def attack(rows: Rows) -> Rows:
        rows[a - 1], rows[b - 1] = rows[b - 1], rows[a - 1]
        return renumber(rows)

    return attack


ATTACKS: dict[str, tuple[Callable[[Chain], Callable[[Rows], Rows]], int, str]] = {
    "edit a field, keep the hash": (
        lambda c: lambda rows: [rebody(r, False, rows=999) if r["seq"] == 3 else r for r in rows],
        3, "edited",
    ),
    "edit a field, recompute its hash": (
        lambda c: lambda rows: [
            rebody(r, True, outcome="refused") if r["seq"] == 3 else r for r in rows
        ],
        3, "edited",
    ),
    "edit an index column only": (
        lambda c: lambda rows: [{**r, "user_name": "bob"} if r["seq"] == 4 else r for r in rows],
        4, "edited",
    ),
    "add a key to the JSON": (
        lambda c: lambda rows: [
            {**r, "body": r["body"][:-1] + ',"note":"x"}'} if r["seq"] == 2 else r for r in rows
        ],
        2, "edited",
    ),
    "corrupt the JSON": (
        lambda c: lambda rows: [{**r, "body": "{"} if r["seq"] == 5 else r for r in rows],
        5, "edited",
    ),
    "delete a middle event": (
        lambda c: lambda rows: [r for r in rows if r["seq"] != 3], 3, "deleted",
    ),
    "delete the first event": (
        lambda c: lambda rows: [r for r in rows if r["seq"] != 1], 1, "deleted",
    ),
    "delete two events and renumber": (
        lambda c: lambda rows: renumber([r for r in rows if r["seq"] not in (3, 4)]), 3, "deleted",
    ),
    "insert a forged event in the middle": (
        lambda c: lambda rows: renumber([*rows[:2], forged_row(c, 3, rows[1]["hash"]), *rows[2:]]),
        3, "inserted",
    ),
    "insert a forged first event": (
        lambda c: lambda rows: renumber([forged_row(c, 1, "0" * 64), *rows]), 1, "inserted",
    ),
    "swap two events": (lambda c: swap(2, 5), 2, "reordered"),
    "swap neighbours": (lambda c: swap(3, 4), 3, "reordered"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(ATTACKS))
def test_verify_names_the_first_broken_seq_and_the_kind(chain: Chain, name: str) -> None:
    make_attack, seq, kind = ATTACKS[name]
    assert chain.store.verify().ok
    tamper(chain, make_attack(chain))
    report = chain.store.verify()
    assert (report.ok, report.broken_seq, report.kind) == (False, seq, kind), report.describe()
    assert report.checked == seq - 1
    assert f"broken at seq {seq}: {kind}" in report.describe()


def test_a_chain_alone_cannot_see_its_tail_cut_off_but_a_kept_head_can(chain: Chain) -> None:
    kept_head = chain.store.head()
    assert kept_head is not None
    tamper(chain, lambda rows: rows[:4])
    honest = chain.store.verify()
    assert honest.ok
    assert honest.checked == 4
    report = chain.store.verify(expect_head=kept_head[1])
    assert (report.ok, report.broken_seq, report.kind) == (False, 5, "truncated")


def test_a_rewritten_last_event_needs_a_kept_head_to_be_seen(chain: Chain) -> None:
    kept_head = chain.events[-1].hash
    tamper(chain, lambda rows: [*rows[:-1], rebody(rows[-1], True, rows=0)])
    assert chain.store.verify().ok  # nothing after it holds its old hash
    report = chain.store.verify(expect_head=kept_head)
    assert (report.ok, report.broken_seq, report.kind) == (False, 7, "truncated")


def test_a_kept_head_still_verifies_after_the_chain_grew(chain: Chain) -> None:
    kept = chain.events[2].hash
    chain.store.append(draft())
    assert chain.store.verify(expect_head=kept).ok
    assert not chain.store.verify(expect_head="e" * 64).ok


def test_an_untouched_rebuilt_table_still_verifies(chain: Chain) -> None:
    tamper(chain, lambda rows: rows)  # the harness itself changes nothing that matters
    assert chain.store.verify().ok
