"""JupyterHub integration: the gateway as a hub-managed service, and its one-line setup.

In ``jupyterhub_config.py``::

    from jupyter_masking.hub import configure
    configure(c, "/etc/jupyter-masking/gateway.yaml")

:mod:`.service` is the service itself (started by the hub as ``jupyter-masking gateway``),
:mod:`.wire` the format it shares with :class:`~jupyter_masking.client.remote.RemoteClient`.
"""

from __future__ import annotations

from jupyter_masking.hub.configure import configure

__all__ = ["configure"]
