"""A real JupyterHub on loopback for the hub tests and the load benchmark.

Starts ``jupyterhub`` (configurable-http-proxy from ``tests/hub/node_modules``, the local
process spawner, ``--allow-root`` for single-user servers), with the masking gateway
registered by ``jupyter_masking.hub.configure`` and an admin service whose token the
tests use to create users' tokens, start their servers and run code in their kernels.

The node tools are installed on first use with ``npm ci --prefix tests/hub`` (~10 s, once).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
CHP = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
VENV_BIN = Path(sys.executable).parent
SERVICE = "masking-gateway"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def chp_problem() -> str | None:
    """Why the hub cannot start here, or ``None``; installs the node tools on first use."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are not installed"
    if not CHP.exists():
        import fcntl
        import subprocess

        # One pytest-xdist worker installs while the others wait on the lock.
        with open(HERE / ".npm-install.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not CHP.exists():
                done = subprocess.run(
                    ["npm", "ci", "--prefix", str(HERE), "--no-audit", "--no-fund"],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
                    return f"`npm ci --prefix {HERE}` failed: {tail[0]}"
    return None


def require(problem: str | None) -> None:
    """Skip the test for ``problem`` (fail it in CI, where ``JM_REQUIRE_SERVICES=1``)."""
    if problem is None:
        return
    import pytest

    if os.environ.get("JM_REQUIRE_SERVICES") == "1":
        pytest.fail(problem)
    pytest.skip(problem)


@dataclass
class Hub:
    """A running hub: its URLs, the admin token and the processes to stop."""

    root: Path
    public_url: str
    api_url: str
    gateway_url: str
    admin_token: str
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    users: dict[str, str] = field(default_factory=dict)  # name -> API token
    config_file: Path | None = None

    # -- hub REST API ----------------------------------------------------------------------

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call the hub API as the admin service."""
        headers = {"Authorization": f"token {self.admin_token}", **kwargs.pop("headers", {})}
        return requests.request(
            method, f"{self.api_url}{path}", headers=headers, timeout=30, **kwargs
        )

    def token_for(self, user: str, scopes: Iterable[str] | None = None) -> str:
        """A new API token of ``user`` (default: what a single-user server's token gets)."""
        body: dict[str, Any] = {"note": "jupyter-masking test"}
        body["scopes"] = list(
            scopes
            if scopes is not None
            else [f"access:services!service={SERVICE}", "read:users:groups!user"]
        )
        reply = self.api("POST", f"/users/{user}/tokens", json=body)
        reply.raise_for_status()
        token: str = reply.json()["token"]
        return token

    def start_server(self, user: str, timeout: float = 90) -> None:
        """Start ``user``'s single-user server and wait until it is ready."""
        reply = self.api("POST", f"/users/{user}/server")
        if reply.status_code not in (201, 202, 400):  # 400: already running
            raise RuntimeError(f"spawn {user}: {reply.status_code} {reply.text}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"/users/{user}").json()
            server = model.get("servers", {}).get("", {})
            if server.get("ready"):
                return
            time.sleep(0.5)
        raise TimeoutError(f"{user}'s server did not become ready; see {self.log_path}")

    def server_url(self, user: str) -> str:
        """The user's server, through the proxy."""
        return f"{self.public_url}/user/{user}/"

    # -- life cycle --------------------------------------------------------------------------

    def start(self, timeout: float = 60) -> None:
        """Start the hub process and wait for its API and the gateway service."""
        assert self.config_file is not None
        self.log_path = self.root / "jupyterhub.log"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(self.config_file)],
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "JUPYTERHUB_CRYPT_KEY": secrets.token_hex(32)},
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._kill_orphans()
                raise RuntimeError(f"jupyterhub exited; see {self.log_path}:\n{self.log_tail()}")
            try:
                if self.api("GET", "").status_code == 200 and self.gateway_up():
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"the hub did not start; see {self.log_path}:\n{self.log_tail()}")

    def _kill_orphans(self) -> None:
        """A hub that crashed leaves its proxy running: stop it by its pid file."""
        pid_file = self.root / "proxy.pid"
        if not pid_file.exists():
            return
        with contextlib.suppress(ValueError, OSError):
            pid = int(pid_file.read_text().strip())
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            port = self.public_url.rsplit(":", 1)[1]
            # only this hub's proxy: the pid may have been reused since
            if "configurable-http-proxy" in command and f"--port {port} " in command:
                os.kill(pid, signal.SIGTERM)
        pid_file.unlink(missing_ok=True)

    def gateway_up(self) -> bool:
        """Whether the gateway service answers its health check."""
        try:
            return requests.get(f"{self.gateway_url}api/health", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def stop(self, timeout: float = 40) -> float:
        """SIGTERM the hub (it stops the proxy, services and servers); the seconds it took."""
        if self.process is None or self.process.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._kill_orphans()
        return time.monotonic() - started

    def log_tail(self, lines: int = 40) -> str:
        """The end of the hub's log."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def write_hub(
    root: Path,
    gateway_config: Path,
    *,
    groups: Mapping[str, list[str]],
    service_env: Mapping[str, str] | None = None,
    extra_config: str = "",
    workers: int = 4,
    gateway_args: Iterable[str] = (),
) -> Hub:
    """Write ``jupyterhub_config.py`` for a loopback hub with the gateway; do not start it."""
    root.mkdir(parents=True, exist_ok=True)
    proxy_port, hub_port, api_port, gateway_port = (free_port() for _ in range(4))
    admin_token = secrets.token_hex(24)
    users = sorted({u for members in groups.values() for u in members})
    config = textwrap.dedent(
        f"""
        import sys
        from jupyter_masking.hub import configure

        c = get_config()  # noqa: F821
        c.JupyterHub.bind_url = "http://127.0.0.1:{proxy_port}"
        c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
        c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
        c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]
        c.ConfigurableHTTPProxy.pid_file = {str(root / "proxy.pid")!r}
        c.JupyterHub.db_url = "sqlite:///{root / "jupyterhub.sqlite"}"
        c.JupyterHub.cookie_secret_file = {str(root / "cookie_secret")!r}
        c.JupyterHub.pid_file = {str(root / "jupyterhub.pid")!r}
        c.JupyterHub.authenticator_class = "dummy"
        c.Authenticator.allowed_users = {set(users)!r}
        c.JupyterHub.load_groups = {json.dumps({g: {"users": m} for g, m in groups.items()})}
        c.JupyterHub.spawner_class = "simple"
        c.SimpleLocalProcessSpawner.home_dir_template = {str(root / "home" / "{username}")!r}
        c.Spawner.cmd = [{str(VENV_BIN / "jupyterhub-singleuser")!r}]
        c.Spawner.args = ["--allow-root"]
        c.Spawner.start_timeout = 60
        c.Spawner.http_timeout = 60
        c.JupyterHub.services = [{{"name": "test-admin", "api_token": {admin_token!r}}}]
        c.JupyterHub.load_roles = [{{
            "name": "test-admin",
            "scopes": ["admin:users", "admin:servers", "tokens", "admin:groups",
                       "access:servers", "read:users", "access:services"],
            "services": ["test-admin"],
        }}]
        configure(
            c,
            {str(gateway_config)!r},
            port={gateway_port},
            environment={dict(service_env or {})!r},
            workers={workers},
            extra_args={list(gateway_args)!r},
        )
        """
    )
    config_file = root / "jupyterhub_config.py"
    config_file.write_text(config + extra_config)
    return Hub(
        root=root,
        public_url=f"http://127.0.0.1:{proxy_port}",
        api_url=f"http://127.0.0.1:{proxy_port}/hub/api",
        gateway_url=f"http://127.0.0.1:{gateway_port}/services/{SERVICE}/",
        admin_token=admin_token,
        config_file=config_file,
    )


# -- running code in a user's real kernel -------------------------------------------------


class KernelError(RuntimeError):
    """Code run in the kernel raised; the message is the kernel's ``ename: evalue``."""


def start_kernel(hub: Hub, user: str) -> str:
    """Start a kernel in ``user``'s server; its id."""
    reply = requests.post(
        f"{hub.server_url(user)}api/kernels",
        headers={"Authorization": f"token {hub.admin_token}"},
        json={"name": "python3"},
        timeout=60,
    )
    reply.raise_for_status()
    kernel_id: str = reply.json()["id"]
    return kernel_id


def run_in_kernel(hub: Hub, user: str, kernel_id: str, code: str, timeout: float = 120) -> str:
    """Execute ``code`` in the kernel over the server's websocket; its stdout."""
    import asyncio

    return asyncio.run(_execute(hub, user, kernel_id, code, timeout))


async def _execute(hub: Hub, user: str, kernel_id: str, code: str, timeout: float) -> str:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    url = hub.server_url(user).replace("http://", "ws://") + f"api/kernels/{kernel_id}/channels"
    request = HTTPRequest(url, headers={"Authorization": f"token {hub.admin_token}"})
    socket_ = await websocket_connect(request)
    msg_id = uuid.uuid4().hex
    session = uuid.uuid4().hex
    socket_.write_message(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "msg_type": "execute_request",
                    "username": user,
                    "session": session,
                    "date": "",
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {"cellId": "hub-test-cell"},
                "content": {
                    "code": code,
                    "silent": False,
                    "store_history": True,
                    "user_expressions": {},
                    "allow_stdin": False,
                    "stop_on_error": True,
                },
                "channel": "shell",
                "buffers": [],
            }
        )
    )
    out: list[str] = []
    error: str | None = None
    deadline = time.monotonic() + timeout
    try:
        while True:
            import asyncio

            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the kernel did not finish in time")
            raw = await asyncio.wait_for(socket_.read_message(), remaining)
            if raw is None:
                raise RuntimeError("the kernel websocket closed")
            message = json.loads(raw)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message["msg_type"]
            content = message["content"]
            if kind == "stream" and content.get("name") == "stdout":
                out.append(content["text"])
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                break
    finally:
        socket_.close()
    if error is not None:
        raise KernelError(error)
    return "".join(out)


def wait_for(url: str, timeout: float = 60) -> None:
    """Wait until ``url`` answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or busy starting
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {timeout} s")
