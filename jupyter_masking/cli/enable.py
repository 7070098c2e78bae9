"""``jupyter-masking enable-magic``: load ``%%masked_sql`` in every kernel of an environment.

IPython reads ``{sys.prefix}/etc/ipython/ipython_kernel_config.json`` in every kernel of
that environment, but merges nothing inside one file: shipping the file in the wheel
would overwrite an admin's own. This command merges ``jupyter_masking`` into
``InteractiveShellApp.extensions`` and keeps every other setting.

>>> merged({"InteractiveShellApp": {"extensions": ["autoreload"]}, "X": 1}, enable=True)
{'InteractiveShellApp': {'extensions': ['autoreload', 'jupyter_masking']}, 'X': 1}
>>> merged({"InteractiveShellApp": {"extensions": ["jupyter_masking"]}}, enable=False)
{'InteractiveShellApp': {'extensions': []}}
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from jupyter_masking.cli import Subparsers

EXTENSION = "jupyter_masking"
FILE_NAME = "ipython_kernel_config.json"


def register(subparsers: Subparsers) -> None:
    """Add the ``enable-magic`` command."""
    parser = subparsers.add_parser(
        "enable-magic",
        help="load the %%%%masked_sql magic in every kernel (merges IPython kernel config)",
        description=(
            "Add jupyter_masking to InteractiveShellApp.extensions in an "
            f"{FILE_NAME}, keeping everything else in that file. For single-user images: "
            "run once with --sys-prefix after installing the wheel."
        ),
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--sys-prefix",
        action="store_true",
        help=f"{{sys.prefix}}/etc/ipython/{FILE_NAME}: every kernel of this environment (default)",
    )
    where.add_argument(
        "--user", action="store_true", help="the current user's IPython profile_default"
    )
    where.add_argument(
        "--system", action="store_true", help=f"/etc/ipython/{FILE_NAME}: every environment"
    )
    where.add_argument("--dir", metavar="DIR", help=f"write DIR/{FILE_NAME}")
    parser.add_argument(
        "--disable", action="store_true", help="remove jupyter_masking from the extensions instead"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Merge the extension into the chosen config file and say where."""
    path = target(args)
    config = read(path)
    updated = merged(config, enable=not args.disable)
    if updated != config or not path.exists():
        write(path, updated)
    verb = "disabled" if args.disable else "enabled"
    print(f"%%masked_sql {verb} for kernels reading {path}")
    return 0


def target(args: argparse.Namespace) -> Path:
    """The config file the options name."""
    if args.dir:
        return Path(args.dir).expanduser() / FILE_NAME
    if args.user:
        from IPython.paths import get_ipython_dir

        return Path(get_ipython_dir()) / "profile_default" / FILE_NAME
    if args.system:
        return Path("/etc/ipython") / FILE_NAME
    return Path(sys.prefix) / "etc" / "ipython" / FILE_NAME


def read(path: Path) -> dict[str, Any]:
    """The JSON config at ``path`` (empty when absent); refuses to touch a broken file."""
    from jupyter_masking.errors import ConfigError

    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        raise ConfigError(
            f"{path} is not readable JSON; not changing it",
            hint="fix or remove the file, then run this again",
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object; not changing it")
    return data


def merged(config: dict[str, Any], *, enable: bool) -> dict[str, Any]:
    """``config`` with ``jupyter_masking`` added to (or removed from) the kernel extensions."""
    from jupyter_masking.errors import ConfigError

    section = dict(config.get("InteractiveShellApp") or {})
    extensions = section.get("extensions", [])
    if not isinstance(extensions, list):
        raise ConfigError("InteractiveShellApp.extensions must be a list; not changing it")
    if enable:
        extensions = extensions if EXTENSION in extensions else [*extensions, EXTENSION]
    else:
        extensions = [e for e in extensions if e != EXTENSION]
    return {**config, "InteractiveShellApp": {**section, "extensions": extensions}}


def write(path: Path, config: dict[str, Any]) -> None:
    """Write ``config`` atomically, readable by every user (kernels of all users read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ipython-config-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(config, handle, indent=2)
            handle.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
