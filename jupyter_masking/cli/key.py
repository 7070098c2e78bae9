"""``jupyter-masking key``: create a pseudonym key, or show which key is in use."""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path

from jupyter_masking.cli import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add the ``key`` command."""
    parser = subparsers.add_parser(
        "key",
        help="create a pseudonym key file, or print the fingerprint of the key in use",
        description=(
            "Pseudonyms, hashes and date shifts are keyed. The key comes from "
            "$JUPYTER_MASKING_KEY, the gateway config's key_file, or a per-user file. "
            "Rotating it changes every pseudonym."
        ),
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    generate = actions.add_parser("generate", help="write a new random key to a file (mode 600)")
    generate.add_argument("path", help="where to write the key; refuses to overwrite")
    generate.set_defaults(func=_generate)
    show = actions.add_parser("fingerprint", help="the key in use, by fingerprint (never the key)")
    show.add_argument("--key-file", help="a key file instead of the configured key")
    show.set_defaults(func=_fingerprint)


def _generate(args: argparse.Namespace) -> int:
    from jupyter_masking.errors import ConfigError
    from jupyter_masking.mask import MaskingKey

    path = Path(args.path).expanduser()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    except FileExistsError:
        raise ConfigError(
            f"{path} exists", hint="choose another path; keys are never overwritten"
        ) from None
    except OSError as error:
        raise ConfigError(f"cannot create {path}: {error.strerror}") from None
    key = MaskingKey.generate()
    with os.fdopen(fd, "w") as handle:
        handle.write(key.to_text())
    print(f"wrote a new key to {path} (fingerprint {key.fingerprint()})")
    return 0


def _fingerprint(args: argparse.Namespace) -> int:
    from jupyter_masking.gateway.pipeline import load_key

    print(load_key(args.key_file).fingerprint())
    return 0
