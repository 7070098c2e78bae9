"""``jupyter-masking audit ...`` run as a real subprocess against real stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from jupyter_masking.audit import EventDraft, open_store
from jupyter_masking.audit.event import GENESIS_HASH
from jupyter_masking.audit.store import ENV_VAR


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "jupyter_masking", "audit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )


def draft(user: str = "alice", outcome: str = "allowed") -> EventDraft:
    return EventDraft.model_validate(
        {
            "identity": {"user": user},
            "notebook": "n.ipynb",
            "cell_id": "c1",
            "connection": "demo",
            "dialect": "duckdb",
            "sql": "SELECT email FROM customers WHERE id = 7",
            "tables": ["demo.main.customers"],
            "columns_read": ["demo.main.customers.email"],
            "outputs": [
                {"name": "email", "sources": ["demo.main.customers.email"],
                 "data_class": "pii.email", "effect": "mask", "operator": "pseudonym"}
            ],
            "outcome": outcome,
            "reason": None if outcome == "allowed" else "denied by policy",
        }
    )  # fmt: skip


@pytest.fixture
def location(tmp_path: Path) -> str:
    path = str(tmp_path / "audit.sqlite3")
    store = open_store(path)
    for user in ("alice", "bob", "alice"):
        store.append(draft(user))
    store.append(draft("bob", "refused"))
    store.close()
    return path


def test_verify_passes_on_a_sound_chain(location: str) -> None:
    done = cli("verify", "--store", location)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("audit chain ok: 4 events, head seq 4 ")


def test_verify_exits_1_naming_the_first_broken_seq(location: str) -> None:
    engine = sa.create_engine(f"sqlite:///{location}")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE seq = 2"))
    engine.dispose()
    done = cli("verify", "--store", location)
    assert done.returncode == 1
    assert done.stdout.strip().startswith("audit chain broken at seq 2: deleted")
    assert len(done.stdout.strip().splitlines()) == 1
    report = json.loads(cli("verify", "--store", location, "--json").stdout)
    assert (report["ok"], report["broken_seq"], report["kind"]) == (False, 2, "deleted")


def test_head_then_verify_expect_head_catches_a_cut_tail(location: str) -> None:
    seq, digest = cli("head", "--store", location).stdout.split()
    assert seq == "4"
    assert json.loads(cli("head", "--store", location, "--json").stdout) == {
        "seq": 4,
        "hash": digest,
    }
    engine = sa.create_engine(f"sqlite:///{location}")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE seq = 4"))
    engine.dispose()
    assert cli("verify", "--store", location).returncode == 0  # a chain alone cannot tell
    done = cli("verify", "--store", location, "--expect-head", digest)
    assert done.returncode == 1
    assert "broken at seq 4: truncated" in done.stdout


def test_head_of_an_empty_store_is_the_genesis(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    open_store(path).close()
    assert cli("head", "--store", str(path)).stdout.split() == ["0", GENESIS_HASH]


def test_store_location_comes_from_the_environment(location: str) -> None:
    done = cli("head", env={ENV_VAR: location})
    assert done.returncode == 0
    assert done.stdout.startswith("4 ")


def test_show_prints_the_event_and_rejects_unknown_ids(location: str) -> None:
    store = open_store(location)
    event = store.query(limit=1)[0]
    store.close()
    done = cli("show", event.id, "--store", location)
    assert done.returncode == 0
    assert json.loads(done.stdout) == event.to_dict()
    missing = cli("show", "0" * 32, "--store", location)
    assert missing.returncode == 2
    assert "no audit event with id" in missing.stderr


def test_export_jsonl_to_a_file_verifies_offline(location: str, tmp_path: Path) -> None:
    out = tmp_path / "export.jsonl"
    done = cli("export", "--store", location, "--format", "jsonl", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert "exported 4 events" in done.stderr
    lines = out.read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4]
    assert cli("verify", "--jsonl", str(out)).returncode == 0
    out.write_text("\n".join([lines[0], lines[2], lines[1], lines[3]]) + "\n")
    broken = cli("verify", "--jsonl", str(out))
    assert broken.returncode == 1
    assert "broken at seq 2: reordered" in broken.stdout


def test_export_filters_by_user_and_time(location: str) -> None:
    done = cli("export", "--store", location, "--format", "jsonl", "--user", "bob")
    users = [json.loads(line)["identity"]["user"] for line in done.stdout.splitlines()]
    assert users == ["bob", "bob"]
    future = cli("export", "--store", location, "--format", "jsonl", "--since", "2999-01-01")
    assert future.returncode == 0
    assert future.stdout == ""
    bad = cli("export", "--store", location, "--format", "jsonl", "--since", "last tuesday")
    assert bad.returncode == 2
    assert "not an ISO time" in bad.stderr


def test_export_openlineage_writes_start_and_terminal_events(location: str) -> None:
    done = cli(
        "export", "--store", location, "--format", "openlineage", "--namespace", "jupyter://hub"
    )
    assert done.returncode == 0, done.stderr
    events: list[dict[str, Any]] = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"] * 3 + ["START", "FAIL"]
    assert {e["job"]["namespace"] for e in events} == {"jupyter://hub"}
    assert "7" not in events[0]["job"]["facets"]["sql"]["query"]


def test_a_missing_store_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nope.sqlite3"
    done = cli("verify", "--store", str(path))
    assert done.returncode == 1
    assert done.stderr.startswith("jupyter-masking: audit error: no audit store at")
    assert not path.exists()


@pytest.mark.postgres
def test_an_unreachable_postgres_store_never_shows_its_password() -> None:
    done = cli("verify", "--store", "postgresql://auditor:hunter2@127.0.0.1:1/audit")
    assert done.returncode == 1
    assert "hunter2" not in done.stderr + done.stdout
    assert "auditor:***@127.0.0.1:1" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.postgres
def test_verify_and_head_on_a_postgres_store(pg_schema: Any) -> None:
    store = open_store(pg_schema.url)
    last = [store.append(draft()) for _ in range(3)][-1]
    store.close()
    assert cli("head", "--store", pg_schema.url).stdout.split() == ["3", last.hash]
    assert cli("verify", "--store", pg_schema.url).returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--expect-head", "abc"], "64-hex"),
        (["export", "--format", "csv"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str], message: str, location: str) -> None:
    done = cli(*args, "--store", location)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_every_audit_command_has_help() -> None:
    for command in ("verify", "head", "show", "export"):
        done = cli(command, "--help")
        assert done.returncode == 0
        assert "--store" in done.stdout
