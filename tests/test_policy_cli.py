"""``jupyter-masking policy test|explain|diff|builtin|schema`` through a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

DEMO = Path(__file__).parents[1] / "jupyter_masking" / "demo"
POLICY = DEMO / "policy.yaml"
TESTS = DEMO / "policy_tests.yaml"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_masking", "policy", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_demo_policy_tests_pass() -> None:
    result = run_cli("test", str(POLICY), str(TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == ["18 passed, 0 failed"]


def test_when_an_expectation_is_wrong_then_policy_test_fails(tmp_path: Path) -> None:
    write(
        tmp_path / "tests.yaml",
        """
        - name: right
          identity: {user: sam, groups: [support]}
          column: demo.main.customers.email
          expect: {effect: raw, rule: support-sees-contact}
        - name: wrong effect
          identity: {user: sam, groups: [support], actor: "ai:jupyter-ai"}
          column: demo.main.customers.email
          expect: {effect: raw}
        - name: wrong rule
          identity: {user: alice, groups: [analysts]}
          class: gov_id.us_ssn
          expect: {effect: "partial(keep_last=4)", rule: fraud-card-last4}
        - name: wrong parameters
          identity: {user: fred, groups: [fraud]}
          column: demo.main.payments.card_number
          expect: {effect: "partial(keep_last=6)"}
        - name: wrong class
          column: demo.main.legacy_export.c1
          expect: {class: pii.email}
        """,
    )
    result = run_cli("test", str(POLICY), "tests.yaml", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "FAIL tests.yaml:5: wrong effect: expected raw, "
        "got mask:pseudonym by ai-never-raw as pii.email",
        "FAIL tests.yaml:9: wrong rule: expected partial(keep_last=4) by fraud-card-last4, "
        "got mask:partial(keep_last=4) by default:gov_id.us_ssn as gov_id.us_ssn",
        "FAIL tests.yaml:13: wrong parameters: expected partial(keep_last=6), "
        "got mask:partial(keep_last=4) by fraud-card-last4 as financial.credit_card",
        "FAIL tests.yaml:17: wrong class: expected as pii.email, "
        "got scan by unclassified as unclassified",
        "1 passed, 4 failed",
    ]


def test_when_the_tests_file_is_malformed_then_exit_2_with_its_line(tmp_path: Path) -> None:
    write(
        tmp_path / "tests.yaml",
        """
        tests:
          - name: typo
            identity: {user: sam}
            class: pii.email
            expect: {effect: pseudo}
        """,
    )
    result = run_cli("test", str(POLICY), "tests.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "jupyter-masking: bad policy: tests.yaml:5: [0].expect.effect: "
        "unknown operator 'pseudo' — did you mean 'pseudonym'?"
    )


def test_when_a_case_names_neither_column_nor_class_then_it_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "- name: nothing\n  expect: {effect: raw}\n")
    result = run_cli("test", str(POLICY), "t.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "t.yaml:1: [0]: give exactly one of column or class" in result.stderr


def test_when_the_policy_is_malformed_then_policy_test_exits_2(tmp_path: Path) -> None:
    write(tmp_path / "p.yaml", "version: 1\nunclassified: maybe\n")
    result = run_cli("test", "p.yaml", str(TESTS), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "jupyter-masking: bad policy: p.yaml:2: unclassified: must be 'scan' or 'raw', not 'maybe'"
    )
    assert result.stdout == ""


def test_explain_prints_the_matrix_for_an_identity() -> None:
    result = run_cli(
        "explain", str(POLICY), "--user", "sam", "--group", "support", "--class", "pii.*"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("policy demo@")
    assert lines[1] == "identity sam (support); actor human"
    assert lines[2] == "untagged columns: scan; reviewer: no"
    rows = {line.split()[0]: line.split()[1:] for line in lines[5:]}
    assert rows["pii.email"] == ["raw", "-", "support-sees-contact"]
    assert rows["pii.date_of_birth"] == ["mask", "generalize(to=year)", "default:pii.date_of_birth"]
    assert rows["pii.url"] == ["mask", "pseudonym", "builtin:pii.url"]
    assert len(rows) == 8


def test_explain_json_for_an_ai_actor() -> None:
    result = run_cli(
        "explain",
        str(POLICY),
        "--user",
        "sam",
        "--group",
        "support",
        "--group",
        "compliance",
        "--actor",
        "ai:jupyter-ai",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["identity"] == {
        "user": "sam",
        "groups": ["compliance", "support"],
        "actor": "ai:jupyter-ai",
    }
    assert data["reviewer"] is False
    by_class = {d["class"]: d for d in data["decisions"]}
    assert len(by_class) == 39
    assert by_class["pii.email"]["operator"] == "pseudonym"
    assert by_class["pii.email"]["rule"] == "ai-never-raw"
    assert all(d["effect"] != "raw" for d in data["decisions"])


def test_explain_without_a_path_shows_the_builtin_policy() -> None:
    result = run_cli("explain", "--user", "x", "--class", "gov_id.us_ssn")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].startswith("policy builtin@")
    assert "partial(keep_last=4)  builtin:gov_id.us_ssn" in result.stdout


def test_explain_with_a_bad_actor_is_a_one_line_error() -> None:
    result = run_cli("explain", str(POLICY), "--user", "x", "--actor", "robot")
    assert result.returncode == 2
    assert result.stderr.startswith("jupyter-masking: bad input: unknown actor 'robot'")


def test_diff_lists_changed_decisions_by_identity(tmp_path: Path) -> None:
    text = POLICY.read_text(encoding="utf-8")
    new = text.replace("effect: pseudonym\n\n  - id: no-ssn", "effect: redact\n\n  - id: no-ssn")
    new = new.replace("  demo.main.customers.street: pii.postal_address\n", "")
    assert new.count("effect: redact") == 1
    assert "customers.street" not in new
    write(tmp_path / "new.yaml", new)
    result = run_cli("diff", str(POLICY), "new.yaml", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("policy diff demo@")
    assert "-> demo@" in lines[0]
    assert "  column demo.main.customers.street: pii.postal_address -> untagged" in lines
    headers = [line for line in lines[1:-1] if not line.startswith("  ")]
    assert headers
    assert all(" via ai:" in line for line in headers)
    ai = lines.index("someone via ai:assistant:")
    assert lines[ai + 1] == (
        "  pii.person_name: mask:pseudonym by ai-never-raw -> mask:redact by ai-never-raw"
    )
    assert "  secret.jwt: mask:redact by default:secret.jwt -> mask:redact by ai-never-raw" not in (
        lines
    )
    assert lines[-1].endswith("sampled identities; 1 column tags changed")


def test_diff_with_rules_also_lists_rule_only_changes(tmp_path: Path) -> None:
    text = POLICY.read_text(encoding="utf-8")
    write(tmp_path / "new.yaml", text.replace("id: ai-never-raw", "id: ai-capped"))
    plain = run_cli("diff", str(POLICY), "new.yaml", cwd=tmp_path)
    assert plain.returncode == 0, plain.stdout
    detailed = run_cli("diff", "--rules", str(POLICY), "new.yaml", cwd=tmp_path)
    assert detailed.returncode == 1
    assert "  pii.email: mask:pseudonym by ai-never-raw -> mask:pseudonym by ai-capped" in (
        detailed.stdout.splitlines()
    )


def test_diff_of_identical_policies_exits_0() -> None:
    result = run_cli("diff", str(POLICY), str(POLICY), "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["changes"] == []
    assert data["columns"] == []
    assert data["identities_sampled"] > 10


def test_builtin_prints_a_policy_that_lints_clean(tmp_path: Path) -> None:
    result = run_cli("builtin")
    assert result.returncode == 0
    (tmp_path / "copy.yaml").write_text(result.stdout, encoding="utf-8")
    lint = run_cli("lint", "copy.yaml", cwd=tmp_path)
    assert lint.returncode == 0, lint.stdout
    assert lint.stdout.startswith("copy.yaml: ok (builtin@")


def test_schema_is_json_schema_of_the_policy_file() -> None:
    result = run_cli("schema")
    schema = json.loads(result.stdout)
    assert {"version", "classes", "columns", "rules", "unclassified", "reviewers"} <= set(
        schema["properties"]
    )
    assert schema["additionalProperties"] is False
