"""Gateway configuration: connections, key, policy, audit store and profiling settings.

One YAML (or JSON) file, validated with pydantic. Values may name environment
variables as ``${NAME}``, so credentials stay out of the file; they are expanded
when the file loads and never echoed. Without a file, the embedded defaults serve
the demo: the built-in DuckDB demo database, the demo policy, a per-user key and a
per-user SQLite audit store.

>>> config = GatewayConfig.model_validate(
...     {"connections": {"wh": {"url": "postgresql://u:p@db/wh"}}, "default_connection": "wh"}
... )
>>> config.connection("wh").statement_timeout_s
30.0
>>> try:
...     config.connection("nope")
... except ConfigError as error:
...     print(error)
configuration error: unknown connection 'nope'. Hint: known connections: wh
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jupyter_masking.errors import ConfigError

CONFIG_ENV = "JUPYTER_MASKING_CONFIG"
DATA_DIR_ENV = "JUPYTER_MASKING_DATA_DIR"

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConnectionSettings(BaseModel):
    """One database the gateway may query."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="SQLAlchemy URL; use ${ENV_VAR} for credentials")
    statement_timeout_s: float = Field(30.0, gt=0, description="per-query statement timeout")
    max_rows: int = Field(100_000, gt=0, description="row cap per query")

    def __repr__(self) -> str:
        return f"ConnectionSettings(url=<hidden>, statement_timeout_s={self.statement_timeout_s})"


class ProfileSettings(BaseModel):
    """How the catalog samples tables to classify columns by content."""

    model_config = ConfigDict(extra="forbid")

    sample_rows: int = Field(200, gt=0, le=10_000)
    ttl_s: float = Field(300.0, ge=0)


class LocalIdentity(BaseModel):
    """Who an embedded gateway acts for: the notebook's own user, with configured groups.

    Only embedded mode reads it (a laptop, Binder, a single-user server); under a hub
    gateway the hub token decides. ``user`` defaults to ``JUPYTERHUB_USER`` or the OS user.
    """

    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(None, description="user name; default: hub or OS user")
    groups: list[str] = Field(default_factory=list, description="the user's groups")


class GatewayConfig(BaseModel):
    """Everything the gateway holds that the notebook user must not."""

    model_config = ConfigDict(extra="forbid")

    connections: dict[str, ConnectionSettings] = Field(default_factory=dict)
    default_connection: str | None = None
    policy: str | None = Field(None, description="policy file or directory; built-in if unset")
    key_file: str | None = Field(None, description="pseudonym key file; else $JUPYTER_MASKING_KEY")
    audit_store: str | None = Field(None, description="sqlite path/URL or postgresql:// URL")
    profile: ProfileSettings = Field(default_factory=ProfileSettings)
    max_rows: int = Field(100_000, gt=0, description="default row cap when a request sets none")
    local_identity: LocalIdentity = Field(
        default_factory=LocalIdentity, description="embedded mode: the user and groups to act for"
    )

    @field_validator("connections")
    @classmethod
    def _names_are_identifiers(
        cls, value: dict[str, ConnectionSettings]
    ) -> dict[str, ConnectionSettings]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}", name):
                raise ValueError(f"connection name {name!r} must be a plain identifier")
        return value

    def connection(self, name: str | None) -> ConnectionSettings:
        """The settings of connection ``name`` (or the default one)."""
        chosen = name or self.default_connection
        if chosen is None:
            raise ConfigError(
                "no connection given and no default_connection configured",
                hint="pass a connection name or set default_connection",
            )
        if chosen not in self.connections:
            known = ", ".join(sorted(self.connections)) or "none"
            raise ConfigError(f"unknown connection {chosen!r}", hint=f"known connections: {known}")
        return self.connections[chosen]


def with_demo(config: GatewayConfig, demo: Path) -> GatewayConfig:
    """``config`` with the demo database as connection ``demo`` when it has no connections."""
    if config.connections:
        return config
    return config.model_copy(
        update={
            "connections": {"demo": ConnectionSettings(url=f"duckdb:///{demo}")},
            "default_connection": "demo",
        }
    )


def data_dir() -> Path:
    """Where per-user files live: ``$JUPYTER_MASKING_DATA_DIR`` or the platform data directory."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("jupyter-masking", appauthor=False))


def load_config(path: str | Path | None = None) -> GatewayConfig:
    """Load the config at ``path`` or ``$JUPYTER_MASKING_CONFIG``; an empty config if neither."""
    location = path or os.environ.get(CONFIG_ENV)
    if not location:
        return GatewayConfig()
    file = Path(location).expanduser()
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise ConfigError(f"cannot read config {file}: {error.strerror}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{file}{where}: not valid YAML") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: the config must be a mapping")
    try:
        return GatewayConfig.model_validate(_expand_env(raw, str(file)))
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{file}: {field}: {first['msg']}") from None


def _expand_env(value: Any, source: str) -> Any:
    if isinstance(value, str):
        return _ENV_REF.sub(lambda m: _env(m.group(1), source), value)
    if isinstance(value, dict):
        return {k: _expand_env(v, source) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, source) for v in value]
    return value


def _env(name: str, source: str) -> str:
    if name not in os.environ:
        raise ConfigError(f"{source}: environment variable {name} is not set")
    return os.environ[name]
