"""The attack suite: adversarial queries against the gateway on DuckDB, PostgreSQL and MariaDB.

Cases are data, in ``tests/fixtures/attacks/<dialect>.sql`` (``common.sql`` runs on all three
engines; the format is described at its top). Every case asserts the expected outcome (runs,
refused naming the construct, bad input, or any failure) and, whatever the outcome, that no
planted value nor an encoding of one appears in the result, the error message, or the audit
event written for the query.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_attack_harness import IDENTITIES, Lab, needles, open_lab

from jupyter_masking.errors import BadInput, MaskingError, Refused

FIXTURES = Path(__file__).parent / "fixtures" / "attacks"
ATTACK_ENGINES = ("duckdb", "postgres", "mysql")
FILES = {"common": ATTACK_ENGINES, "duckdb": ("duckdb",), "postgres": ("postgres",)}
FILES["mysql"] = ("mysql",)


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The attack lab (tests/test_attack_harness.py) for this module."""
    yield from open_lab(request, tmp_path_factory.mktemp("lab"))


@dataclass(frozen=True)
class Attack:
    """One adversarial query and what must happen to it."""

    sql: str
    where: str
    engines: tuple[str, ...]
    expect: str = "allow"
    construct: str = ""
    identity: str = "alice"


def load_attacks(name: str) -> list[Attack]:
    """The blocks of ``tests/fixtures/attacks/<name>.sql``."""
    lines = (FIXTURES / f"{name}.sql").read_text(encoding="utf-8").splitlines()
    attacks: list[Attack] = []
    block: list[tuple[int, str]] = []
    for number, line in enumerate([*lines, ""], start=1):
        if line.strip():
            block.append((number, line))
            continue
        sql = "\n".join(text for _, text in block if not text.startswith("#"))
        if sql:
            attacks.append(_attack(name, block, sql))
        block = []
    return attacks


def _attack(name: str, block: list[tuple[int, str]], sql: str) -> Attack:
    headers = dict(
        text[1:].strip().split(":", 1) for _, text in block if text.startswith("# ") and ":" in text
    )
    expect, _, construct = headers.get("expect", "allow").strip().partition(" ")
    engines = tuple(headers.get("dialects", " ".join(FILES[name])).split())
    first = next(number for number, text in block if not text.startswith("#"))
    identity = headers.get("as", "alice").strip()
    return Attack(sql, f"{name}.sql:{first}", engines, expect, construct.strip(), identity)


CASES = [
    pytest.param(attack, engine, id=f"{engine}-{attack.where}")
    for name in FILES
    for attack in load_attacks(name)
    for engine in attack.engines
]


def test_the_suite_holds_over_100_attacks_in_each_of_three_dialects() -> None:
    per_engine = {e: sum(1 for p in CASES if p.values[1] == e) for e in ATTACK_ENGINES}
    assert all(count >= 100 for count in per_engine.values()), per_engine
    assert {a.expect for n in FILES for a in load_attacks(n)} == {"allow", "refuse", "fail"}


@pytest.mark.parametrize(("attack", "engine"), CASES)
def test_attack(lab: Lab, attack: Attack, engine: str) -> None:
    identity = IDENTITIES[attack.identity]
    found = needles()
    try:
        result = lab.query(engine, attack.sql, identity)
    except MaskingError as error:  # either outcome may be right: both are checked
        _check_failure(lab, attack, error)
        return
    assert attack.expect == "allow", f"expected {attack.expect} {attack.construct}, it ran"
    leaks = found.leaks(result.frame)
    assert leaks == [], [str(leak) for leak in leaks]
    masked = [o.model_dump() for o in result.masked]
    assert not found.in_text(json.dumps(masked)), "a planted value in the lineage"
    stored = lab.gateway.store.get(result.event.id)
    assert stored is not None
    assert stored.outcome == "allowed"
    assert not found.in_text(json.dumps(stored.to_dict(), default=str)), "leak in audit"


def _check_failure(lab: Lab, attack: Attack, error: MaskingError) -> None:
    found = needles()
    assert not found.in_text(str(error)), "a planted value in the error message"
    event = lab.gateway.store.query(limit=1, newest_first=True)[0]
    assert event.outcome in ("refused", "failed")
    assert not found.in_text(json.dumps(event.to_dict(), default=str)), "leak in audit"
    if attack.expect == "fail":
        return
    if attack.expect == "bad":
        assert isinstance(error, BadInput), str(error)
        return
    assert attack.expect == "refuse", f"expected it to run, got: {error}"
    assert isinstance(error, Refused), f"expected a refusal, got: {error}"
    assert attack.construct.lower() in str(error).lower(), str(error)
