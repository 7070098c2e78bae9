"""On PostgreSQL, subkeys never appear in statement text the server could log or show.

PostgreSQL writes the text of a failing statement to its log by default
(``log_min_error_statement = error``), shows running statements in ``pg_stat_activity`` and
logs slow ones when asked; and any user can make a query fail on purpose. Whoever read a subkey
there could compute the pseudonym of any value they can guess. So the masked SQL reads its
subkeys from transaction settings, which the connection sets with bound values.

The tests listen to the wire (libpq's protocol trace) and read the server's own log.
"""

from __future__ import annotations

import glob
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_attack_harness import ALICE, KEY_HEX, lab_config

from jupyter_masking.errors import BadInput, Refused
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.gateway.dberrors import QueryFailed
from jupyter_masking.gateway.pipeline import Gateway
from jupyter_masking.mask import MaskingKey
from jupyter_masking.mask.keys import subkey_setting
from jupyter_masking.sql.analyze import analyze

SUBKEY = MaskingKey.from_text(KEY_HEX).subkey("pii.email")
EMAILS = ["ada@example.com", "bob@example.org", "cy@example.net"]


@pytest.fixture
def gateway(pg_schema: Any, tmp_path: Path) -> Iterator[Gateway]:
    with pg_schema.engine.begin() as conn:
        conn.execute(sa.text(f'CREATE TABLE "{pg_schema.name}".customers (id int, email text)'))
        for i, email in enumerate(EMAILS):
            conn.execute(
                sa.text(f'INSERT INTO "{pg_schema.name}".customers VALUES (:i, :e)'),
                {"i": i, "e": email},
            )
    gw = Gateway.from_config(lab_config(tmp_path, {"postgres": pg_schema.url}))
    try:
        yield gw
    finally:
        gw.close()


def run(gw: Gateway, sql: str, **params: object) -> Any:
    return gw.query(QueryRequest(sql=sql, params=params), ALICE)


def test_the_masked_sql_names_settings_and_the_plan_carries_their_values(
    gateway: Gateway,
) -> None:
    _, source = gateway._source("postgres")
    plan = source.plans.plan(
        analyze("SELECT email FROM customers", source.connection.schema()),
        ALICE,
        catalog=source.catalog,
        policy=gateway.policy.engine,
        key=gateway.key,
    )
    assert SUBKEY not in plan.sql
    assert subkey_setting(SUBKEY) in plan.sql
    assert dict(plan.settings) == {subkey_setting(SUBKEY): SUBKEY}
    assert SUBKEY not in repr(plan)


def test_subkeys_reach_the_server_only_as_bound_values(gateway: Gateway, tmp_path: Path) -> None:
    _, source = gateway._source("postgres")
    trace_path = tmp_path / "wire.txt"
    with trace_path.open("w") as trace:
        source.connection.add_connect_hook(lambda dbapi: dbapi.pgconn.trace(trace.fileno()))
        bulk = run(gateway, "SELECT id, email FROM customers ORDER BY id")  # COPY
        bound = run(gateway, "SELECT email FROM customers WHERE id = :id", id=1)  # cursor
        with pytest.raises(QueryFailed):
            run(gateway, "SELECT CAST(email AS INT) AS n FROM customers")  # fails on purpose
        gateway.close()  # the pool's connections (and their traces) end here
    # masked like before: pseudonyms, the same on both paths
    assert not set(bulk.frame["email"]) & set(EMAILS)
    assert bound.frame["email"].tolist() == [bulk.frame["email"].tolist()[1]]
    sent = [line for line in trace_path.read_text().splitlines() if "\tF\t" in line]
    carrying = [line for line in sent if SUBKEY in line]
    assert carrying, "the subkey must reach the server (else this test sees nothing)"
    assert all("\tBind\t" in line for line in carrying), carrying
    statements = [line for line in sent if "\tParse\t" in line or "\tQuery\t" in line]
    assert sum(subkey_setting(SUBKEY) in line for line in statements) >= 3


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT current_setting('{setting}') AS k",
        "SELECT pg_catalog.current_setting('{setting}', true) AS k",
        "SELECT CURRENT_SETTING('{setting}') || email AS k FROM customers",
        "SELECT setting FROM pg_settings WHERE name = '{setting}'",
        "SELECT setting FROM pg_catalog.pg_settings",
        "SELECT query FROM pg_stat_activity",
        "SHOW {setting}",
        "SELECT set_config('{setting}', 'x', true) AS k",
    ],
)
def test_user_sql_cannot_read_the_subkey_settings(gateway: Gateway, sql: str) -> None:
    with pytest.raises((Refused, BadInput)):
        run(gateway, sql.format(setting=subkey_setting(SUBKEY)))


def _server_logs() -> list[Path]:
    return [Path(p) for p in glob.glob("/var/log/postgresql/postgresql-*.log")]


def test_a_failing_query_puts_no_subkey_in_the_server_log(gateway: Gateway) -> None:
    logs = _server_logs()
    if not logs:  # Debian's clusters log there; other installations may not
        if os.environ.get("JM_REQUIRE_SERVICES") == "1":
            pytest.fail("no PostgreSQL server log under /var/log/postgresql")
        pytest.skip("no PostgreSQL server log under /var/log/postgresql")
    sizes = {path: path.stat().st_size for path in logs}
    marker = f"probe_{uuid.uuid4().hex}"
    with pytest.raises(QueryFailed):
        run(gateway, f"SELECT CAST(email AS INT) AS {marker} FROM customers")
    written = "".join(
        path.read_bytes()[sizes[path] :].decode("utf-8", errors="replace") for path in logs
    )
    logged = [line for line in written.splitlines() if marker in line]
    assert logged, "the server logs failing statements by default; this test needs that"
    assert any(subkey_setting(SUBKEY) in line for line in logged)
    assert SUBKEY not in written
