"""``configure(c, ...)`` for jupyterhub_config.py, and ``jupyter-masking enable-magic``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from traitlets.config import Config

from jupyter_masking.errors import ConfigError
from jupyter_masking.hub import configure

ACCESS = "access:services!service=masking-gateway"


def _roles(c: Config) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in c.JupyterHub.load_roles}


def test_configure_registers_service_roles_token_scopes_and_the_url() -> None:
    c = Config()
    service = configure(
        c, "/srv/gateway.yaml", port=10555, environment={"DB_PASSWORD": "hunter2"}, workers=2
    )

    assert c.JupyterHub.services == [service]
    assert service["url"] == "http://127.0.0.1:10555"
    assert service["command"][1:] == [
        "-m",
        "jupyter_masking",
        "gateway",
        "--config",
        "/srv/gateway.yaml",
        "--workers",
        "2",
        "--processes",
        "1",
    ]
    roles = _roles(c)
    assert roles["masking-gateway-service"] == {
        "name": "masking-gateway-service",
        "scopes": ["read:users:name", "read:users:groups"],
        "services": ["masking-gateway"],
    }
    assert roles["user"]["scopes"] == ["self", ACCESS]
    assert c.Spawner.server_token_scopes == [
        "users:activity!user",
        "access:servers!server",
        ACCESS,
        "read:users:groups!user",
    ]
    assert c.Spawner.environment == {
        "JUPYTER_MASKING_GATEWAY_URL": "http://127.0.0.1:10555/services/masking-gateway/"
    }
    assert service["environment"] == {"DB_PASSWORD": "hunter2"}  # the service's, never users'


def test_configure_merges_with_what_the_admin_already_configured() -> None:
    c = Config()
    c.JupyterHub.services = [{"name": "other", "api_token": "x"}]
    c.JupyterHub.load_roles = [
        {"name": "user", "scopes": ["self", "access:services!service=other"], "users": ["a"]},
        {"name": "ops", "scopes": ["admin:users"], "users": ["root"]},
    ]
    c.Spawner.environment = {"TZ": "UTC"}
    c.Spawner.server_token_scopes = ["users:activity!user", ACCESS]

    configure(c, "/srv/g.yaml", name="masking-gateway", gateway_url="https://hub.example/gw/")

    assert [s["name"] for s in c.JupyterHub.services] == ["other", "masking-gateway"]
    roles = _roles(c)
    assert roles["user"]["scopes"] == ["self", "access:services!service=other", ACCESS]
    assert roles["user"]["users"] == ["a"]
    assert roles["ops"] == {"name": "ops", "scopes": ["admin:users"], "users": ["root"]}
    assert c.Spawner.environment == {
        "TZ": "UTC",
        "JUPYTER_MASKING_GATEWAY_URL": "https://hub.example/gw/",
    }
    assert c.Spawner.server_token_scopes == [
        "users:activity!user",
        ACCESS,
        "read:users:groups!user",
    ]


def test_configure_wraps_callable_server_token_scopes() -> None:
    async def admin_scopes(spawner: Any) -> list[str]:
        return ["users:activity!user", f"access:servers!user={spawner.user.name}"]

    c = Config()
    c.Spawner.server_token_scopes = admin_scopes
    configure(c, "/srv/g.yaml")

    spawner = SimpleNamespace(user=SimpleNamespace(name="alice"))
    scopes = asyncio.run(c.Spawner.server_token_scopes(spawner))
    assert scopes == [
        "users:activity!user",
        "access:servers!user=alice",
        ACCESS,
        "read:users:groups!user",
    ]


def test_an_unmanaged_service_has_a_token_and_no_command() -> None:
    c = Config()
    with pytest.raises(ConfigError, match="needs api_token"):
        configure(c, "/srv/g.yaml", managed=False)
    service = configure(
        c, "/srv/g.yaml", managed=False, api_token="t" * 32, ip="10.0.0.5", port=8080
    )
    assert "command" not in service
    assert service["api_token"] == "t" * 32
    assert service["url"] == "http://10.0.0.5:8080"
    assert c.Spawner.environment["JUPYTER_MASKING_GATEWAY_URL"] == (
        "http://10.0.0.5:8080/services/masking-gateway/"
    )


def test_configure_twice_with_the_same_name_is_refused() -> None:
    c = Config()
    configure(c, "/srv/g.yaml")
    with pytest.raises(ConfigError, match="already configured"):
        configure(c, "/srv/g.yaml")


def test_jupyterhub_accepts_the_configuration() -> None:
    from jupyterhub.app import JupyterHub
    from jupyterhub.spawner import LocalProcessSpawner

    c = Config()
    configure(c, "/srv/g.yaml", port=10777)
    app = JupyterHub(config=c)
    spawner = LocalProcessSpawner(config=c)

    assert app.services[0]["name"] == "masking-gateway"
    assert {r["name"] for r in app.load_roles} == {"masking-gateway-service", "user"}
    assert spawner.environment["JUPYTER_MASKING_GATEWAY_URL"].endswith(
        ":10777/services/masking-gateway/"
    )
    assert ACCESS in spawner.server_token_scopes


# -- enable-magic ---------------------------------------------------------------------------


def _enable(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_masking", "enable-magic", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_enable_magic_merges_into_an_existing_kernel_config(tmp_path: Path) -> None:
    target = tmp_path / "ipython_kernel_config.json"
    target.write_text(
        json.dumps(
            {
                "InteractiveShellApp": {"extensions": ["autoreload"], "exec_lines": ["x = 1"]},
                "IPKernelApp": {"matplotlib": "inline"},
            }
        )
    )
    first = _enable("--dir", str(tmp_path))
    second = _enable("--dir", str(tmp_path))

    assert first.returncode == second.returncode == 0, first.stderr
    assert json.loads(target.read_text()) == {
        "InteractiveShellApp": {
            "extensions": ["autoreload", "jupyter_masking"],
            "exec_lines": ["x = 1"],
        },
        "IPKernelApp": {"matplotlib": "inline"},
    }
    assert oct(target.stat().st_mode & 0o777) == "0o644"

    assert _enable("--dir", str(tmp_path), "--disable").returncode == 0
    assert json.loads(target.read_text())["InteractiveShellApp"]["extensions"] == ["autoreload"]


def test_enable_magic_leaves_a_broken_file_alone(tmp_path: Path) -> None:
    target = tmp_path / "ipython_kernel_config.json"
    target.write_text('{"InteractiveShellApp": ')
    result = _enable("--dir", str(tmp_path))
    assert result.returncode == 2
    assert "not readable JSON; not changing it" in result.stderr
    assert target.read_text() == '{"InteractiveShellApp": '


def test_a_real_kernel_loads_the_magic_after_enable_magic(tmp_path: Path) -> None:
    from jupyter_client.manager import start_new_kernel

    ipython_dir = tmp_path / "ipython"
    assert _enable("--user", env={"IPYTHONDIR": str(ipython_dir)}).returncode == 0
    assert (ipython_dir / "profile_default" / "ipython_kernel_config.json").exists()

    env = {**os.environ, "IPYTHONDIR": str(ipython_dir), "JUPYTER_MASKING_DATA_DIR": str(tmp_path)}
    manager, kernel = start_new_kernel(kernel_name="python3", env=env)
    lines: list[str] = []

    def collect(message: dict[str, Any]) -> None:
        if message["msg_type"] == "stream":
            lines.append(message["content"]["text"])

    try:
        kernel.execute_interactive(
            "print('masked_sql' in get_ipython().magics_manager.magics['cell'])",
            output_hook=collect,
            timeout=60,
        )
    finally:
        kernel.stop_channels()
        manager.shutdown_kernel(now=True)
    assert "".join(lines).strip() == "True"
