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

Errors are JSON ``{code, message, hint, …}`` (see :mod:`jupyter_masking.hub.wire`); the
handlers live in :mod:`jupyter_masking.hub.handlers`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlparse

from jupyterhub.services.auth import HubAuth  # type: ignore[import-untyped]
from jupyterhub.utils import url_path_join  # type: ignore[import-untyped]
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from jupyter_masking.config import load_config, with_demo
from jupyter_masking.errors import ConfigError, DatabaseError, MaskingError
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.gateway.pipeline import Gateway
from jupyter_masking.hub.handlers import ROUTES, log_request
from jupyter_masking.hub.processes import run_processes
from jupyter_masking.identity import Identity

log = logging.getLogger("jupyter_masking.hub")

T = TypeVar("T")

MAX_BODY_BYTES = 4 * 1024 * 1024
SHUTDOWN_GRACE_S = 5.0


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
        return web.Application(routes, log_function=log_request)

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
        warm_up = loop.run_in_executor(self.executor, self._warm_up)
        await stop.wait()
        log.info("masking gateway stopping")
        server.stop()
        # let running requests finish (briefly); idle keep-alive connections do not count
        deadline = loop.time() + SHUTDOWN_GRACE_S
        while self.in_flight and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if self.in_flight:
            log.warning("stopping with %d requests still running", self.in_flight)
        with contextlib.suppress(asyncio.TimeoutError):  # do not close under the warm-up
            await asyncio.wait_for(warm_up, max(0.0, deadline - loop.time()))
        self.executor.shutdown(wait=False, cancel_futures=True)
        try:
            self.gateway.close()
        except Exception:  # stopping anyway: say so, do not turn it into a failure
            log.exception("closing the gateway failed")

    def _warm_up(self) -> None:
        # open the default connection and read its schema before the first user waits on it
        try:
            self.gateway.explain(QueryRequest("SELECT 1"), Identity("masking-gateway"))
        except MaskingError as error:
            log.warning("warm-up failed (queries will retry): %s", error)
        except Exception:  # the service must still start; queries report their own errors
            log.exception("warm-up failed unexpectedly")


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
        config = with_demo(config, build_demo())
    return Gateway.from_config(config, allow_urls=False)
