"""Who the gateway service takes a caller for: the hub's answer about the token, and only that."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_masking.errors import ConfigError, MaskingError, Refused
from jupyter_masking.hub.handlers import identity_from_hub


@pytest.mark.parametrize(
    ("model", "user", "groups"),
    [
        ({"kind": "user", "name": "alice", "groups": ["analysts"]}, "alice", ("analysts",)),
        ({"name": "bob@example.org", "groups": []}, "bob@example.org", ()),
        ({"name": "c", "groups": ["b", "a", "b"], "admin": True}, "c", ("a", "b")),
    ],
)
def test_a_hub_user_becomes_an_identity_with_its_hub_groups(
    model: dict[str, Any], user: str, groups: tuple[str, ...]
) -> None:
    identity = identity_from_hub(model)
    assert (identity.user, identity.groups, identity.actor) == (user, groups, "human")


@pytest.mark.parametrize(
    ("model", "error", "message"),
    [
        ({"kind": "service", "name": "cron", "groups": []}, Refused, "only hub users"),
        ({"kind": "user", "name": "alice"}, ConfigError, "did not report this user's groups"),
        ({"name": "alice", "groups": None}, ConfigError, "did not report"),
        ({"name": "alice", "groups": ["Data Science"]}, ConfigError, "policies cannot use"),
        ({"name": "al ice", "groups": []}, ConfigError, "policies cannot use"),
    ],
)
def test_anything_else_fails_closed(
    model: dict[str, Any], error: type[MaskingError], message: str
) -> None:
    with pytest.raises(error, match=message):
        identity_from_hub(model)
