"""``jupyter-masking query``: run one masked query, or explain what would be masked."""

from __future__ import annotations

import argparse
import json
import sys

from jupyter_masking.cli import Subparsers
from jupyter_masking.cli._gateway import (
    add_gateway_options,
    connection_from,
    gateway_from,
    identity_from,
)


def register(subparsers: Subparsers) -> None:
    """Add the ``query`` command."""
    parser = subparsers.add_parser(
        "query",
        help="run a masked query (default database: the embedded demo)",
        description=(
            "Run one read query through the masking gateway and print masked rows. "
            "Exit codes: 0 ok, 2 bad input, 3 refused, 1 database or internal error."
        ),
    )
    add_gateway_options(parser)
    parser.add_argument(
        "--format", choices=("table", "json", "csv"), default="table", help="output format"
    )
    parser.add_argument(
        "--explain", action="store_true", help="show what would be masked or refused; run nothing"
    )
    parser.add_argument("--limit", type=int, metavar="N", help="return at most N rows")
    parser.add_argument("sql", metavar="SQL", help="the query ('-' reads it from stdin)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run or explain the query and print the result."""
    from jupyter_masking.errors import BadInput
    from jupyter_masking.gateway.api import QueryRequest

    sql = _text(sys.stdin.buffer.read() if args.sql == "-" else args.sql)
    if not sql.strip():
        raise BadInput("no SQL given", hint="pass the query as the last argument")
    if args.limit is not None and args.limit <= 0:
        raise BadInput("--limit must be a positive number")
    identity = identity_from(args)
    gateway = gateway_from(args)
    request = QueryRequest(sql=sql, connection=connection_from(args), max_rows=args.limit)
    try:
        if args.explain:
            explanation = gateway.explain(request, identity)
            if args.format == "json":
                print(json.dumps(explanation.to_dict(), indent=2))
            else:
                print(explanation.render())
            return 0 if explanation.outcome == "allowed" else 3
        result = gateway.query(request, identity)
    finally:
        gateway.close()
    if args.format == "json":
        json.dump(result.to_json(), sys.stdout, ensure_ascii=False)
        print()
    elif args.format == "csv":
        result.frame.to_csv(sys.stdout, index=False)
    else:
        from jupyter_masking.render import render_text

        print(render_text(result))
    return 0


def _text(sql: str | bytes) -> str:
    """The query as text: bytes that are not UTF-8 are bad input.

    On stdin they arrive as bytes; in argv Python keeps them as lone surrogates, which no
    database accepts either.

    >>> _text(b"SELECT 1")
    'SELECT 1'
    >>> _text(b"SELECT " + bytes([0xFF]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    jupyter_masking.errors.BadInput: bad input: the SQL is not valid UTF-8 (at position 7)...
    """
    from jupyter_masking.errors import BadInput

    try:
        return sql.decode("utf-8") if isinstance(sql, bytes) else sql.encode("utf-8").decode()
    except UnicodeError as error:
        where = getattr(error, "start", 0)
        raise BadInput(
            f"the SQL is not valid UTF-8 (at position {where})", hint="save the query as UTF-8 text"
        ) from None
