"""``MaskingTools`` without a transport: how the actor reaches each kind of gateway client."""

from __future__ import annotations

from typing import Any

from jupyter_masking.client.remote import RemoteClient
from jupyter_masking.mcp.limits import Caps
from jupyter_masking.mcp.results import tables_result
from jupyter_masking.mcp.tools import MaskingTools

TABLE = {
    "table": "main.t",
    "kind": "table",
    "columns": [{"name": "email", "type": "VARCHAR", "data_class": "pii.email", "effect": "raw"}],
}


class Recording:
    """A hub-style client that remembers the actor each call declared."""

    def __init__(self, actor: str | None = None, seen: list[str | None] | None = None) -> None:
        self.actor = actor
        self.seen = seen if seen is not None else []

    def with_actor(self, actor: str | None) -> Recording:
        return Recording(actor, self.seen)

    def describe(self, connection: str | None = None) -> list[dict[str, Any]]:
        self.seen.append(self.actor)
        return [TABLE]

    def close(self) -> None:
        pass


class Humanish:
    """A client with no way to declare an actor: it would answer as the human."""

    def describe(self, connection: str | None = None) -> list[dict[str, Any]]:
        raise AssertionError("must not be asked")

    def close(self) -> None:
        pass


def test_when_the_client_is_remote_then_describe_declares_the_ai_actor() -> None:
    client = Recording()
    result = MaskingTools(client).describe_tables(actor="ai:mcp:x")  # type: ignore[arg-type]
    assert not result.is_error
    assert client.seen == ["ai:mcp:x"]


def test_the_hub_client_keeps_the_declared_actor_for_every_request() -> None:
    remote = RemoteClient("http://127.0.0.1:9/", "token")
    declared = MaskingTools(remote)._client("ai:mcp:claude")
    assert isinstance(declared, RemoteClient)
    assert (declared.actor, remote.actor) == ("ai:mcp:claude", None)


def test_when_a_client_cannot_declare_an_actor_then_the_call_is_refused() -> None:
    result = MaskingTools(Humanish()).describe_tables(actor="ai:mcp:x")  # type: ignore[arg-type]
    assert result.is_error
    assert result.structured_content == {
        "error": {
            "code": "config_error",
            "message": "the Humanish gateway client cannot declare an AI actor",
            "hint": "use the embedded or the hub client",
        }
    }


def test_when_tables_pass_the_byte_cap_then_later_tables_are_left_out() -> None:
    tables = [{**TABLE, "table": f"main.t{i}"} for i in range(100)]
    result = tables_result(tables, Caps(max_bytes=2048), actor="ai:mcp:x")
    data = result.structured_content
    assert data["capped"] == "bytes"
    assert 0 < len(data["tables"]) < 100
    assert [t["table"] for t in data["tables"]] == [
        f"main.t{i}" for i in range(len(data["tables"]))
    ]
