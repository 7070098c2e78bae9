"""The hub audit store: one PostgreSQL table shared by every gateway worker.

Each append takes ``pg_advisory_xact_lock(<key of schema.table>)`` first, so workers
append one at a time and the lock is released with the transaction, also when a
worker dies. A wait longer than :data:`LOCK_TIMEOUT_S` fails the append (and the query).
The table (``?table=`` in the URL, default ``audit_events``) is created on first open
in the first schema of the connection's search path.
"""

from __future__ import annotations

import sqlalchemy as sa

from jupyter_masking.audit.sql_store import SqlAuditStore
from jupyter_masking.audit.store import DEFAULT_TABLE, Location
from jupyter_masking.errors import ConfigError

CONNECT_TIMEOUT_S = 5
#: Longest an append waits for the write lock (a worker stuck inside its append, a long
#: ``LOCK TABLE``) before it fails with an :class:`~jupyter_masking.errors.AuditError`:
#: without it the query, and the gateway thread running it, would wait forever.
LOCK_TIMEOUT_S = 10.0
LOCK_NAMESPACE = 0x4A4D  # "JM": the first key of every audit advisory lock
APPLICATION_NAME = "jupyter-masking-audit"
_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
_OWN_PARAMS = ("table",)


class PostgresAuditStore(SqlAuditStore):
    """Audit events in a PostgreSQL table, appends serialised by an advisory lock."""

    kind = "postgresql"

    def __init__(self, location: Location, *, create: bool, table: str | None) -> None:
        try:
            url = sa.make_url(location.target)
        except sa.exc.ArgumentError as error:
            raise ConfigError(f"malformed PostgreSQL URL {location.describe()}") from error
        name = table or str(url.query.get("table") or DEFAULT_TABLE)
        url = url.difference_update_query(_OWN_PARAMS)
        url = url.set(drivername=_DRIVERS.get(url.drivername, url.drivername))
        engine = sa.create_engine(
            url,
            pool_pre_ping=True,
            connect_args={
                "connect_timeout": CONNECT_TIMEOUT_S,
                "application_name": APPLICATION_NAME,
            },
        )
        super().__init__(location, engine, name)
        self._secrets = _secrets_in(location.target, url.password)
        # Two-key advisory lock: our namespace, then a hash of schema.table, so stores in
        # other schemas never wait for this one.
        self._lock_call = sa.func.pg_advisory_xact_lock(
            LOCK_NAMESPACE,
            sa.func.hashtext(sa.func.concat(sa.func.current_schema(), ".", name)),
        )
        if create:
            self.create()

    def _lock(self, conn: sa.Connection) -> None:
        timeout = f"{max(1, round(LOCK_TIMEOUT_S * 1000))}ms"
        conn.execute(sa.select(sa.func.set_config("lock_timeout", timeout, True)))
        conn.execute(sa.select(self._lock_call))

    def _explain(self, error: BaseException) -> str:
        # A password holding "@" or "/" misparses into the host, which drivers then quote.
        text = super()._explain(error)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _secrets_in(target: str, parsed: object) -> tuple[str, ...]:
    """Every spelling of the password in ``target``, longest first, for scrubbing messages."""
    head = target.partition("?")[0]
    scheme_end = head.find("://") + 3
    at = head.rfind("@")
    found = {str(parsed)} if parsed else set()
    if at > scheme_end:
        _, colon, password = head[scheme_end:at].partition(":")
        if colon and password:
            found.add(password)
            found.update(part for part in password.split("@") if len(part) >= 3)
    return tuple(sorted(found, key=len, reverse=True))
