"""A policy edited while a gateway serves: good edits apply, broken ones keep the last good policy.

Long-running gateways (hub service, Jupyter server extension, MCP server, a kernel's embedded
gateway) all read the policy through :class:`~jupyter_masking.policy.PolicyHolder`, which
notices edits by the files' modification stamps. These tests edit the file under a serving
embedded client and check what queries and ``whoami`` see.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from test_attack_harness import lab_config, lab_policy
from test_fuzz_harness import load_duckdb

from jupyter_masking.client.embedded import EmbeddedClient
from jupyter_masking.errors import Refused
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.gateway.pipeline import Gateway
from jupyter_masking.identity import Identity
from jupyter_masking.policy import PolicyHolder

SUPPORT = Identity("sam", ("support",))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[EmbeddedClient, Path]]:
    config = lab_config(tmp_path, {"duckdb": load_duckdb(tmp_path / "lab.duckdb")})
    policy = Path(str(config.policy))  # the file lab_config wrote
    gateway = Gateway.from_config(config)
    gateway.policy.check_interval_s = 0  # look at the file on every query
    client = EmbeddedClient(gateway, SUPPORT)
    try:
        yield client, policy
    finally:
        client.close()


def edit(path: Path, text: str) -> None:
    """Rewrite ``path`` and move its mtime on, as a save some time later would."""
    stat = path.stat()
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def emails(client: EmbeddedClient) -> list[str]:
    return list(client.query(QueryRequest(sql="SELECT email FROM customers")).frame["email"])


def without_support_grant(policy: Path) -> str:
    data = yaml.safe_load(policy.read_text(encoding="utf-8"))
    data["rules"] = [r for r in data["rules"] if r["id"] != "support-sees-contact"]
    return yaml.safe_dump(data, sort_keys=False)


def test_a_valid_edit_applies_to_the_next_query_without_a_restart(
    served: tuple[EmbeddedClient, Path],
) -> None:
    client, policy = served
    raw = emails(client)  # support sees contact details raw
    before = client.whoami()["policy_version"]
    edit(policy, without_support_grant(policy))
    masked = emails(client)
    assert masked != raw
    assert not set(masked) & set(raw)
    who = client.whoami()
    assert who["policy_version"] != before
    assert who["policy_error"] is None
    event = client.events(limit=1)[0]
    assert event.policy_version == who["policy_version"]


@pytest.mark.parametrize(
    "broken",
    [
        "rules: [unclosed",  # YAML syntax
        "version: 1\nname: demo\nrules:\n  - id: x\n    effect: raw\n    classes: [nope.*]\n",
        "",  # truncated to nothing mid-save
        "\x00\xff binary junk",
    ],
    ids=["yaml-syntax", "invalid-rule", "empty", "junk"],
)
def test_a_broken_edit_keeps_the_last_good_policy_and_whoami_reports_it(
    served: tuple[EmbeddedClient, Path], broken: str
) -> None:
    client, policy = served
    good = policy.read_text(encoding="utf-8")
    raw = emails(client)
    version = client.whoami()["policy_version"]
    edit(policy, broken)
    assert emails(client) == raw  # still the last good policy, still serving
    who = client.whoami()
    assert who["policy_version"] == version
    assert who["policy_error"]
    assert "\n" not in who["policy_error"]
    assert who["policy_error"].startswith("bad policy:")
    edit(policy, good)  # fixed: the error clears
    assert client.whoami()["policy_error"] is None


def test_a_deleted_policy_file_keeps_the_last_good_policy(
    served: tuple[EmbeddedClient, Path],
) -> None:
    client, policy = served
    edit(policy, without_support_grant(policy))
    masked = emails(client)
    policy.unlink()
    assert emails(client) == masked  # not the raw-granting version, not the built-in
    assert "no such file" in (client.whoami()["policy_error"] or "")


def test_a_stricter_edit_refuses_what_was_allowed_a_moment_ago(
    served: tuple[EmbeddedClient, Path],
) -> None:
    client, policy = served
    emails(client)
    data = yaml.safe_load(policy.read_text(encoding="utf-8"))
    data["rules"].append(
        {
            "id": "no-email-for-support",
            "kind": "restrict",
            "when": {"groups": ["support"]},
            "classes": ["pii.email"],
            "effect": "deny",
        }
    )
    edit(policy, yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(Refused, match="no-email-for-support"):
        emails(client)


def test_the_holder_looks_at_the_files_at_most_once_per_interval(tmp_path: Path) -> None:
    policy = lab_policy(tmp_path)
    holder = PolicyHolder(policy, check_interval_s=3600)
    version = holder.engine.version
    edit(policy, without_support_grant(policy))
    assert holder.engine.version == version  # not looked at yet
    assert holder.refresh(force=True) is None
    assert holder.engine.version != version


def test_a_policy_directory_notices_a_file_added_to_it(tmp_path: Path) -> None:
    folder = tmp_path / "policy"
    folder.mkdir()
    (folder / "main.yaml").write_text(without_support_grant(lab_policy(tmp_path)))
    holder = PolicyHolder(folder, check_interval_s=0)
    version = holder.engine.version
    (folder / "zz-broken.yaml").write_text("rules: [", encoding="utf-8")
    assert holder.engine.version == version
    assert holder.error is not None
    (folder / "zz-broken.yaml").unlink()
    assert holder.engine.version == version
    assert holder.error is None
