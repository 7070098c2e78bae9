"""The Binder tour, ``binder/demo.ipynb``, run end to end in a real kernel (nbclient).

The environment is the one Binder gives it: ``binder/start`` sets the data directory and
the default identity, ``binder/demo_identity.py`` builds the demo database as ``postBuild``
does, and the kernel runs in the notebook's own folder. The checks are about what the tour
promises: masked values and never raw ones (except where the policy grants them), joins
that still add up, refusals with their reasons, and an intact audit chain.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from jupyter_masking.demo.build import demo_frames
from jupyter_masking.magic.result import LINEAGE_MIME

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
NOTEBOOK = BINDER / "demo.ipynb"
RAISES = "raises-exception"

#: Cells that must be refused, and words their one-line error must contain.
REFUSALS = {
    "refused": "writes are not allowed (DELETE)",
    "contractor": "rule no-ssn-for-contractors",
}

#: The one cell whose identity is granted raw contact details (sam, support, by hand).
GRANTED = "support"


# -- the Binder files ---------------------------------------------------------------------


def test_repository_notebook_is_stored_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "the tour has no code cells"
    for cell in code:
        assert cell.outputs == [], f"cell {cell.id} was saved with outputs"
        assert cell.execution_count is None, f"cell {cell.id} was saved with a count"
    ids = [cell.id for cell in notebook.cells]
    assert len(ids) == len(set(ids)), "cell ids must be unique (the sidebar keys on them)"
    tagged = {cell.id for cell in code if RAISES in cell.metadata.get("tags", [])}
    assert tagged == set(REFUSALS), "only the refusal cells may be allowed to fail"


def test_binder_scripts_are_executable_and_start_hands_over() -> None:
    for name in ("postBuild", "start"):
        script = BINDER / name
        assert os.access(script, os.X_OK), f"binder/{name} is not executable"
        assert script.read_text().startswith("#!/usr/bin/env bash\n")
    post_build = (BINDER / "postBuild").read_text()
    assert "set -euo pipefail" in post_build
    for used in re.findall(r"binder/[\w.]+", post_build):
        assert (REPO / used).is_file(), f"postBuild uses {used}, which does not exist"
    last = [line for line in (BINDER / "start").read_text().splitlines() if line.strip()][-1]
    assert last == 'exec "$@"', "repo2docker's start must end by running its arguments"


def test_binder_environment_and_settings_are_valid() -> None:
    environment = yaml.safe_load((BINDER / "environment.yml").read_text())
    packages = " ".join(str(d) for d in environment["dependencies"])
    for needed in ("python=3.11", "nodejs", "jupyterlab", "pip"):
        assert needed in packages, f"environment.yml lacks {needed}"
    assert not (REPO / ".binder").exists(), "repo2docker refuses both binder/ and .binder/"

    overrides = json.loads((BINDER / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"

    workspace = json.loads((BINDER / "workspace.json").read_text())
    layout = workspace["data"]["layout-restorer:data"]
    assert workspace["metadata"]["id"] == "default"
    assert layout["left"]["current"] == "jupyter-masking-lineage"
    assert layout["main"]["current"] == "notebook:binder/demo.ipynb"


# -- the tour, executed -------------------------------------------------------------------


def _start_environment(home: Path) -> dict[str, str]:
    """The environment ``binder/start`` hands to the Jupyter server (HOME is ``home``)."""
    dump = "import json, os; print(json.dumps(dict(os.environ)))"
    shown = subprocess.run(
        [str(BINDER / "start"), sys.executable, "-c", dump],
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        check=True,
    )
    env: dict[str, str] = json.loads(shown.stdout)
    return env


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    """The notebook after one run, in a copy of binder/ with Binder's environment."""
    home = tmp_path_factory.mktemp("home")
    env = _start_environment(home)
    assert env["JUPYTER_MASKING_DATA_DIR"] == str(home / ".jupyter-masking")
    subprocess.run(
        [sys.executable, str(BINDER / "demo_identity.py"), "alice", "analysts"],
        env=env,
        check=True,
        capture_output=True,
    )
    assert Path(env["JUPYTER_MASKING_CONFIG"]).is_file(), "start names a config postBuild made"

    workdir = home / "binder"
    workdir.mkdir()
    for name in ("demo.ipynb", "demo_identity.py"):
        shutil.copy(BINDER / name, workdir / name)
    notebook = nbformat.read(workdir / "demo.ipynb", as_version=4)
    with pytest.MonkeyPatch.context() as patch:
        for key in ("JUPYTER_MASKING_DATA_DIR", "JUPYTER_MASKING_CONFIG", "HOME"):
            patch.setenv(key, env[key])
        patch.delenv("JUPYTER_MASKING_GATEWAY_URL", raising=False)
        patch.delenv("JUPYTER_MASKING_KEY", raising=False)
        # `!jupyter-masking ...` cells need the CLI of this environment on PATH
        patch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        client = NotebookClient(
            notebook,
            timeout=180,
            kernel_name="python3",
            resources={"metadata": {"path": str(workdir)}},
        )
        client.execute()
    return notebook


def _cell(notebook: nbformat.NotebookNode, cell_id: str) -> Any:
    return next(cell for cell in notebook.cells if cell.get("id") == cell_id)


def _lineage(notebook: nbformat.NotebookNode, cell_id: str) -> dict[str, Any]:
    for output in _cell(notebook, cell_id).outputs:
        if LINEAGE_MIME in output.get("data", {}):
            event: dict[str, Any] = output["data"][LINEAGE_MIME]
            return event
    raise AssertionError(f"cell {cell_id} has no lineage bundle")


def _columns(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {column["name"]: column for column in event["outputs"]}


def _text(cell: Any) -> str:
    """Everything a cell showed: streams, errors and every mime type of its displays."""
    parts: list[str] = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(f"{output.get('ename', '')}: {output.get('evalue', '')}")
        parts.extend(
            json.dumps(v) if not isinstance(v, str) else v for v in output.get("data", {}).values()
        )
    return "\n".join(parts)


def _raw_values() -> set[str]:
    """Sensitive raw values of the demo database, as they would appear if leaked."""
    frames = demo_frames()
    raw: set[str] = set()
    columns = {
        "customers": ("full_name", "email", "phone", "ssn", "street"),
        "orders": ("customer_email",),
        "payments": ("card_number", "iban"),
        "legacy_export": ("c1", "c2"),
    }
    for table, names in columns.items():
        for name in names:
            raw.update(str(v) for v in frames[table][name].dropna())
    free_text = " ".join(
        [*frames["support_tickets"]["body"].dropna(), *frames["legacy_export"]["payload"].dropna()]
    )
    raw.update(re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+\w", free_text))  # emails
    raw.update(re.findall(r"\b\d{4}[ -]\d{4}[ -]\d{4}[ -]\d{1,4}\b", free_text))  # cards
    raw.update(re.findall(r"\b(?:sk-|AKIA)[A-Za-z0-9]{12,}", free_text))  # API keys
    return raw


@pytest.mark.slow
def test_every_cell_runs_and_only_the_tagged_refusals_fail(tour: nbformat.NotebookNode) -> None:
    for cell in tour.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if cell.id in REFUSALS:
            assert len(errors) == 1, f"cell {cell.id} should have been refused"
            assert errors[0].ename == "Refused"
            assert REFUSALS[cell.id] in errors[0].evalue
            assert len(errors[0].traceback) <= 3, "a refusal is one line, not a traceback"
        else:
            assert not errors, f"cell {cell.id} failed: {errors[0].evalue if errors else ''}"
            assert cell.execution_count is not None


@pytest.mark.slow
def test_no_raw_sensitive_value_is_shown_except_where_the_policy_grants_it(
    tour: nbformat.NotebookNode,
) -> None:
    raw = _raw_values()
    assert len(raw) > 3000, "the raw sample is too small to mean anything"
    for cell in tour.cells:
        if cell.cell_type != "code" or cell.id == GRANTED:
            continue
        shown = _text(cell)
        leaked = sorted(value for value in raw if value in shown)
        assert not leaked, f"cell {cell.id} shows raw values: {leaked[:5]}"
    # the same check does find raw values where they are granted: it is not vacuous
    customers = demo_frames()["customers"].sort_values("id").head(3)
    granted = _text(_cell(tour, GRANTED))
    assert all(email in granted for email in customers["email"])
    assert not any(name in granted for name in customers["full_name"])


@pytest.mark.slow
def test_first_query_masks_by_policy_and_keeps_its_lineage(tour: nbformat.NotebookNode) -> None:
    event = _lineage(tour, "first-query")
    assert event["identity"] == {"user": "alice", "groups": ["analysts"], "actor": "human"}
    assert event["policy_version"].startswith("demo@")
    columns = _columns(event)
    expected = {
        "email": ("pseudonym", "default:pii.email"),
        "ssn": ("partial(keep_last=4)", "default:gov_id.us_ssn"),
        "date_of_birth": ("generalize(to=year)", "default:pii.date_of_birth"),
    }
    for name, (operator, rule) in expected.items():
        assert columns[name]["effect"] == "mask"
        assert (columns[name]["operator"], columns[name]["rule"]) == (operator, rule)
    assert columns["city"]["effect"] == "raw"
    shown = _text(_cell(tour, "attrs"))
    assert event["id"] in shown, "the attrs cell prints the event of the first query"


@pytest.mark.slow
def test_join_on_pseudonymised_emails_gives_the_raw_answer(tour: nbformat.NotebookNode) -> None:
    frames = demo_frames()
    joined = frames["orders"].merge(frames["customers"], left_on="customer_email", right_on="email")
    truth = joined.groupby("email")["amount"].agg(["count", "sum"])
    top = truth.sort_values("sum", ascending=False).head(5)
    event = _lineage(tour, "join")
    assert _columns(event)["email"]["operator"] == "pseudonym"
    shown = _text(_cell(tour, "join"))
    for count, total in zip(top["count"], top["sum"], strict=True):
        assert re.search(rf"\b{count}\b\s+{total:.2f}\b", shown), (count, total)


@pytest.mark.slow
def test_untagged_legacy_table_is_classified_by_content(tour: nbformat.NotebookNode) -> None:
    columns = _columns(_lineage(tour, "legacy"))
    assert (columns["c1"]["data_class"], columns["c1"]["detected_by"]) == ("pii.email", "content")
    assert (columns["c2"]["data_class"], columns["c2"]["detected_by"]) == ("pii.phone", "content")
    assert columns["payload"]["effect"] == "mask"
    assert columns["c3"]["effect"] == "raw"
    tickets = _columns(_lineage(tour, "tickets"))
    assert tickets["body"]["effect"] == "mask"
    assert "[REDACTED:financial.credit_card]" in _text(_cell(tour, "tickets"))


@pytest.mark.slow
def test_other_group_and_ai_actor_see_the_same_query_differently(
    tour: nbformat.NotebookNode,
) -> None:
    support = _lineage(tour, "support")
    assert support["identity"] == {"user": "sam", "groups": ["support"], "actor": "human"}
    assert _columns(support)["email"]["rule"] == "support-sees-contact"
    assert _columns(support)["email"]["effect"] == "raw"

    ai = _lineage(tour, "ai")
    assert ai["identity"] == {"user": "sam", "groups": ["support"], "actor": "ai:jupyter-ai"}
    for name in ("email", "phone"):
        assert _columns(ai)[name]["effect"] == "mask"
        assert _columns(ai)[name]["rule"] == "ai-never-raw"


@pytest.mark.slow
def test_explain_runs_nothing_and_the_audit_chain_holds_every_query(
    tour: nbformat.NotebookNode,
) -> None:
    explained = _text(_cell(tour, "explain"))
    assert "would run: 3 of 4 columns masked" in explained
    assert not any(LINEAGE_MIME in o.get("data", {}) for o in _cell(tour, "explain").outputs)
    audited = _text(_cell(tour, "audit"))
    # 6 answered queries and 2 refusals; --explain writes no event
    assert re.search(r"audit chain ok: 8 events", audited), audited
    assert '"sql": "SELECT id, full_name, email, phone, ssn, date_of_birth, city' in audited
    assert "LIMIT ?" in audited, "literals are replaced in the audit record"
