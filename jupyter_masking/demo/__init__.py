"""The embedded demo: a small seeded company database and its masking policy.

``build_demo()`` writes the DuckDB file once; ``load_demo_into(url)`` plants the same rows in
PostgreSQL, MariaDB or SQLite so tests can run the same attacks on every engine.
"""
