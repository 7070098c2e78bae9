"""The handle on a running ``jupyter lab`` that the UI tests share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Lab:
    """A running ``jupyter lab``: its URL, token and root folder."""

    url: str
    token: str
    root: Path

    def page_url(self, notebook: str) -> str:
        """The URL that opens ``notebook`` in a fresh workspace."""
        return f"{self.url}lab/tree/{notebook}?reset&token={self.token}"
