"""A real notebook, a real kernel (nbclient), and the lineage served by the real server.

The client sends each cell's id in the execute request's metadata, as JupyterLab does, and
``JPY_SESSION_NAME`` is the notebook's absolute path, as Jupyter Server sets it. The kernel
writes lineage to the shared audit store; the server extension (pytest-jupyter) then serves
that cell's lineage at ``GET /jupyter-masking/api/events?path=<relative path>``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from tornado.websocket import websocket_connect

from jupyter_masking.demo.build import build_demo
from jupyter_masking.magic.result import LINEAGE_MIME

pytest_plugins = ("pytest_jupyter.jupyter_server",)

NOTEBOOKS = Path(__file__).parent / "fixtures" / "notebooks"
POLICY = Path(__file__).parents[1] / "jupyter_masking" / "demo" / "policy.yaml"
pytestmark = pytest.mark.slow


class LabLikeClient(NotebookClient):
    """nbclient plus what JupyterLab adds to each execute request: the cell id."""

    async def async_execute_cell(self, cell: Any, cell_index: int, *args: Any, **kw: Any) -> Any:
        assert self.kc is not None
        session = self.kc.session
        original = session.msg

        def msg(msg_type: str, content: Any = None, parent: Any = None, header: Any = None,
                metadata: Any = None) -> Any:  # fmt: skip
            if msg_type == "execute_request":
                metadata = {**(metadata or {}), "cellId": cell.get("id")}
            return original(msg_type, content, parent, header, metadata)

        session.msg = msg  # type: ignore[method-assign]
        try:
            return await super().async_execute_cell(cell, cell_index, *args, **kw)
        finally:
            session.msg = original  # type: ignore[method-assign]


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    demo = build_demo(tmp_path / "demo.duckdb")
    config = tmp_path / "gateway.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "connections": {"demo": {"url": f"duckdb:///{demo}"}},
                "default_connection": "demo",
                "policy": str(POLICY),
                "audit_store": str(tmp_path / "audit.sqlite3"),
                "local_identity": {"user": "alice", "groups": ["analysts"]},
            }
        )
    )
    monkeypatch.setenv("JUPYTER_MASKING_CONFIG", str(config))
    monkeypatch.setenv("JUPYTER_MASKING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("JUPYTER_MASKING_GATEWAY_URL", raising=False)
    return config


@pytest.fixture
def jp_server_config(gateway: Path) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_masking": True},
            "allow_unauthenticated_access": False,
        },
        "JupyterMaskingApp": {"poll_interval": 0},
    }


def place(name: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Copy a fixture notebook under the server root; the kernel learns its path as Lab's does."""
    target = root / "analysis" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(NOTEBOOKS / name, target)
    monkeypatch.setenv("JPY_SESSION_NAME", str(target))
    return target


async def execute(path: Path) -> Any:
    notebook = nbformat.read(path, as_version=4)
    client = LabLikeClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": path.parent}}
    )
    await client.async_execute()
    nbformat.write(notebook, path)
    return nbformat.read(path, as_version=4)


async def test_notebook_shows_masked_columns_saves_lineage_and_the_server_serves_it(
    jp_fetch: Any, jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = place("masked_demo.ipynb", jp_root_dir, monkeypatch)

    saved = await execute(path)

    cells = {cell.id: cell for cell in saved.cells}
    *progress, shown = cells["c-customers"].outputs
    assert shown.output_type == "execute_result"
    # a slow first query (opening the gateway) may leave its one-line progress display
    assert all(set(p.data) == {"text/plain"} for p in progress)
    html = shown.data["text/html"]
    assert 'class="jm-masked"' in html
    assert "pii.email · pseudonym · rule" in html
    assert "3 of 5 columns masked · policy demo@" in html
    assert "alice (analysts)" in html
    lineage = shown.data[LINEAGE_MIME]  # saved in the .ipynb itself
    assert lineage["cell_id"] == "c-customers"
    assert lineage["execution_count"] == cells["c-customers"].execution_count
    assert lineage["notebook"] in ("analysis/masked_demo.ipynb", str(path))
    masked = {o["name"] for o in lineage["outputs"] if o["effect"] == "mask"}
    assert masked == {"full_name", "email", "ssn"}
    assert "country" not in masked
    assert not [o for o in cells["c-capture"].outputs if o.output_type != "display_data"]
    assert cells["c-check"].outputs[0].text == "3 c-capture mask\n"

    response = await jp_fetch(
        "jupyter-masking", "api", "events", params={"path": "analysis/masked_demo.ipynb"}
    )
    served = json.loads(response.body)["events"]
    assert [e["cell_id"] for e in served] == ["c-customers", "c-capture"]
    assert served[0] == lineage


async def test_a_refused_query_stops_the_run_with_a_refused_error(
    jp_fetch: Any, jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = place("refused.ipynb", jp_root_dir, monkeypatch)

    with pytest.raises(CellExecutionError) as raised:
        await execute(path)

    assert raised.value.ename == "Refused"
    assert "DELETE" in raised.value.evalue
    response = await jp_fetch(
        "jupyter-masking", "api", "events", params={"path": "analysis/refused.ipynb"}
    )
    [event] = json.loads(response.body)["events"]
    assert (event["cell_id"], event["outcome"]) == ("r-delete", "refused")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _call(base: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": "token e2e", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())


async def _execute_over_websocket(url: str, cells: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Send execute requests as JupyterLab does (cellId in the metadata); collect results."""
    socket_ = await websocket_connect(url)
    results = []
    for cell_id, code in cells:
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": "execute_request", "session": "e2e",
                  "username": "e2e", "version": "5.3"}  # fmt: skip
        content = {"code": code, "silent": False, "store_history": True,
                   "user_expressions": {}, "allow_stdin": False}  # fmt: skip
        await socket_.write_message(
            json.dumps(
                {
                    "header": header,
                    "parent_header": {},
                    "channel": "shell",
                    "metadata": {"cellId": cell_id},
                    "content": content,
                }
            )
        )
        while True:
            message = json.loads(await socket_.read_message())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message["msg_type"] in ("execute_result", "error"):
                results.append(message)
            if message["msg_type"] == "execute_reply":
                break
    socket_.close()
    return results


def test_under_a_real_server_the_kernel_records_the_path_relative_to_the_root(
    tmp_path: Path, gateway: Path
) -> None:
    """A ``jupyter server`` process (base URL as under a hub) starts the kernel itself."""
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    port = _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    env.pop("JPY_SESSION_NAME", None)
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--allow-root",
            "--no-browser",
            f"--port={port}",
            "--IdentityProvider.token=e2e",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.base_url=/user/alice/",
            "--ServerApp.jpserver_extensions={'jupyter_masking': True}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/user/alice/"
    try:
        for _ in range(200):
            try:
                _call(base, "GET", "api/status")
                break
            except OSError:
                time.sleep(0.2)
        session = _call(
            base,
            "POST",
            "api/sessions",
            {
                "path": "sub/nb.ipynb",
                "type": "notebook",
                "name": "nb.ipynb",
                "kernel": {"name": "python3"},
            },
        )
        channels = (
            f"ws://127.0.0.1:{port}/user/alice/api/kernels/{session['kernel']['id']}"
            "/channels?token=e2e"
        )
        results = asyncio.run(
            _execute_over_websocket(
                channels,
                [
                    ("c-load", "%load_ext jupyter_masking"),
                    ("c-query", "%%masked_sql\nSELECT id, email FROM customers LIMIT 2"),
                ],
            )
        )
        [result] = results
        assert result["msg_type"] == "execute_result"
        assert LINEAGE_MIME in result["content"]["data"]

        events = _call(base, "GET", "jupyter-masking/api/events?path=sub/nb.ipynb")["events"]

        assert [(e["notebook"], e["cell_id"]) for e in events] == [("sub/nb.ipynb", "c-query")]
        assert events[0]["execution_count"] == result["content"]["execution_count"]
        assert events[0] == result["content"]["data"][LINEAGE_MIME]
    finally:
        server.terminate()
        server.wait(30)
        log.close()
