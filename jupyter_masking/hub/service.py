"""The gateway as a JupyterHub-managed service: a small HTTP API behind hub tokens.

Every request carries the caller's hub token (``Authorization: token …``, the kernel's
``$JUPYTERHUB_API_TOKEN``). The service asks the hub who the token belongs to and which
groups they are in (cached by :class:`~jupyterhub.services.auth.HubAuth`), builds the
:class:`~jupyter_masking.identity.Identity` from that answer alone, and runs the gateway
in a thread pool so the event loop keeps serving. Anything the client says about who it
is (body fields, headers) is ignored; it may only declare a lower actor (``ai:<tool>``).

Routes, under ``$JUPYTERHUB_SERVICE_PREFIX`` (``/services/masking-gateway/``):

=========================  ===========================================================
``POST api/query``         run a query; Arrow IPC (``Accept: application/vnd.apache.
                           arrow.stream``) or JSON rows, with the audit event
``POST api/explain``       what would be masked or refused, without running
``GET  api/describe``      tables, columns, classes and this caller's decisions
``GET  api/whoami``        the caller as the gateway sees them
``GET  api/events``        audit events (own; everyone's for reviewers); ``?path=`` gives
                           the newest event per cell of one notebook
``GET  api/events/<id>``   one event (404 when absent or not the caller's)
``GET  api/health``        liveness, no authentication, no detail
=========================  ===========================================================

Errors are JSON ``{code, message, hint, …}`` (see :mod:`jupyter_masking.hub.wire`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlparse

from jupyterhub.services.auth import (  # type: ignore[import-untyped]
    HubAuth,
    HubAuthenticated,
    UserNotAllowed,
)
from jupyterhub.utils import url_path_join  # type: ignore[import-untyped]
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from jupyter_masking.config import load_config
from jupyter_masking.errors import BadInput, ConfigError, DatabaseError, MaskingError, Refused
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.gateway.pipeline import Gateway, default_config
from jupyter_masking.hub import wire
from jupyter_masking.hub.processes import run_processes
from jupyter_masking.identity import Identity, validate_actor

log = logging.getLogger("jupyter_masking.hub")

T = TypeVar("T")

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

MAX_BODY_BYTES = 4 * 1024 * 1024
SHUTDOWN_GRACE_S = 5.0
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
    try:
        return Identity(
            user=str(model["name"]), groups=tuple(model.get("groups") or ()), source="hub"
        )
    except BadInput as error:
        # failing closed: a group the policy cannot name might be a restricting one
        raise ConfigError(
            f"the hub reports a user or group name policies cannot use ({error.message})",
            hint="ask the hub admin to rename it; names use letters, digits and _ . @ + -",
        ) from None


class GatewayService:
    """The gateway, the thread pool that runs it and the hub authentication, as a web app.

    Args:
        gateway: The gateway (it holds connections, key, policy and audit store).
        hub_auth: How to ask the hub who a token belongs to.
        prefix: The URL prefix the hub proxies to this service.
        workers: Threads running gateway calls at once.
        deadline_s: Longest a request waits for the gateway before it gets an error.
    """

    def __init__(
        self,
        gateway: Gateway,
        *,
        hub_auth: HubAuth,
        prefix: str = "/",
        workers: int = 4,
        deadline_s: float = 120.0,
    ) -> None:
        self.gateway = gateway
        self.deadline_s = deadline_s
        self.hub_auth = hub_auth
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="masking-gateway")
        self.in_flight = 0

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking gateway call in the pool; a clear error after ``deadline_s``.

        A database that accepts connections but never answers would otherwise hold the
        request (and the user's cell) forever: the statement timeout lives in that database.
        """
        future = asyncio.get_running_loop().run_in_executor(self.executor, function, *args)
        try:
            return await asyncio.wait_for(future, self.deadline_s)
        except asyncio.TimeoutError:
            raise DatabaseError(
                f"the gateway gave up after {self.deadline_s:g} s without an answer",
                hint="the database may be hung or unreachable; retry later",
            ) from None

    def make_app(self) -> web.Application:
        """The tornado application with every route under the service prefix."""
        routes = [
            (url_path_join(self.prefix, path), handler, {"service": self})
            for path, handler in ROUTES
        ]
        return web.Application(routes, log_function=_log_request)

    def reload_policy(self) -> None:
        """Re-read the policy files (on SIGHUP); a broken policy keeps the old one."""
        problem = self.gateway.policy.reload()
        if problem is None:
            log.info("policy reloaded: %s", self.gateway.policy.engine.version)
        else:
            log.error("policy not reloaded, keeping the current one: %s", problem)

    async def serve(self, sockets: list[socket.socket]) -> None:
        """Serve on bound ``sockets`` until SIGTERM or SIGINT, then stop and close the gateway."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        # A hub-started service inherits SIGINT ignored; without our own handlers the hub
        # waits 30 s before it escalates to SIGKILL at shutdown.
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload_policy)
        server = HTTPServer(self.make_app(), max_body_size=MAX_BODY_BYTES)
        server.add_sockets(sockets)
        loop.run_in_executor(self.executor, self._warm_up)
        await stop.wait()
        log.info("masking gateway stopping")
        server.stop()
        # let running requests finish (briefly); idle keep-alive connections do not count
        deadline = loop.time() + SHUTDOWN_GRACE_S
        while self.in_flight and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if self.in_flight:
            log.warning("stopping with %d requests still running", self.in_flight)
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.gateway.close()

    def _warm_up(self) -> None:
        # open the default connection and read its schema before the first user waits on it
        try:
            self.gateway.explain(QueryRequest("SELECT 1"), Identity("masking-gateway"))
        except MaskingError as error:
            log.warning("warm-up failed (queries will retry): %s", error)


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
    connections}``.
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


def _log_request(handler: web.RequestHandler) -> None:
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


def run_service(
    config_path: str | None,
    *,
    ip: str | None = None,
    port: int | None = None,
    workers: int = 4,
    cache_max_age: int = 300,
    deadline_s: float | None = None,
    processes: int = 1,
) -> int:
    """Run the gateway service with the config at ``config_path`` until SIGTERM/SIGINT.

    The hub passes ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_API_TOKEN``,
    ``JUPYTERHUB_SERVICE_URL`` and ``JUPYTERHUB_SERVICE_PREFIX``; ``ip``/``port`` override
    the address from ``JUPYTERHUB_SERVICE_URL``. ``deadline_s`` defaults to the longest
    statement timeout of the configured connections plus 30 s. With ``processes`` > 1,
    that many processes share the port (see :mod:`.processes`).

    Returns:
        The exit status.

    Raises:
        ConfigError: Not started by a hub, or the config is invalid.
    """
    for name in ("JUPYTERHUB_API_URL", "JUPYTERHUB_API_TOKEN"):
        if not os.environ.get(name):
            raise ConfigError(
                f"{name} is not set: the gateway service runs under JupyterHub",
                hint="register it with jupyter_masking.hub.configure in jupyterhub_config.py",
            )
    service_url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL") or "http://127.0.0.1:10101")
    bind_ip = ip or service_url.hostname or "127.0.0.1"
    bind_port = port or service_url.port or 10101
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/"
    config = load_config(config_path)  # fail here, once, on a bad file
    if deadline_s is None:
        timeouts = [c.statement_timeout_s for c in config.connections.values()]
        deadline_s = max(timeouts, default=30.0) + 30.0
    sockets = bind_sockets(bind_port, bind_ip)
    log.info("masking gateway listening on http://%s:%s%s", bind_ip, bind_port, prefix)

    def serve() -> None:
        # everything that holds connections or threads is made here, after any fork
        gateway = open_gateway(config_path)
        hub_auth = HubAuth(cache_max_age=cache_max_age, allow_token_in_url=False)
        service = GatewayService(
            gateway, hub_auth=hub_auth, prefix=prefix, workers=workers, deadline_s=deadline_s
        )
        asyncio.run(service.serve(sockets))

    if processes <= 1:
        serve()
        return 0
    return run_processes(processes, serve)


def open_gateway(config_path: str | None) -> Gateway:
    """The service's gateway: the config file's connections, else the demo database.

    Connection URLs in requests are never accepted: users name configured connections.
    """
    config = load_config(config_path)
    if not config.connections:
        from jupyter_masking.demo.build import build_demo

        log.warning("no connections configured: serving the demo database")
        config = default_config(build_demo()).model_copy(
            update={k: getattr(config, k) for k in ("policy", "key_file", "audit_store")}
        )
    return Gateway.from_config(config, allow_urls=False)
