"""The Jupyter Server extension over real HTTP (pytest-jupyter ``jp_fetch``), behind auth.

The kernel side is played by an embedded gateway client in the test process, writing to the
same SQLite audit store the server reads: exactly how a ``%%masked_sql`` kernel and the
server share lineage in embedded mode.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tornado.httpclient import HTTPClientError

from jupyter_masking.client.embedded import EmbeddedClient
from jupyter_masking.demo.build import build_demo
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.identity import Identity
from jupyter_masking.server.service import QUERY_SCHEMA_ID

pytest_plugins = ("pytest_jupyter.jupyter_server",)

POLICY = Path(__file__).parents[1] / "jupyter_masking" / "demo" / "policy.yaml"
API = ("jupyter-masking", "api")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("demo") / "demo.duckdb")


def write_config(folder: Path, demo: Path, user: str, groups: list[str]) -> Path:
    config = {
        "connections": {"demo": {"url": f"duckdb:///{demo}"}},
        "default_connection": "demo",
        "policy": str(POLICY),
        "audit_store": str(folder / "audit.sqlite3"),
        "local_identity": {"user": user, "groups": groups},
    }
    path = folder / f"gateway-{user}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def alice_groups() -> list[str]:
    return ["analysts"]


@pytest.fixture
def gateway_config(
    tmp_path: Path, demo_db: Path, monkeypatch: pytest.MonkeyPatch, alice_groups: list[str]
) -> Path:
    monkeypatch.setenv("JUPYTER_MASKING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("JUPYTER_MASKING_GATEWAY_URL", raising=False)
    path = write_config(tmp_path, demo_db, "alice", alice_groups)
    monkeypatch.setenv("JUPYTER_MASKING_CONFIG", str(path))
    return path


@pytest.fixture
def jp_server_config(gateway_config: Path) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_masking": True},
            "allow_unauthenticated_access": False,
        },
        "JupyterMaskingApp": {"poll_interval": 0.05},
    }


@pytest.fixture
def kernel(gateway_config: Path) -> Iterator[Any]:
    """What a kernel does: query through an embedded client as alice, into the shared store."""

    def open_as(user: str, groups: tuple[str, ...] = ("analysts",)) -> EmbeddedClient:
        client = EmbeddedClient.open(Identity(user, groups), config_path=str(gateway_config))
        opened.append(client)
        return client

    opened: list[EmbeddedClient] = []
    yield open_as
    for client in opened:
        client.close()


def run(client: EmbeddedClient, sql: str, notebook: str | None, cell: str | None) -> str:
    request = QueryRequest(sql=sql, notebook=notebook, cell_id=cell, execution_count=1)
    return client.query(request).event.id


async def get(jp_fetch: Any, *path: str, **params: str) -> dict[str, Any]:
    response = await jp_fetch(*API, *path, params=params)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def fails(jp_fetch: Any, *path: str, status: int, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch(*API, *path, **kwargs)
    assert raised.value.code == status
    assert raised.value.response is not None
    return json.loads(raised.value.response.body)


async def test_whoami_names_the_configured_local_identity_and_policy(jp_fetch: Any) -> None:
    body = await get(jp_fetch, "whoami")
    keys = ("user", "groups", "actor", "reviewer", "mode", "policy_version", "policy_error")
    assert set(body) == set(keys)
    assert body["user"] == "alice"
    assert body["groups"] == ["analysts"]
    assert body["actor"] == "human"
    assert body["reviewer"] is False
    assert body["mode"] == "embedded"
    assert body["policy_version"].startswith("demo@")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "whoami", None),
        ("GET", "events", None),
        ("GET", "events/" + "0" * 32, None),
        ("GET", "policy", None),
        ("POST", "query", json.dumps({"sql": "SELECT email FROM customers"})),
    ],
)
async def test_when_no_token_then_every_handler_refuses(
    jp_fetch: Any, method: str, path: str, body: str | None
) -> None:
    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch(*API, path, method=method, body=body, headers={"Authorization": ""})
    assert raised.value.code in (401, 403)
    assert raised.value.response is not None
    assert b"example.com" not in raised.value.response.body


async def test_when_wrong_token_then_refused(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch(*API, "whoami", headers={"Authorization": "token not-the-token"})
    assert raised.value.code in (401, 403)


async def test_events_of_a_notebook_are_the_newest_per_cell(jp_fetch: Any, kernel: Any) -> None:
    alice = kernel("alice")
    run(alice, "SELECT id FROM customers LIMIT 1", "work/nb.ipynb", "cell-a")
    second = run(alice, "SELECT email FROM customers LIMIT 2", "work/nb.ipynb", "cell-a")
    other = run(alice, "SELECT ssn FROM customers LIMIT 2", "work/nb.ipynb", "cell-b")
    run(alice, "SELECT id FROM orders LIMIT 1", "work/other.ipynb", "cell-a")

    body = await get(jp_fetch, "events", path="work/nb.ipynb")

    assert [e["id"] for e in body["events"]] == [second, other]
    email = body["events"][0]["outputs"][0]
    assert email["name"] == "email"
    assert email["effect"] == "mask"
    assert email["sources"] == ["demo.main.customers.email"]
    assert body["events"][0]["notebook"] == "work/nb.ipynb"


async def test_events_recorded_under_the_absolute_path_are_found_by_the_relative_one(
    jp_fetch: Any, kernel: Any, jp_root_dir: Path
) -> None:
    alice = kernel("alice")
    absolute = str(jp_root_dir / "deep" / "nb.ipynb")
    event_id = run(alice, "SELECT id FROM customers LIMIT 1", absolute, "c1")

    body = await get(jp_fetch, "events", path="deep/nb.ipynb")

    assert [e["id"] for e in body["events"]] == [event_id]


async def test_other_users_events_are_not_served_to_a_non_reviewer(
    jp_fetch: Any, kernel: Any
) -> None:
    bob_event = run(kernel("bob"), "SELECT email FROM customers LIMIT 1", "nb.ipynb", "c1")
    mine = run(kernel("alice"), "SELECT email FROM customers LIMIT 1", "nb.ipynb", "c2")

    by_path = await get(jp_fetch, "events", path="nb.ipynb")
    listed = await get(jp_fetch, "events")
    error = await fails(jp_fetch, "events", status=403, params={"user": "bob"})
    missing = await fails(jp_fetch, "events", bob_event, status=404)

    assert [e["id"] for e in by_path["events"]] == [mine]
    assert [e["id"] for e in listed["events"]] == [mine]
    assert error["code"] == "forbidden"
    assert missing["code"] == "not_found"


@pytest.mark.parametrize("alice_groups", [["analysts", "compliance"]])
async def test_a_reviewer_sees_everyones_events_with_filters(jp_fetch: Any, kernel: Any) -> None:
    bob = kernel("bob")
    ok = run(bob, "SELECT email FROM customers LIMIT 1", "nb.ipynb", "c1")
    with pytest.raises(Exception):
        run(bob, "DELETE FROM customers", "nb.ipynb", "c2")

    refused = await get(jp_fetch, "events", user="bob", outcome="refused")
    by_class = await get(jp_fetch, "events", data_class="pii.email", limit="5")
    one = await get(jp_fetch, "events", ok)

    assert [e["outcome"] for e in refused["events"]] == ["refused"]
    assert "DELETE" in refused["events"][0]["reason"]
    assert ok in [e["id"] for e in by_class["events"]]
    assert one["identity"]["user"] == "bob"


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"outcome": "maybe"}, "outcome"),
        ({"limit": "0"}, "limit"),
        ({"limit": "-3"}, "limit"),
        ({"limit": "99999"}, "limit"),
        ({"since": "yesterday"}, "since"),
    ],
)
async def test_bad_event_filters_are_400_with_a_message(
    jp_fetch: Any, params: dict[str, str], needle: str
) -> None:
    body = await fails(jp_fetch, "events", status=400, params=params)
    assert body["code"] == "bad_input"
    assert needle in body["message"]


async def test_event_by_id_returns_the_exact_audit_event(jp_fetch: Any, kernel: Any) -> None:
    alice = kernel("alice")
    event_id = run(alice, "SELECT email FROM customers LIMIT 1", "nb.ipynb", "c1")
    stored = alice.event(event_id)
    assert stored is not None

    body = await get(jp_fetch, "events", event_id)

    assert body == stored.to_dict()


@pytest.mark.parametrize("event_id", ["not-hex", "0" * 32, "A" * 32, "0" * 33])
async def test_unknown_or_malformed_event_ids_are_404(jp_fetch: Any, event_id: str) -> None:
    body = await fails(jp_fetch, "events", event_id, status=404)
    assert body["code"] == "not_found"


async def test_post_query_returns_the_cli_json_contract_with_masked_columns(
    jp_fetch: Any, kernel: Any
) -> None:
    response = await jp_fetch(
        *API,
        "query",
        method="POST",
        body=json.dumps(
            {
                "sql": "SELECT id, email FROM customers WHERE id = :id",
                "params": {"id": 3},
                "notebook": "api.ipynb",
                "cell_id": "c7",
            }
        ),
    )
    body = json.loads(response.body)

    assert body["columns"] == ["id", "email"]
    assert body["rows"][0][0] == 3
    assert "@" in body["rows"][0][1]
    assert [m["column"] for m in body["masked"]] == ["email"]
    assert body["masked"][0]["operator"] == "pseudonym"
    assert body["policy_version"].startswith("demo@")
    stored = kernel("alice").event(body["event_id"])
    assert stored is not None
    assert stored.cell_id == "c7"
    assert stored.notebook == "api.ipynb"
    raw = kernel("alice").gateway.store.get(body["event_id"])
    assert raw is not None
    assert raw.identity.user == "alice"


async def test_post_query_refusal_is_403_naming_the_construct(jp_fetch: Any) -> None:
    body = await fails(
        jp_fetch,
        "query",
        status=403,
        method="POST",
        body=json.dumps({"sql": "DELETE FROM customers"}),
    )
    assert body["code"] == "refused"
    assert "DELETE" in body["message"]


async def test_post_query_explain_runs_nothing_and_says_what_would_be_masked(
    jp_fetch: Any, kernel: Any
) -> None:
    response = await jp_fetch(
        *API,
        "query",
        method="POST",
        body=json.dumps({"sql": "SELECT ssn FROM customers", "explain": True}),
    )
    body = json.loads(response.body)
    assert body["outcome"] == "allowed"
    assert body["outputs"][0]["operator"] == "partial(keep_last=4)"
    assert kernel("alice").events() == []


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("not json", "body"),
        (json.dumps({"sql": ""}), "sql"),
        (json.dumps({"sql": "SELECT 1", "connection": "duckdb:///etc/passwd"}), "connection"),
        (json.dumps({"sql": "SELECT 1", "params": {"x": [1, 2]}}), "params"),
        (json.dumps({"sql": "SELECT 1", "surprise": 1}), "surprise"),
        (json.dumps({"sql": "SELECT 1", "actor": "root"}), "actor"),
    ],
)
async def test_post_query_rejects_malformed_bodies(jp_fetch: Any, body: str, needle: str) -> None:
    error = await fails(jp_fetch, "query", status=400, method="POST", body=body)
    assert error["code"] == "bad_input"
    assert needle in error["message"]


async def test_post_query_as_ai_actor_gets_no_raw_values(jp_fetch: Any, kernel: Any) -> None:
    response = await jp_fetch(
        *API,
        "query",
        method="POST",
        body=json.dumps({"sql": "SELECT country FROM customers LIMIT 1", "actor": "ai:test"}),
    )
    body = json.loads(response.body)
    event = kernel("alice").event(body["event_id"])
    assert event is not None
    assert event.identity.actor == "ai:test"


async def test_policy_lists_the_effective_decision_per_column(jp_fetch: Any) -> None:
    body = await get(jp_fetch, "policy")
    tables = {t["table"]: t for t in body["tables"]}
    columns = {c["name"]: c for c in tables["main.customers"]["columns"]}

    assert body["user"] == "alice"
    assert body["policy_version"].startswith("demo@")
    assert columns["email"]["data_class"] == "pii.email"
    assert columns["email"]["effect"] == "mask:pseudonym"
    assert columns["country"]["effect"] == "raw"


async def test_policy_with_an_unknown_connection_is_a_400(jp_fetch: Any) -> None:
    body = await fails(jp_fetch, "policy", status=400, params={"connection": "nope"})
    assert "nope" in body["message"]
    url = await fails(jp_fetch, "policy", status=400, params={"connection": "a://b"})
    assert url["code"] == "bad_input"


async def test_a_new_event_of_this_user_is_emitted_as_a_jupyter_event(
    jp_fetch: Any, jp_serverapp: Any, kernel: Any
) -> None:
    seen: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        seen.append(data)

    jp_serverapp.event_logger.add_listener(schema_id=QUERY_SCHEMA_ID, listener=listener)
    await get(jp_fetch, "whoami")  # opens the client; the watcher sets its mark
    await _until(lambda: _service(jp_serverapp).last_seq is not None)

    run(kernel("bob"), "SELECT email FROM customers LIMIT 1", "nb.ipynb", "b1")
    mine = run(kernel("alice"), "SELECT email FROM customers LIMIT 1", "nb.ipynb", "a1")
    await _until(lambda: bool(seen))
    await asyncio.sleep(0.2)  # a second emission for bob's event would show up by now

    assert seen == [
        {"event_id": mine, "notebook": "nb.ipynb", "cell_id": "a1", "outcome": "allowed"}
    ]


def test_extension_is_listed_with_the_auto_enable_file() -> None:
    config = Path(__file__).parents[1] / "jupyter-config" / "server-config" / "jupyter_masking.json"
    enabled = json.loads(config.read_text())["ServerApp"]["jpserver_extensions"]
    assert enabled == {"jupyter_masking": True}
    import jupyter_masking

    points = jupyter_masking._jupyter_server_extension_points()
    assert points[0]["app"].name == "jupyter_masking"


def _service(app: Any) -> Any:
    return app.web_app.settings["jupyter_masking_service"]


async def _until(condition: Any, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
