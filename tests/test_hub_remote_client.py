"""The remote client's own failure modes, without a hub (the hub tests cover the rest)."""

from __future__ import annotations

import socket

import pytest

from jupyter_masking.client import connect
from jupyter_masking.client.remote import GatewayUnavailable, RemoteClient
from jupyter_masking.errors import ConfigError


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_connect_returns_the_remote_client_when_the_gateway_url_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JUPYTER_MASKING_GATEWAY_URL", "http://127.0.0.1:1/services/gw")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "secret-token-value")
    client = connect()
    assert isinstance(client, RemoteClient)
    assert client.mode == "hub"
    assert client.url == "http://127.0.0.1:1/services/gw/"
    assert "secret-token-value" not in repr(client)


def test_without_a_hub_token_the_remote_client_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JUPYTER_MASKING_GATEWAY_URL", "http://127.0.0.1:1/")
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    monkeypatch.delenv("JPY_API_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="no JUPYTERHUB_API_TOKEN"):
        connect()


def test_a_gateway_url_without_http_is_refused() -> None:
    with pytest.raises(ConfigError, match="must start with http"):
        RemoteClient("file:///etc/passwd", "t")


def test_an_unreachable_gateway_is_one_clear_error_without_the_token() -> None:
    client = RemoteClient(f"http://127.0.0.1:{_closed_port()}/", "secret-token-value")
    with pytest.raises(GatewayUnavailable) as caught:
        client.whoami()
    text = str(caught.value)
    assert text.startswith("gateway unavailable: cannot reach the masking gateway at")
    assert "secret-token-value" not in text
