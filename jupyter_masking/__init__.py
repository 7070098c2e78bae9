"""jupyter-masking: masked SQL for Jupyter notebooks, hubs and AI agents.

Queries go through a gateway that refuses anything but plain reads, rewrites the
query so every sensitive column is masked inside the database, scans the result
for sensitive content nobody tagged, and writes a hash-chained audit event before
any data is returned.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__"]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_masking``: register ``%%masked_sql`` and ``%config MaskedSql``."""
    from jupyter_masking.magic import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext jupyter_masking``: close the magic's gateway client."""
    from jupyter_masking.magic import unload

    unload(ipython)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Where Jupyter Server finds the REST API extension (imported only when it asks).

    >>> _jupyter_server_extension_points()[0]["module"]
    'jupyter_masking.server'
    """
    from jupyter_masking.server import JupyterMaskingApp

    return [{"module": "jupyter_masking.server", "app": JupyterMaskingApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Tell ``jupyter labextension develop`` where the built "Data lineage" sidebar lives.

    Returns:
        One entry: the build folder (relative to this package) and the npm package name.

    >>> _jupyter_labextension_paths()
    [{'src': 'labextension', 'dest': 'jupyter-masking'}]
    """
    return [{"src": "labextension", "dest": "jupyter-masking"}]
