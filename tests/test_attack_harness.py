"""The attack lab: the demo data planted in every engine, a gateway over all of them, a leak finder.

Other ``test_attack_*`` and ``test_gateway_*`` modules import from here. The planted values
are the demo company's own rows (:func:`jupyter_masking.demo.build.demo_frames`), loaded
unchanged into DuckDB, SQLite, PostgreSQL and MariaDB, so every value is known in advance:
emails, SSNs, phones, names, card numbers, IBANs, and the API keys inside free text. The leak
finder looks for each of them, and for its encodings (reversed, digits only, hex, base64, md5,
sha256), as a case-insensitive substring of every output cell.

The tests in this module check the lab itself: a leak finder that found nothing would make
every attack test pass.
"""

from __future__ import annotations

import base64
import decimal
import functools
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import re2
import sqlalchemy as sa
import yaml

from jupyter_masking.config import GatewayConfig
from jupyter_masking.demo.build import build_demo, demo_frames, load_demo_into
from jupyter_masking.detect.wordlists import AMBIGUOUS_FIRST_NAMES
from jupyter_masking.gateway.api import MaskedResult, QueryRequest
from jupyter_masking.gateway.pipeline import Gateway
from jupyter_masking.identity import Identity

DEMO_POLICY = Path(__file__).parents[1] / "jupyter_masking" / "demo" / "policy.yaml"
# A fixed key, so pseudonyms (and any accidental look-alike of a planted value) are stable.
KEY_HEX = "5a" * 32

ALICE = Identity(user="alice", groups=("analysts",))
AI = Identity(user="sam", groups=("support",), actor="ai:jupyter-ai")
SUPPORT = Identity(user="sam", groups=("support",))
CONTRACTOR = Identity(user="carol", groups=("contractors",))
FRAUD = Identity(user="fred", groups=("fraud",))
IDENTITIES: dict[str, Identity] = {
    "alice": ALICE,
    "ai": AI,
    "support": SUPPORT,
    "contractor": CONTRACTOR,
    "fraud": FRAUD,
}

#: The gateway's connection names; each engine holds the same demo rows.
ENGINES = ("duckdb", "sqlite", "postgres", "mysql")
#: Planted columns: table -> columns whose every value must never leave the gateway.
PLANTED: dict[str, tuple[str, ...]] = {
    "customers": ("full_name", "email", "phone", "ssn"),
    "orders": ("customer_email",),
    "payments": ("card_number", "iban"),
    "legacy_export": ("c1", "c2"),
}
#: Secrets hidden in free text (support_tickets.body, legacy_export.payload).
API_KEY = re.compile(r"sk-[A-Za-z0-9]{48}|AKIA[A-Z0-9]{16}")
TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "support_tickets": ("body",),
    "legacy_export": ("payload",),
}
MIN_DIGITS = 6


# --- planted values and their encodings ---------------------------------------------------


def encodings(value: str) -> dict[str, str]:
    """Every form of ``value`` the leak finder looks for: kind -> text (lowercase).

    >>> sorted(encodings("123-45-6789"))
    ['base64', 'digits', 'hex', 'md5', 'raw', 'reversed', 'sha256']
    >>> encodings("ab@x.io")["reversed"], "digits" in encodings("AKIA1234567ABCDEFGHI")
    ('oi.x@ba', False)
    """
    data = value.encode("utf-8")
    found = {
        "raw": value,
        "reversed": value[::-1],
        "hex": data.hex(),
        "base64": base64.b64encode(data).decode("ascii"),
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    digits = "".join(ch for ch in value if ch.isdigit())
    # Only where the digits are the value (SSN, phone, card, IBAN): six digits picked out of
    # an API key also turn up in any hex digest by chance.
    if len(digits) >= MIN_DIGITS and 2 * len(digits) >= sum(ch.isalnum() for ch in value):
        found["digits"] = digits
    return {kind: text.lower() for kind, text in found.items()}


@dataclass(frozen=True)
class Leak:
    """One planted value (or an encoding of it) found in an output cell."""

    column: str
    kind: str

    def __str__(self) -> str:
        return f"{self.kind} of a planted value in output {self.column}"


@dataclass
class Needles:
    """All encodings of all planted values, compiled into one RE2 alternation."""

    forms: dict[str, str]  # lowercase text -> kind of encoding
    _regex: Any = field(default=None, repr=False)

    @property
    def regex(self) -> Any:
        """One case-folded alternation of every form, longest first."""
        if self._regex is None:
            options = re2.Options()
            options.max_mem = 512 << 20
            ordered = sorted(self.forms, key=len, reverse=True)
            self._regex = re2.compile("|".join(re2.escape(f) for f in ordered), options)
        return self._regex

    def find(self, text: str) -> str | None:
        """The kind of the first planted form inside ``text``, else ``None``."""
        match = self.regex.search(text.lower())
        return self.forms[match.group(0)] if match else None

    def leaks(self, frame: pd.DataFrame) -> list[Leak]:
        """Every output column of ``frame`` holding a planted form (one leak per column)."""
        found = []
        for position, name in enumerate(frame.columns):
            for value in frame.iloc[:, position].dropna():
                kind = self.find(cell_text(value))
                if kind is not None:
                    found.append(Leak(str(name), kind))
                    break
        return found

    def in_text(self, text: str) -> list[str]:
        """Kinds of planted forms in a message or an event (empty: none)."""
        kind = self.find(text)
        return [kind] if kind else []


def planted_values(frames: Mapping[str, pd.DataFrame] | None = None) -> set[str]:
    """Every planted raw value: the sensitive columns' values and the API keys in free text."""
    frames = frames or demo_frames()
    values: set[str] = set()
    for table, columns in PLANTED.items():
        for column in columns:
            values.update(str(value) for value in frames[table][column].dropna())
    for table, columns in TEXT_COLUMNS.items():
        for column in columns:
            for text in frames[table][column].dropna():
                values.update(API_KEY.findall(str(text)))
    return values


@functools.cache
def needles() -> Needles:
    """The needles of the demo data (built once per test session)."""
    forms: dict[str, str] = {}
    for value in planted_values():
        for kind, text in encodings(value).items():
            forms.setdefault(text, kind)
    return Needles(forms)


def cell_text(value: Any) -> str:
    """A cell as text the finder can search: bytes as hex and UTF-8, nested values joined.

    >>> cell_text(b"ab"), cell_text({"k": [1, "x"]}), cell_text(np.array(["a", "b"]))
    ('6162 ab', 'k 1 x', 'a b')
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return f"{data.hex()} {data.decode('utf-8', 'replace')}"
    if isinstance(value, Mapping):
        return " ".join(f"{cell_text(k)} {cell_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, np.ndarray)):
        return " ".join(cell_text(v) for v in value)
    return str(value)


# --- the lab: every engine loaded with the demo, one gateway over them -------------------


def lab_policy(directory: Path) -> Path:
    """The demo policy with its column tags widened to every connection and schema.

    The demo tags ``demo.main.customers.email``; the lab's connections are named after their
    engine and PostgreSQL/MariaDB use a scratch schema, so ``*.*.customers.email`` instead.
    """
    policy = yaml.safe_load(DEMO_POLICY.read_text(encoding="utf-8"))
    policy["columns"] = {
        "*.*." + path.split(".", 2)[2]: data_class for path, data_class in policy["columns"].items()
    }
    path = directory / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    return path


def write_key(directory: Path) -> Path:
    """The lab's fixed masking key, in a file only its owner can read."""
    path = directory / "key"
    path.write_text(KEY_HEX, encoding="utf-8")
    path.chmod(0o600)
    return path


def lab_config(
    directory: Path, connections: Mapping[str, str | Mapping[str, Any]], **extra: Any
) -> GatewayConfig:
    """A gateway configuration with the lab policy and key, its audit store in ``directory``.

    ``connections`` maps names to URLs or to connection settings; the first is the default.
    """
    return GatewayConfig.model_validate(
        {
            "connections": {
                name: {"url": spec} if isinstance(spec, str) else dict(spec)
                for name, spec in connections.items()
            },
            "default_connection": next(iter(connections)),
            "policy": str(lab_policy(directory)),
            "key_file": str(write_key(directory)),
            "audit_store": str(directory / "audit.sqlite"),
            **extra,
        }
    )


@dataclass
class Lab:
    """A gateway over every available engine, and raw access to the same data."""

    gateway: Gateway
    urls: dict[str, str]
    missing: dict[str, str]
    directory: Path

    def need(self, engine: str) -> None:
        """Skip the calling test when ``engine`` is not available here."""
        if engine in self.missing:
            pytest.skip(self.missing[engine])

    def query(
        self, engine: str, sql: str, identity: Identity = ALICE, **params: Any
    ) -> MaskedResult:
        """``sql`` through the gateway on ``engine``."""
        self.need(engine)
        request = QueryRequest(sql=sql, connection=engine, params=params)
        return self.gateway.query(request, identity)

    def raw(self, engine: str, sql: str) -> pd.DataFrame:
        """``sql`` straight on the engine, as its owner would run it."""
        self.need(engine)
        if engine == "duckdb":
            import duckdb

            from jupyter_masking.gateway.engines.duckdb import LOCKED

            path = self.urls[engine].removeprefix("duckdb:///")
            # the gateway's own settings: DuckDB refuses a second open with different ones
            with duckdb.connect(path, read_only=True, config=dict(LOCKED)) as con:
                return con.execute(sql).df()
        db = sa.create_engine(self.urls[engine])
        try:
            with db.connect() as conn:
                return pd.read_sql(sa.text(sql), conn)
        finally:
            db.dispose()


def _scratch_postgres(admin_url: str) -> tuple[str, Any]:
    name = f"jm_h4_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    url = sa.make_url(admin_url).update_query_dict({"options": f"-csearch_path={name}"})

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def _scratch_mariadb(admin_url: str) -> tuple[str, Any]:
    name = f"jm_h4_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{name}`"))
    url = sa.make_url(admin_url).set(database=name)

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE `{name}`"))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


_SERVERS = {"postgres": ("pg_url", _scratch_postgres), "mysql": ("mariadb_url", _scratch_mariadb)}


def open_lab(request: pytest.FixtureRequest, directory: Path) -> Iterator[Lab]:
    """Load the demo into every engine, build the gateway, and clean up afterwards."""
    urls: dict[str, str] = {}
    missing: dict[str, str] = {}
    drops = []
    duck = build_demo(directory / "demo.duckdb")
    urls["duckdb"] = f"duckdb:///{duck}"
    urls["sqlite"] = f"sqlite:///{directory / 'demo.sqlite'}"
    load_demo_into(urls["sqlite"])
    for engine, (fixture, scratch) in _SERVERS.items():
        try:
            admin_url = request.getfixturevalue(fixture)
        except pytest.skip.Exception as skipped:
            missing[engine] = str(skipped)
            continue
        url, drop = scratch(admin_url)
        drops.append(drop)
        load_demo_into(url)
        urls[engine] = url
    gateway = Gateway.from_config(lab_config(directory, urls))  # DuckDB first: the default
    try:
        yield Lab(gateway, urls, missing, directory)
    finally:
        gateway.close()
        for drop in drops:
            drop()


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The attack lab, one per test module."""
    yield from open_lab(request, tmp_path_factory.mktemp("lab"))


def event_text(result_or_event: Any) -> str:
    """An audit event as the JSON text the store keeps."""
    event = getattr(result_or_event, "event", result_or_event)
    return json.dumps(event.to_dict(), default=str)


# --- self-tests: the finder finds, and the masked lab is clean -------------------------------

SSN = "078-05-1120"


@pytest.mark.parametrize(
    ("cell", "kind"),
    [
        ("x 078-05-1120 y", "raw"),
        ("0211-50-870", "reversed"),
        ("ssn=078051120", "digits"),
        (SSN.encode().hex().upper(), "hex"),
        (base64.b64encode(SSN.encode()).decode(), "base64"),
        (hashlib.md5(SSN.encode()).hexdigest(), "md5"),
        (hashlib.sha256(SSN.encode()).hexdigest().upper(), "sha256"),
        (SSN.encode(), "hex"),  # bytes are searched as hex, then as UTF-8
        ([1, {"k": "078-05-1120"}], "raw"),
    ],
)
def test_the_finder_sees_every_encoding_of_a_planted_value(cell: Any, kind: str) -> None:
    found = Needles({text: k for k, text in encodings(SSN).items()})
    frame = pd.DataFrame({"out": [None, cell]})
    assert [leak.kind for leak in found.leaks(frame)] == [kind]


def test_the_finder_ignores_near_misses() -> None:
    found = Needles({text: k for k, text in encodings(SSN).items()})
    frame = pd.DataFrame({"out": ["078-05-1121", "*******1120", "07805", 78051120]})
    assert found.leaks(frame) == []


def test_the_planted_values_cover_every_sensitive_kind() -> None:
    values = planted_values()
    assert len(values) > 3000
    assert any(v.startswith(("sk-", "AKIA")) for v in values)
    assert any("@" in v for v in values)


def test_the_raw_demo_data_is_full_of_leaks(lab: Lab) -> None:
    raw = lab.raw("duckdb", "SELECT email, ssn, reverse(email) AS r, md5(ssn) AS h FROM customers")
    assert {leak.kind for leak in needles().leaks(raw)} == {"raw", "reversed", "md5"}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("table", sorted({*PLANTED, *TEXT_COLUMNS}))
def test_every_planted_table_read_whole_through_the_gateway_is_clean(
    lab: Lab, engine: str, table: str
) -> None:
    result = lab.query(engine, f"SELECT * FROM {table}")
    assert len(result.frame) > 0
    assert needles().leaks(result.frame) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_names_starting_with_an_ambiguous_given_name_are_masked_in_free_text(
    lab: Lab, engine: str
) -> None:
    bodies = "\n".join(demo_frames()["support_tickets"]["body"])
    ambiguous = [
        name
        for name in demo_frames()["customers"]["full_name"]
        if name.split()[0] in AMBIGUOUS_FIRST_NAMES and name in bodies
    ]
    assert ambiguous  # "Mark Gonzalez": Mark is also an English word
    masked = "\n".join(lab.query(engine, "SELECT body FROM support_tickets").frame["body"])
    assert [name for name in ambiguous if name in masked] == []


def frame_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows of ``frame`` as plain, comparable Python values (for raw-vs-gateway equality)."""

    def plain(value: Any) -> Any:
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            return None
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime().replace(tzinfo=None)
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, decimal.Decimal):
            return float(value)
        return value

    return [tuple(plain(v) for v in row) for row in frame.itertuples(index=False)]


def distinct(values: Iterable[Any]) -> int:
    """How many distinct non-null values."""
    return len({v for v in values if v is not None})
