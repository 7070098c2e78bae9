"""How front ends reach the gateway: in process (embedded) or over HTTP (hub service).

The notebook magic, the Jupyter server extension and the MCP server all talk to a
:class:`GatewayClient`. :func:`connect` picks the transport: under JupyterHub, with
``JUPYTER_MASKING_GATEWAY_URL`` set, a remote client that authenticates with the user's
hub token (the gateway, not the client, decides who the user is); otherwise an embedded
gateway in this process, acting for a configured local identity.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from jupyter_masking.audit.event import AuditEvent
    from jupyter_masking.gateway.api import Explanation, MaskedResult, QueryRequest
    from jupyter_masking.identity import Identity

GATEWAY_URL_ENV = "JUPYTER_MASKING_GATEWAY_URL"


class GatewayClient(Protocol):
    """What every front end may ask of the gateway."""

    mode: str  # "embedded" or "hub"

    def query(self, request: QueryRequest) -> MaskedResult:
        """Run a masked query; raises the gateway's ``MaskingError`` subclasses."""

    def explain(self, request: QueryRequest) -> Explanation:
        """What would be masked or refused, without running anything."""

    def describe(self, connection: str | None = None) -> list[dict[str, Any]]:
        """Tables, columns, data classes and what the caller would see."""

    def whoami(self) -> dict[str, Any]:
        """``{user, groups, actor, reviewer, mode, policy_version}``."""

    def events(self, **filters: Any) -> list[AuditEvent]:
        """Audit events the caller may read (own ones; everyone's for reviewers)."""

    def event(self, event_id: str) -> AuditEvent | None:
        """One audit event, if the caller may read it."""

    def latest_per_cell(self, notebook: str) -> list[AuditEvent]:
        """The newest event per cell of one notebook, for the caller."""

    def with_actor(self, actor: str) -> GatewayClient:
        """A client whose requests declare ``actor`` (``ai:<tool>``): only lowers privileges."""

    def close(self) -> None:
        """Release connections."""


def connect(identity: Identity | None = None, *, config_path: str | None = None) -> GatewayClient:
    """The client for this process: remote under a hub gateway, else embedded.

    Args:
        identity: The local identity for an embedded gateway (ignored by a remote one,
            whose gateway learns identity from the hub token).
        config_path: The embedded gateway's config file (default ``$JUPYTER_MASKING_CONFIG``).
    """
    url = os.environ.get(GATEWAY_URL_ENV)
    if url:
        from jupyter_masking.client.remote import RemoteClient

        return RemoteClient.from_environment(url)
    from jupyter_masking.client.embedded import EmbeddedClient

    return EmbeddedClient.open(identity, config_path=config_path)
