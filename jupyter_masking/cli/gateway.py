"""``jupyter-masking gateway``: run the gateway as a JupyterHub-managed service."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from jupyter_masking.cli import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add the ``gateway`` command."""
    parser = subparsers.add_parser(
        "gateway",
        help="run the masking gateway as a JupyterHub service (started by the hub)",
        description=(
            "Serve the masking gateway's HTTP API to hub users. The hub starts this command "
            "(see jupyter_masking.hub.configure); it authenticates every request with the "
            "caller's hub token and holds the connections, key, policy and audit store "
            "named in its config file."
        ),
    )
    parser.add_argument(
        "--config", metavar="FILE", help="gateway config (default: $JUPYTER_MASKING_CONFIG)"
    )
    parser.add_argument("--ip", help="address to listen on (default: from $JUPYTERHUB_SERVICE_URL)")
    parser.add_argument(
        "--port", type=int, help="port to listen on (default: from $JUPYTERHUB_SERVICE_URL)"
    )
    parser.add_argument(
        "--workers", type=int, default=4, metavar="N", help="queries run at once (default 4)"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="gateway processes sharing the port (default 1; about one per spare core)",
    )
    parser.add_argument(
        "--auth-cache",
        type=int,
        default=300,
        metavar="SECONDS",
        help="how long the hub's answer about a token (user, groups) is reused (default 300)",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        metavar="SECONDS",
        help="answer with an error after this long (default: longest statement timeout + 30)",
    )
    parser.add_argument(
        "--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        default="INFO",
        help="log level (default INFO); logs never hold tokens, SQL values or rows",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until the hub stops the service."""
    from jupyter_masking.errors import BadInput
    from jupyter_masking.hub.service import run_service

    if args.workers < 1 or args.processes < 1 or args.auth_cache < 0:
        raise BadInput("--workers and --processes must be at least 1, --auth-cache not negative")
    if args.request_timeout is not None and args.request_timeout <= 0:
        raise BadInput("--request-timeout must be positive")
    logging.basicConfig(
        level=args.log_level,
        format="[%(levelname)1.1s %(asctime)s masking-gateway] %(message)s",
    )
    status = run_service(
        args.config,
        ip=args.ip,
        port=args.port,
        workers=args.workers,
        cache_max_age=args.auth_cache,
        deadline_s=args.request_timeout,
        processes=args.processes,
    )
    # Everything is closed by now; skip the interpreter's module teardown (over 1 s with
    # pandas, DuckDB and Arrow loaded), which the hub would otherwise wait for at shutdown.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
