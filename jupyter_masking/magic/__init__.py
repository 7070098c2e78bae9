"""``%%masked_sql``: masked SQL in notebooks (``%load_ext jupyter_masking``).

Modules, one job each: :mod:`.options` (the option grammar), :mod:`.params` (variables as
bound parameters), :mod:`.kernel` (notebook path, cell id, execution count),
:mod:`.identity` (who an embedded gateway acts for), :mod:`.result` (the returned
DataFrame and its display), :mod:`.magic` (the ``Magics`` class tying them together).
"""

from __future__ import annotations

from typing import Any

MAGICS_KEY = "_jupyter_masking_magics"


def load(shell: Any) -> None:
    """Register the magics (and ``%config MaskedSql``) on ``shell``; idempotent."""
    from jupyter_masking.magic.magic import MaskedSql

    unload(shell)
    magics = MaskedSql(shell=shell)
    shell.register_magics(magics)
    setattr(shell, MAGICS_KEY, magics)


def unload(shell: Any) -> None:
    """Close the gateway client of the magics registered on ``shell``, if any."""
    magics = getattr(shell, MAGICS_KEY, None)
    if magics is not None:
        magics.close()
        configurables = getattr(shell, "configurables", [])
        if magics in configurables:
            configurables.remove(magics)
        setattr(shell, MAGICS_KEY, None)
