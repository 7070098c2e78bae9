"""The audit stores on real SQLite files and a real PostgreSQL schema: append, read, faults."""

from __future__ import annotations

import itertools
import multiprocessing
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from jupyter_masking.audit import EventDraft, open_store
from jupyter_masking.audit.event import GENESIS_HASH
from jupyter_masking.audit.store import ENV_VAR, AuditStore, describe_location, resolve_location
from jupyter_masking.errors import AuditError, BadInput, ConfigError


@dataclass
class Backend:
    kind: str
    location: str
    engine: sa.Engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        location = str(tmp_path / "audit.sqlite3")
        engine = sa.create_engine(f"sqlite:///{location}")
    else:
        scratch = request.getfixturevalue("pg_schema")
        location, engine = scratch.url, sa.create_engine(scratch.url)
    yield Backend(request.param, location, engine)
    engine.dispose()


@pytest.fixture
def store(backend: Backend) -> Iterator[AuditStore]:
    opened = open_store(backend.location)
    yield opened
    opened.close()


def draft(user: str = "alice", **overrides: object) -> EventDraft:
    fields: dict[str, object] = {
        "identity": {"user": user, "groups": ["analysts"]},
        "notebook": "work/demo.ipynb",
        "cell_id": "c1",
        "connection": "demo",
        "dialect": "duckdb",
        "sql": "SELECT email FROM customers WHERE id = 1",
        "tables": ["demo.main.customers"],
        "outputs": [{"name": "email", "sources": ["demo.main.customers.email"],
                     "data_class": "pii.email", "effect": "mask", "operator": "pseudonym"}],
        "rows": 1,
        "outcome": "allowed",
    }  # fmt: skip
    fields.update(overrides)
    return EventDraft.model_validate(fields)


def count_rows(backend: Backend) -> int:
    with backend.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one())


def test_appends_form_a_chain_from_genesis(store: AuditStore) -> None:
    events = [store.append(draft()) for _ in range(5)]
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert len({e.id for e in events}) == 5
    assert all(e.time <= f.time for e, f in itertools.pairwise(events))
    assert store.head() == (5, events[-1].hash)
    report = store.verify()
    assert (report.ok, report.checked, report.head_hash) == (True, 5, events[-1].hash)


def test_an_empty_store_verifies_and_has_no_head(store: AuditStore) -> None:
    assert store.head() is None
    report = store.verify()
    assert report.ok
    assert report.checked == 0
    assert report.head_hash == GENESIS_HASH


def test_reopening_continues_the_same_chain(backend: Backend) -> None:
    first = open_store(backend.location)
    last = first.append(draft())
    first.close()
    second = open_store(backend.location)
    nxt = second.append(draft())
    assert (nxt.seq, nxt.prev_hash) == (2, last.hash)
    assert second.get(last.id) == last
    second.close()


def test_get_returns_the_stored_event_or_none(store: AuditStore) -> None:
    event = store.append(draft())
    assert store.get(event.id) == event
    assert store.get("f" * 32) is None
    assert store.get("' OR 1=1 --") is None


def test_query_filters_match_whole_values_only(store: AuditStore) -> None:
    store.append(draft("alice"))
    store.append(draft("bob", tables=["demo.main.orders"], outputs=[], outcome="refused"))
    store.append(draft("carol", identity={"user": "carol", "actor": "ai:mcp:claude"}))
    store.append(draft("dave", tables=["demo.main.cust_mers"], notebook="other.ipynb",
                       outputs=[{"name": "n", "data_class": "pii.person_name"}]))  # fmt: skip

    def users(**filters: object) -> list[str]:
        return [e.identity.user for e in store.query(**filters)]  # type: ignore[arg-type]

    assert users(user="alice") == ["alice"]
    assert users(users=["bob", "dave"]) == ["dave", "bob"]
    assert users(table="demo.main.customers") == ["carol", "alice"]
    assert users(table="demo.main.cust_mers") == ["dave"]  # "_" is not a wildcard
    assert users(table="demo.main.cust%") == []
    assert users(table="demo.main.Customers") == []
    assert users(table="demo.main.customer") == []
    assert users(data_class="pii.email") == ["carol", "alice"]
    assert users(data_class="pii") == []
    assert users(outcome="refused") == ["bob"]
    assert users(actor="human") == ["dave", "bob", "alice"]
    assert users(actor="ai:*") == ["carol"]
    assert users(notebook="other.ipynb") == ["dave"]
    assert users(limit=2) == ["dave", "carol"]
    assert users(limit=2, newest_first=False) == ["alice", "bob"]
    assert users(user="alice", outcome="refused") == []


def test_query_by_time_window(store: AuditStore) -> None:
    first = store.append(draft())
    second = store.append(draft())
    later = second.time + timedelta(seconds=1)
    assert [e.seq for e in store.query(since=second.time)] == [2]
    assert [e.seq for e in store.query(until=second.time)] == (
        [1] if first.time < second.time else []
    )
    assert store.query(since=later) == []
    iso = second.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert [e.seq for e in store.query(since=iso)] == [2]
    assert (
        len(store.query(since="2000-01-01", until=datetime(2999, 1, 1, tzinfo=timezone.utc))) == 2
    )
    with pytest.raises(BadInput):
        store.query(since="yesterday")


def test_latest_per_cell_gives_the_newest_event_of_each_cell(store: AuditStore) -> None:
    store.append(draft(cell_id="c1", rows=1))
    store.append(draft(cell_id="c2", rows=2))
    store.append(draft(cell_id="c1", rows=3))
    store.append(draft("bob", cell_id="c2", rows=4))
    store.append(draft(cell_id="c3", notebook="other.ipynb", rows=5))
    store.append(draft(cell_id=None, rows=6))
    latest = store.latest_per_cell("work/demo.ipynb")
    assert [(e.cell_id, e.rows) for e in latest] == [("c1", 3), ("c2", 4)]
    mine = store.latest_per_cell("work/demo.ipynb", user="alice")
    assert [(e.cell_id, e.rows) for e in mine] == [("c2", 2), ("c1", 3)]
    assert store.latest_per_cell("missing.ipynb") == []


def test_raw_values_in_the_query_never_reach_the_store(backend: Backend, store: AuditStore) -> None:
    secret_sql = (
        "SELECT * FROM customers WHERE email = 'bob.secret@example.com' AND ssn = '078-05-1120'"
    )
    store.append(draft(sql=secret_sql))
    store.append(draft(sql="SELEC 'bob.secret@example.com' FORM"))  # unparseable
    with backend.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM audit_events")).all()
    dump = repr(rows)
    assert "bob.secret" not in dump
    assert "078-05-1120" not in dump
    if backend.kind == "sqlite":
        files = Path(backend.location).parent.glob("audit.sqlite3*")
        assert not any(b"bob.secret" in f.read_bytes() for f in files)


def test_threads_sharing_one_store_never_fork_the_chain(store: AuditStore) -> None:
    def work() -> None:
        for _ in range(15):
            store.append(draft())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = store.verify()
    assert report.ok
    assert report.checked == 60
    assert [e.seq for e in store.query(limit=None, newest_first=False)] == list(range(1, 61))


WRITER = textwrap.dedent(
    """
    import sys
    from jupyter_masking.audit import EventDraft, open_store
    store = open_store(sys.argv[1])
    draft = EventDraft(identity={"user": sys.argv[3]}, connection="c", dialect="duckdb",
                       sql="SELECT 1", outcome="allowed")
    for _ in range(int(sys.argv[2])):
        store.append(draft)
    store.close()
    """
)


@pytest.mark.slow
def test_concurrent_processes_append_without_gaps_or_forks(backend: Backend) -> None:
    processes, appends = 4, 30
    open_store(backend.location).close()  # the table exists before the race starts
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, backend.location, str(appends), f"u{i}"])
        for i in range(processes)
    ]
    assert [w.wait(timeout=300) for w in writers] == [0] * processes
    store = open_store(backend.location)
    report = store.verify()
    events = store.query(limit=None, newest_first=False)
    store.close()
    assert report.ok, report.describe()
    assert [e.seq for e in events] == list(range(1, processes * appends + 1))
    assert {e.identity.user for e in events} == {f"u{i}" for i in range(processes)}


def test_a_failed_append_leaves_no_row_and_the_chain_intact(
    backend: Backend, store: AuditStore
) -> None:
    store.append(draft())
    with backend.engine.begin() as conn:  # a constraint the append will violate
        if backend.kind == "sqlite":
            conn.execute(sa.text(
                "CREATE TRIGGER no_bob BEFORE INSERT ON audit_events WHEN NEW.user_name = 'bob' "
                "BEGIN SELECT RAISE(ABORT, 'blocked'); END"
            ))  # fmt: skip
        else:
            conn.execute(sa.text(
                "ALTER TABLE audit_events ADD CONSTRAINT no_bob CHECK (user_name <> 'bob')"
            ))  # fmt: skip
    with pytest.raises(AuditError) as caught:
        store.append(draft("bob"))
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("audit error: cannot write")
    assert count_rows(backend) == 1
    assert store.append(draft()).seq == 2
    assert store.verify().ok


@pytest.mark.postgres
def test_postgres_down_raises_a_one_line_error_without_the_password() -> None:
    url = "postgresql://postgres:topsecret@127.0.0.1:1/test"
    with pytest.raises(AuditError) as at_open:
        open_store(url)
    closed = open_store(url, create=False)
    with pytest.raises(AuditError) as at_append:
        closed.append(draft())
    closed.close()
    for error in (at_open.value, at_append.value):
        text = str(error)
        assert "topsecret" not in text
        assert "postgres:***@127.0.0.1:1" in text
        assert "\n" not in text


@pytest.mark.postgres
def test_a_read_only_postgres_role_cannot_append(pg_schema: Any) -> None:
    scratch = pg_schema
    writer = open_store(scratch.url)
    writer.append(draft())
    role = f"jm_ro_{uuid.uuid4().hex[:10]}"
    admin = scratch.engine
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(sa.text(f'GRANT USAGE ON SCHEMA "{scratch.name}" TO "{role}"'))
        conn.execute(sa.text(f'GRANT SELECT ON "{scratch.name}".audit_events TO "{role}"'))
    try:
        url = sa.make_url(scratch.url).set(username=role).render_as_string(hide_password=False)
        reader = open_store(url, create=False)
        assert reader.verify().ok
        with pytest.raises(AuditError, match="permission denied"):
            reader.append(draft())
        reader.close()
        assert writer.verify().checked == 1
    finally:
        writer.close()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))


@pytest.fixture
def tiny_disk(tmpfs: Callable[[str], Path]) -> Path:
    return tmpfs("512k")


def test_a_full_disk_raises_audit_error_and_keeps_every_written_event(tiny_disk: Path) -> None:
    store = open_store(tiny_disk / "audit.sqlite3")
    big = draft(outputs=[{"name": f"c{i}", "sources": [f"demo.main.t.c{i}"]} for i in range(60)])
    written, caught = 0, None
    for _ in range(1000):
        try:
            store.append(big)
        except AuditError as error:
            caught = error
            break
        written += 1
    assert caught is not None
    assert "full" in str(caught)
    assert "\n" not in str(caught)
    report = store.verify()
    store.close()
    assert written > 0
    assert report.ok
    assert report.checked == written


def test_a_read_only_filesystem_raises_audit_error(tiny_disk: Path) -> None:
    path = tiny_disk / "audit.sqlite3"
    store = open_store(path)
    store.append(draft())
    store.close()
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)

    def reopen_and_append() -> None:
        open_store(path).append(draft())

    with pytest.raises(AuditError) as caught:
        reopen_and_append()
    assert str(caught.value).startswith("audit error: cannot")
    assert "\n" not in str(caught.value)


def test_an_unusable_path_raises_audit_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(AuditError, match="cannot create"):
        open_store(blocker / "sub" / "audit.sqlite3")
    not_sqlite = tmp_path / "junk.sqlite3"
    not_sqlite.write_bytes(b"this is not a database" * 100)
    with pytest.raises(AuditError, match="not a database"):
        open_store(not_sqlite)
    with pytest.raises(AuditError, match="no audit store"):
        open_store(tmp_path / "missing.sqlite3", create=False)
    assert not (tmp_path / "missing.sqlite3").exists()


def test_locations_resolve_from_argument_env_and_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env.sqlite3"))
    assert resolve_location(None).target == str(tmp_path / "env.sqlite3")
    assert resolve_location("sqlite:////abs/a.db").target == "/abs/a.db"
    assert resolve_location("postgres://h/db").kind == "postgresql"
    monkeypatch.delenv(ENV_VAR)
    assert resolve_location(None).target.endswith("jupyter-masking/audit.sqlite3")
    for bad in ("mysql://root@h/db", "sqlite://"):
        with pytest.raises(ConfigError):
            resolve_location(bad)
    with pytest.raises(ConfigError, match="invalid audit table name"):
        open_store(tmp_path / "a.sqlite3", table="events; DROP TABLE x")


@pytest.mark.postgres
def test_postgres_table_name_comes_from_the_url(pg_schema: Any) -> None:
    url = sa.make_url(pg_schema.url).update_query_dict({"table": "gateway_audit"})
    store = open_store(url.render_as_string(hide_password=False))
    store.append(draft())
    store.close()
    with pg_schema.engine.connect() as conn:
        names = (
            conn.execute(
                sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": pg_schema.name},
            )
            .scalars()
            .all()
        )
    assert list(names) == ["gateway_audit"]


def test_a_forked_worker_appends_on_its_own_connections(store: AuditStore) -> None:
    store.append(draft())
    child = multiprocessing.get_context("fork").Process(
        target=lambda: [store.append(draft("child")) for _ in range(5)]
    )
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0
    store.append(draft())
    report = store.verify()
    assert report.ok
    assert report.checked == 7
    assert len(store.query(user="child")) == 5


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("postgresql://gw:s3cret@db:5432/audit", "postgresql://gw:***@db:5432/audit"),
        ("postgresql://gw:p@ss/w@db/audit?sslmode=require", "postgresql://gw:***@db/audit?sslmode=require"),
        ("postgresql://db/audit?user=gw&password=s3cret", "postgresql://db/audit?user=gw&password=***"),
        ("postgresql://gw@db/audit", "postgresql://gw@db/audit"),
        ("/var/lib/audit.sqlite3", "/var/lib/audit.sqlite3"),
    ],
)  # fmt: skip
def test_store_locations_are_described_without_passwords(location: str, shown: str) -> None:
    assert describe_location(location) == shown


def test_sqlite_options_are_checked(tmp_path: Path) -> None:
    fast = open_store(f"sqlite:///{tmp_path}/a.sqlite3?synchronous=normal")
    assert fast.append(draft()).seq == 1
    fast.close()
    for bad in ("synchronous=off", "journal_mode=delete"):
        with pytest.raises(ConfigError, match="unsupported SQLite audit store option"):
            open_store(f"sqlite:///{tmp_path}/b.sqlite3?{bad}")


def test_iter_events_streams_matching_events_oldest_first(store: AuditStore) -> None:
    for i in range(7):
        store.append(draft("alice" if i % 2 else "bob", rows=i))
    assert [e.rows for e in store.iter_events(batch=2)] == list(range(7))
    assert [e.rows for e in store.iter_events(batch=2, user="alice")] == [1, 3, 5]
    assert list(store.iter_events(user="alice", since="2999-01-01")) == []
