"""``jupyter-masking mcp``: serve masked queries to AI agents over the Model Context Protocol.

Embedded (laptop, Binder): the gateway runs in this process for ``--user``/``--group``
(default: the local user), with ``--db``/``--connection``/``--policy``/``--config`` as for
``query``. Under JupyterHub (``JUPYTER_MASKING_GATEWAY_URL`` set) the hub gateway decides
identity and policy from the user's token, so those options are refused there.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from jupyter_masking.cli import Subparsers

if TYPE_CHECKING:
    from jupyter_masking.client import GatewayClient

TRANSPORTS = ("stdio", "streamable-http")
# Options that only make sense for a gateway in this process.
EMBEDDED_ONLY = ("db", "config", "policy", "user", "group")


def register(subparsers: Subparsers) -> None:
    """Add the ``mcp`` command."""
    parser = subparsers.add_parser(
        "mcp",
        help="run an MCP server so AI agents query through the masking gateway",
        description=(
            "Serve the MCP tools masked_query, describe_tables and explain (stdio by "
            "default). Calls are made for the user as the actor ai:mcp:<client name>, so "
            "the policy's AI rules apply; results are capped and framed as data."
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the database to query")
    source.add_argument(
        "--connection", metavar="NAME", help="the configured connection used by default"
    )
    parser.add_argument(
        "--config", metavar="FILE", help="gateway config (default: $JUPYTER_MASKING_CONFIG)"
    )
    parser.add_argument(
        "--policy", metavar="PATH", help="policy file or directory (default: built-in)"
    )
    parser.add_argument("--user", help="the user the agent acts for (default: the current user)")
    parser.add_argument(
        "--group", action="append", default=[], metavar="G", help="a group of the user (repeat)"
    )
    parser.add_argument(
        "--transport", choices=TRANSPORTS, default="stdio", help="MCP transport (default: stdio)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="bind address for streamable-http (default: local)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port for streamable-http")
    parser.add_argument(
        "--max-rows", type=int, default=200, metavar="N", help="rows per result (default 200)"
    )
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=64 * 1024,
        metavar="N",
        help="bytes of row JSON per result (default 65536)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start the server and serve until the client disconnects."""
    from jupyter_masking.mcp.limits import Caps
    from jupyter_masking.mcp.server import build_server
    from jupyter_masking.mcp.tools import MaskingTools

    caps = Caps(max_rows=args.max_rows, max_bytes=args.max_bytes)
    tools = MaskingTools(_client(args), caps, connection=args.db or args.connection)
    try:
        server = build_server(tools)
        if args.transport == "stdio":
            server.run("stdio")
        else:
            server.run("streamable-http", host=args.host, port=args.port)
    finally:
        tools.close()
    return 0


def _client(args: argparse.Namespace) -> GatewayClient:
    from jupyter_masking.client import GATEWAY_URL_ENV, connect
    from jupyter_masking.errors import BadInput

    if os.environ.get(GATEWAY_URL_ENV):
        given = [f"--{name}" for name in EMBEDDED_ONLY if getattr(args, name)]
        if given:
            raise BadInput(
                f"{', '.join(given)} cannot be used with the hub gateway",
                hint=f"the hub decides identity and policy; unset {GATEWAY_URL_ENV} to run "
                "an embedded gateway",
            )
        return connect()
    from jupyter_masking.cli._gateway import gateway_from
    from jupyter_masking.client.embedded import EmbeddedClient
    from jupyter_masking.identity import Identity, local_user

    identity = Identity(user=args.user or local_user(), groups=tuple(args.group))
    return EmbeddedClient(gateway_from(args), identity)
