"""The masking gateway: analyze, decide, rewrite, execute, scan, present and audit one query."""
