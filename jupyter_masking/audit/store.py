"""Where audit events live: the store protocol and ``open_store(location)``.

A location is a SQLite path (``/var/lib/jm/audit.sqlite3`` or ``sqlite:///...``) or a
PostgreSQL URL (``postgresql://user:pw@host/db?table=audit_events``). With no location,
``JUPYTER_MASKING_AUDIT_STORE`` is used, else a SQLite file in the user data directory.

>>> resolve_location("postgresql://gw:s3cret@db:5432/audit").kind
'postgresql'
>>> describe_location("postgresql://gw:s3cret@db:5432/audit")
'postgresql://gw:***@db:5432/audit'
>>> resolve_location("sqlite:///tmp/a.sqlite3?synchronous=normal")
Location(kind='sqlite', target='/tmp/a.sqlite3', options=(('synchronous', 'normal'),))
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypedDict
from urllib.parse import parse_qsl

from jupyter_masking.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from typing_extensions import Unpack

    from jupyter_masking.audit.event import AuditEvent, EventDraft
    from jupyter_masking.audit.verify import VerifyReport

ENV_VAR = "JUPYTER_MASKING_AUDIT_STORE"
DEFAULT_FILE = "audit.sqlite3"
DEFAULT_TABLE = "audit_events"

_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
_SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
_URL = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.\-]*)://", re.I)
_QUERY_PASSWORD = re.compile(r"(?P<key>(?:^|&)(?:ssl)?pass(?:word|wd)?=)[^&]*", re.I)

TimeBound = datetime | str | None


class EventFilters(TypedDict, total=False):
    """The filters ``query`` and ``iter_events`` accept; every given one must match."""

    user: str | None
    users: list[str] | None
    notebook: str | None
    table: str | None
    data_class: str | None
    outcome: str | None
    actor: str | None
    since: TimeBound
    until: TimeBound


class AuditStore(Protocol):
    """An append-only, hash-chained store of audit events."""

    def append(self, draft: EventDraft) -> AuditEvent:
        """Seal ``draft`` as the next event, atomically; raise ``AuditError`` if it cannot."""

    def get(self, event_id: str) -> AuditEvent | None:
        """The event with this id, or ``None``."""

    def query(
        self,
        *,
        user: str | None = None,
        users: list[str] | None = None,
        notebook: str | None = None,
        table: str | None = None,
        data_class: str | None = None,
        outcome: str | None = None,
        actor: str | None = None,
        since: TimeBound = None,
        until: TimeBound = None,
        limit: int | None = 200,
        newest_first: bool = True,
    ) -> list[AuditEvent]:
        """Events matching every given filter (``actor`` may end in ``*``)."""

    def iter_events(
        self, *, batch: int = 1000, **filters: Unpack[EventFilters]
    ) -> Iterator[AuditEvent]:
        """Events matching the filters of ``query``, oldest first, streamed in batches."""

    def latest_per_cell(self, notebook: str, user: str | None = None) -> list[AuditEvent]:
        """The newest event of each cell of one notebook, oldest cell first."""

    def head(self) -> tuple[int, str] | None:
        """``(seq, hash)`` of the last event, or ``None`` when the store is empty."""

    def verify(self, expect_head: str | None = None) -> VerifyReport:
        """Check the whole chain; ``expect_head`` is a head hash recorded earlier."""

    def close(self) -> None:
        """Release connections."""


@dataclass(frozen=True)
class Location:
    """A parsed store location: ``kind`` is ``sqlite`` or ``postgresql``.

    Attributes:
        kind: ``sqlite`` or ``postgresql``.
        target: The SQLite file path, or the PostgreSQL URL as given.
        options: SQLite URL query options (``synchronous=normal``).
    """

    kind: str
    target: str
    options: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        """The location for messages, with any password masked."""
        return describe_location(self.target) if self.kind == "postgresql" else self.target


def default_location() -> Path:
    """The SQLite file used when nothing is configured, in the per-user data directory."""
    from jupyter_masking.config import data_dir

    return data_dir() / DEFAULT_FILE


def resolve_location(location: str | Path | None = None) -> Location:
    """Parse a store location (``None``: the environment variable, then the default file).

    Raises:
        ConfigError: For a URL scheme that is neither SQLite nor PostgreSQL.
    """
    if location is None or str(location).strip() == "":
        location = os.environ.get(ENV_VAR) or default_location()
    if isinstance(location, Path):
        return Location("sqlite", str(location))
    text = location.strip()
    match = _URL.match(text)
    if match is None:
        return Location("sqlite", str(Path(text).expanduser()))
    scheme = match.group("scheme").lower()
    if scheme in _POSTGRES_SCHEMES:
        return Location("postgresql", text)
    if scheme in _SQLITE_SCHEMES:
        path, _, query = text[match.end() :].partition("?")
        options = tuple(sorted(parse_qsl(query, keep_blank_values=True)))
        if not path.startswith("/"):
            raise ConfigError(
                f"SQLite audit store URL {text[:80]!r} has no path",
                hint="write sqlite:///relative.db or sqlite:////absolute/path.db",
            )
        return Location("sqlite", path[1:] if path.startswith("//") else path, options)
    raise ConfigError(
        f"unsupported audit store scheme {scheme!r} in {describe_location(text)}",
        hint="use a SQLite path or a postgresql:// URL",
    )


def describe_location(location: str | Path) -> str:
    """``location`` with any password in it (user info or query) replaced by ``***``.

    >>> describe_location("postgresql+psycopg://u:p@ss/w@h/db?sslmode=require")
    'postgresql+psycopg://u:***@h/db?sslmode=require'
    >>> describe_location("postgresql://h/db?user=u&password=pw")
    'postgresql://h/db?user=u&password=***'
    """
    text = str(location)
    scheme = _URL.match(text)
    if scheme is None:
        return text
    head, separator, query = text.partition("?")
    at = head.rfind("@")  # passwords may hold "@" and "/"; hosts cannot hold "@"
    if at > scheme.end():
        user, colon, _ = head[scheme.end() : at].partition(":")
        if colon:
            head = f"{head[: scheme.end()]}{user}:***{head[at:]}"
    return head + separator + _QUERY_PASSWORD.sub(r"\g<key>***", query)


def open_store(
    location: str | Path | None = None, *, create: bool = True, table: str | None = None
) -> AuditStore:
    """Open the audit store at ``location``, creating its table on first use.

    Args:
        location: A SQLite path or URL, a PostgreSQL URL, or ``None`` for the configured
            default (environment variable, then the user data directory).
        create: Create the store if it is missing. With ``False`` (auditing tools), a
            missing SQLite file is an error instead of a new empty chain.
        table: The table name (default ``audit_events``, or ``?table=`` in the URL).

    Raises:
        AuditError: The store cannot be opened or created.
        ConfigError: The location is malformed.

    >>> import tempfile, os
    >>> store = open_store(os.path.join(tempfile.mkdtemp(), "a.sqlite3"))
    >>> store.head() is None
    True
    >>> store.close()
    """
    where = resolve_location(location)
    if where.kind == "postgresql":
        from jupyter_masking.audit.postgres_store import PostgresAuditStore

        return PostgresAuditStore(where, create=create, table=table)
    from jupyter_masking.audit.sqlite_store import SqliteAuditStore

    return SqliteAuditStore(where, create=create, table=table or DEFAULT_TABLE)
