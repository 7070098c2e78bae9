"""A real JupyterHub with the masking gateway service, end to end, on loopback.

One hub for the module: configurable-http-proxy, the local process spawner, users alice
(analysts), bob (support) and carol (compliance, a reviewer), the demo tables in a private
PostgreSQL schema whose URL needs a password only the service's environment holds, and
the gateway registered by ``jupyter_masking.hub.configure``. Queries run from inside the
users' real kernels (``%%masked_sql``), and from their tokens over HTTP.
"""

from __future__ import annotations

import json
import secrets
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent / "hub"))
import harness

from jupyter_masking.client.remote import RemoteClient
from jupyter_masking.errors import BadInput, ConfigError, MaskingError, Refused
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.mask.keys import MaskingKey

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

POLICY = Path(__file__).parents[1] / "jupyter_masking" / "demo" / "policy.yaml"
SERVER_EXTENSION = (
    Path(__file__).parents[1] / "jupyter-config" / "server-config" / "jupyter_masking.json"
)
GROUPS = {"analysts": ["alice"], "support": ["bob"], "compliance": ["carol"]}
EMAILS = "SELECT id, email FROM customers ORDER BY id LIMIT 5"


@dataclass
class Warehouse:
    url: str  # with the password, for the test's own direct reads
    url_template: str  # with ${JM_WAREHOUSE_PASSWORD}, as the gateway config holds it
    password: str


@dataclass
class Setup:
    hub: harness.Hub
    warehouse: Warehouse
    key_text: str
    service_dir: Path


@pytest.fixture(scope="module")
def warehouse(pg_url: str) -> Iterator[Warehouse]:
    from jupyter_masking.demo.build import load_demo_into

    schema = f"jm_hub_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    password = "pw-" + secrets.token_hex(12)
    base = sa.make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
    url = base.set(password=password).render_as_string(hide_password=False)
    template = url.replace(password, "${JM_WAREHOUSE_PASSWORD}")
    try:
        load_demo_into(url)
        yield Warehouse(url=url, url_template=template, password=password)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, warehouse: Warehouse) -> Iterator[Setup]:
    harness.require(harness.chp_problem())
    root = tmp_path_factory.mktemp("hub")
    service_dir = root / "service"
    service_dir.mkdir()
    key_text = MaskingKey.generate().to_text()
    key_file = service_dir / "key"
    key_file.write_text(key_text)
    key_file.chmod(0o600)
    config = service_dir / "gateway.yaml"
    config.write_text(
        json.dumps(
            {
                "connections": {"warehouse": {"url": warehouse.url_template}},
                "default_connection": "warehouse",
                "policy": str(POLICY),
                "key_file": str(key_file),
                "audit_store": str(service_dir / "audit.sqlite3"),
            }
        )
    )
    # what installing the wheel into the single-user image does: enable the server extension
    server_config = root / "jupyter-config" / "jupyter_server_config.d"
    server_config.mkdir(parents=True)
    (server_config / "jupyter_masking.json").write_text(SERVER_EXTENSION.read_text())
    hub = harness.write_hub(
        root,
        config,
        groups=GROUPS,
        service_env={
            "JM_WAREHOUSE_PASSWORD": warehouse.password,
            "JUPYTER_MASKING_DATA_DIR": str(service_dir),
        },
        extra_config=(
            f"c.Spawner.environment['JUPYTER_CONFIG_PATH'] = {str(server_config.parent)!r}\n"
        ),
    )
    hub.start()
    try:
        yield Setup(hub, warehouse, key_text, service_dir)
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def kernels(setup: Setup) -> dict[str, str]:
    """A running kernel in alice's and in bob's single-user server."""
    ids = {}
    for user in ("alice", "bob"):
        setup.hub.start_server(user)
        ids[user] = harness.start_kernel(setup.hub, user)
    return ids


def client(setup: Setup, user: str, **kwargs: object) -> RemoteClient:
    return RemoteClient(setup.hub.gateway_url, setup.hub.token_for(user), **kwargs)  # type: ignore[arg-type]


def raw_emails(warehouse: Warehouse) -> list[str]:
    engine = sa.create_engine(warehouse.url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(EMAILS)).all()
    engine.dispose()
    return [r.email for r in rows]


def in_kernel(setup: Setup, kernels: dict[str, str], user: str, code: str) -> dict[str, object]:
    out = harness.run_in_kernel(setup.hub, user, kernels[user], textwrap.dedent(code))
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


MAGIC_QUERY = f"""
    import json
    ip = get_ipython()
    ip.run_line_magic("load_ext", "jupyter_masking")
    frame = ip.run_cell_magic("masked_sql", "", {EMAILS!r})
    from jupyter_masking.client import connect
    client = connect()
    print(json.dumps({{
        "emails": [str(e) for e in frame["email"]],
        "mode": client.mode,
        "whoami": client.whoami(),
        "lineage_user": frame.attrs["jupyter_masking"]["identity"]["user"],
    }}))
"""


# -- from inside the users' kernels -------------------------------------------------------


def test_the_same_query_in_two_kernels_is_masked_for_each_users_own_groups(
    setup: Setup, kernels: dict[str, str]
) -> None:
    raw = raw_emails(setup.warehouse)
    alice = in_kernel(setup, kernels, "alice", MAGIC_QUERY)
    bob = in_kernel(setup, kernels, "bob", MAGIC_QUERY)

    assert bob["mode"] == alice["mode"] == "hub"
    assert bob["emails"] == raw  # support-sees-contact
    assert isinstance(alice["emails"], list)
    assert len(alice["emails"]) == len(raw)
    assert not set(alice["emails"]) & set(raw)
    assert all("@" in e for e in alice["emails"])  # pseudonyms still look like emails
    assert alice["whoami"]["user"] == alice["lineage_user"] == "alice"  # type: ignore[index]
    assert alice["whoami"]["groups"] == ["analysts"]  # type: ignore[index]
    assert bob["whoami"]["groups"] == ["support"]  # type: ignore[index]


def test_kernels_hold_neither_the_database_password_nor_the_key(
    setup: Setup, kernels: dict[str, str]
) -> None:
    # hex-encoded, so the cell's own text (kept in the kernel's history) cannot match
    secrets_ = {
        "password": setup.warehouse.password.encode().hex(),
        "key": setup.key_text.strip().encode().hex(),
    }
    code = f"""
        import json, os
        from pathlib import Path
        from jupyter_core.paths import jupyter_config_path, jupyter_data_dir, jupyter_runtime_dir
        from IPython.paths import get_ipython_dir
        needles = {{k: bytes.fromhex(v).decode() for k, v in {secrets_!r}.items()}}
        found = []
        def check(label, text):
            found.extend(f"{{k}} in {{label}}" for k, v in needles.items() if v in text)
        def read(path):
            return Path(path).read_bytes().decode(errors="replace")
        check("os.environ", json.dumps(dict(os.environ)))
        for pid in ("self", str(os.getppid())):  # the kernel and its single-user server
            check(f"/proc/{{pid}}/environ", read(f"/proc/{{pid}}/environ"))
        roots = [Path.home(), Path.cwd(), Path(get_ipython_dir()), Path(jupyter_data_dir()),
                 Path(jupyter_runtime_dir()), *map(Path, jupyter_config_path())]
        scanned = 0
        for root in roots:
            if not root.is_dir():
                continue
            for path in root.rglob("*"):
                if path.is_file() and path.stat().st_size < 2_000_000:
                    scanned += 1
                    check(str(path), read(path))
        print(json.dumps({{"found": found, "scanned": scanned,
                           "env": sorted(k for k in os.environ if "MASKING" in k)}}))
    """
    for user in ("alice", "bob"):
        result = in_kernel(setup, kernels, user, code)
        assert result["found"] == [], result["found"]
        assert isinstance(result["scanned"], int)
        assert result["scanned"] > 0
        # the spawner environment carries the gateway URL and nothing else of ours
        assert result["env"] == ["JUPYTER_MASKING_GATEWAY_URL"]


def test_a_kernel_cannot_claim_another_identity(setup: Setup, kernels: dict[str, str]) -> None:
    code = f"""
        import json, os, urllib.request
        body = json.dumps({{"sql": {EMAILS!r}, "user": "bob", "groups": ["support"],
                            "identity": {{"user": "bob"}}}}).encode()
        request = urllib.request.Request(
            os.environ["JUPYTER_MASKING_GATEWAY_URL"] + "api/query", data=body, method="POST",
            headers={{"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"],
                     "Content-Type": "application/json", "X-Forwarded-User": "bob",
                     "X-Remote-User": "bob", "Remote-User": "bob", "JupyterHub-User": "bob",
                     "X-Jupyter-Masking-Actor": "human"}})
        answer = json.loads(urllib.request.urlopen(request).read())
        print(json.dumps({{"user": answer["event"]["identity"]["user"],
                           "groups": answer["event"]["identity"]["groups"],
                           "emails": [row[1] for row in answer["rows"]]}}))
    """
    answer = in_kernel(setup, kernels, "alice", code)
    assert answer["user"] == "alice"
    assert answer["groups"] == ["analysts"]
    assert not set(answer["emails"]) & set(raw_emails(setup.warehouse))  # type: ignore[arg-type]


def test_the_single_user_server_api_reads_lineage_through_the_gateway(
    setup: Setup, kernels: dict[str, str]
) -> None:
    if not SERVER_EXTENSION.exists():
        pytest.skip("the server extension's config file is not in this checkout")
    notebook = f"lineage/{uuid.uuid4().hex}.ipynb"
    event = client(setup, "alice").query(QueryRequest(EMAILS, notebook=notebook, cell_id="c7"))
    headers = {"Authorization": f"token {setup.hub.admin_token}"}

    def server_api(user: str, route: str, **params: str) -> dict[str, object]:
        url = f"{setup.hub.server_url(user)}jupyter-masking/api/{route}"
        reply = requests.get(url, params=params, headers=headers, timeout=30)
        assert reply.status_code == 200, reply.text
        answer: dict[str, object] = reply.json()
        return answer

    who = server_api("alice", "whoami")
    assert (who["mode"], who["user"], who["groups"]) == ("hub", "alice", ["analysts"])
    events = server_api("alice", "events", path=notebook)["events"]
    assert [e["id"] for e in events] == [event.event.id]  # type: ignore[union-attr,index]
    assert server_api("bob", "events", path=notebook)["events"] == []


# -- over HTTP with users' tokens --------------------------------------------------------


def test_forged_identity_headers_without_a_token_are_refused(setup: Setup) -> None:
    reply = requests.post(
        setup.hub.gateway_url + "api/query",
        json={"sql": EMAILS, "user": "bob"},
        headers={"X-Forwarded-User": "bob", "Remote-User": "bob"},
        timeout=10,
    )
    assert reply.status_code == 401
    assert reply.json()["code"] == "unauthenticated"


def test_the_proxy_route_serves_the_same_gateway(setup: Setup) -> None:
    via_proxy = RemoteClient(
        f"{setup.hub.public_url}/services/{harness.SERVICE}/", setup.hub.token_for("bob")
    )
    assert via_proxy.query(QueryRequest(EMAILS)).frame["email"].tolist() == raw_emails(
        setup.warehouse
    )


def test_an_ai_actor_lowers_privileges_and_human_cannot_raise_them(setup: Setup) -> None:
    bob = client(setup, "bob")
    raw = raw_emails(setup.warehouse)
    as_ai = bob.query(QueryRequest(EMAILS, actor="ai:jupyter-ai"))
    assert not set(as_ai.frame["email"]) & set(raw)  # ai-never-raw beats support's grant
    assert as_ai.event.identity.actor == "ai:jupyter-ai"
    ai_client = bob.with_actor("ai:mcp:test")
    again = ai_client.query(QueryRequest(EMAILS, actor="human"))  # a label cannot raise
    assert again.event.identity.actor == "ai:mcp:test"
    assert ai_client.whoami()["actor"] == "ai:mcp:test"
    assert not set(again.frame["email"]) & set(raw)


def test_remote_results_equal_an_embedded_gateway_with_the_same_key(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_masking.config import GatewayConfig
    from jupyter_masking.gateway.pipeline import Gateway
    from jupyter_masking.identity import Identity

    monkeypatch.setenv("JUPYTER_MASKING_DATA_DIR", str(setup.service_dir / "embedded"))
    sql = (
        "SELECT c.id, c.full_name, c.email, c.date_of_birth, c.created_at, o.amount "
        "FROM customers c JOIN orders o ON o.customer_id = c.id ORDER BY o.id LIMIT 20"
    )
    remote = client(setup, "alice").query(QueryRequest(sql))
    config = GatewayConfig.model_validate(
        {
            "connections": {"warehouse": {"url": setup.warehouse.url}},
            "default_connection": "warehouse",
            "policy": str(POLICY),
            "key_file": str(setup.service_dir / "key"),
            "audit_store": str(setup.service_dir / "embedded" / "audit.sqlite3"),
        }
    )
    gateway = Gateway.from_config(config)
    try:
        local = gateway.query(QueryRequest(sql), Identity("alice", ("analysts",)))
    finally:
        gateway.close()
    assert list(remote.frame.dtypes) == list(local.frame.dtypes)
    assert remote.frame.equals(local.frame)
    assert [o.name for o in remote.masked] == ["full_name", "email", "date_of_birth"]


def test_errors_come_back_as_the_same_classes_and_lines(setup: Setup) -> None:
    alice = client(setup, "alice")
    with pytest.raises(Refused) as refused:
        alice.query(QueryRequest("DELETE FROM customers"))
    assert refused.value.construct == "DELETE"
    assert str(refused.value).startswith("refused: writes are not allowed (DELETE)")
    with pytest.raises(BadInput) as bad:
        alice.query(QueryRequest("SELECT email FROM customers WHERE id = :id"))
    assert str(bad.value) == "bad input: no value for parameter :id. Hint: " + (
        "define id in the notebook or pass it as a parameter"
    )
    with pytest.raises(ConfigError):
        alice.query(QueryRequest("SELECT 1", connection="postgresql://u:p@elsewhere/db"))
    explained = alice.explain(QueryRequest("SELECT ssn FROM customers"))
    assert explained.outcome == "allowed"
    assert explained.outputs[0].operator is not None


def test_bound_parameters_travel_typed(setup: Setup) -> None:
    import datetime as dt

    bob = client(setup, "bob")
    result = bob.query(
        QueryRequest(
            "SELECT id FROM customers WHERE created_at >= :since AND id <= :top ORDER BY id",
            params={"since": dt.datetime(2000, 1, 1), "top": 3},
        )
    )
    assert result.frame["id"].tolist() == [1, 2, 3]


def test_a_token_with_only_gateway_access_still_carries_the_users_groups(setup: Setup) -> None:
    # the hub always adds the "identify" scopes (name, groups) to GET /hub/api/user
    token = setup.hub.token_for("alice", scopes=[f"access:services!service={harness.SERVICE}"])
    assert RemoteClient(setup.hub.gateway_url, token).whoami()["groups"] == ["analysts"]


def test_tokens_without_gateway_access_and_service_tokens_are_refused(setup: Setup) -> None:
    with pytest.raises(ConfigError, match="did not authorize"):
        RemoteClient(setup.hub.gateway_url, "not-a-token").whoami()
    no_scope = setup.hub.token_for("alice", scopes=["read:users:groups!user"])
    with pytest.raises(ConfigError, match="did not authorize"):
        RemoteClient(setup.hub.gateway_url, no_scope).whoami()
    with pytest.raises(MaskingError):
        RemoteClient(setup.hub.gateway_url, setup.hub.admin_token).query(QueryRequest("SELECT 1"))


# -- lineage and audit: own events only, reviewers everyone's ---------------------------


def test_users_read_only_their_own_lineage_and_reviewers_read_everyones(setup: Setup) -> None:
    alice, bob, carol = (client(setup, u) for u in ("alice", "bob", "carol"))
    notebook = f"work/{uuid.uuid4().hex}.ipynb"
    a = alice.query(QueryRequest(EMAILS, notebook=notebook, cell_id="c1"))
    b = bob.query(QueryRequest(EMAILS, notebook=notebook, cell_id="c1"))

    assert alice.event(b.event.id) is None  # someone else's: not found
    assert alice.event(a.event.id) is not None
    with pytest.raises(Refused, match="only reviewers"):
        alice.events(user="bob")
    assert {e.identity.user for e in alice.events(limit=500)} == {"alice"}
    assert [e.id for e in alice.latest_per_cell(notebook)] == [a.event.id]
    assert [e.id for e in bob.latest_per_cell(notebook)] == [b.event.id]

    assert carol.whoami()["reviewer"] is True
    got = carol.event(b.event.id)
    assert got is not None
    assert got.hash == b.event.hash
    assert {e.identity.user for e in carol.events(notebook=notebook)} == {"alice", "bob"}
    assert [e.id for e in carol.events(user="bob", notebook=notebook)] == [b.event.id]
    # a reviewer acting through an AI tool is not a reviewer (policy: reviewers are humans)
    assert carol.with_actor("ai:x").whoami()["reviewer"] is False
