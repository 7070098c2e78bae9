"""REST handlers under ``<base_url>/jupyter-masking/api/`` (contract: ``openapi.yaml``).

Every verb is authenticated and authorized by Jupyter Server itself (``@web.authenticated``
and ``@authorized`` on the ``jupyter_masking`` resource). Errors are JSON
``{code, message, hint}`` with an HTTP status from :data:`STATUS`. Gateway calls run in
worker threads (:class:`~jupyter_masking.server.service.MaskingService`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import traceback
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tornado import web

from jupyter_masking.audit.event import OUTCOMES
from jupyter_masking.errors import (
    AuditError,
    BadInput,
    ConfigError,
    DatabaseError,
    InternalError,
    MaskingError,
    Refused,
)
from jupyter_masking.server.service import MaskingService

log = logging.getLogger(__name__)

NAMESPACE = "jupyter-masking"
AUTH_RESOURCE = "jupyter_masking"
SERVICE_KEY = "jupyter_masking_service"
MAX_LIMIT = 1000
WHOAMI_KEYS = ("user", "groups", "actor", "reviewer", "mode", "policy_version", "policy_error")
_EVENT_ID = re.compile(r"^[0-9a-f]{32}$")

#: Error class -> HTTP status, most specific first.
STATUS: tuple[tuple[type[MaskingError], int], ...] = (
    (Refused, 403),
    (BadInput, 400),
    (ConfigError, 400),
    (DatabaseError, 502),
    (AuditError, 503),
    (MaskingError, 500),
)

Handler = TypeVar("Handler", bound="MaskingHandler")


class Forbidden(MaskingError):
    """The caller may not see what it asked for (another user's events, for a non-reviewer)."""

    code = "forbidden"
    prefix = "forbidden"


class NotFound(MaskingError):
    """No such event, or not one the caller may read."""

    code = "not_found"
    prefix = "not found"


_EXTRA_STATUS = {Forbidden: 403, NotFound: 404, InternalError: 500}


def _where(error: BaseException) -> str:
    """The exception type and the innermost frame, without the message (it may hold values)."""
    frames = traceback.extract_tb(error.__traceback__)
    last = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f"{type(error).__name__}{last}"


def json_errors(
    method: Callable[..., Awaitable[None]],
) -> Callable[..., Awaitable[None]]:
    """Turn a :class:`MaskingError` raised by a handler method into a JSON error reply."""

    @wraps(method)
    async def wrapper(self: MaskingHandler, *args: Any, **kwargs: Any) -> None:
        try:
            await method(self, *args, **kwargs)
        except MaskingError as error:
            self.reply_error(error)
        except web.HTTPError:
            raise
        except Exception as error:  # a bug: no traceback or message (may quote values) leaves
            log.error("internal error in %s: %s", self.request.path, _where(error))
            self.reply_error(InternalError())

    return wrapper


class MaskingHandler(APIHandler):
    """Base handler: the shared service, JSON replies and the one error renderer."""

    auth_resource = AUTH_RESOURCE

    @property
    def service(self) -> MaskingService:
        """The extension's gateway client holder."""
        service: MaskingService = self.settings[SERVICE_KEY]
        return service

    def reply(self, body: dict[str, Any], status: int = 200) -> None:
        """Send ``body`` as JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, default=str))

    def reply_error(self, error: MaskingError) -> None:
        """``{code, message, hint}`` with the status of the error's class."""
        status = _EXTRA_STATUS.get(type(error)) or next(
            code for cls, code in STATUS if isinstance(error, cls)
        )
        body = {"code": error.code, "message": error.detail(), "hint": error.hint}
        self.reply(body, status)

    def arg(self, name: str) -> str | None:
        """A query-string argument, ``None`` when absent or empty."""
        value = self.get_argument(name, None)
        return value if value else None


class WhoAmIHandler(MaskingHandler):
    """``GET whoami`` → ``{user, groups, actor, reviewer, mode, policy_version, policy_error}``."""

    @web.authenticated
    @authorized
    @json_errors
    async def get(self) -> None:
        """Who the gateway takes this server's user for."""
        who = await self.service.run(lambda c: c.whoami())
        self.reply({key: who.get(key) for key in WHOAMI_KEYS})


class EventsHandler(MaskingHandler):
    """``GET events?path=<notebook>`` (newest event per cell) or ``GET events?<filters>``.

    Filters: ``user, table, data_class, outcome, actor, since, until, limit``. Reviewers see
    everyone's events; others only their own (asking for another user is a 403).
    Reply: ``{"events": [<audit event>, ...]}``.
    """

    @web.authenticated
    @authorized
    @json_errors
    async def get(self) -> None:
        """The events of one notebook, or the events matching the filters."""
        path = self.arg("path")
        if path is not None:
            events = await self.service.run(lambda c: latest_per_cell(c, self._paths(path)))
        else:
            filters = self._filters()
            events = await self.service.run(lambda c: _own_events(c, filters))
        self.reply({"events": [e.to_dict() for e in events]})

    def _paths(self, path: str) -> list[str]:
        if "\x00" in path or len(path) > 4096:
            raise BadInput("path is not a notebook path")
        relative = path.lstrip("/")
        forms = [relative, path]
        root = self.settings.get("server_root_dir")
        if root:  # a kernel that could not find the server root recorded the absolute path
            forms.append(os.path.normpath(os.path.join(os.path.expanduser(root), relative)))
        return forms

    def _filters(self) -> dict[str, Any]:
        filters: dict[str, Any] = {
            name: self.arg(name) for name in ("user", "table", "data_class", "actor")
        }
        outcome = self.arg("outcome")
        if outcome is not None and outcome not in OUTCOMES:
            raise BadInput(f"outcome must be one of {', '.join(OUTCOMES)}")
        filters["outcome"] = outcome
        for bound in ("since", "until"):
            filters[bound] = _time(bound, self.arg(bound))
        limit = self.arg("limit") or "200"
        if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
            raise BadInput(f"limit must be a whole number from 1 to {MAX_LIMIT}")
        filters["limit"] = int(limit)
        return {k: v for k, v in filters.items() if v is not None}


class EventHandler(MaskingHandler):
    """``GET events/<id>`` → the audit event, or 404 when missing or not the caller's."""

    @web.authenticated
    @authorized
    @json_errors
    async def get(self, event_id: str) -> None:
        """One event the caller may read."""
        if not _EVENT_ID.match(event_id):
            raise NotFound("no such event", hint="event ids are 32 hex digits")
        event = await self.service.run(lambda c: c.event(event_id))
        if event is None:
            raise NotFound("no such event, or not one you may read")
        self.reply(event.to_dict())


class QueryBody(BaseModel):
    """``POST query``: the request body."""

    model_config = ConfigDict(extra="forbid")

    sql: str = Field(min_length=1, max_length=1_000_000)
    connection: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")
    params: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    max_rows: int | None = Field(None, gt=0)
    notebook: str | None = Field(None, max_length=4096)
    cell_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    execution_count: int | None = Field(None, ge=0)
    actor: str | None = None
    explain: bool = False


class QueryHandler(MaskingHandler):
    """``POST query`` with :class:`QueryBody` → the CLI's JSON contract.

    ``{"columns", "rows", "masked", "event_id", "truncated", "policy_version"}``, or with
    ``"explain": true`` the explanation ``{"outcome", "reason", "hint", "outputs", ...}``.
    """

    @web.authenticated
    @authorized
    @json_errors
    async def post(self) -> None:
        """Run (or explain) one masked query for this server's user."""
        from jupyter_masking.gateway.api import QueryRequest

        body = _body(self.request.body)
        request = QueryRequest(
            sql=body.sql,
            connection=body.connection,
            params=body.params,
            max_rows=body.max_rows,
            notebook=body.notebook,
            cell_id=body.cell_id,
            execution_count=body.execution_count,
            actor=body.actor,
        )
        if body.explain:
            explained = await self.service.run(lambda c: c.explain(request))
            self.reply(explained.to_dict())
            return
        result = await self.service.run(lambda c: c.query(request))
        self.reply(result.to_json())


class PolicyHandler(MaskingHandler):
    """``GET policy[?connection=NAME]`` → what this user would see of every column.

    ``{"policy_version", "user", "groups", "actor", "connection", "tables": [{table, kind,
    columns: [{name, type, data_class, free_text, detected_by, effect, rule}]}]}``.
    """

    @web.authenticated
    @authorized
    @json_errors
    async def get(self) -> None:
        """The effective decisions for the current identity."""
        connection = self.arg("connection")
        if connection is not None and not re.fullmatch(
            r"[A-Za-z_][A-Za-z0-9_\-]{0,63}", connection
        ):
            raise BadInput("connection must be a configured connection name")

        def effective(client: Any) -> dict[str, Any]:
            who = client.whoami()
            return {
                "policy_version": who.get("policy_version"),
                "user": who.get("user"),
                "groups": who.get("groups", []),
                "actor": who.get("actor", "human"),
                "connection": connection,
                "tables": client.describe(connection),
            }

        self.reply(await self.service.run(effective))


#: Route table: path under ``<base_url>/jupyter-masking/api/`` -> handler.
ROUTES: tuple[tuple[str, type[MaskingHandler]], ...] = (
    ("whoami", WhoAmIHandler),
    ("events", EventsHandler),
    ("events/([^/]+)", EventHandler),
    ("query", QueryHandler),
    ("policy", PolicyHandler),
)


def routes() -> list[tuple[str, type[MaskingHandler]]]:
    """The handlers with their patterns (the extension app prepends the base URL).

    >>> routes()[0][0]
    '/jupyter-masking/api/whoami'
    """
    return [(url_path_join("/", NAMESPACE, "api", path), cls) for path, cls in ROUTES]


def latest_per_cell(client: Any, paths: list[str]) -> list[Any]:
    """The newest event per cell over every spelling of one notebook's path, oldest first."""
    newest: dict[str | None, Any] = {}
    for path in dict.fromkeys(paths):
        for event in client.latest_per_cell(path):
            known = newest.get(event.cell_id)
            if known is None or event.seq > known.seq:
                newest[event.cell_id] = event
    return sorted(newest.values(), key=lambda e: e.seq)


def _own_events(client: Any, filters: dict[str, Any]) -> list[Any]:
    who = client.whoami()
    asked = filters.get("user")
    if asked is not None and asked != who["user"] and not who.get("reviewer"):
        raise Forbidden(
            "only reviewers may read other users' events",
            hint="leave out user= to see your own",
        )
    return list(client.events(**filters))


def _time(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{name} must be an ISO 8601 time, e.g. 2026-11-28T07:00:00Z") from None
    return value


def _body(raw: bytes) -> QueryBody:
    try:
        return QueryBody.model_validate_json(raw or b"{}")
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise BadInput(f"{where}: {first['msg']}") from None
