"""Fault injection through the whole gateway: the database and the audit store failing under it.

Faults are real, not mocks: PostgreSQL is reached through :class:`Proxy`, a TCP forwarder the
test can cut (connections dropped mid-query) or take down (new connections refused); locks are
held by a second session; the SQLite audit store lives on a tiny tmpfs that fills up or is
remounted read-only. Each test checks the contract of DESIGN.md: a clear one-line error, no
data when the audit event cannot be written, an audit event for every failed query that the
store could record, and the gateway serving again once the fault is gone.

(The engines' own timeout, lock and reconnect behaviour is tested per connection in
``test_connections_*``, the stores' in ``test_audit_store``; these tests go through the
gateway end to end.)
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_attack_harness import ALICE, lab_config
from test_fuzz_harness import fuzz_needles, load_sql

from jupyter_masking.audit import postgres_store
from jupyter_masking.audit.store import open_store
from jupyter_masking.errors import AuditError, DatabaseError, MaskingError
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.gateway.pipeline import Gateway

QUERY = "SELECT email, ssn FROM customers"
#: A cross join PostgreSQL needs minutes for (40 rows to the 6th power): past any timeout.
SLOW = "SELECT count(*) AS n FROM customers AS a, customers AS b, customers AS c, customers AS d"
SLOW += ", customers AS e, customers AS f"


# --- the fault injectors ------------------------------------------------------------------------


class Proxy:
    """A TCP forwarder to PostgreSQL that can drop its connections or refuse new ones."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepting = True
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.accepting:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def cut(self) -> None:
        """Drop every open connection, as a network failure would."""
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def down(self) -> None:
        """Drop every connection and refuse new ones, as a database that went away."""
        self.accepting = False
        self.cut()

    def up(self) -> None:
        """Accept connections again."""
        self.accepting = True

    def close(self) -> None:
        """Stop listening and drop everything."""
        self.listener.close()
        self.cut()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_RDWR)


def wait_for(condition: Callable[[], bool], what: str, limit_s: float = 30.0) -> None:
    """Poll until ``condition`` holds (sequencing only; nothing asserts on time)."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


# --- the setting: planted tables in a private schema, reached through the proxy --------------


@dataclass
class Setting:
    """A gateway over PostgreSQL through a proxy, with an admin engine on the side."""

    gateway: Gateway
    proxy: Proxy
    admin: sa.Engine
    schema: str
    directory: Path

    def run(self, sql: str = QUERY) -> Any:
        return self.gateway.query(QueryRequest(sql=sql, connection="pg"), ALICE)

    def events(self) -> list[Any]:
        return self.gateway.store.query(limit=1000, newest_first=False)

    def waiting_on_lock(self) -> bool:
        query = sa.text(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE NOT l.granted AND n.nspname = :schema AND c.relname = 'customers'"
        )
        with self.admin.connect() as conn:
            return bool(conn.execute(query, {"schema": self.schema}).scalar())


def _via(url: str, port: int) -> str:
    return sa.make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


@pytest.fixture
def setting(pg_schema: Any, tmp_path: Path) -> Iterator[Setting]:
    load_sql(pg_schema.url)
    target = sa.make_url(pg_schema.url)
    proxy = Proxy((target.host or "127.0.0.1", target.port or 5432))
    pg = {"url": _via(pg_schema.url, proxy.port), "statement_timeout_s": 3}
    gateway = Gateway.from_config(lab_config(tmp_path, {"pg": pg}))
    try:
        yield Setting(gateway, proxy, pg_schema.engine, pg_schema.name, tmp_path)
    finally:
        gateway.close()
        proxy.close()


def assert_one_clean_line(error: BaseException) -> None:
    text = str(error)
    assert "\n" not in text
    assert fuzz_needles().in_text(text) == []


# --- the database failing -----------------------------------------------------------------------


def test_when_the_connection_drops_mid_query_then_a_clear_error_and_the_next_query_runs(
    setting: Setting,
) -> None:
    setting.run()
    with setting.admin.connect() as holder:
        holder.execute(sa.text(f'LOCK TABLE "{setting.schema}".customers IN ACCESS EXCLUSIVE MODE'))
        outcome: list[BaseException] = []

        def blocked() -> None:
            try:
                setting.run()
            except BaseException as error:
                outcome.append(error)

        worker = threading.Thread(target=blocked)
        worker.start()
        wait_for(setting.waiting_on_lock, "the query to wait on the lock")
        setting.proxy.cut()  # the network fails while the query is in flight
        worker.join(30)
        holder.rollback()
    assert len(outcome) == 1
    assert isinstance(outcome[0], DatabaseError), outcome
    assert getattr(outcome[0], "kind", None) == "connection_lost"
    assert_one_clean_line(outcome[0])
    assert len(setting.run().frame) == 40  # the pool reconnects
    assert [e.outcome for e in setting.events()][-2:] == ["failed", "allowed"]


def test_when_the_database_is_down_then_unreachable_and_serving_resumes_when_it_is_back(
    setting: Setting,
) -> None:
    setting.run()
    setting.proxy.down()
    for _ in range(3):  # every query fails the same clear way, none hangs
        with pytest.raises(DatabaseError) as caught:
            setting.run()
        assert_one_clean_line(caught.value)
    setting.proxy.up()
    assert len(setting.run().frame) == 40
    outcomes = [e.outcome for e in setting.events()]
    assert outcomes == ["allowed", "failed", "failed", "failed", "allowed"]


def test_when_a_statement_times_out_then_timeout_error_and_the_next_query_runs(
    setting: Setting,
) -> None:
    with pytest.raises(DatabaseError) as caught:
        setting.run(SLOW)
    assert getattr(caught.value, "kind", None) == "timeout"
    assert "timed out" in str(caught.value)
    assert len(setting.run().frame) == 40
    assert [e.outcome for e in setting.events()] == ["failed", "allowed"]


def test_when_another_session_holds_a_lock_then_lock_wait_error_and_serving_continues(
    setting: Setting,
) -> None:
    with setting.admin.connect() as holder:
        holder.execute(sa.text(f'LOCK TABLE "{setting.schema}".customers IN ACCESS EXCLUSIVE MODE'))
        with pytest.raises(DatabaseError) as caught:
            setting.run()
        holder.rollback()
    assert getattr(caught.value, "kind", None) == "lock_wait"
    assert "lock" in str(caught.value)
    assert len(setting.run().frame) == 40


# --- the audit store failing: the query is refused and no data is returned ----------------------


@pytest.fixture
def pg_audit(setting: Setting, pg_schema: Any) -> Setting:
    """The setting with its audit store in PostgreSQL, also behind the proxy."""
    url = _via(pg_schema.url, setting.proxy.port) + "&table=jm_fault_audit"
    setting.gateway.store.close()
    setting.gateway.store = open_store(url)
    return setting


def test_when_the_postgres_audit_store_goes_down_then_no_data_and_serving_resumes(
    pg_audit: Setting, pg_schema: Any
) -> None:
    pg_audit.run("SELECT id FROM customers")
    pg_audit.proxy.down()
    with pytest.raises((AuditError, DatabaseError)) as caught:
        pg_audit.run()
    assert_one_clean_line(caught.value)
    pg_audit.proxy.up()
    assert len(pg_audit.run().frame) == 40
    store = open_store(pg_schema.url + "&table=jm_fault_audit", create=False)
    try:
        report = store.verify()
        assert report.ok
        assert report.checked == len(store.query(limit=100)) >= 2
    finally:
        store.close()


def test_when_the_audit_lock_is_held_then_the_query_fails_instead_of_hanging(
    pg_audit: Setting, pg_schema: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_store, "LOCK_TIMEOUT_S", 0.5)
    pg_audit.run("SELECT id FROM customers")  # creates the table, proves the store works
    key = "hashtext(concat(current_schema(), '.', CAST(:name AS text)))"
    lock = sa.text(f"SELECT pg_advisory_xact_lock(:ns, {key})")
    with pg_schema.engine.connect() as other:
        other.execute(sa.text(f'SET search_path TO "{pg_schema.name}"'))
        other.execute(lock, {"ns": postgres_store.LOCK_NAMESPACE, "name": "jm_fault_audit"})
        with pytest.raises(AuditError) as caught:
            pg_audit.run()
        other.rollback()
    assert "lock timeout" in str(caught.value)
    assert_one_clean_line(caught.value)
    assert len(pg_audit.run().frame) == 40


@pytest.fixture
def tiny_disk(tmpfs: Callable[[str], Path]) -> Path:
    return tmpfs("1m")


@pytest.fixture
def disk_audit(setting: Setting, tiny_disk: Path) -> Setting:
    """The setting with its SQLite audit store on a 1 MB tmpfs."""
    setting.gateway.store.close()
    setting.gateway.store = open_store(tiny_disk / "audit.sqlite3")
    return setting


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with filler.open("wb") as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()
    return filler


def test_when_the_audit_disk_fills_up_then_no_data_and_serving_resumes_once_freed(
    disk_audit: Setting, tiny_disk: Path
) -> None:
    disk_audit.run()
    filler = _fill(tiny_disk)
    errors: list[AuditError] = []
    for _ in range(5):  # SQLite may still fit an event or two in its pages
        try:
            disk_audit.run()
        except AuditError as error:
            errors.append(error)
    assert len(errors) >= 3
    for failure in errors:
        assert "full" in str(failure)
        assert_one_clean_line(failure)
    filler.unlink()
    assert len(disk_audit.run().frame) == 40
    report = disk_audit.gateway.store.verify()
    assert report.ok


def test_a_bug_in_a_late_stage_is_audited_as_failed_and_reported_without_values(
    setting: Setting, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_masking.gateway import pipeline

    def broken(*_: object, **__: object) -> None:
        raise ValueError("cannot present 078-05-1120")

    monkeypatch.setattr(pipeline, "scan_result", broken)
    with pytest.raises(MaskingError) as caught:
        setting.run()
    assert "078-05-1120" not in str(caught.value)
    assert [e.outcome for e in setting.events()] == ["failed"]
