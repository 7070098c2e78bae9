r"""Driver exceptions become one-line :class:`DatabaseError` errors without data or credentials.

Each engine classifies its driver's exception into a *kind* (``timeout``, ``lock_wait``,
``connection_lost`` ...) by error code, through the tables below. The database's own
message is kept only for kinds whose message names objects rather than values
(``undefined``: an unknown table or column); every other message is dropped, since
drivers quote values in them (``invalid input syntax for type integer: "alice@..."``).

>>> QueryFailed("timeout", connection="warehouse", code="57014").message
"the statement timed out on connection 'warehouse' (57014)"
>>> QueryFailed("undefined", connection="demo", detail='column "x" does not exist').message
'the database does not know a name in the query on connection \'demo\': column "x" does not exist'
>>> QueryFailed("data", connection="demo", detail='bad value "alice@example.com"').kind
'data'
>>> "alice" in str(QueryFailed("data", connection="demo", detail='bad value "alice@example.com"'))
False
"""

from __future__ import annotations

from jupyter_masking.errors import DatabaseError

KINDS: dict[str, tuple[str, str | None]] = {
    "timeout": (
        "the statement timed out",
        "narrow the query, or ask for a longer timeout",
    ),
    "lock_wait": (
        "the query waited too long for a lock another session holds",
        "retry later",
    ),
    "connection_lost": (
        "the connection to the database was lost during the query",
        "retry: the gateway reconnects",
    ),
    "unreachable": (
        "cannot connect to the database",
        "check that the server is up and the connection settings are right",
    ),
    "read_only": ("the database refused a write: connections are read-only", None),
    "permission": ("the database denied permission", None),
    "syntax": ("the database could not parse the query", None),
    "undefined": ("the database does not know a name in the query", None),
    "data": (
        "the database could not evaluate a value (conversion, overflow, division by zero)",
        None,
    ),
    "parameters": ("a bound parameter is missing or has an unsupported type", None),
    "resources": ("the database ran out of resources", "retry later or narrow the query"),
    "other": ("the database rejected the query", None),
}

#: Kinds whose database message may be shown: it names objects, never values.
SAFE_DETAIL = frozenset({"undefined"})
_MAX_DETAIL = 200


class QueryFailed(DatabaseError):
    """A database failure with its kind, the connection name and the driver's error code.

    Attributes:
        kind: One of :data:`KINDS`.
        connection: The configured connection name (never its URL).
        driver_code: SQLSTATE, errno or exception class, when known.
    """

    def __init__(
        self,
        kind: str,
        *,
        connection: str,
        code: str | None = None,
        detail: str | None = None,
    ) -> None:
        text, hint = KINDS.get(kind, KINDS["other"])
        message = f"{text} on connection '{connection}'"
        if code:
            message += f" ({code})"
        if detail and kind in SAFE_DETAIL:
            message += f": {clean_detail(detail)}"
        super().__init__(message, hint=hint)
        self.kind = kind if kind in KINDS else "other"
        self.connection = connection
        self.driver_code = code

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form with the kind."""
        return {**super().to_dict(), "kind": self.kind}


def clean_detail(text: str) -> str:
    r"""The first line of a database message, without an engine prefix, at most 200 characters.

    >>> clean_detail("Catalog Error: Table with name x does not exist!\nDid you mean ...")
    'Table with name x does not exist!'
    """
    line = text.strip().splitlines()[0] if text.strip() else ""
    prefix, sep, rest = line.partition(" Error: ")
    if sep and " " not in prefix.strip():
        line = rest
    return line[:_MAX_DETAIL]
