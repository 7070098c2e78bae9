"""Many identities at once: no mixed-up identities or masks, and one unforked audit chain.

Every identity's expected answer is computed first, one query at a time; then threads sharing
one gateway (as the hub service's worker pool and the Jupyter server do) run the same queries
interleaved, each checked against its own identity's answer and audit event. Separate
processes, each with its own gateway (several kernels, several hub workers), append to one
audit store, SQLite or PostgreSQL, whose chain must verify with no gap and no fork.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_attack_harness import IDENTITIES, lab_config
from test_fuzz_harness import FuzzLab, load_duckdb, open_fuzz_lab

from jupyter_masking.audit.store import open_store
from jupyter_masking.errors import Refused
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.gateway.pipeline import Gateway

#: Queries whose answers differ by identity (raw for support, partial for fraud, denied ssn
#: for contractors, pseudonyms for the AI).
QUERIES = (
    "SELECT id, email, phone FROM customers ORDER BY id",
    "SELECT id, ssn FROM customers ORDER BY id",
    "SELECT id, card_number, iban FROM payments ORDER BY id",
    "SELECT c.id, c.email, o.customer_email FROM customers AS c "
    "JOIN orders AS o ON o.customer_id = c.id ORDER BY c.id, o.id",
    "SELECT body FROM support_tickets ORDER BY id",
)
THREADS = 8
ROUNDS = 3


@pytest.fixture(scope="module")
def lab(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzLab]:
    yield from open_fuzz_lab(pg_url, tmp_path_factory.mktemp("concurrency"))


def answer(lab: FuzzLab, engine: str, sql: str, who: str) -> tuple[str, Any]:
    """``("rows", frame)`` or ``("refused", rule)`` for one identity."""
    request = QueryRequest(sql=sql, connection=engine)
    try:
        result = lab.gateway.query(request, IDENTITIES[who])
    except Refused as error:
        return "refused", error.message
    assert result.event.identity.user == IDENTITIES[who].user
    assert result.event.identity.groups == list(IDENTITIES[who].groups)
    assert result.event.identity.actor == IDENTITIES[who].actor
    return "rows", result.frame


def same(left: tuple[str, Any], right: tuple[str, Any]) -> bool:
    if left[0] != right[0]:
        return False
    if left[0] == "refused":
        return bool(left[1] == right[1])
    return bool(left[1].equals(right[1]))


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_threads_sharing_a_gateway_never_mix_identities_or_masks(lab: FuzzLab, engine: str) -> None:
    cases = [(sql, who) for sql in QUERIES for who in IDENTITIES]
    expected = {case: answer(lab, engine, *case) for case in cases}
    # the identities really see different things, or this test could not fail
    first = QUERIES[0]
    assert not same(expected[(first, "support")], expected[(first, "alice")])
    assert not same(expected[(first, "ai")], expected[(first, "support")])
    assert expected[(QUERIES[1], "contractor")][0] == "refused"
    work = cases * ROUNDS
    random.Random(7).shuffle(work)
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda case: (case, answer(lab, engine, *case)), work))
    mixed = [case for case, got in results if not same(got, expected[case])]
    assert mixed == []
    assert lab.gateway.store.verify().ok


# --- several processes, one audit store ----------------------------------------------------------


def _worker(args: tuple[dict[str, Any], int, int]) -> list[int]:
    """One gateway process (a kernel, a hub worker): run queries, return the seqs it wrote."""
    config_data, seed, count = args
    from jupyter_masking.config import GatewayConfig

    gateway = Gateway.from_config(GatewayConfig.model_validate(config_data))
    names = sorted(IDENTITIES)
    chooser = random.Random(seed)
    seqs = []
    try:
        for _ in range(count):
            who = IDENTITIES[chooser.choice(names)]
            sql = chooser.choice(QUERIES)
            with contextlib.suppress(Refused):
                seqs.append(gateway.query(QueryRequest(sql=sql), who).event.seq)
    finally:
        gateway.close()
    return seqs


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_gateway_processes_appending_to_one_store_never_fork_the_chain(
    store: str, tmp_path: Path, pg_schema: Any
) -> None:
    url = load_duckdb(tmp_path / "lab.duckdb")
    config = lab_config(tmp_path, {"duckdb": url})
    if store == "postgres":
        config = config.model_copy(update={"audit_store": pg_schema.url + "&table=jm_conc_audit"})
    open_store(config.audit_store).close()  # created once, before the race
    processes, each = 4, 12
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        written = pool.map(_worker, [(config.model_dump(), n, each) for n in range(processes)])
    seqs = sorted(seq for batch in written for seq in batch)
    audit = open_store(config.audit_store, create=False)
    try:
        events = audit.query(limit=10_000, newest_first=False)
        report = audit.verify()
    finally:
        audit.close()
    assert report.ok, report
    # every query left one event (refusals too), numbered 1..n without gap or duplicate
    assert [e.seq for e in events] == list(range(1, processes * each + 1))
    assert len(set(seqs)) == len(seqs)
    assert set(seqs) <= {e.seq for e in events if e.outcome == "allowed"}
    assert pd.Series([e.prev_hash for e in events]).is_unique
