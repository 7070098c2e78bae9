"""Under a real JupyterHub, ``jupyter-masking mcp`` reaches the gateway with the user's token.

The MCP server holds no database credentials, key or policy: it runs with only
``JUPYTER_MASKING_GATEWAY_URL`` and the user's ``JUPYTERHUB_API_TOKEN``, as it would
in a single-user server, and declares ``ai:mcp:<client>`` on every call. The hub
gateway learns the user and groups from the token and applies the actor.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from hub.harness import Hub, chp_problem, write_hub  # tests/ is on sys.path (rootdir conftest)
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import Implementation

from jupyter_masking.audit.store import open_store
from jupyter_masking.demo.build import build_demo, demo_frames
from jupyter_masking.mask import MaskingKey

DEMO_POLICY = Path(__file__).parents[1] / "jupyter_masking" / "demo" / "policy.yaml"
SCRIPT = str(Path(sys.executable).with_name("jupyter-masking"))

pytestmark = pytest.mark.skipif(chp_problem() is not None, reason=str(chp_problem()))


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    root = tmp_path_factory.mktemp("mcp-hub")
    config = root / "gateway.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "connections": {"demo": {"url": f"duckdb:///{build_demo(root / 'demo.duckdb')}"}},
                "default_connection": "demo",
                "policy": str(DEMO_POLICY),
                "audit_store": str(root / "audit.sqlite3"),
            }
        )
    )
    service_env = {
        "JUPYTER_MASKING_KEY": MaskingKey.generate().to_text(),
        "JUPYTER_MASKING_DATA_DIR": str(root / "service-data"),
    }
    running = write_hub(root / "hub", config, groups={"support": ["sam"]}, service_env=service_env)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_under_a_hub_the_agent_gets_masked_rows_as_the_token_user(hub: Hub) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "JUPYTER_MASKING_GATEWAY_URL": hub.gateway_url,
        "JUPYTERHUB_API_TOKEN": hub.token_for("sam"),
        "JUPYTER_MASKING_DATA_DIR": str(hub.root / "kernel-data"),  # holds nothing of value
    }
    params = StdioServerParameters(command=SCRIPT, args=["mcp"], env=env)

    async def main() -> dict[str, Any]:
        async with stdio_client(params) as (read, write):
            info = Implementation(name="claude-desktop", version="1")
            async with ClientSession(read, write, client_info=info) as session:
                await session.initialize()
                sql = "SELECT id, email FROM customers ORDER BY id"
                return {
                    "rows": await session.call_tool("masked_query", {"sql": sql, "limit": 5}),
                    "tables": await session.call_tool("describe_tables", {}),
                    "explain": await session.call_tool("explain", {"sql": sql}),
                }

    answers = anyio.run(main)
    rows = answers["rows"]
    assert not rows.is_error, rows.content
    data = rows.structured_content
    assert data["actor"] == "ai:mcp:claude-desktop"
    assert [m["rule"] for m in data["masked"]] == ["ai-never-raw"]
    raw_emails = set(demo_frames()["customers"]["email"])
    assert len(data["rows"]) == 5
    assert not {row[1] for row in data["rows"]} & raw_emails

    tables = {t["table"]: t for t in answers["tables"].structured_content["tables"]}
    email = next(c for c in tables["main.customers"]["columns"] if c["name"] == "email")
    assert (email["effect"], email["rule"]) == ("mask:pseudonym", "ai-never-raw")
    outputs = answers["explain"].structured_content["outputs"]
    assert [o["rule"] for o in outputs if o["column"] == "email"] == ["ai-never-raw"]

    store = open_store(hub.root.parent / "audit.sqlite3", create=False)
    try:
        event = store.get(data["event_id"])
        assert event is not None
        assert (event.identity.user, event.identity.actor) == ("sam", "ai:mcp:claude-desktop")
        assert event.identity.groups == ["support"]
    finally:
        store.close()
