"""The docs check: every command shown in the README (and the docs pages it covers) runs.

Each fenced shell or Python block is run, in order, by a reader who starts in a scratch
directory at the repository root's layout, or it carries a marker comment on the line
right before it saying why not:

* ``<!-- illustrative: why -->``: placeholders, long-running servers, changes to the machine;
* ``<!-- notebook: ... -->``: every line appears in ``binder/demo.ipynb``, which
  ``tests/test_demo_notebook.py`` runs;
* ``<!-- ci: ... -->``: the Quickstart block; its first line runs here after the install, its
  second is what ``.ci/run`` runs.

YAML blocks are checked as well: a policy is linted, a list of cases right after a policy is
run as that policy's tests, and a gateway config is validated.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

#: The pages the check covers, in reading order (other pages belong to their own authors).
CHECKED = (
    "README.md",
    "docs/magic.md",
    "docs/sidebar.md",
    "docs/refusals.md",
    "docs/connections.md",
    "docs/policy.md",
    "docs/audit.md",
    "docs/detection.md",
    "docs/binder.md",
)

#: Links to files that other work adds; a missing one is not an error yet.
PENDING_LINKS = frozenset({"SECURITY.md"})

RUNNERS = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python"}
UNRUNNABLE = frozenset({"console", "ipython"})  # need a marker: prompts, magics
MARKERS = ("illustrative", "notebook", "ci")
_MARKER = re.compile(r"^<!--\s*(\w[\w-]*)\b.*-->$")
_FENCE = re.compile(r"^```([\w+-]*)\s*$")
BLOCK_TIMEOUT_S = 300
PYTHON_PRELUDE = "from traitlets.config import Config\nc = Config()  # as in jupyterhub_config.py\n"


@dataclass(frozen=True)
class Block:
    """One fenced code block of a markdown page."""

    page: str
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    marker: str | None

    def where(self) -> str:
        return f"{self.page}:{self.line} ({self.lang or 'no language'})"


def parse_blocks(page: str) -> list[Block]:
    """The fenced blocks of ``page``, each with the marker comment right before it, if any."""
    lines = (REPO / page).read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        end = next((i for i in range(index + 1, len(lines)) if lines[i].strip() == "```"), None)
        assert end is not None, f"{page}:{index + 1}: unclosed code block"
        before = next((lines[i].strip() for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        marker = _MARKER.match(before)
        found.append(
            Block(
                page=page,
                line=index + 1,
                lang=fence.group(1).lower(),
                text="\n".join(lines[index + 1 : end]) + "\n",
                marker=marker.group(1) if marker else None,
            )
        )
        index = end + 1
    return found


def all_blocks() -> list[Block]:
    return [block for page in CHECKED for block in parse_blocks(page)]


def _commands(block: Block) -> list[str]:
    return [line.strip() for line in block.text.splitlines() if line.strip()]


def _quickstart() -> Block:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Quickstart\s*$(.*?)(?=^## |\Z)", readme, re.S | re.M)
    assert section is not None, "README.md has no '## Quickstart' section"
    start = readme[: section.start(1)].count("\n") + 1
    end = start + section.group(1).count("\n")
    blocks = [b for b in parse_blocks("README.md") if start <= b.line <= end]
    assert len(blocks) == 1, "the Quickstart holds exactly one code block"
    return blocks[0]


# -- structure: cheap, always run ---------------------------------------------------------


def test_every_code_block_has_a_language_and_markers_are_known() -> None:
    for block in all_blocks():
        assert block.lang, f"{block.where()}: name the block's language"
        assert block.marker in (None, *MARKERS), f"{block.where()}: unknown marker {block.marker}"
        if block.lang in UNRUNNABLE:
            assert block.marker, f"{block.where()}: {block.lang} blocks cannot run; mark them"


def test_unmarked_command_blocks_are_runnable() -> None:
    runnable = [b for b in all_blocks() if b.lang in RUNNERS and b.marker is None]
    assert len(runnable) >= 10, "the check would be vacuous"
    for block in runnable:
        # placeholders would only fail later, at run time, with a less clear message
        assert not re.search(r"\b(?:old|new|your)[._-]?\w*\.ya?ml\b|\.\.\.|…", block.text), (
            f"{block.where()}: placeholders in a block that runs; mark it illustrative"
        )


def test_notebook_blocks_appear_line_by_line_in_the_demo_notebook() -> None:
    notebook = nbformat.read(REPO / "binder" / "demo.ipynb", as_version=4)
    code = {
        line.strip()
        for cell in notebook.cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
    }
    marked = [b for b in all_blocks() if b.marker == "notebook"]
    assert marked, "no block points at the notebook"
    for block in marked:
        for line in _commands(block):
            assert line in code, f"{block.where()}: {line!r} is not in binder/demo.ipynb"


def test_quickstart_is_two_lines_and_ci_runs_the_second() -> None:
    block = _quickstart()
    assert (block.lang, block.marker) == ("bash", "ci")
    demo, tests = _commands(block)
    assert demo.startswith("pip install . && jupyter-masking ")
    assert tests.startswith('pip install -e ".[test]" && ')
    for step in ("ruff check .", "ruff format --check .", "mypy", "pytest -n 2"):
        assert f" {step} " in f" {tests} ", f"the test line lost {step!r}"
    assert tests.endswith(" && jlpm test && jlpm lint:check")
    printed = subprocess.run(
        [sys.executable, str(REPO / ".ci" / "quickstart.py"), "test"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert printed.stdout.strip() == tests
    assert "quickstart.py test" in (REPO / ".ci" / "run").read_text()


def test_relative_links_point_to_files() -> None:
    link = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
    for page in CHECKED:
        text = (REPO / page).read_text(encoding="utf-8")
        for target in link.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = target.split("#", 1)[0]
            resolved = ((REPO / page).parent / path).resolve()
            if resolved.relative_to(REPO).as_posix() in PENDING_LINKS:
                continue
            assert resolved.exists(), f"{page}: link to {target}, which does not exist"


def test_yaml_blocks_are_valid_policies_tests_and_configs(tmp_path: Path) -> None:
    from jupyter_masking.config import GatewayConfig
    from jupyter_masking.policy.engine import PolicyEngine

    checked = {"policy": 0, "tests": 0, "config": 0}
    for page in CHECKED:
        policy: Path | None = None
        for number, block in enumerate(b for b in parse_blocks(page) if b.lang == "yaml"):
            data = yaml.safe_load(block.text)
            if isinstance(data, dict) and "rules" in data:
                policy = tmp_path / f"{Path(page).stem}-{number}.yaml"
                policy.write_text(block.text)
                PolicyEngine.load(policy)  # raises PolicyError naming file:line
                checked["policy"] += 1
            elif isinstance(data, list) and policy is not None:
                cases = tmp_path / f"{Path(page).stem}-{number}-tests.yaml"
                cases.write_text(block.text)
                ran = _cli("policy", "test", str(policy), str(cases))
                assert ran.returncode == 0, f"{block.where()}: {ran.stdout}{ran.stderr}"
                checked["tests"] += 1
            elif isinstance(data, dict) and "connections" in data:
                GatewayConfig.model_validate(data)
                checked["config"] += 1
    assert all(checked.values()), f"some kind of YAML block was never checked: {checked}"


def test_json_blocks_parse() -> None:
    for block in all_blocks():
        if block.lang == "json":
            json.loads(block.text)


# -- running the commands -------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_masking", *args],
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
    )


def _sandbox(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A scratch working directory laid out like the repository root, with its own data dir."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "jupyter_masking").symlink_to(REPO / "jupyter_masking", target_is_directory=True)
    (work / "binder").symlink_to(REPO / "binder", target_is_directory=True)
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("JUPYTER_MASKING_")
    }
    env["JUPYTER_MASKING_DATA_DIR"] = str(tmp_path / "data")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return work, env


def _runnable(block: Block) -> tuple[str, str] | None:
    """``(runner, code)`` for a block this check runs, or ``None``."""
    if block.marker == "ci":
        # the first Quickstart line without its install step: this environment has it
        steps = _commands(block)[0].split(" && ")
        return "bash", " && ".join(s for s in steps if not s.startswith("pip install"))
    if block.marker is not None or block.lang not in RUNNERS:
        return None
    runner = RUNNERS[block.lang]
    return runner, (PYTHON_PRELUDE + block.text) if runner == "python" else block.text


@pytest.mark.slow
@pytest.mark.parametrize("page", CHECKED)
def test_commands_run_in_order(page: str, tmp_path: Path) -> None:
    work, env = _sandbox(tmp_path)
    for block in parse_blocks(page):
        runnable = _runnable(block)
        if runnable is None:
            continue
        runner, code = runnable
        command = (
            ["bash", "-euo", "pipefail", "-c", code]
            if runner == "bash"
            else [sys.executable, "-c", code]
        )
        ran = subprocess.run(
            command, cwd=work, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S
        )
        assert ran.returncode == 0, (
            f"{block.where()} failed with exit {ran.returncode}:\n{block.text}\n"
            f"--- stdout\n{ran.stdout[-2000:]}\n--- stderr\n{ran.stderr[-2000:]}"
        )
