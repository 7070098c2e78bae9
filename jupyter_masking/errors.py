"""One root error with structured detail, so every front end can render one clear line.

The CLI maps ``exit_code`` to its process exit status; the magic, the REST API and
the MCP tool render ``str(error)``. Messages never hold credentials, keys or raw
sensitive values: callers build them from names (tables, columns, classes, rules).

>>> str(Refused("writes are not allowed", hint="run a SELECT instead", construct="INSERT"))
'refused: writes are not allowed (INSERT). Hint: run a SELECT instead'
>>> BadInput("unparseable SQL", line=1, column=8).exit_code
2
"""

from __future__ import annotations


class MaskingError(Exception):
    """Root of every error jupyter-masking raises on purpose.

    Attributes:
        message: What went wrong, one sentence, no raw values.
        hint: What the user can change to succeed, or ``None``.
        exit_code: The CLI exit status for this kind of error.
        code: A short machine-readable name, used by the REST API and MCP tool.
    """

    exit_code = 1
    code = "error"
    prefix = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def detail(self) -> str:
        """The message plus any structured detail, without the prefix or hint."""
        return self.message

    def __str__(self) -> str:
        text = f"{self.prefix}: {self.detail()}"
        if self.hint:
            text += f". Hint: {self.hint}"
        return text

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form: ``{code, message, hint}`` plus subclass fields."""
        return {"code": self.code, "message": self.detail(), "hint": self.hint}


class BadInput(MaskingError):
    """The input cannot be understood: unparseable SQL, an unknown option, a malformed file.

    Attributes:
        line: 1-based line of the problem in the input, when known.
        column: 1-based column of the problem in the input, when known.
        source: The file or input name the position refers to, when known.
    """

    exit_code = 2
    code = "bad_input"
    prefix = "bad input"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        line: int | None = None,
        column: int | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.line = line
        self.column = column
        self.source = source

    def detail(self) -> str:
        """The message prefixed with ``source:line:column`` when those are known."""
        where = ":".join(
            str(part) for part in (self.source, self.line, self.column) if part is not None
        )
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form with the position."""
        return {**super().to_dict(), "line": self.line, "column": self.column}


class PolicyError(BadInput):
    """A policy file is malformed; ``field`` is the dotted path of the bad value.

    Attributes:
        field: Dotted path such as ``rules[2].effect``, when known.
    """

    code = "bad_policy"
    prefix = "bad policy"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, line=line, column=column, source=source)
        self.field = field

    def detail(self) -> str:
        """``file:line: field: message``."""
        message = f"{self.field}: {self.message}" if self.field else self.message
        where = ":".join(str(p) for p in (self.source, self.line) if p is not None)
        return f"{where}: {message}" if where else message


class Refused(MaskingError):
    """The gateway will not run this query, by policy or by the read-only rules.

    Attributes:
        construct: The SQL construct refused (``INSERT``, ``pg_read_file``), when relevant.
        rule_id: The policy rule that decided, when a policy refused.
        column: The column the refusal is about (``crm.customers.ssn``), when relevant.
    """

    exit_code = 3
    code = "refused"
    prefix = "refused"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        construct: str | None = None,
        rule_id: str | None = None,
        column: str | None = None,
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.construct = construct
        self.rule_id = rule_id
        self.column = column
        self.line = line
        self.col = col

    def detail(self) -> str:
        """The message with the construct, column and rule in brackets."""
        extras = [x for x in (self.construct, self.column) if x]
        if self.rule_id:
            extras.append(f"rule {self.rule_id}")
        return f"{self.message} ({', '.join(extras)})" if extras else self.message

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form with construct, rule and column."""
        return {
            **super().to_dict(),
            "construct": self.construct,
            "rule": self.rule_id,
            "column": self.column,
        }


class DatabaseError(MaskingError):
    """The database failed: unreachable, timed out, lost the connection, or rejected the query."""

    code = "database_error"
    prefix = "database error"


class InternalError(MaskingError):
    """A bug inside jupyter-masking; its message may quote values, so only the log names it."""

    code = "internal_error"
    prefix = "internal error"

    def __init__(self) -> None:
        super().__init__(
            "the masking gateway failed unexpectedly", hint="retry; if it persists, report it"
        )


class AuditError(MaskingError):
    """The audit event could not be written; no data is returned without one."""

    code = "audit_error"
    prefix = "audit error"


class ConfigError(MaskingError):
    """Configuration is missing or invalid (a connection name, a key, a store path)."""

    exit_code = 2
    code = "config_error"
    prefix = "configuration error"
