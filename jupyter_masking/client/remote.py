"""The remote client: the hub's gateway service over HTTP, with the user's hub token.

Under JupyterHub the spawner sets ``JUPYTER_MASKING_GATEWAY_URL``; kernels and the
single-user server then reach the gateway service with ``$JUPYTERHUB_API_TOKEN``. The
gateway learns who the user is from that token alone: nothing here can claim an
identity, and this process never holds database credentials or the pseudonym key.
Errors come back as the same :class:`~jupyter_masking.errors.MaskingError` subclasses
an embedded gateway raises.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import urllib3

from jupyter_masking.errors import ConfigError, MaskingError

if TYPE_CHECKING:
    from jupyter_masking.audit.event import AuditEvent
    from jupyter_masking.gateway.api import Explanation, MaskedResult, QueryRequest

TOKEN_ENVS = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN")
TIMEOUT_ENV = "JUPYTER_MASKING_GATEWAY_TIMEOUT"
ACTOR_HEADER = "X-Jupyter-Masking-Actor"  # same as jupyter_masking.hub.service.ACTOR_HEADER
ARROW = "application/vnd.apache.arrow.stream"


class GatewayUnavailable(MaskingError):
    """The gateway service cannot be reached, or it cannot reach the hub."""

    code = "gateway_unavailable"
    prefix = "gateway unavailable"


class RemoteClient:
    """A :class:`~jupyter_masking.client.GatewayClient` over the hub's gateway service.

    Args:
        url: The gateway service URL, e.g. ``http://127.0.0.1:10101/services/masking-gateway/``.
        token: The user's hub API token.
        actor: An actor to declare on every call (``ai:<tool>``); it may only lower privileges.
        timeout_s: How long to wait for an answer (queries included).
    """

    mode = "hub"

    def __init__(
        self, url: str, token: str, *, actor: str | None = None, timeout_s: float = 300.0
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(
                "the gateway URL must start with http:// or https://",
                hint="check JUPYTER_MASKING_GATEWAY_URL",
            )
        self.url = url if url.endswith("/") else url + "/"
        self.actor = actor
        self._token = token
        self._http = urllib3.PoolManager(
            maxsize=4,
            retries=urllib3.Retry(total=2, connect=2, read=0, status=0, backoff_factor=0.2),
            timeout=urllib3.Timeout(connect=5.0, read=timeout_s),
        )

    @classmethod
    def from_environment(cls, url: str) -> RemoteClient:
        """A client for the gateway at ``url``, authenticated by ``$JUPYTERHUB_API_TOKEN``."""
        token = next((os.environ[n] for n in TOKEN_ENVS if os.environ.get(n)), None)
        if not token:
            raise ConfigError(
                "JUPYTER_MASKING_GATEWAY_URL is set but there is no JUPYTERHUB_API_TOKEN",
                hint="run under JupyterHub, or unset JUPYTER_MASKING_GATEWAY_URL to go embedded",
            )
        try:
            timeout = float(os.environ.get(TIMEOUT_ENV) or 300.0)
        except ValueError:
            raise ConfigError(f"{TIMEOUT_ENV} must be a number of seconds") from None
        return cls(url, token, timeout_s=timeout)

    def __repr__(self) -> str:
        return f"RemoteClient(url={self.url!r}, actor={self.actor!r})"

    def with_actor(self, actor: str | None) -> RemoteClient:
        """The same gateway and token, declaring ``actor`` (e.g. ``ai:jupyter-ai``)."""
        clone = RemoteClient.__new__(RemoteClient)
        clone.__dict__.update(self.__dict__)
        clone.actor = actor
        return clone

    # -- the GatewayClient protocol ----------------------------------------------------------

    def query(self, request: QueryRequest) -> MaskedResult:
        """Run a masked query as the token's user; rows arrive as Arrow (dtypes kept)."""
        from jupyter_masking.hub.wire import decode_result

        body = self._call("POST", "api/query", body=self._request_body(request), accept=ARROW)
        return decode_result(body)

    def explain(self, request: QueryRequest) -> Explanation:
        """What the gateway would mask or refuse for the token's user."""
        from jupyter_masking.audit.event import OutputLineage
        from jupyter_masking.gateway.api import Explanation

        data = self._json("POST", "api/explain", body=self._request_body(request))
        return Explanation(
            outcome=data["outcome"],
            outputs=tuple(OutputLineage.model_validate(o) for o in data.get("outputs", [])),
            reason=data.get("reason"),
            hint=data.get("hint"),
            policy_version=data["policy_version"],
            identity=data["identity"],
        )

    def describe(self, connection: str | None = None) -> list[dict[str, Any]]:
        """Tables, columns, data classes and what the token's user would see."""
        query = {"connection": connection} if connection else {}
        tables: list[dict[str, Any]] = self._json("GET", "api/describe", query=query)["tables"]
        return tables

    def whoami(self) -> dict[str, Any]:
        """``{user, groups, actor, reviewer, mode, policy_version, connections}`` from the hub."""
        data: dict[str, Any] = self._json("GET", "api/whoami")
        return data

    def events(self, **filters: Any) -> list[AuditEvent]:
        """Audit events: the user's own (everyone's for reviewers)."""
        query = {k: _query_value(v) for k, v in filters.items() if v is not None}
        return self._events(self._json("GET", "api/events", query=query))

    def event(self, event_id: str) -> AuditEvent | None:
        """One audit event, or ``None`` if it does not exist or is not the user's to read."""
        from jupyter_masking.audit.event import AuditEvent

        try:
            data = self._json("GET", f"api/events/{quote(event_id, safe='')}")
        except _NotFound:
            return None
        return AuditEvent.model_validate(data)

    def latest_per_cell(self, notebook: str) -> list[AuditEvent]:
        """The user's newest event per cell of ``notebook``."""
        return self._events(self._json("GET", "api/events", query={"path": notebook}))

    def close(self) -> None:
        """Drop pooled HTTP connections."""
        self._http.clear()

    # -- HTTP -------------------------------------------------------------------------------

    def _request_body(self, request: QueryRequest) -> dict[str, Any]:
        from jupyter_masking.hub.wire import request_to_json

        body = request_to_json(request)
        if self.actor and "actor" not in body:
            body["actor"] = self.actor
        return body

    @staticmethod
    def _events(data: dict[str, Any]) -> list[AuditEvent]:
        from jupyter_masking.audit.event import AuditEvent

        return [AuditEvent.model_validate(e) for e in data["events"]]

    def _json(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> Any:
        return json.loads(self._call(method, path, body=body, query=query))

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        accept: str = "application/json",
    ) -> bytes:
        headers = {"Authorization": f"token {self._token}", "Accept": accept}
        if self.actor:
            headers[ACTOR_HEADER] = self.actor
        url = self.url + path + (f"?{urlencode(query)}" if query else "")
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            response = self._http.request(method, url, body=payload, headers=headers)
        except urllib3.exceptions.HTTPError as error:
            cause = getattr(error, "reason", None) or error
            raise GatewayUnavailable(
                f"cannot reach the masking gateway at {self.url} ({type(cause).__name__})",
                hint="the hub may be restarting it; retry in a moment or ask the hub admin",
            ) from None
        if response.status < 300:
            return bytes(response.data)
        raise _error(response.status, response.data)


class _NotFound(MaskingError):
    code = "not_found"


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _error(status: int, body: bytes) -> MaskingError:
    from jupyter_masking.hub.wire import ERRORS, error_from_payload

    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return GatewayUnavailable(f"the masking gateway answered HTTP {status} without detail")
    code = str(payload.get("code"))
    message = str(payload.get("message") or f"HTTP {status}")
    if code in ERRORS:
        return error_from_payload(payload)
    if code == "not_found":
        return _NotFound(message)
    if status in (401, 403):
        return ConfigError(
            f"the hub did not authorize this token for the masking gateway: {message}",
            hint="ask the hub admin to enable it for users with jupyter_masking.hub.configure",
        )
    return GatewayUnavailable(message, hint=payload.get("hint"))
