"""The hub service under many users at once, and under a policy edited while it serves.

A real JupyterHub (``tests/hub/harness.py``) runs the gateway service with two processes of
four worker threads on one port. Users of different groups, each with their own hub token,
send interleaved queries from many threads; every answer must be the one that user got when
asking alone, and the shared audit chain must verify. Then the policy file is broken on disk:
the service keeps answering with the last good policy and ``whoami`` says why.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from test_attack_harness import lab_policy, write_key
from test_fuzz_harness import load_duckdb

from jupyter_masking.audit.store import open_store

sys.path.insert(0, str(Path(__file__).parent / "hub"))
import harness

GROUPS = {"analysts": ["alice"], "support": ["sam"], "fraud": ["fred"], "contractors": ["carol"]}
QUERIES = (
    "SELECT id, email, phone FROM customers ORDER BY id",
    "SELECT id, ssn FROM customers ORDER BY id",
    "SELECT id, card_number, iban FROM payments ORDER BY id",
)


@dataclass
class Served:
    hub: harness.Hub
    tokens: dict[str, str]
    policy: Path
    audit: Path

    def ask(self, user: str, sql: str, actor: str | None = None) -> tuple[int, Any]:
        body: dict[str, Any] = {"sql": sql}
        if actor:
            body["actor"] = actor
        reply = requests.post(
            f"{self.hub.gateway_url}api/query",
            headers={"Authorization": f"token {self.tokens[user]}"},
            json=body,
            timeout=120,
        )
        data = reply.json()
        if reply.status_code == 200:
            return 200, (data["columns"], data["rows"])
        return reply.status_code, data["code"]

    def whoami(self, user: str) -> dict[str, Any]:
        reply = requests.get(
            f"{self.hub.gateway_url}api/whoami",
            headers={"Authorization": f"token {self.tokens[user]}"},
            timeout=30,
        )
        reply.raise_for_status()
        data: dict[str, Any] = reply.json()
        return data


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    harness.require(harness.chp_problem())
    root = tmp_path_factory.mktemp("hub-load")
    service = root / "service"
    service.mkdir()
    policy = lab_policy(service)
    audit = service / "audit.sqlite3"
    config = service / "gateway.yaml"
    config.write_text(
        json.dumps(
            {
                "connections": {"lab": {"url": load_duckdb(service / "lab.duckdb")}},
                "default_connection": "lab",
                "policy": str(policy),
                "key_file": str(write_key(service)),
                "audit_store": str(audit),
            }
        )
    )
    hub = harness.write_hub(
        root / "hub",
        config,
        groups=GROUPS,
        service_env={"JUPYTER_MASKING_DATA_DIR": str(service)},
        workers=4,
        gateway_args=["--processes", "2"],
    )
    hub.start()
    try:
        tokens = {user: hub.token_for(user) for users in GROUPS.values() for user in users}
        yield Served(hub, tokens, policy, audit)
    finally:
        hub.stop()


def test_many_users_at_once_each_get_exactly_their_own_answer(served: Served) -> None:
    cases = [(user, sql) for user in served.tokens for sql in QUERIES]
    cases += [("sam", sql, "ai:agent") for sql in QUERIES]  # type: ignore[misc]
    expected = {case: served.ask(*case) for case in cases}
    # the users really differ: support sees emails raw, its AI does not, carol gets no ssn
    assert expected[("sam", QUERIES[0])] != expected[("alice", QUERIES[0])]
    assert expected[("sam", QUERIES[0], "ai:agent")] != expected[("sam", QUERIES[0])]  # type: ignore[index]
    assert expected[("carol", QUERIES[1])] == (403, "refused")
    work = cases * 4
    random.Random(11).shuffle(work)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda case: (case, served.ask(*case)), work))
    assert [case for case, got in answers if got != expected[case]] == []
    store = open_store(served.audit, create=False)
    try:
        report = store.verify()
        count = len(store.query(limit=10_000))
    finally:
        store.close()
    assert report.ok, report
    assert count == len(cases) + len(work)


def test_a_policy_broken_on_disk_keeps_the_hub_serving_the_last_good_one(
    served: Served,
) -> None:
    before = served.ask("alice", QUERIES[0])
    version = served.whoami("alice")["policy_version"]
    good = served.policy.read_text(encoding="utf-8")
    try:
        served.policy.write_text("rules: [broken", encoding="utf-8")
        harness_wait(lambda: served.whoami("alice")["policy_error"] is not None)
        assert served.ask("alice", QUERIES[0]) == before
        who = served.whoami("alice")
        assert who["policy_version"] == version
        assert "YAML error" in who["policy_error"]
    finally:
        served.policy.write_text(good, encoding="utf-8")
    harness_wait(lambda: served.whoami("alice")["policy_error"] is None)


def harness_wait(condition: Any, limit_s: float = 30.0) -> None:
    """Poll until ``condition()`` (each service process notices edits within a second)."""
    import time

    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the service did not notice the policy edit")
        time.sleep(0.2)


HUB_BODIES: dict[str, bytes] = {
    "not-json": b"{'sql': ",
    "not-utf8": b'{"sql": "SELECT \xff"}',
    "nul": json.dumps({"sql": "SELECT email\x00 FROM customers"}).encode(),
    "sql-not-a-string": b'{"sql": 5}',
    "deep-json": b'{"sql": "SELECT 1", "params": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    "deep-sql": json.dumps({"sql": "SELECT " + "(" * 3000 + "1" + ")" * 3000}).encode(),
    "unterminated": b'{"sql": "SELECT \'abc FROM customers"}',
    "too-big": b'{"sql": "SELECT 1 -- ' + b"x" * (5 * 1024 * 1024) + b'"}',
    "array": b"[1, 2]",
    "empty": b"",
}


def test_the_hub_service_answers_bad_bodies_with_json_errors_and_keeps_serving(
    served: Served,
) -> None:
    for name, body in HUB_BODIES.items():
        reply = requests.post(
            f"{served.hub.gateway_url}api/query",
            headers={"Authorization": f"token {served.tokens['alice']}"},
            data=body,
            timeout=60,
        )
        assert 400 <= reply.status_code < 500, (name, reply.status_code, reply.text[:200])
        if name != "too-big":  # tornado refuses an oversized body before any handler runs
            assert set(reply.json()) >= {"code", "message"}, name
        assert "Traceback" not in reply.text
        assert served.ask("alice", QUERIES[0])[0] == 200, name
