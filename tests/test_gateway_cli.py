"""The ``jupyter-masking query`` contract, through real subprocesses.

``jupyter-masking query [--db URL | --connection NAME] [--policy PATH] [--user U] [--group G]...
[--actor A] [--format table|json|csv] [--explain] SQL``: ``--format json`` prints only JSON on
stdout, values as JSON scalars; exit codes 0 ok, 2 bad input, 3 refused (naming the rule or
construct), 1 database or internal error (one line, no traceback unless ``--debug``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_attack_harness import DEMO_POLICY, KEY_HEX, lab_policy, needles

from jupyter_masking.demo.build import build_demo, load_demo_into

CLI = [sys.executable, "-m", "jupyter_masking"]


@dataclass(frozen=True)
class Run:
    """One finished CLI process."""

    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        """Stdout parsed as JSON (all of it: nothing else may be printed there)."""
        body: dict[str, Any] = json.loads(self.out)
        return body


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A private data directory holding the demo database, and a fixed masking key."""
    data = tmp_path_factory.mktemp("cli-data")
    build_demo(data / "demo.duckdb")
    environ = {
        **os.environ,
        "JUPYTER_MASKING_DATA_DIR": str(data),
        "JUPYTER_MASKING_KEY": KEY_HEX,
    }
    environ.pop("JUPYTER_MASKING_CONFIG", None)
    environ.pop("JUPYTER_MASKING_GATEWAY_URL", None)
    return environ


def cli(env: dict[str, str], *args: str) -> Run:
    done = subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    return Run(done.returncode, done.stdout, done.stderr)


# The embedded default connection is the demo database; without --policy the CLI applies the
# built-in policy, so tests about the demo's rules name the demo policy.
POLICY = ("--policy", str(DEMO_POLICY))
ALICE = ("--user", "alice", "--group", "analysts")


def test_json_output_is_only_json_with_the_documented_fields(env: dict[str, str]) -> None:
    sql = (
        "SELECT c.id, c.email, c.ssn, c.date_of_birth, c.created_at, o.amount FROM customers c "
        "JOIN orders o ON o.customer_id = c.id ORDER BY o.id LIMIT 5"
    )
    run = cli(env, "query", *ALICE, "--format", "json", sql)
    assert run.code == 0, run.err
    body = run.json()  # the whole of stdout parses
    assert {"columns", "rows", "masked", "event_id"} <= set(body)
    assert body["columns"] == ["id", "email", "ssn", "date_of_birth", "created_at", "amount"]
    assert len(body["rows"]) == 5
    masked = {m["column"]: m for m in body["masked"]}
    assert set(masked) == {"email", "ssn", "date_of_birth"}
    for entry in masked.values():
        assert {"column", "class", "effect", "rule", "sources"} <= set(entry)
        assert entry["effect"] == "mask"
        assert entry["sources"]
    assert masked["ssn"]["class"] == "gov_id.us_ssn"
    row = body["rows"][0]
    assert isinstance(row[0], int)
    assert isinstance(row[5], float)  # a DECIMAL is a JSON number
    dt.date.fromisoformat(row[3])
    dt.datetime.fromisoformat(row[4])
    assert needles().leaks(__import__("pandas").DataFrame(body["rows"])) == []


def test_csv_and_table_outputs(env: dict[str, str]) -> None:
    sql = "SELECT id, email FROM customers ORDER BY id LIMIT 3"
    run = cli(env, "query", *ALICE, "--format", "csv", sql)
    assert run.code == 0, run.err
    rows = list(csv.reader(io.StringIO(run.out)))
    assert rows[0] == ["id", "email"]
    assert len(rows) == 4
    table = cli(env, "query", *ALICE, sql)
    assert table.code == 0
    assert "1 of 2 columns masked" in table.out
    assert "alice (analysts)" in table.out


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("SELEC email FROM customers",), "syntax"),
        (("SELECT email FROM customers WHERE (",), "syntax"),
        (("--bogus", "SELECT 1"), "unrecognized arguments"),
        (("--format", "xml", "SELECT 1"), "invalid choice"),
        (("--limit", "0", "SELECT 1"), "--limit"),
        (("",), "no SQL"),
    ],
)
def test_bad_input_exits_2(env: dict[str, str], args: tuple[str, ...], said: str) -> None:
    run = cli(env, "query", *ALICE, *args)
    assert run.code == 2, (run.code, run.err)
    assert said in run.err
    assert run.out == ""


def test_a_malformed_policy_exits_2_naming_the_file(env: dict[str, str], tmp_path: Path) -> None:
    policy = tmp_path / "bad.yaml"
    policy.write_text("version: 1\nclasses:\n  pii.email: {default: shred}\n", encoding="utf-8")
    run = cli(env, "query", *ALICE, "--policy", str(policy), "SELECT email FROM customers")
    assert run.code == 2, run.err
    assert "bad.yaml" in run.err
    assert run.out == ""


@pytest.mark.parametrize(
    ("identity", "sql", "said"),
    [
        (ALICE, "DELETE FROM customers", "DELETE"),
        (ALICE, "SELECT 1; DROP TABLE customers", "2 statements"),
        (ALICE, "SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
        (ALICE, "COPY customers TO '/tmp/x.csv'", "COPY"),
        (
            ("--user", "carol", "--group", "contractors"),
            "SELECT ssn FROM customers",
            "no-ssn-for-contractors",
        ),
        (ALICE, "SELECT reverse(body) FROM support_tickets", "derives text"),
    ],
)
def test_refusals_exit_3_and_say_which_rule_or_construct(
    env: dict[str, str], identity: tuple[str, ...], sql: str, said: str
) -> None:
    run = cli(env, "query", *POLICY, *identity, "--format", "json", sql)
    assert run.code == 3, (run.code, run.err)
    assert said in run.err
    assert run.out == ""
    assert len(run.err.strip().splitlines()) == 1


def test_a_database_error_exits_1_with_one_line_and_a_traceback_only_with_debug(
    env: dict[str, str],
) -> None:
    sql = "SELECT CAST(city AS INTEGER) AS n FROM customers"
    run = cli(env, "query", *ALICE, sql)
    assert run.code == 1, run.err
    assert len(run.err.strip().splitlines()) == 1
    assert "Traceback" not in run.err
    assert run.out == ""
    debug = cli(env, "--debug", "query", *ALICE, sql)
    assert debug.code == 1
    assert "Traceback" in debug.err


def test_explain_never_runs_the_query(env: dict[str, str]) -> None:
    sql = "SELECT CAST(city AS INTEGER) AS n, email FROM customers"  # fails if it ran
    run = cli(env, "query", *ALICE, "--explain", "--format", "json", sql)
    assert run.code == 0, run.err
    body = run.json()
    assert body["outcome"] == "allowed"
    assert "rows" not in body
    refused = cli(env, "query", *ALICE, "--explain", "DELETE FROM customers")
    assert refused.code == 3
    assert "DELETE" in refused.out


def test_an_ai_actor_gets_pseudonyms_even_where_its_user_sees_raw(env: dict[str, str]) -> None:
    sql = "SELECT email FROM customers ORDER BY id LIMIT 3"
    support = ("--user", "sam", "--group", "support")
    human = cli(env, "query", *POLICY, *support, "--format", "json", sql).json()
    via_ai = cli(
        env, "query", *POLICY, *support, "--actor", "ai:jupyter-ai", "--format", "json", sql
    )
    ai = via_ai.json()
    assert human["masked"] == []
    assert ai["masked"][0]["rule"] == "ai-never-raw"
    assert human["rows"] != ai["rows"]


def test_an_unwritable_audit_store_fails_the_query_and_prints_no_data(
    env: dict[str, str], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    config = tmp_path / "gateway.yaml"
    demo = Path(env["JUPYTER_MASKING_DATA_DIR"]) / "demo.duckdb"
    config.write_text(
        json.dumps(
            {
                "connections": {"demo": {"url": f"duckdb:///{demo}"}},
                "default_connection": "demo",
                "audit_store": str(blocker / "audit.sqlite"),
            }
        ),
        encoding="utf-8",
    )
    run = cli(
        env,
        "query",
        "--config",
        str(config),
        *ALICE,
        "--format",
        "json",
        "SELECT email FROM customers",
    )
    assert run.code == 1, (run.code, run.err)
    assert run.out == ""
    assert "audit" in run.err.lower()


@pytest.mark.postgres
def test_db_url_and_policy_options_on_postgresql(
    env: dict[str, str], pg_schema: object, tmp_path: Path
) -> None:
    url = pg_schema.url  # type: ignore[attr-defined]
    load_demo_into(url)
    policy = lab_policy(tmp_path)
    sql = "SELECT id, email, ssn, city FROM customers ORDER BY id LIMIT 4"
    run = cli(env, "query", "--db", url, "--policy", str(policy), *ALICE, "--format", "json", sql)
    assert run.code == 0, run.err
    body = run.json()
    assert [m["column"] for m in body["masked"]] == ["email", "ssn"]
    assert "postgres" not in run.out
    assert "@127.0.0.1" not in run.err


def test_json_output_of_list_values(env: dict[str, str]) -> None:
    run = cli(
        env,
        "query",
        *ALICE,
        "--format",
        "json",
        "SELECT list(email ORDER BY id) AS emails FROM customers WHERE id < 4",
    )
    assert run.code == 0, run.err
    assert len(run.json()["rows"][0][0]) == 3
