"""The demo database: reproducible, valid-looking data, atomic idempotent builds, every engine."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa

from jupyter_masking.demo import build as demo
from jupyter_masking.demo.build import (
    DEMO_VERSION,
    META_TABLE,
    SA_TYPES,
    TABLES,
    build_demo,
    demo_frames,
    demo_path,
    demo_tables,
    load_demo_into,
)
from jupyter_masking.demo.data import iban_ok, luhn_ok

EXPECTED_SIZES = {
    "customers": 500,
    "orders": 2000,
    "payments": 1500,
    "support_tickets": 400,
    "legacy_export": 300,
}
SSN = re.compile(r"^(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}$")
PHONE = re.compile(
    r"^(\(\d{3}\) \d{3}-\d{4}|\d{3}-\d{3}-\d{4}|\+1 \d{3} \d{3} \d{4}|\d{3}\.\d{3}\.\d{4})$"
)
EMAIL = re.compile(r"^[a-z0-9._+-]+@example\.(com|org|net)$")


def digest(path: Path) -> dict[str, str]:
    """A hash of every table's contents, in a fixed order."""
    out: dict[str, str] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for name in [*TABLES, "customer_contacts"]:
            rows = con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()
            out[name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("demo") / "demo.duckdb")


def test_tables_have_the_contract_schema_and_sizes(built: Path) -> None:
    with duckdb.connect(str(built), read_only=True) as con:
        for name, columns in TABLES.items():
            described = con.execute(f"DESCRIBE {name}").fetchall()
            assert [(r[0], r[1]) for r in described] == list(columns)
            assert con.execute(f"SELECT count(*) FROM {name}").fetchone() == (EXPECTED_SIZES[name],)
        view = con.execute("DESCRIBE customer_contacts").fetchall()
        assert [r[0] for r in view] == ["id", "full_name", "email", "phone"]


def test_the_same_seed_gives_identical_contents(built: Path, tmp_path: Path) -> None:
    again = build_demo(tmp_path / "again.duckdb", seed=7)
    assert digest(again) == digest(built)


def test_another_seed_gives_other_contents(built: Path, tmp_path: Path) -> None:
    other = build_demo(tmp_path / "other.duckdb", seed=8)
    assert digest(other)["customers"] != digest(built)["customers"]


def expected_rows(name: str) -> list[tuple[Any, ...]]:
    rows = [tuple(r.values()) for r in demo_tables(7)[name].to_pylist()]
    return sorted(rows, key=repr)


def test_frames_hold_the_same_rows_as_the_database(built: Path) -> None:
    frames = demo_frames(7)
    with duckdb.connect(str(built), read_only=True) as con:
        for name in TABLES:
            stored = con.execute(f"SELECT * FROM {name}").fetchall()
            assert sorted(stored, key=repr) == expected_rows(name)
            assert len(frames[name]) == len(stored)
            assert list(frames[name].columns) == [c for c, _ in TABLES[name]]


def test_values_are_valid_shapes() -> None:
    frames = demo_frames()
    customers, payments = frames["customers"], frames["payments"]
    assert customers["ssn"].map(lambda s: bool(SSN.match(s))).all()
    assert customers["phone"].map(lambda s: bool(PHONE.match(s))).all()
    assert customers["email"].map(lambda s: bool(EMAIL.match(s))).all()
    assert customers["email"].is_unique
    cards = payments["card_number"].dropna().str.replace(" ", "")
    assert len(cards) > 800
    assert cards.map(luhn_ok).all()
    ibans = payments["iban"].dropna()
    assert len(ibans) > 300
    assert ibans.map(iban_ok).all()
    # exactly one of card and IBAN per payment
    assert (payments["card_number"].isna() ^ payments["iban"].isna()).all()


def test_order_emails_equal_their_customers_emails() -> None:
    frames = demo_frames()
    joined = frames["orders"].merge(frames["customers"], left_on="customer_id", right_on="id")
    assert (joined["customer_email"] == joined["email"]).all()


def test_free_text_holds_contacts_cards_and_an_occasional_key() -> None:
    frames = demo_frames()
    bodies = frames["support_tickets"]["body"]
    assert bodies.str.contains("@example.").mean() > 0.3
    assert bodies.str.contains(r"\d{4}[ ]?\d{4}[ ]?\d{4}", regex=True).any()
    keys = bodies.str.contains(r"sk-[A-Za-z0-9]{48}|AKIA[A-Z0-9]{16}", regex=True)
    assert 0 < keys.sum() < len(bodies) * 0.2


def test_legacy_export_hides_contacts_behind_meaningless_names() -> None:
    legacy = demo_frames()["legacy_export"]
    assert list(legacy.columns) == ["c1", "c2", "c3", "payload"]
    payloads = legacy["payload"].map(json.loads)
    assert (payloads.map(lambda p: p["contact"]) == legacy["c1"]).all()
    with_key = payloads.map(lambda p: "api_key" in p)
    assert 0 < with_key.sum() < len(legacy) / 2


def test_a_second_build_is_skipped_and_force_rebuilds(tmp_path: Path) -> None:
    path = build_demo(tmp_path / "d.duckdb")
    stamp = path.stat().st_mtime_ns
    assert build_demo(path) == path
    assert path.stat().st_mtime_ns == stamp
    build_demo(path, force=True)
    assert path.stat().st_mtime_ns != stamp
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.duckdb"]  # no temp files left


def test_when_the_version_or_seed_differs_then_it_rebuilds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = build_demo(tmp_path / "d.duckdb")
    stamp = path.stat().st_mtime_ns
    build_demo(path, seed=9)
    assert path.stat().st_mtime_ns != stamp
    with duckdb.connect(str(path), read_only=True) as con:
        assert dict(con.execute(f"SELECT * FROM {META_TABLE}").fetchall()) == {
            "version": DEMO_VERSION,
            "seed": "9",
        }
    stamp = path.stat().st_mtime_ns
    monkeypatch.setattr(demo, "DEMO_VERSION", "999")
    build_demo(path, seed=9)
    assert path.stat().st_mtime_ns != stamp


def test_when_the_file_is_not_a_demo_database_then_it_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "d.duckdb"
    path.write_bytes(b"garbage")
    build_demo(path)
    assert digest(path)["customers"]


def test_demo_path_follows_the_data_dir_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_MASKING_DATA_DIR", str(tmp_path / "data"))
    assert demo_path() == tmp_path / "data" / "demo.duckdb"
    assert build_demo() == tmp_path / "data" / "demo.duckdb"
    monkeypatch.delenv("JUPYTER_MASKING_DATA_DIR")
    assert demo_path().name == "demo.duckdb"
    assert "jupyter-masking" in str(demo_path())


def _check_loaded(url: str) -> None:
    """Every table at ``url`` holds exactly the generated rows, read back with their types."""
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    try:
        with engine.connect() as conn:
            for name, columns in TABLES.items():
                table = sa.Table(name, metadata, *(sa.Column(c, SA_TYPES[k]) for c, k in columns))
                stored = [tuple(r) for r in conn.execute(sa.select(table))]
                assert sorted(stored, key=repr) == expected_rows(name), name
            view = sa.table("customer_contacts", sa.column("email"))
            emails = {r[0] for r in conn.execute(sa.select(view))}
            assert emails == {r[2] for r in expected_rows("customers")}
    finally:
        engine.dispose()


def test_load_into_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    load_demo_into(url)
    load_demo_into(url)  # replaces, never duplicates
    _check_loaded(url)


@pytest.mark.postgres
def test_load_into_postgres(pg_schema: Any) -> None:
    load_demo_into(pg_schema.url)
    _check_loaded(pg_schema.url)
    with pg_schema.engine.connect() as conn:
        kinds = dict(
            conn.exec_driver_sql(
                "SELECT table_name, table_type FROM information_schema.tables"
                " WHERE table_schema = %(s)s",
                {"s": pg_schema.name},
            ).fetchall()
        )
    assert kinds["customer_contacts"] == "VIEW"
    assert kinds["orders"] == "BASE TABLE"


@pytest.mark.mariadb
def test_load_into_mariadb(mariadb_database: Any) -> None:
    load_demo_into(mariadb_database.url)
    load_demo_into(mariadb_database.url)
    _check_loaded(mariadb_database.url)


def test_a_rebuild_check_while_the_gateway_holds_the_file_does_not_rebuild(tmp_path: Path) -> None:
    from jupyter_masking.gateway.connections import ConnectionConfig, open_connection

    path = build_demo(tmp_path / "d.duckdb")
    stamp = path.stat().st_mtime_ns
    connection = open_connection(ConnectionConfig("demo", f"duckdb:///{path}"))
    try:
        assert build_demo(path) == path
        assert path.stat().st_mtime_ns == stamp
    finally:
        connection.close()
