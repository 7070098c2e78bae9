"""The Jupyter Server extension: lineage REST API and live query events for the sidebar.

Enabled on install by ``etc/jupyter/jupyter_server_config.d/jupyter_masking.json``. Routes
live under ``<base_url>/jupyter-masking/api/`` (see :mod:`.handlers` and ``openapi.yaml``).
The server reaches the gateway through :func:`jupyter_masking.client.connect` exactly as the
kernel does, so under a hub both talk to the hub gateway, and in embedded mode both act for
the same local identity and share one audit store: lineage written by the kernel is what
this server serves. Settings: ``c.JupyterMaskingApp.poll_interval`` and ``.config_path``.
"""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import PeriodicCallback
from traitlets import Float, Unicode

from jupyter_masking.server.handlers import SERVICE_KEY, routes
from jupyter_masking.server.service import QUERY_SCHEMA, QUERY_SCHEMA_ID, MaskingService

__all__ = ["QUERY_SCHEMA_ID", "JupyterMaskingApp"]


class JupyterMaskingApp(ExtensionApp):
    """Serves lineage events and masked queries to the JupyterLab sidebar and other clients."""

    name = "jupyter_masking"
    load_other_extensions = True

    poll_interval = Float(
        1.0,
        help="Seconds between checks of the audit store for new query events of this user "
        "(emitted as jupyter_events for the sidebar). 0 turns the check off.",
    ).tag(config=True)
    config_path = Unicode(
        None,
        allow_none=True,
        help="Embedded mode: the gateway config file (default $JUPYTER_MASKING_CONFIG).",
    ).tag(config=True)

    _watch: PeriodicCallback | None = None
    service: MaskingService | None = None

    def initialize_settings(self) -> None:
        """Create the gateway client holder, register the event schema, start the watcher."""
        from jupyter_masking.magic.identity import open_client

        path = self.config_path
        self.service = MaskingService(lambda: open_client(path))
        self.settings[SERVICE_KEY] = self.service
        assert self.serverapp is not None
        logger = self.serverapp.event_logger
        assert logger is not None  # Jupyter Server 2 always has one
        if QUERY_SCHEMA_ID not in logger.schemas.schema_ids:
            logger.register_event_schema(QUERY_SCHEMA)
        if self.poll_interval > 0:
            self._watch = PeriodicCallback(self._announce, self.poll_interval * 1000)
            self._watch.start()

    def initialize_handlers(self) -> None:
        """Add the REST routes (the base URL is prepended by ``ExtensionApp``)."""
        self.handlers.extend(routes())

    async def _announce(self) -> None:
        if self.service is None or self.serverapp is None or self.serverapp.event_logger is None:
            return
        try:
            await self.service.announce(self.serverapp.event_logger)
        except Exception as error:  # a broken store must not kill the loop; the REST API reports it
            self.log.warning("jupyter_masking: cannot check for new events: %s", error)

    async def stop_extension(self) -> None:
        """Stop the watcher and close the gateway client."""
        if self._watch is not None:
            self._watch.stop()
        if self.service is not None:
            self.service.close()
