"""The attack lab's dialect-neutral attacks (``tests/fixtures/attacks/common.sql``) on Spark.

Every block of ``common.sql`` meant for all engines runs through the gateway on
``spark://local[2]`` with the lab's policy, key and identities. Spark SQL differs from the
other dialects, so a query the other engines run may fail here; what must hold on every
outcome is that no planted value, nor an encoding of one, appears in the result, the error
or the audit event, and that what the suite expects refused is not run.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - CI installs a JRE
    pytest.skip("Spark needs Java 17 (openjdk-17-jre-headless)", allow_module_level=True)

from test_attack_harness import IDENTITIES, KEY_HEX, lab_policy, needles
from test_attack_queries import ATTACK_ENGINES, Attack, load_attacks
from test_spark_engine import SETTINGS

from jupyter_masking.audit.store import open_store
from jupyter_masking.config import GatewayConfig
from jupyter_masking.demo.build import demo_tables
from jupyter_masking.errors import MaskingError
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.gateway.connections import ConnectionConfig, open_connection
from jupyter_masking.gateway.pipeline import Gateway
from jupyter_masking.mask import MaskingKey
from jupyter_masking.policy import PolicyHolder

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
]

DB = "lab"
ATTACKS = [a for a in load_attacks("common") if set(a.engines) == set(ATTACK_ENGINES)]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    home = tmp_path_factory.mktemp("spark-lab")
    url = f"spark://local[2]?warehouse={SETTINGS.warehouse}"
    writer = open_connection(ConnectionConfig("writer", url))
    spark = writer.session()  # type: ignore[attr-defined]
    spark.sql(f"DROP DATABASE IF EXISTS {DB} CASCADE")
    shutil.rmtree(Path(SETTINGS.warehouse) / f"{DB}.db", ignore_errors=True)
    spark.sql(f"CREATE DATABASE {DB}")
    for name, table in demo_tables(7).items():
        spark.createDataFrame(table).write.saveAsTable(f"{DB}.{name}")
    spark.catalog.setCurrentDatabase(DB)
    config = GatewayConfig.model_validate(
        {"connections": {"spark": {"url": url}}, "default_connection": "spark"}
    )
    lab = Gateway(
        config,
        policy=PolicyHolder(str(lab_policy(home))),
        key=MaskingKey.from_text(KEY_HEX),
        store=open_store(str(home / "audit.db")),
    )
    yield lab
    lab.close()
    spark.catalog.setCurrentDatabase("default")
    spark.sql(f"DROP DATABASE IF EXISTS {DB} CASCADE")
    writer.close()


def test_the_spark_share_of_the_suite_is_large() -> None:
    assert len(ATTACKS) >= 80


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.where for a in ATTACKS])
def test_attack_on_spark_leaks_nothing(gateway: Gateway, attack: Attack) -> None:
    found = needles()
    try:
        result = gateway.query(QueryRequest(attack.sql), IDENTITIES[attack.identity])
    except MaskingError as error:
        _check_failure(gateway, error)
        return
    assert attack.expect != "refuse", f"expected a refusal of {attack.construct}, it ran"
    leaks = found.leaks(result.frame)
    assert leaks == [], [str(leak) for leak in leaks]
    stored = gateway.store.get(result.event.id)
    assert stored is not None
    assert not found.in_text(json.dumps(stored.to_dict(), default=str)), "leak in audit"


def _check_failure(gateway: Gateway, error: MaskingError) -> None:
    found = needles()
    assert not found.in_text(str(error)), "a planted value in the error message"
    event = gateway.store.query(limit=1, newest_first=True)[0]
    assert event.outcome in ("refused", "failed")
    assert not found.in_text(json.dumps(event.to_dict(), default=str)), "leak in audit"
