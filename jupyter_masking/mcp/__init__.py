"""AI agents get masked data too: an MCP server whose tools return only masked values.

``jupyter-masking mcp`` runs it (stdio by default) with the tools ``masked_query``,
``describe_tables`` and ``explain``. Modules: ``limits`` (row and byte
caps, data framing), ``results`` (output schemas and text), ``tools`` (the gateway
calls, transport-free), ``server`` (the MCP wiring and the ``ai:mcp:<client>`` actor).
"""
