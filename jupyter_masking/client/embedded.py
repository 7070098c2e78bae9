"""The embedded client: a gateway in this process, acting for one local identity.

Convenient for laptops, Binder and tests, and identical in behaviour to the hub
gateway, but not a boundary against this process's own user (see SECURITY.md).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from jupyter_masking.identity import Identity, local_user

if TYPE_CHECKING:
    from jupyter_masking.audit.event import AuditEvent
    from jupyter_masking.gateway.api import Explanation, MaskedResult, QueryRequest
    from jupyter_masking.gateway.pipeline import Gateway


class EmbeddedClient:
    """A :class:`~jupyter_masking.client.GatewayClient` over an in-process gateway."""

    mode = "embedded"

    def __init__(self, gateway: Gateway, identity: Identity) -> None:
        self.gateway = gateway
        self.identity = identity

    @classmethod
    def open(
        cls, identity: Identity | None = None, *, config_path: str | None = None
    ) -> EmbeddedClient:
        """A gateway from the config file (or the demo defaults) for ``identity``.

        Without a configured connection the embedded demo database is the default, so a new
        user can run ``%%masked_sql`` with nothing set up. Connection URLs are accepted.
        """
        from jupyter_masking.config import load_config, with_demo
        from jupyter_masking.demo.build import build_demo
        from jupyter_masking.gateway.pipeline import Gateway

        config = load_config(config_path)
        if not config.connections:
            config = with_demo(config, build_demo())
        gateway = Gateway.from_config(config, allow_urls=True)
        return cls(gateway, identity or Identity(local_user()))

    def with_identity(self, identity: Identity) -> EmbeddedClient:
        """The same gateway acting for another identity (an explicit, local switch)."""
        return EmbeddedClient(self.gateway, identity)

    def with_actor(self, actor: str) -> EmbeddedClient:
        """The same gateway for this identity acting through ``actor`` (only lowers privileges)."""
        return EmbeddedClient(self.gateway, self.identity.acting_as(actor))

    def query(self, request: QueryRequest) -> MaskedResult:
        """Run a masked query as this client's identity."""
        return self.gateway.query(request, self.identity)

    def explain(self, request: QueryRequest) -> Explanation:
        """Explain a query as this client's identity."""
        return self.gateway.explain(request, self.identity)

    def describe(self, connection: str | None = None) -> list[dict[str, Any]]:
        """Tables and column classes, with this identity's decisions."""
        return self.gateway.describe(self.identity, connection)

    def whoami(self) -> dict[str, Any]:
        """The identity, whether the policy makes it a reviewer, the policy version and error.

        ``policy_error`` is the one-line problem of an edited policy that did not load (the
        last good version keeps serving), else ``None``.
        """
        policy = self.gateway.policy.engine
        problem = self.gateway.policy.error
        return {
            **dataclasses.asdict(self.identity),
            "groups": list(self.identity.groups),
            "reviewer": policy.is_reviewer(self.identity),
            "mode": self.mode,
            "policy_version": policy.version,
            "policy_error": str(problem) if problem else None,
        }

    def events(self, **filters: Any) -> list[AuditEvent]:
        """Audit events: everyone's for reviewers, otherwise this user's own."""
        if not self.gateway.policy.engine.is_reviewer(self.identity):
            filters["user"] = self.identity.user
        return self.gateway.store.query(**filters)

    def event(self, event_id: str) -> AuditEvent | None:
        """One event, if this identity may read it."""
        found = self.gateway.store.get(event_id)
        if found is None:
            return None
        reviewer = self.gateway.policy.engine.is_reviewer(self.identity)
        return found if reviewer or found.identity.user == self.identity.user else None

    def latest_per_cell(self, notebook: str) -> list[AuditEvent]:
        """The newest event per cell of ``notebook`` for this user."""
        return self.gateway.store.latest_per_cell(notebook, user=self.identity.user)

    def close(self) -> None:
        """Close the gateway's connections and store."""
        self.gateway.close()
