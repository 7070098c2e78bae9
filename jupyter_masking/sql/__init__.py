"""SQL understanding: the live schema, read-only analysis, lineage and the masking rewrite."""
