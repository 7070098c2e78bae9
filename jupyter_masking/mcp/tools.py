"""The three MCP tools as plain methods: gateway calls for an AI actor, capped and framed.

:class:`MaskingTools` knows nothing about the MCP transport: it takes the actor the
server derived from the client's name, asks the gateway client (embedded or hub) for
masked rows, column classes or an explanation, and turns the answer, or the refusal,
into a ``CallToolResult``. The actor is declared on every request, and the gateway
applies it with :meth:`~jupyter_masking.identity.Identity.acting_as`, which can only
lower privileges.

>>> actor_for("Claude Desktop"), actor_for(None), actor_for("../../etc")
('ai:mcp:claude-desktop', 'ai:mcp:unknown', 'ai:mcp:etc')
"""

from __future__ import annotations

import logging
import re
import threading
from typing import TYPE_CHECKING, cast

from mcp_types import CallToolResult

from jupyter_masking.errors import BadInput, ConfigError, InternalError, MaskingError
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.identity import Identity
from jupyter_masking.mcp import results
from jupyter_masking.mcp.limits import Caps

if TYPE_CHECKING:
    from jupyter_masking.client import GatewayClient

log = logging.getLogger(__name__)

ACTOR_PREFIX = "ai:mcp:"
UNKNOWN_CLIENT = "unknown"
MAX_SQL_CHARS = 100_000
_LABEL_JUNK = re.compile(r"[^a-z0-9_.@+\-]+")


def actor_for(client_name: str | None) -> str:
    """``ai:mcp:<client>``: the client's self-reported name as a safe label (not an identity)."""
    label = _LABEL_JUNK.sub("-", (client_name or "").strip().lower()).strip("-.")[:60]
    return ACTOR_PREFIX + (label.strip("-.") or UNKNOWN_CLIENT)


class MaskingTools:
    """``masked_query``, ``describe_tables`` and ``explain`` over one gateway client.

    Args:
        client: The gateway client (embedded in this process, or the hub gateway).
        caps: Row, byte and cell limits for every result.
        connection: The connection used when a tool call names none (a configured name
            or, embedded only, the URL given with ``--db``).
    """

    def __init__(
        self, client: GatewayClient, caps: Caps | None = None, *, connection: str | None = None
    ) -> None:
        self.client = client
        self.caps = caps or Caps()
        self.connection = connection
        self._lock = threading.Lock()  # the embedded gateway serves one call at a time

    def masked_query(
        self, sql: str, *, actor: str, connection: str | None = None, limit: int | None = None
    ) -> CallToolResult:
        """Run ``sql`` for ``actor``: masked rows plus which columns were masked and why."""
        try:
            row_cap = self.caps.rows_for(limit)
            request = self._request(sql, actor, connection, max_rows=row_cap)
            with self._lock:
                result = self._client(actor).query(request)
        except MaskingError as error:
            return results.error_result(error)
        except Exception as error:
            return _internal(error)
        return results.query_result(result, self.caps, row_cap=row_cap, actor=actor)

    def describe_tables(self, *, actor: str, connection: str | None = None) -> CallToolResult:
        """Tables, columns, their data classes and what ``actor`` would get from each."""
        try:
            chosen = self._connection(connection)
            with self._lock:
                tables = self._client(actor).describe(chosen)
        except MaskingError as error:
            return results.error_result(error)
        except Exception as error:
            return _internal(error)
        return results.tables_result(tables, self.caps, actor=actor)

    def explain(self, sql: str, *, actor: str, connection: str | None = None) -> CallToolResult:
        """What ``masked_query`` would mask or refuse for ``actor``, reading no rows."""
        try:
            request = self._request(sql, actor, connection)
            with self._lock:
                explanation = self._client(actor).explain(request)
        except MaskingError as error:
            return results.error_result(error)
        except Exception as error:
            return _internal(error)
        return results.explain_result(explanation, actor=actor)

    def close(self) -> None:
        """Release the gateway client."""
        self.client.close()

    def _request(
        self, sql: str, actor: str, connection: str | None, *, max_rows: int | None = None
    ) -> QueryRequest:
        if not sql.strip():
            raise BadInput("no SQL given", hint="pass one SELECT statement as 'sql'")
        if len(sql) > MAX_SQL_CHARS:
            raise BadInput(f"the SQL is longer than {MAX_SQL_CHARS} characters")
        return QueryRequest(
            sql=sql, connection=self._connection(connection), max_rows=max_rows, actor=actor
        )

    def _connection(self, name: str | None) -> str | None:
        if name is None or not name.strip():
            return self.connection
        if "://" in name:
            # An agent must not point the gateway at databases the operator did not choose.
            raise BadInput(
                "connection URLs are not accepted from MCP tools",
                hint="use a configured connection name, or omit it for the default",
            )
        return name.strip()

    def _client(self, actor: str) -> GatewayClient:
        """The client declaring ``actor`` on every call, ``describe`` included.

        The hub client sends it with each request (``with_actor``); the embedded one is
        re-bound to the lowered identity (``with_identity``). Either way the gateway applies
        :meth:`~jupyter_masking.identity.Identity.acting_as`, which only lowers privileges.
        A client that can do neither is refused rather than answer as the human.
        """
        with_actor = getattr(self.client, "with_actor", None)
        if with_actor is not None:
            return cast("GatewayClient", with_actor(actor))
        identity = getattr(self.client, "identity", None)
        with_identity = getattr(self.client, "with_identity", None)
        if isinstance(identity, Identity) and with_identity is not None:
            return cast("GatewayClient", with_identity(identity.acting_as(actor)))
        raise ConfigError(
            f"the {type(self.client).__name__} gateway client cannot declare an AI actor",
            hint="use the embedded or the hub client",
        )


def _internal(error: Exception) -> CallToolResult:
    """A bug below the tool, answered without its message (it may quote values) or traceback."""
    log.error("internal error in an MCP tool: %s", type(error).__name__)
    return results.error_result(InternalError())
