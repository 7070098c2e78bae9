"""Fixtures for the browser test: a real ``jupyter lab`` and Debian's Chromium driven by Playwright.

The lab runs from this environment (so it serves the installed ``jupyter-masking``
labextension, exactly as ``pip install`` put it there) with a temporary root, config,
settings and workspace folder. Chromium comes from Debian (``apt-get install chromium``);
Playwright's own browser download does not work here.

Where Chromium or Playwright is missing the tests skip with the reason; CI sets
``JM_REQUIRE_SERVICES=1`` so that a missing browser fails the run instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_lab import Lab

CHROMIUM = os.environ.get("JM_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("JM_REQUIRE_SERVICES") == "1"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FIXTURES = Path(__file__).parent / "fixtures"
BINDER = Path(__file__).resolve().parents[2] / "binder"
START_TIMEOUT = 90.0


def _missing(reason: str) -> None:
    if REQUIRE:
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _labextension_installed() -> bool:
    from jupyter_core.paths import jupyter_path

    return any(
        (Path(base) / "jupyter-masking" / "package.json").is_file()
        for base in jupyter_path("labextensions")
    )


def _wait_until_up(lab: Lab, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    status = f"{lab.url}api/status?token={lab.token}"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(status, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(
        f"jupyter lab did not answer in {START_TIMEOUT} s:\n{log.read_text()[-3000:]}"
    )


def _lab_environment(base: Path) -> dict[str, str]:
    """Jupyter's config, runtime, settings and workspace folders, all under ``base``."""
    return {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }


def _quiet_news(settings: Path) -> None:
    # P11: the "get notified about Jupyter news?" toast would cover the sidebar screenshot.
    notification = (
        settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    )
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


@contextlib.contextmanager
def _running_lab(
    base: Path, root: Path, env: dict[str, str], extra: tuple[str, ...] = ()
) -> Iterator[Lab]:
    """``jupyter lab`` on a free port serving ``root``, stopped (by its PID) on exit."""
    port = _free_port()
    token = secrets.token_hex(16)
    log = base / "lab.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",  # P1: CI runs as root
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",  # P2: ServerApp.token is deprecated
        "--LabApp.news_url=None",
        "--ServerApp.port_retries=0",
        *extra,
    ]
    with log.open("wb") as sink:
        # P12: started as its own process (no shell), so this PID is the server's.
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    lab = Lab(url=f"http://127.0.0.1:{port}/", token=token, root=root)
    try:
        _wait_until_up(lab, process, log)
        yield lab
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Start ``jupyter lab`` on a free port with the fixture notebooks in a temporary root."""
    if not _labextension_installed():
        _missing("the jupyter-masking labextension is not installed: run pip install -e .")
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    for notebook in FIXTURES.glob("*.ipynb"):
        shutil.copy(notebook, root / notebook.name)
    _quiet_news(base / "settings")
    with _running_lab(base, root, _lab_environment(base)) as lab:
        yield lab


@pytest.fixture(scope="session")
def binder_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """``jupyter lab`` set up as Binder sets it up, serving a copy of the repository's binder/.

    The steps of ``binder/postBuild`` that configure Jupyter run for real against temporary
    folders: ``binder/start`` gives the environment, ``demo_identity.py`` the demo database and
    alice's config, ``jupyter lab workspaces import`` the layout with the sidebar open, and
    ``overrides.json`` is the app settings. The server extension is enabled explicitly, since
    an editable install made before it existed may lack its config file.
    """
    if not _labextension_installed():
        _missing("the jupyter-masking labextension is not installed: run pip install -e .")
    base = tmp_path_factory.mktemp("binder")
    home = base / "home"
    (home / "binder").mkdir(parents=True)
    for name in ("demo.ipynb", "demo_identity.py", "workspace.json"):
        shutil.copy(BINDER / name, home / "binder" / name)
    dump = "import json, os; print(json.dumps(dict(os.environ)))"
    started = subprocess.run(
        [str(BINDER / "start"), sys.executable, "-c", dump],
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        check=True,
    )
    env = {**json.loads(started.stdout), **_lab_environment(base)}
    env.pop("JUPYTER_MASKING_GATEWAY_URL", None)
    env.pop("JUPYTER_MASKING_KEY", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    demo_identity = [sys.executable, str(BINDER / "demo_identity.py"), "alice", "analysts"]
    subprocess.run(demo_identity, env=env, check=True, capture_output=True)
    workspace = ["workspaces", "import", "binder/workspace.json"]
    subprocess.run(
        [sys.executable, "-m", "jupyterlab.labapp", *workspace],
        cwd=home,
        env=env,
        check=True,
        capture_output=True,
    )
    app_settings = base / "app-settings"
    app_settings.mkdir()
    shutil.copy(BINDER / "overrides.json", app_settings / "overrides.json")
    config = base / "config"
    config.mkdir(exist_ok=True)
    enable = {"ServerApp": {"jpserver_extensions": {"jupyter_masking": True}}}
    (config / "jupyter_server_config.json").write_text(json.dumps(enable))
    with _running_lab(base, home, env, (f"--LabApp.app_settings_dir={app_settings}",)) as lab:
        yield lab


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> None:
    """Stands in for pytest-jupyter's autouse loop fixture in the browser tests.

    Playwright's sync API keeps its own event loop running on this thread while the browser
    is open; pytest-jupyter's fixture would try to close that loop after every test.
    """


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> None:
    """Stands in for pytest-jupyter's autouse server cleanup, which needs its loop fixture.

    The browser tests run ``jupyter lab`` as a subprocess: there is no in-process server.
    """


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium through Playwright (no Playwright browser download, no video).

    Module-scoped so Playwright's event loop stops with the module: later tests on the same
    xdist worker (pytest-jupyter's among them) must not find a running loop.
    """
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} not found: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Python playwright is not installed: pip install playwright")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page of a fixed size (screenshots stay comparable)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """``test-artifacts/`` at the repository root (gitignored), for screenshots."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
