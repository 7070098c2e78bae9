"""The remote client: the hub gateway service over HTTP (placeholder until hub mode lands)."""

from __future__ import annotations

from jupyter_masking.errors import ConfigError


class RemoteClient:
    """Reaches the gateway service of a JupyterHub with the user's hub token."""

    mode = "hub"

    @classmethod
    def from_environment(cls, url: str) -> RemoteClient:
        """A client for the gateway at ``url``, authenticated by ``$JUPYTERHUB_API_TOKEN``."""
        raise ConfigError(
            "this version cannot reach a hub gateway yet",
            hint="unset JUPYTER_MASKING_GATEWAY_URL to use the embedded gateway",
        )
