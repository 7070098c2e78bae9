"""The option grammar of ``%%masked_sql``, in one place, read from the magic line only.

``%%masked_sql [VAR <<|VAR= <<] [CONNECTION] [--option ...]`` then the SQL. Tokens are read
left to right and reading stops at the first token that is not an option, a capture or a
connection: from there on, everything is SQL, byte for byte. So ``--`` comments, ``->``
JSON operators, negative numbers and ``<<`` shifts inside the query are never taken for
options, and the cell body is never read for options at all.

>>> line = parse_line("top << demo --limit 5", "SELECT email FROM customers")
>>> line.capture, line.connection, line.limit, line.sql
('top', 'demo', 5, 'SELECT email FROM customers')
>>> parse_line("SELECT 5 * -1 -- not --an option", None).sql
'SELECT 5 * -1 -- not --an option'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from jupyter_masking.errors import BadInput

#: Words a query may start with: a token like these ends the options.
# fmt: off
SQL_START = frozenset((
    "select", "with", "from", "values", "table", "show", "describe", "desc", "explain",
    "summarize", "pivot", "unpivot", "insert", "update", "delete", "merge", "upsert",
    "replace", "create", "drop", "alter", "truncate", "rename", "comment", "copy", "attach",
    "detach", "load", "install", "set", "reset", "pragma", "call", "exec", "execute", "grant",
    "revoke", "use", "begin", "start", "commit", "rollback", "savepoint", "release", "analyze",
    "vacuum", "checkpoint", "export", "import", "lock", "unlock", "do", "prepare",
    "deallocate", "listen", "notify",
))
# fmt: on

_CONNECTION = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}")
_TOKEN = re.compile(r"\S+")


def _positive_int(option: str, text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,12}", text) or int(text) < 1:
        raise BadInput(f"{option} needs a positive whole number, not {text[:20]!r}")
    return int(text)


def _text(option: str, text: str) -> str:
    return text


@dataclass(frozen=True)
class Option:
    """One option: where its value goes and how it is read (``None``: a flag)."""

    dest: str
    help: str
    convert: Callable[[str, str], Any] | None = None
    metavar: str = ""
    value: Any = True  # what a flag sets


#: Every option, long and short spellings. ``--help`` is ``%masked_sql?``.
OPTIONS: dict[str, Option] = {
    "--limit": Option("limit", "return at most N rows (the gateway's cap still applies)",
                      _positive_int, "N"),
    "--explain": Option("explain", "show what would be masked or refused, and why; run nothing"),
    "--polars": Option("frame", "return a polars DataFrame", value="polars"),
    "--pandas": Option("frame", "return a pandas DataFrame (the default)", value="pandas"),
    "--file": Option("file", "read the SQL from FILE (appended before the cell body)",
                     _text, "FILE"),
    "-f": Option("file", "short for --file", _text, "FILE"),
    "--no-display": Option("display", "return the result without displaying it", value=False),
}  # fmt: skip

_WRITES = "the masking gateway only reads: writes would bypass masking and audit"
_RAW = "raw connections bypass the masking gateway"
_CONNECTIONS = "the gateway owns connections: name them in %config MaskedSql.connections"
_SNIPPETS = "saved snippets rewrite queries out of sight: write the CTE in the query"

#: JupySQL options that would bypass the gateway or hide what runs, with the reason.
REFUSED: dict[str, str] = {
    "--persist": _WRITES, "-p": _WRITES, "--persist-replace": _WRITES, "-P": _WRITES,
    "--append": _WRITES, "--no-index": _WRITES, "-n": _WRITES,
    "--creator": _RAW, "-c": _RAW, "--connection_arguments": _RAW, "-a": _RAW,
    "--alias": _CONNECTIONS, "-A": _CONNECTIONS, "--close": _CONNECTIONS, "-x": _CONNECTIONS,
    "--connections": _CONNECTIONS, "-l": _CONNECTIONS, "--section": _CONNECTIONS,
    "-s": _CONNECTIONS,
    "--save": _SNIPPETS, "-S": _SNIPPETS, "--with": _SNIPPETS, "-w": _SNIPPETS,
    "--no-execute": _SNIPPETS, "-N": _SNIPPETS,
    "--interact": "interactive widgets re-run queries out of sight: use a parameter (:name)",
}  # fmt: skip


@dataclass(frozen=True)
class MagicLine:
    """What the magic line asked for, and the SQL.

    Attributes:
        sql: The query, verbatim: the rest of the line, the file, then the cell body.
        connection: A connection name or URL, or ``None`` for the default.
        capture: The variable to store the result in (``VAR <<``), or ``None``.
        capture_display: Also display a captured result (``VAR= <<``).
        limit: ``--limit N``.
        explain: ``--explain``.
        frame: ``"pandas"``, ``"polars"`` or ``None`` (the configured default).
        file: ``--file PATH``.
        display: ``False`` after ``--no-display``.
    """

    sql: str
    connection: str | None = None
    capture: str | None = None
    capture_display: bool = False
    limit: int | None = None
    explain: bool = False
    frame: str | None = None
    file: str | None = None
    display: bool = True


def parse_line(line: str, cell: str | None) -> MagicLine:
    """Read the options of a magic line; the rest of the line and the cell are the SQL.

    Args:
        line: The text after ``%masked_sql`` / ``%%masked_sql``.
        cell: The cell body (cell magic), or ``None`` (line magic).

    Raises:
        BadInput: An unknown, refused or malformed option.

    >>> parse_line("x= << --explain", "SELECT 1").capture_display
    True
    >>> parse_line("demo", "SELECT data->'a' FROM t -- --limit 3").limit is None
    True
    >>> parse_line("--persist df", None)
    Traceback (most recent call last):
    ...
    jupyter_masking.errors.BadInput: bad input: --persist is not supported: the masking gateway \
only reads: writes would bypass masking and audit
    """
    tokens = list(_TOKEN.finditer(line))
    values: dict[str, Any] = {}
    connection: str | None = None
    sql_from = len(line)
    index = 0
    while index < len(tokens):
        text = tokens[index].group()
        following = tokens[index + 1].group() if index + 1 < len(tokens) else None
        capture = _capture(text, following)
        if capture is not None:
            name, display, width = capture
            if "capture" in values:
                raise BadInput("the result can be captured into one variable only")
            values["capture"], values["capture_display"] = name, display
            index += width
            continue
        if _is_option(text):
            index = _read_option(tokens, index, values)
            continue
        if connection is None and _is_connection(text):
            connection = text
            index += 1
            continue
        sql_from = tokens[index].start()
        break
    inline = line[sql_from:].strip()
    sql = "\n".join(part for part in (inline, cell or "") if part.strip())
    parsed = MagicLine(sql=sql, connection=connection, **values)
    if parsed.file is not None:
        parsed = replace(parsed, sql=_with_file(parsed.file, sql))
    return parsed


def _capture(text: str, following: str | None) -> tuple[str, bool, int] | None:
    """``(name, display, tokens used)`` for ``x <<``, ``x= <<``, ``x<<``; else ``None``."""
    joined = text if text.endswith("<<") else (text + following if following == "<<" else "")
    match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(=?)<<", joined)
    if match is None:
        return None
    return match.group(1), bool(match.group(2)), 1 if text.endswith("<<") else 2


def _is_option(text: str) -> bool:
    # ``--`` alone, ``---x`` and ``-- x`` are SQL comments; ``-1`` is a number
    return bool(re.match(r"--[A-Za-z]|-[A-Za-z]", text))


def _is_connection(text: str) -> bool:
    if "://" in text:
        return True
    return bool(_CONNECTION.fullmatch(text)) and text.lower() not in SQL_START


def _read_option(tokens: list[re.Match[str]], index: int, values: dict[str, Any]) -> int:
    text = tokens[index].group()
    name, equals, inline = text.partition("=")
    if name in REFUSED:
        raise BadInput(f"{name} is not supported: {REFUSED[name]}")
    option = OPTIONS.get(name)
    if option is None:
        raise BadInput(
            f"unknown option {name[:40]}",
            hint=f"options: {', '.join(sorted(OPTIONS))}; "
            "a SQL comment needs a space after -- or goes in the cell body",
        )
    if option.convert is None:
        if equals:
            raise BadInput(f"{name} takes no value")
        values[option.dest] = option.value
        return index + 1
    if equals:
        raw = inline
    elif index + 1 < len(tokens):
        raw, index = tokens[index + 1].group(), index + 1
    else:
        raise BadInput(f"{name} needs a value ({option.metavar})")
    values[option.dest] = option.convert(name, raw)
    return index + 1


def _with_file(path: str, sql: str) -> str:
    from pathlib import Path

    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as error:
        raise BadInput(f"cannot read --file {path}: {error.strerror}") from None
    return "\n".join(part for part in (text.strip(), sql) if part.strip())


def option_help() -> str:
    """The options as a help table, for the magic's docstring and errors."""
    rows = [
        f"  {name} {option.metavar}".ljust(22) + option.help for name, option in OPTIONS.items()
    ]
    return "\n".join(rows)
