"""Who an embedded gateway acts for, in a kernel or a single-user Jupyter server.

The user is ``local_identity.user`` from the gateway config, else ``JUPYTERHUB_USER``, else
the OS user. Groups are ``local_identity.groups``; under JupyterHub, when none are
configured, the hub's own answer for the server's token (``GET $JUPYTERHUB_API_URL/user``).
A failed lookup means no groups, which can only lower privileges. Under a hub gateway
(``JUPYTER_MASKING_GATEWAY_URL``) none of this is used: the gateway decides from the token.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import TYPE_CHECKING

from jupyter_masking.identity import Identity, local_user, validate_name

if TYPE_CHECKING:
    from jupyter_masking.client import GatewayClient

log = logging.getLogger(__name__)

HUB_TIMEOUT_S = 3.0


def open_client(config_path: str | None = None) -> GatewayClient:
    """The gateway client of this notebook user: the hub gateway's, else an embedded one.

    Under a hub gateway no local identity is built: the gateway learns it from the token.
    """
    from jupyter_masking.client import GATEWAY_URL_ENV, connect

    identity = None if os.environ.get(GATEWAY_URL_ENV) else embedded_identity(config_path)
    return connect(identity, config_path=config_path)


def embedded_identity(config_path: str | None = None) -> Identity:
    """The identity of this notebook user for an embedded gateway.

    >>> embedded_identity().actor
    'human'
    """
    from jupyter_masking.config import load_config

    configured = load_config(config_path).local_identity
    groups = tuple(configured.groups) or hub_groups()
    return Identity(user=configured.user or local_user(), groups=groups, source="config")


def hub_groups() -> tuple[str, ...]:
    """The hub user's groups, when this process runs under JupyterHub; else ``()``."""
    url = os.environ.get("JUPYTERHUB_API_URL")
    token = os.environ.get("JUPYTERHUB_API_TOKEN")
    if not url or not token or not url.startswith(("http://", "https://")):
        return ()
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url.rstrip("/") + "/user", headers={"Authorization": f"token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=HUB_TIMEOUT_S) as reply:  # noqa: S310
            body = json.loads(reply.read(1_000_000))
        groups = body.get("groups") or []
        return tuple(validate_name("group", str(g)) for g in groups)
    except Exception as error:  # any failure: no groups (fewer rights), logged without the token
        log.warning("could not read hub groups: %s", type(error).__name__)
        return ()
