"""jupyter-masking: masked SQL for Jupyter notebooks, hubs and AI agents.

Queries go through a gateway that refuses anything but plain reads, rewrites the
query so every sensitive column is masked inside the database, scans the result
for sensitive content nobody tagged, and writes a hash-chained audit event before
any data is returned.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
