"""The gateway service process: signals, several processes, refusing to run outside a hub.

These start ``jupyter-masking gateway`` as a subprocess without a hub (only the
unauthenticated health check is used); the hub tests cover authenticated requests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "hub"))
import harness

pytestmark = pytest.mark.slow


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api",  # never called here
        "JUPYTERHUB_API_TOKEN": "unused",
        "JUPYTERHUB_SERVICE_PREFIX": "/services/gw/",
        "JUPYTER_MASKING_DATA_DIR": str(tmp_path),
    }


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = harness.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_masking", "gateway", "--port", str(port), *args],
        env=_env(tmp_path),
        stderr=subprocess.PIPE,
        # what a hub started from a non-interactive shell hands its services
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    url = f"http://127.0.0.1:{port}/services/gw/api/health"
    try:
        harness.wait_for(url, timeout=90)
    except TimeoutError:
        process.kill()
        raise
    return process, url


def test_the_service_stops_on_sigint_even_when_started_with_sigint_ignored(
    tmp_path: Path,
) -> None:
    process, _ = _start(tmp_path)
    try:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    assert b"masking gateway stopping" in err


def test_several_processes_share_the_port_restart_and_stop_together(tmp_path: Path) -> None:
    process, url = _start(tmp_path, "--processes", "2")
    try:
        deadline = time.monotonic() + 30
        while len(_children(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        first = _children(process.pid)
        assert len(first) == 2
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        second = _children(process.pid)
        while (len(second) < 2 or victim in second) and time.monotonic() < deadline + 30:
            time.sleep(0.1)
            second = _children(process.pid)
        assert len(second) == 2
        assert victim not in second  # replaced by a new process
        harness.wait_for(url, timeout=60)

        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:  # a failed test must not leave processes behind
            for child in _children(process.pid):
                os.kill(child, signal.SIGKILL)
            process.kill()
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    assert b"masking gateway stopping" in err  # a child still starting just exits
    assert not _children(process.pid)


def test_outside_a_hub_the_service_refuses_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in _env(tmp_path).items() if k != "JUPYTERHUB_API_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "jupyter_masking", "gateway", "--port", str(harness.free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "JUPYTERHUB_API_TOKEN is not set" in result.stderr


def test_a_broken_config_fails_once_with_a_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("connections: {warehouse: {url: 'postgresql://x', bogus: 1}}\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_masking",
            "gateway",
            "--config",
            str(config),
            "--port",
            str(harness.free_port()),
            "--processes",
            "2",
        ],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "bogus" in result.stderr
    assert "Traceback" not in result.stderr
