"""Notebook variables in SQL, always as bound parameters, never pasted into the text.

``{{name}}`` (JupySQL's Jinja habit) becomes the placeholder ``:name``; ``:name`` stays as it
is. Either way the value travels beside the SQL and the database driver binds it, so a
variable holding ``' OR 1=1 --`` is just a string. A ``'{{name}}'`` written with quotes, as
JupySQL users do for strings, is the same placeholder (a bound value needs no quotes).
Anything that only works by pasting text (``{{name}}`` inside a longer string literal or an
identifier, Jinja ``{% %}`` blocks, expressions) is refused with a hint instead.

The SQL is scanned for string literals, quoted identifiers and comments, so ``':x'``,
``"{{x}}"`` written as data and ``-- :x`` in a comment are left alone, and ``a::int`` casts
are not parameters.

>>> sql, values = bind(
...     "SELECT * FROM t WHERE c = '{{country}}' AND n > :n", {"country": "NL", "n": 3}
... )
>>> sql
'SELECT * FROM t WHERE c = :country AND n > :n'
>>> values
{'country': 'NL', 'n': 3}
>>> bind("SELECT x::int, ':n' -- :n", {"n": 1})
("SELECT x::int, ':n' -- :n", {})
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterator, Mapping

from jupyter_masking.errors import BadInput

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_QUOTED_TEMPLATE = re.compile(r"'\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}'")

#: Python types a driver binds as one value.
SCALARS: tuple[type, ...] = (
    str, int, float, bool, decimal.Decimal, dt.date, dt.datetime, dt.time, bytes, type(None),
)  # fmt: skip

#: Quote character -> kind of region it opens.
_QUOTES = {"'": "string", '"': "identifier", "`": "identifier"}


def _regions(sql: str) -> Iterator[tuple[str, int, int]]:
    """Split ``sql`` into ``(kind, start, end)``: code, string, identifier, comment."""
    i, start, n = 0, 0, len(sql)
    while i < n:
        char = sql[i]
        end = -1
        kind = ""
        if char in _QUOTES:
            kind, end = _QUOTES[char], i + 1
            while end < n:
                if sql[end] == char:
                    if end + 1 < n and sql[end + 1] == char:  # doubled quote escapes
                        end += 2
                        continue
                    break
                end += 1
            end = min(end + 1, n)
        elif sql.startswith("--", i):
            kind, newline = "comment", sql.find("\n", i)
            end = n if newline < 0 else newline
        elif sql.startswith("/*", i):
            kind, close = "comment", sql.find("*/", i + 2)
            end = n if close < 0 else close + 2
        if kind:
            if start < i:
                yield "code", start, i
            yield kind, i, end
            i = start = end
        else:
            i += 1
    if start < n:
        yield "code", start, n


def bind(sql: str, namespace: Mapping[str, object]) -> tuple[str, dict[str, object]]:
    """Rewrite ``{{name}}`` as ``:name`` and collect the values of the parameters used.

    Only ``:name`` placeholders whose name is defined in ``namespace`` are bound; the gateway
    reports any other as a missing value.

    Args:
        sql: The query as typed.
        namespace: The notebook's variables.

    Returns:
        The SQL with placeholders, and ``{name: value}`` for each placeholder bound.

    Raises:
        BadInput: A template that only pasting could honour, or a value that is not a
            single scalar.
    """
    parts: list[str] = []
    for kind, start, end in _regions(sql):
        text = sql[start:end]
        if kind == "string" and "{{" in text:
            quoted = _QUOTED_TEMPLATE.fullmatch(text)
            if quoted is None:
                raise BadInput(
                    "{{...}} inside a longer string literal would paste text into the SQL",
                    hint="bind the whole value and concatenate in SQL: '%' || :name || '%'",
                )
            text = f":{quoted.group(1)}"
        elif kind == "identifier" and "{{" in text:
            raise BadInput(
                "table and column names cannot come from variables",
                hint="write the name in the query; values go in parameters (:name)",
            )
        elif kind == "code":
            text = _TEMPLATE.sub(_placeholder, _refuse_jinja_blocks(text))
        parts.append(text)
    rewritten = "".join(parts)
    values: dict[str, object] = {}
    for name in parameter_names(rewritten):
        if name in namespace and name not in values:
            values[name] = scalar(name, namespace[name])
    return rewritten, values


def parameter_names(sql: str) -> list[str]:
    """The ``:name`` placeholders in the code (not strings or comments) of ``sql``, in order.

    >>> parameter_names("SELECT :a, a::int, ':b', x[1:n] /* :c */")
    ['a']
    """
    names: list[str] = []
    for kind, start, end in _regions(sql):
        if kind != "code":
            continue
        text = sql[start:end]
        for match in re.finditer(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)", text):
            names.append(match.group(1))
    return names


def scalar(name: str, value: object) -> object:
    """``value`` as one bindable scalar (numpy and pandas scalars unwrapped).

    Raises:
        BadInput: A list, frame, or other object that is not one value.
    """
    if isinstance(value, SCALARS):
        return value
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        return scalar(name, item())
    to_datetime = getattr(value, "to_pydatetime", None)
    if callable(to_datetime):
        return scalar(name, to_datetime())
    raise BadInput(
        f"parameter :{name} is a {type(value).__name__}, not a single value",
        hint="bind one value per parameter; for a list, use several parameters or a join",
    )


def _placeholder(match: re.Match[str]) -> str:
    inner = match.group(1).strip()
    if not _NAME.fullmatch(inner):
        raise BadInput(
            f"{{{{{inner[:30]}}}}} is not a plain variable name",
            hint="compute the value in Python first, then write {{name}} or :name",
        )
    return f":{inner}"


def _refuse_jinja_blocks(text: str) -> str:
    if "{%" in text or "{#" in text:
        raise BadInput(
            "Jinja blocks ({% ... %}) are not supported: values are bound, never pasted",
            hint="build the variable in Python and refer to it as {{name}} or :name",
        )
    return text
