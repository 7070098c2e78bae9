"""Who is asking: the user, their groups, and whether a human or an AI tool acts for them.

An :class:`Identity` travels with every query through the gateway and into every
audit event. The *actor* says who typed the query: ``human`` or ``ai:<tool>``
(``ai:mcp:claude-desktop``, ``ai:jupyter-ai``). A client may declare a lower
actor than the one it authenticated as (a human session may say an AI tool is
acting), never a higher one.

>>> alice = Identity(user="alice", groups=("analysts",))
>>> alice.actor, alice.is_ai
('human', False)
>>> agent = alice.acting_as("ai:mcp:claude-desktop")
>>> agent.describe()
'alice via ai:mcp:claude-desktop (analysts)'
>>> agent.acting_as("human").actor
'ai:mcp:claude-desktop'
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass, field, replace

from jupyter_masking.errors import BadInput

HUMAN = "human"
AI_PREFIX = "ai:"

_NAME = re.compile(r"^[A-Za-z0-9_.@+\-]{1,128}$")
_ACTOR = re.compile(r"^(human|ai:[A-Za-z0-9_.@+:\-]{1,120})$")


def validate_actor(actor: str) -> str:
    """Return ``actor`` if it is ``human`` or ``ai:<tool>``; raise :class:`BadInput` otherwise."""
    if not _ACTOR.match(actor):
        raise BadInput(
            f"unknown actor {actor[:40]!r}",
            hint="use 'human' or 'ai:<tool>', for example 'ai:jupyter-ai'",
        )
    return actor


def validate_name(kind: str, name: str) -> str:
    """Return a user or group ``name`` if it is a plain identifier; raise :class:`BadInput`."""
    if not _NAME.match(name):
        raise BadInput(
            f"invalid {kind} name {name[:40]!r}",
            hint="names use letters, digits and _ . @ + - only",
        )
    return name


@dataclass(frozen=True)
class Identity:
    """Who is asking.

    Attributes:
        user: The user name (hub user, OS user, or configured).
        groups: The user's groups, as the hub or configuration reports them.
        actor: ``human`` or ``ai:<tool>``.
        notebook: The notebook path relative to the server root, when known.
        cell_id: The nbformat cell id, when known.
    """

    user: str
    groups: tuple[str, ...] = ()
    actor: str = HUMAN
    notebook: str | None = None
    cell_id: str | None = None
    source: str = field(default="local", compare=False)

    def __post_init__(self) -> None:
        validate_name("user", self.user)
        for group in self.groups:
            validate_name("group", group)
        validate_actor(self.actor)
        object.__setattr__(self, "groups", tuple(sorted(set(self.groups))))

    @property
    def is_ai(self) -> bool:
        """Whether an AI tool is acting."""
        return self.actor.startswith(AI_PREFIX)

    def acting_as(self, actor: str | None) -> Identity:
        """This identity with ``actor`` declared, if that lowers privileges; otherwise unchanged.

        Declaring ``human`` on an AI identity is ignored: a label may only lower privileges.
        """
        if actor is None or actor == self.actor:
            return self
        validate_actor(actor)
        if actor == HUMAN:
            return self
        return replace(self, actor=actor)

    def at(self, notebook: str | None, cell_id: str | None) -> Identity:
        """This identity with the notebook path and cell id it ran from."""
        return replace(self, notebook=notebook, cell_id=cell_id)

    def describe(self) -> str:
        """A short human-readable form: ``alice via ai:jupyter-ai (analysts)``."""
        text = self.user if not self.is_ai else f"{self.user} via {self.actor}"
        return f"{text} ({', '.join(self.groups)})" if self.groups else text

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "user": self.user,
            "groups": list(self.groups),
            "actor": self.actor,
            "notebook": self.notebook,
            "cell_id": self.cell_id,
        }


def local_user() -> str:
    """The local user name: ``JUPYTERHUB_USER`` under a hub, else the OS user."""
    name = os.environ.get("JUPYTERHUB_USER") or getpass.getuser()
    return name if _NAME.match(name) else "user"
