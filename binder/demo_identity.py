"""Demo only: a gateway config per demo person, so one notebook can show several identities.

On a hub the gateway learns who you are from your login, and nothing in a notebook can
change it. The embedded gateway of a laptop or Binder acts for whoever its config file's
``local_identity`` names; this module writes one such file per demo person, next to the
demo database, with the demo policy. ``%config MaskedSql.config_path = config_for(...)``
then switches the notebook's identity, visibly.

Run as a script (``python binder/demo_identity.py alice analysts``) it builds the demo
database, writes the config and prints its path: Binder's ``postBuild`` does that.
"""

from __future__ import annotations

import sys
from importlib.resources import files

import yaml

from jupyter_masking.config import data_dir
from jupyter_masking.demo.build import build_demo


def demo_policy() -> str:
    """The path of the demo policy that ships with the package."""
    return str(files("jupyter_masking.demo").joinpath("policy.yaml"))


def config_for(user: str, *groups: str) -> str:
    """Write the gateway config that acts for ``user`` in ``groups``; return its path.

    Every demo person shares the demo database, the key and the audit store of the data
    directory, so pseudonyms agree across identities and every query lands in one chain.
    """
    config = {
        "connections": {"demo": {"url": f"duckdb:///{build_demo()}"}},
        "default_connection": "demo",
        "policy": demo_policy(),
        "local_identity": {"user": user, "groups": list(groups)},
    }
    path = data_dir() / "identities" / f"{user}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# Demo only: who the embedded gateway acts for.\n" + yaml.safe_dump(config)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return str(path)


def main(argv: list[str]) -> int:
    """``demo_identity.py USER [GROUP ...]``: write the config and print its path."""
    if not argv:
        print("usage: demo_identity.py USER [GROUP ...]", file=sys.stderr)
        return 2
    print(config_for(argv[0], *argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
