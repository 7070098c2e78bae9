"""The gateway service's request handlers: hub-token authentication, then one gateway call.

Each handler resolves the caller from the hub's answer about the token
(:func:`identity_from_hub`), runs one blocking gateway call in the service's pool and
writes JSON (or Arrow for query results). Errors are rendered by one place,
:meth:`_Handler.write_error`, as ``{code, message, hint, ...}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jupyterhub.services.auth import (  # type: ignore[import-untyped]
    HubAuthenticated,
    UserNotAllowed,
)
from tornado import web

from jupyter_masking.errors import BadInput, ConfigError, MaskingError, Refused
from jupyter_masking.hub import wire
from jupyter_masking.identity import Identity, validate_actor

if TYPE_CHECKING:
    from jupyter_masking.gateway.pipeline import Gateway
    from jupyter_masking.hub.service import GatewayService

log = logging.getLogger("jupyter_masking.hub")

#: The header a client uses to declare a lower actor on GET requests.
ACTOR_HEADER = "X-Jupyter-Masking-Actor"

#: ``GET api/events`` filters and how each is read from the query string.
EVENT_FILTERS: dict[str, Callable[[str], object]] = {
    "user": str,
    "notebook": str,
    "table": str,
    "data_class": str,
    "outcome": str,
    "actor": str,
    "since": str,
    "until": str,
    "limit": int,
    "newest_first": lambda text: text.lower() in ("1", "true", "yes"),
}

MAX_EVENTS = 10_000


def identity_from_hub(model: dict[str, Any]) -> Identity:
    """The identity a hub user model describes: its name and groups, nothing else.

    >>> identity_from_hub({"kind": "user", "name": "alice", "groups": ["analysts"]}).describe()
    'alice (analysts)'
    """
    if model.get("kind", "user") != "user":
        raise Refused(
            "only hub users may query the gateway",
            hint="use a user's token, not a service token",
        )
    if not isinstance(model.get("groups"), list):
        # without groups a restricting rule (e.g. contractors: deny) could not apply
        raise ConfigError(
            "the hub did not report this user's groups",
            hint="the token needs read:users:groups!user (jupyter_masking.hub.configure adds it)",
        )
    try:
        return Identity(user=str(model["name"]), groups=tuple(model["groups"]), source="hub")
    except BadInput as error:
        # failing closed: a group the policy cannot name might be a restricting one
        raise ConfigError(
            f"the hub reports a user or group name policies cannot use ({error.message})",
            hint="ask the hub admin to rename it; names use letters, digits and _ . @ + -",
        ) from None


class _Handler(HubAuthenticated, web.RequestHandler):  # type: ignore[misc]
    """Authenticates with the hub before any method runs; renders errors as JSON."""

    service: GatewayService
    identity: Identity

    def initialize(self, service: GatewayService) -> None:
        self.service = service
        self.hub_auth = service.hub_auth

    @property
    def gateway(self) -> Gateway:
        return self.service.gateway

    async def prepare(self) -> None:
        """Resolve the caller from the hub token, or answer 401/403/503 and stop."""
        self.service.in_flight += 1
        self._counted = True
        # async lookup: HubAuthenticated's own get_current_user would block the loop on a
        # cache miss. Identity comes from the hub's answer about the token, nothing else.
        try:
            model = await self.hub_auth.get_user(self, sync=False)
        except web.HTTPError as error:
            self._fail(503, "hub_unavailable", "cannot check the token with the hub", error)
            return
        if not model:
            self._fail(401, "unauthenticated", "a valid hub token is required")
            return
        try:
            self.check_hub_user(model)
        except UserNotAllowed:
            self._fail(
                403,
                "forbidden",
                f"{model.get('name', 'this token')} may not use the masking gateway",
                hint="the hub admin grants access:services!service=<name> (hub.configure)",
            )
            return
        try:
            self.identity = identity_from_hub(model)
        except MaskingError as error:
            self.write_masking_error(error)
            return
        self.current_user = model

    def on_finish(self) -> None:
        """Count the request as done (for a graceful stop)."""
        if getattr(self, "_counted", False):
            self.service.in_flight -= 1
            self._counted = False

    def _fail(
        self,
        status: int,
        code: str,
        message: str,
        cause: BaseException | None = None,
        *,
        hint: str | None = None,
    ) -> None:
        if cause is not None:
            log.warning("%s: %s", message, cause)
        self.set_status(status)
        self.write_json({"code": code, "message": message, "hint": hint})
        self.finish()

    def declared_actor(self) -> str | None:
        """The actor the client declares for a GET (it may only lower privileges)."""
        actor = self.request.headers.get(ACTOR_HEADER)
        return validate_actor(actor) if actor else None

    def acting(self) -> Identity:
        """The authenticated identity with any declared actor applied."""
        return self.identity.acting_as(self.declared_actor())

    def write_json(self, data: object) -> None:
        self.set_header("Content-Type", wire.JSON)
        self.set_header("Cache-Control", "no-store")
        self.write(json.dumps(data, ensure_ascii=False))

    def write_masking_error(self, error: MaskingError) -> None:
        self.set_status(wire.error_status(error))
        self.write_json(wire.error_payload(error))
        self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, MaskingError):
            self.set_status(wire.error_status(error))
            self.write_json(wire.error_payload(error))
            return
        code = "not_found" if status_code == 404 else f"http_{status_code}"
        self.write_json({"code": code, "message": self._reason, "hint": None})

    def log_exception(self, kind: Any, value: Any, tb: Any) -> None:
        if isinstance(value, MaskingError):
            log.info("%s %s: %s", self.request.method, self.request.path, value.code)
            return
        super().log_exception(kind, value, tb)

    def body_json(self) -> object:
        try:
            return json.loads(self.request.body or b"null")
        except ValueError:
            raise BadInput("the request body is not valid JSON") from None
        except RecursionError:
            raise BadInput("the request body is nested too deeply") from None

    def query_arguments(self, allowed: dict[str, Callable[[str], object]]) -> dict[str, Any]:
        """The query string as typed values; unknown names are refused."""
        values: dict[str, Any] = {}
        for name in self.request.query_arguments:
            if name not in allowed:
                raise BadInput(f"unknown query parameter {name!r}")
            try:
                values[name] = allowed[name](self.get_query_argument(name))
            except ValueError:
                raise BadInput(f"query parameter {name!r} has a bad value") from None
        return values


class QueryHandler(_Handler):
    """``POST api/query``: run one query for the token's user.

    Body: ``{"sql", "connection"?, "params"?, "max_rows"?, "notebook"?, "cell_id"?,
    "execution_count"?, "actor"?}``. Answer: Arrow IPC when asked for, else JSON rows,
    masked columns and the audit event.
    """

    @web.authenticated
    async def post(self) -> None:
        """Run the query in the pool and send the masked rows."""
        request = wire.request_from_json(self.body_json())
        result = await self.service.call(self.gateway.query, request, self.acting())
        if wire.ARROW in self.request.headers.get("Accept", ""):
            self.set_header("Content-Type", wire.ARROW)
            self.set_header("Cache-Control", "no-store")
            self.write(wire.encode_result(result))
        else:
            self.write_json(wire.result_to_json(result))


class ExplainHandler(_Handler):
    """``POST api/explain`` (same body as query) → ``Explanation.to_dict()``."""

    @web.authenticated
    async def post(self) -> None:
        """Explain the query for the token's user."""
        request = wire.request_from_json(self.body_json())
        explanation = await self.service.call(self.gateway.explain, request, self.acting())
        self.write_json(explanation.to_dict())


class DescribeHandler(_Handler):
    """``GET api/describe?connection=`` → ``{"tables": [{table, kind, columns: [...]}]}``."""

    @web.authenticated
    async def get(self) -> None:
        """Describe the connection's tables with this caller's decisions."""
        args = self.query_arguments({"connection": str})
        describe = self.gateway.describe
        tables = await self.service.call(describe, self.acting(), args.get("connection"))
        self.write_json({"tables": tables})


class WhoamiHandler(_Handler):
    """``GET api/whoami``: the caller as the gateway sees them.

    Answer: ``{user, groups, actor, notebook, cell_id, reviewer, mode, policy_version,
    policy_error, connections}`` (``policy_error``: why an edited policy did not load).
    """

    @web.authenticated
    async def get(self) -> None:
        """Send the caller's identity, as resolved from the hub token."""
        self.query_arguments({})
        who = self.acting()
        policy = self.gateway.policy.engine
        self.write_json(
            {
                **who.to_dict(),
                "reviewer": policy.is_reviewer(who),
                "mode": "hub",
                "policy_version": policy.version,
                "policy_error": str(problem) if (problem := self.gateway.policy.error) else None,
                "connections": self.gateway.connection_names(),
            }
        )


class EventsHandler(_Handler):
    """``GET api/events``: audit events the caller may read, as ``{"events": [...]}``.

    ``?path=<notebook>`` gives the caller's newest event per cell of that notebook;
    otherwise ``user, notebook, table, data_class, outcome, actor, since, until, limit,
    newest_first`` filter (``user`` other than the caller's own: reviewers only).
    """

    @web.authenticated
    async def get(self) -> None:
        """Send the matching events."""
        who = self.acting()
        path = self.get_query_argument("path", None)
        if path is not None:
            if set(self.request.query_arguments) != {"path"}:
                raise BadInput("path cannot be combined with other filters")
            events = await self.service.call(self.gateway.store.latest_per_cell, path, who.user)
        else:
            filters = self.query_arguments(EVENT_FILTERS)
            filters["limit"] = min(int(filters.get("limit", 200)), MAX_EVENTS)
            if not self.gateway.policy.engine.is_reviewer(who):
                if filters.get("user", who.user) != who.user:
                    raise Refused(
                        "only reviewers may read other users' audit events",
                        hint="ask a reviewer named in the policy's reviewers: section",
                    )
                filters["user"] = who.user
            events = await self.service.call(lambda: self.gateway.store.query(**filters))
        self.write_json({"events": [event.to_dict() for event in events]})


class EventHandler(_Handler):
    """``GET api/events/<id>`` → the event, if the caller may read it; else 404."""

    @web.authenticated
    async def get(self, event_id: str) -> None:
        """Send the event or a 404."""
        who = self.acting()
        event = await self.service.call(self.gateway.store.get, event_id)
        allowed = event is not None and (
            event.identity.user == who.user or self.gateway.policy.engine.is_reviewer(who)
        )
        if not allowed:
            # the same answer whether the event is missing or someone else's
            self.set_status(404)
            self.write_json({"code": "not_found", "message": "no such event", "hint": None})
            return
        assert event is not None
        self.write_json(event.to_dict())


class HealthHandler(web.RequestHandler):
    """``GET api/health`` → ``{"status": "ok"}``, unauthenticated, for probes."""

    def initialize(self, service: GatewayService) -> None:
        """Routes pass the service to every handler; health needs nothing from it."""

    def get(self) -> None:
        """Send ``ok``."""
        self.set_header("Content-Type", wire.JSON)
        self.write(json.dumps({"status": "ok"}))


ROUTES: tuple[tuple[str, type[web.RequestHandler]], ...] = (
    ("api/query", QueryHandler),
    ("api/explain", ExplainHandler),
    ("api/describe", DescribeHandler),
    ("api/whoami", WhoamiHandler),
    ("api/events", EventsHandler),
    (r"api/events/([0-9a-f]{32})", EventHandler),
    ("api/health", HealthHandler),
)


def log_request(handler: web.RequestHandler) -> None:
    """One access-log line: status, method, path, duration, user; never a query string."""
    # path only: query strings can hold notebook paths, never worth logging; tokens never
    status = handler.get_status()
    user = getattr(handler, "identity", None)
    level = logging.INFO if status < 500 else logging.ERROR
    log.log(
        level,
        "%s %s %s %.1fms %s",
        status,
        handler.request.method,
        handler.request.path,
        1000.0 * handler.request.request_time(),
        user.user if isinstance(user, Identity) else "-",
    )
