"""``policy lint``: exact file:line:field messages for malformed policies, and warnings.

Each fixture in ``tests/fixtures/policy/{malformed,warnings}`` starts with ``# expect:``
lines: every problem lint must report, in order, with ``{path}`` for the path given.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_masking.errors import PolicyError
from jupyter_masking.policy import PolicyEngine
from jupyter_masking.policy.lint import lint

FIXTURES = Path(__file__).parent / "fixtures" / "policy"
MALFORMED = [*sorted(FIXTURES.glob("malformed/*.yaml")), FIXTURES / "malformed" / "dir_conflict"]
WARNINGS = sorted(FIXTURES.glob("warnings/*.yaml"))
DEMO = Path(__file__).parents[1] / "jupyter_masking" / "demo" / "policy.yaml"


def expected(path: Path, shown: str | None = None) -> list[str]:
    """The fixture's expected problems, with ``{path}`` as lint is given it (``shown``)."""
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    return [
        line.removeprefix("# expect: ").replace("{path}", shown or str(path))
        for file in files
        for line in file.read_text(encoding="utf-8").splitlines()
        if line.startswith("# expect: ")
    ]


def test_there_are_at_least_twenty_malformed_policies() -> None:
    assert len(MALFORMED) >= 20
    assert all(expected(path) for path in MALFORMED + WARNINGS)


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.stem)
def test_malformed_policy_lint_messages(path: Path) -> None:
    engine, problems = lint(path)
    assert engine is None
    assert [str(p) for p in problems] == expected(path)
    assert all(p.severity == "error" for p in problems)


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.stem)
def test_malformed_policy_never_half_loads(path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        PolicyEngine.load(path)
    assert str(caught.value) == f"bad policy: {expected(path)[0]}"
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("path", WARNINGS, ids=lambda p: p.stem)
def test_warnings_are_reported_but_the_policy_loads(path: Path) -> None:
    engine, problems = lint(path)
    assert engine is not None
    assert [str(p) for p in problems] == expected(path)
    assert all(p.severity == "warning" for p in problems)


def test_a_grant_limited_to_humans_is_not_shadowed_by_an_ai_restrict() -> None:
    # The demo grants support raw contact details for humans and caps AI actors: no warning.
    engine, problems = lint(DEMO)
    assert engine is not None
    assert problems == []


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_masking", "policy", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_lint_cli_prints_every_message_and_exits_2() -> None:
    relative = [str(p.relative_to(FIXTURES)) for p in MALFORMED]
    result = run_cli("lint", *relative, cwd=FIXTURES)
    assert result.returncode == 2, result.stderr
    printed = result.stdout.splitlines()
    for path, shown in zip(MALFORMED, relative, strict=True):
        for message in expected(path, shown):
            assert message in printed
    assert f"{relative[0]}: 1 error, 0 warnings" in printed


def test_lint_cli_on_a_good_policy_exits_0_and_names_the_version() -> None:
    result = run_cli("lint", str(DEMO))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"{DEMO}: ok (demo@")
    assert "5 rules" in result.stdout


def test_lint_cli_warnings_fail_only_with_strict() -> None:
    path = str(WARNINGS[0].relative_to(FIXTURES))
    relaxed = run_cli("lint", path, cwd=FIXTURES)
    strict = run_cli("lint", "--strict", path, cwd=FIXTURES)
    assert relaxed.returncode == 0
    assert strict.returncode == 1
    assert expected(WARNINGS[0], path)[0] in strict.stdout.splitlines()


def test_lint_cli_json_lists_problems_with_lines() -> None:
    import json

    path = str(MALFORMED[0].relative_to(FIXTURES))
    result = run_cli("lint", "--format", "json", path, cwd=FIXTURES)
    assert result.returncode == 2
    [report] = json.loads(result.stdout)
    [problem] = report["problems"]
    assert (problem["line"], problem["field"], problem["severity"]) == (
        7,
        "rules[0].effect",
        "error",
    )
    assert report["version"] is None


def test_lint_cli_missing_file_is_a_one_line_error() -> None:
    result = run_cli("lint", "no/such/policy.yaml")
    assert result.returncode == 2
    assert result.stdout.splitlines()[0] == "no/such/policy.yaml: no such file or directory"
