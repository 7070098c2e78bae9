"""Groups from an identity provider: OpenID Connect login through oauthenticator.

A real OpenID Connect provider (npm ``oidc-provider``) runs on loopback with accounts
whose ``groups`` claim the test chooses. The hub uses ``GenericOAuthenticator`` with
``manage_groups = True`` and ``auth_state_groups_key = "oauth_user.groups"``; users log in
through the provider's login and consent forms, and the gateway then masks by the groups
the provider asserted, and follows them when they change at the provider.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import duckdb
import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent / "hub"))
import harness

from jupyter_masking.client.remote import RemoteClient
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.mask.keys import MaskingKey

pytestmark = pytest.mark.slow

POLICY = Path(__file__).parents[1] / "jupyter_masking" / "demo" / "policy.yaml"
PROVIDER = harness.HERE / "oidc_provider.mjs"
EMAILS = "SELECT id, email FROM customers ORDER BY id LIMIT 5"


class Provider:
    """The OpenID Connect provider process, restartable with other accounts."""

    def __init__(self, redirect_uri: str, log: Path) -> None:
        self.port = harness.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.client_id = "jupyterhub"
        self.client_secret = secrets.token_hex(16)
        self.redirect_uri = redirect_uri
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, accounts: dict[str, list[str]]) -> None:
        self.stop()
        self.process = subprocess.Popen(
            [
                "node",
                str(PROVIDER),
                str(self.port),
                self.client_id,
                self.client_secret,
                self.redirect_uri,
                json.dumps(accounts),
            ],
            cwd=harness.HERE,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        harness.wait_for(f"{self.url}/.well-known/openid-configuration", timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class Setup:
    def __init__(self, hub: harness.Hub, provider: Provider, raw: list[str]) -> None:
        self.hub = hub
        self.provider = provider
        self.raw = raw


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    harness.require(harness.chp_problem())
    if not (harness.HERE / "node_modules" / "oidc-provider").exists():
        harness.require(f"oidc-provider missing: run `npm ci --prefix {harness.HERE}`")
    pytest.importorskip("oauthenticator")
    from jupyter_masking.demo.build import build_demo

    root = tmp_path_factory.mktemp("oidc")
    service = root / "service"
    demo = build_demo(service / "demo.duckdb")
    with duckdb.connect(str(demo), read_only=True) as db:
        raw = [row[0] for row in db.execute(f"SELECT email FROM ({EMAILS})").fetchall()]
    key = service / "key"
    key.write_text(MaskingKey.generate().to_text())
    key.chmod(0o600)
    config = service / "gateway.yaml"
    config.write_text(
        json.dumps(
            {
                "connections": {"demo": {"url": f"duckdb:///{demo}"}},
                "default_connection": "demo",
                "policy": str(POLICY),
                "key_file": str(key),
                "audit_store": str(service / "audit.sqlite3"),
            }
        )
    )
    hub = harness.write_hub(
        root / "hub", config, groups={}, service_env={"JUPYTER_MASKING_DATA_DIR": str(service)}
    )
    provider = Provider(f"{hub.public_url}/hub/oauth_callback", root / "oidc.log")
    assert hub.config_file is not None
    hub.config_file.write_text(
        hub.config_file.read_text()
        + textwrap.dedent(
            f"""
            c.JupyterHub.authenticator_class = "generic-oauth"
            c.GenericOAuthenticator.client_id = {provider.client_id!r}
            c.GenericOAuthenticator.client_secret = {provider.client_secret!r}
            c.GenericOAuthenticator.oauth_callback_url = {provider.redirect_uri!r}
            c.GenericOAuthenticator.authorize_url = "{provider.url}/auth"
            c.GenericOAuthenticator.token_url = "{provider.url}/token"
            c.GenericOAuthenticator.userdata_url = "{provider.url}/me"
            c.GenericOAuthenticator.scope = ["openid", "profile"]
            c.GenericOAuthenticator.username_claim = "preferred_username"
            c.GenericOAuthenticator.manage_groups = True
            c.GenericOAuthenticator.auth_state_groups_key = "oauth_user.groups"
            c.GenericOAuthenticator.allow_all = True
            c.Authenticator.enable_auth_state = True
            c.JupyterHub.redirect_to_server = False
            """
        )
    )
    provider.start({"dave": ["analysts"], "erin": ["support"]})
    try:
        hub.start()
        try:
            yield Setup(hub, provider, raw)
        finally:
            hub.stop()
    finally:
        provider.stop()


def login(setup: Setup, user: str) -> None:
    """Log ``user`` in to the hub through the provider's login and consent forms."""
    session = requests.Session()
    page = session.get(f"{setup.hub.public_url}/hub/oauth_login", timeout=30)
    for prompt, fields in (("login", {"login": user, "password": "any"}), ("consent", {})):
        action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
        assert action is not None, f"no {prompt} form at {page.url}: {page.text[:300]}"
        page = session.post(
            urljoin(page.url, action.group(1)), data={"prompt": prompt, **fields}, timeout=30
        )
    assert page.status_code == 200, page.text[:300]
    assert page.url.startswith(f"{setup.hub.public_url}/hub/"), page.url


def hub_groups(setup: Setup, user: str) -> list[str]:
    groups: list[str] = setup.hub.api("GET", f"/users/{user}").json()["groups"]
    return groups


def test_groups_asserted_by_the_provider_decide_the_masking(setup: Setup) -> None:
    login(setup, "dave")
    login(setup, "erin")
    assert hub_groups(setup, "dave") == ["analysts"]
    assert hub_groups(setup, "erin") == ["support"]

    dave = RemoteClient(setup.hub.gateway_url, setup.hub.token_for("dave"))
    erin = RemoteClient(setup.hub.gateway_url, setup.hub.token_for("erin"))
    assert dave.whoami()["groups"] == ["analysts"]
    assert erin.query(QueryRequest(EMAILS)).frame["email"].tolist() == setup.raw
    masked = dave.query(QueryRequest(EMAILS)).frame["email"].tolist()
    assert not set(masked) & set(setup.raw)


def test_a_group_change_at_the_provider_reaches_the_gateway_at_next_login(setup: Setup) -> None:
    login(setup, "erin")
    assert hub_groups(setup, "erin") == ["support"]
    setup.provider.start({"dave": ["analysts"], "erin": ["contractors"]})
    time.sleep(0.2)
    login(setup, "erin")

    assert hub_groups(setup, "erin") == ["contractors"]
    erin = RemoteClient(setup.hub.gateway_url, setup.hub.token_for("erin"))
    assert erin.whoami()["groups"] == ["contractors"]
    masked = erin.query(QueryRequest(EMAILS)).frame["email"].tolist()
    assert not set(masked) & set(setup.raw)  # no longer support: no raw emails
