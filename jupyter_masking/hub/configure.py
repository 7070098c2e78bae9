"""``configure(c, config_path)``: the one line in ``jupyterhub_config.py`` that enables masking.

It registers the gateway as a hub-managed service, gives the service a role that can
read users' groups, lets every user (and their servers' tokens) reach it, and tells
every single-user server where it is through ``JUPYTER_MASKING_GATEWAY_URL``. Nothing
secret goes into the spawner environment: the database credentials and the pseudonym
key stay in the service's own config and environment.

>>> from traitlets.config import Config
>>> c = Config()
>>> service = configure(c, "/etc/jupyter-masking/gateway.yaml")
>>> service["name"], c.Spawner.environment["JUPYTER_MASKING_GATEWAY_URL"]
('masking-gateway', 'http://127.0.0.1:10101/services/masking-gateway/')
>>> [r["scopes"] for r in c.JupyterHub.load_roles if r["name"] == "user"]
[['self', 'access:services!service=masking-gateway']]
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_masking.client import GATEWAY_URL_ENV
from jupyter_masking.errors import ConfigError

#: The hub's default ``server`` role (used for server tokens when nothing is configured).
SERVER_ROLE_SCOPES = ("users:activity!user", "access:servers!server")

#: What the service itself may read on the hub: names and groups of users.
SERVICE_SCOPES = ("read:users:name", "read:users:groups")


def configure(
    c: Any,
    config_path: str,
    *,
    name: str = "masking-gateway",
    ip: str = "127.0.0.1",
    port: int = 10101,
    gateway_url: str | None = None,
    environment: Mapping[str, str] | None = None,
    workers: int = 4,
    processes: int = 1,
    extra_args: Sequence[str] = (),
    managed: bool = True,
    api_token: str | None = None,
) -> dict[str, Any]:
    """Register the masking gateway service in a JupyterHub config ``c``.

    Args:
        c: The ``c`` of ``jupyterhub_config.py``.
        config_path: The gateway's config file (connections, policy, key file, audit store).
        name: The service name (its URL is ``/services/<name>/``).
        ip: The address the service listens on (``0.0.0.0`` when servers run elsewhere).
        port: The port the service listens on.
        gateway_url: The URL kernels use to reach the service; default: straight to
            ``http://<ip>:<port>/services/<name>/`` (set it to the proxy or an in-cluster
            address on Kubernetes).
        environment: Extra environment for the service only (e.g. the variables the config
            file's ``${...}`` references name, ``JUPYTER_MASKING_KEY``); never given to users.
        workers: Queries each service process runs at once.
        processes: Service processes sharing the port (about one per spare core).
        extra_args: More ``jupyter-masking gateway`` options.
        managed: Let the hub start and stop the service (default). With ``False`` you run
            ``jupyter-masking gateway`` yourself (another host, several replicas behind a
            load balancer) with ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_API_TOKEN=<api_token>``
            and ``JUPYTERHUB_SERVICE_PREFIX=/services/<name>/`` in its environment.
        api_token: The service's hub token; required when not ``managed``.

    Returns:
        The service entry added to ``c.JupyterHub.services``.

    Raises:
        ConfigError: A service with the same name is already configured, or an unmanaged
            service has no ``api_token``.
    """
    host = "127.0.0.1" if ip in ("0.0.0.0", "", "::") else ip  # noqa: S104 (a comparison)
    prefix = f"/services/{name}/"
    service = {
        "name": name,
        "url": f"http://{ip}:{port}",
        "command": [
            sys.executable,
            "-m",
            "jupyter_masking",
            "gateway",
            "--config",
            config_path,
            "--workers",
            str(workers),
            "--processes",
            str(processes),
            *extra_args,
        ],
        "environment": dict(environment or {}),
        "display": False,
    }
    if not managed:
        if not api_token:
            raise ConfigError(
                "an unmanaged gateway service needs api_token",
                hint="generate one with: openssl rand -hex 32",
            )
        del service["command"], service["environment"]
    if api_token:
        service["api_token"] = api_token
    services = _list(c.JupyterHub, "services")
    if any(s.get("name") == name for s in services):
        raise ConfigError(f"a hub service named {name!r} is already configured")
    c.JupyterHub.services = [*services, service]

    access = f"access:services!service={name}"
    roles = [dict(r) for r in _list(c.JupyterHub, "load_roles")]
    roles.append({"name": f"{name}-service", "scopes": list(SERVICE_SCOPES), "services": [name]})
    user_role = next((r for r in roles if r.get("name") == "user"), None)
    if user_role is None:
        # redefining the default `user` role replaces it: keep its `self` scope
        roles.append({"name": "user", "scopes": ["self", access]})
    else:
        user_role["scopes"] = _with(user_role.get("scopes", ["self"]), access)
    c.JupyterHub.load_roles = roles

    c.Spawner.server_token_scopes = _server_token_scopes(
        c.Spawner.get("server_token_scopes"), [access, "read:users:groups!user"]
    )
    env = _dict(c.Spawner, "environment")
    env[GATEWAY_URL_ENV] = gateway_url or f"http://{host}:{port}{prefix}"
    c.Spawner.environment = env
    return service


def _server_token_scopes(current: Any, needed: list[str]) -> Any:
    """The server token scopes with ``needed`` added, whatever form they had."""
    current = _value(current, None)
    if callable(current):
        original = current

        async def scopes(spawner: Any) -> list[str]:
            value = original(spawner)
            if hasattr(value, "__await__"):
                value = await value
            base = list(value) if value else list(SERVER_ROLE_SCOPES)
            return _with(base, *needed)

        return scopes
    base = list(current) if current else list(SERVER_ROLE_SCOPES)
    return _with(base, *needed)


def _with(scopes: Sequence[str], *more: str) -> list[str]:
    result = list(scopes)
    result.extend(s for s in more if s not in result)
    return result


def _value(value: Any, initial: Any) -> Any:
    # an unset trait in a traitlets Config reads as a LazyConfigValue (append/update later)
    get_value = getattr(value, "get_value", None)
    return get_value(initial) if callable(get_value) else value


def _list(section: Any, key: str) -> list[Any]:
    return list(_value(section.get(key), []) or []) if key in section else []


def _dict(section: Any, key: str) -> dict[str, Any]:
    return dict(_value(section.get(key), {}) or {}) if key in section else {}
