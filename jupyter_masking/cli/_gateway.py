"""Shared by commands that talk to an embedded gateway: options, construction, identity."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_masking.identity import Identity, local_user

if TYPE_CHECKING:
    from jupyter_masking.gateway.pipeline import Gateway


def add_gateway_options(parser: argparse.ArgumentParser) -> None:
    """``--config``, ``--db``/``--connection``, ``--policy`` and the identity options."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the database to query")
    source.add_argument("--connection", metavar="NAME", help="a connection named in the config")
    parser.add_argument(
        "--config", metavar="FILE", help="gateway config (default: $JUPYTER_MASKING_CONFIG)"
    )
    parser.add_argument(
        "--policy", metavar="PATH", help="policy file or directory (default: built-in)"
    )
    parser.add_argument("--user", help="the user to act as (default: the current user)")
    parser.add_argument(
        "--group", action="append", default=[], metavar="G", help="a group of the user (repeat)"
    )
    parser.add_argument(
        "--actor", default="human", help="'human' (default) or 'ai:<tool>' when an AI tool asks"
    )


def identity_from(args: argparse.Namespace) -> Identity:
    """The identity the options describe."""
    return Identity(user=args.user or local_user(), groups=tuple(args.group), actor=args.actor)


def gateway_from(args: argparse.Namespace, *, policy: str | Path | None = None) -> Gateway:
    """An embedded gateway: the config file's connections, else the demo database."""
    from jupyter_masking.config import load_config, with_demo
    from jupyter_masking.demo.build import build_demo
    from jupyter_masking.gateway.pipeline import Gateway

    config = load_config(args.config)
    if not args.db:
        config = with_demo(config, build_demo())
    chosen = policy if policy is not None else args.policy
    if chosen is not None:
        config = config.model_copy(update={"policy": str(chosen)})
    return Gateway.from_config(config, allow_urls=True)


def connection_from(args: argparse.Namespace) -> str | None:
    """The connection the options name: a URL, a configured name, or the default."""
    chosen: str | None = args.db or args.connection
    return chosen
