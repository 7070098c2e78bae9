"""jupyter-masking: masked SQL for Jupyter notebooks, hubs and AI agents.

Queries go through a gateway that refuses anything but plain reads, rewrites the
query so every sensitive column is masked inside the database, scans the result
for sensitive content nobody tagged, and writes a hash-chained audit event before
any data is returned.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Tell ``jupyter labextension develop`` where the built "Data lineage" sidebar lives.

    Returns:
        One entry: the build folder (relative to this package) and the npm package name.

    >>> _jupyter_labextension_paths()
    [{'src': 'labextension', 'dest': 'jupyter-masking'}]
    """
    return [{"src": "labextension", "dest": "jupyter-masking"}]
