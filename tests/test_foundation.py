"""The package's shared contracts: data class names, errors, identity and the CLI shell."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jupyter_masking import classes
from jupyter_masking.errors import BadInput, PolicyError, Refused
from jupyter_masking.identity import Identity

# Copied by hand from DESIGN.md so that a renamed constant fails here.
DESIGN_CLASSES = " ".join(
    [
        "pii.person_name pii.email pii.phone pii.postal_address pii.date_of_birth",
        "pii.ip_address pii.mac_address pii.url",
        "gov_id.us_ssn gov_id.us_itin gov_id.us_passport gov_id.us_driver_license gov_id.uk_nino",
        "financial.credit_card financial.iban financial.aba_routing financial.crypto_wallet",
        "health.us_npi health.us_mbi health.uk_nhs",
        "secret.private_key secret.jwt secret.aws_access_key secret.github_token",
        "secret.gitlab_token secret.slack_token secret.stripe_key secret.openai_api_key",
        "secret.anthropic_api_key secret.huggingface_token secret.npm_token secret.pypi_token",
        "secret.sendgrid_key secret.mailchimp_key secret.discord_token secret.telegram_bot_token",
        "secret.heroku_api_key secret.basic_auth secret.generic",
    ]
).split()


def test_every_design_class_is_defined_exactly_once() -> None:
    assert sorted(classes.ALL) == sorted(DESIGN_CLASSES)
    assert len(set(classes.ALL)) == len(classes.ALL)


def test_globs_select_families() -> None:
    secrets = {c for c in DESIGN_CLASSES if c.startswith("secret.")}
    assert set(classes.matching("secret.*")) == secrets
    assert classes.matching("*") == classes.ALL
    assert classes.matching("nothing.*") == ()


def test_error_lines_carry_position_and_rule() -> None:
    assert str(BadInput("unterminated string", line=2, column=5)) == (
        "bad input: 2:5: unterminated string"
    )
    error = PolicyError(
        "unknown operator 'pseudo'",
        source="p.yaml",
        line=12,
        field="rules[2].effect",
        hint="did you mean 'pseudonym'?",
    )
    assert str(error) == (
        "bad policy: p.yaml:12: rules[2].effect: unknown operator 'pseudo'. "
        "Hint: did you mean 'pseudonym'?"
    )
    refused = Refused("column is denied", column="crm.customers.ssn", rule_id="no-ssn")
    assert refused.exit_code == 3
    assert refused.to_dict()["rule"] == "no-ssn"


def test_actor_can_only_be_lowered() -> None:
    human = Identity("alice", ("support", "analysts", "support"))
    assert human.groups == ("analysts", "support")
    agent = human.acting_as("ai:jupyter-ai")
    assert agent.is_ai
    assert agent.acting_as("human") == agent
    with pytest.raises(BadInput):
        human.acting_as("root")
    with pytest.raises(BadInput):
        Identity("alice; DROP TABLE x")


def test_cli_help_and_bad_usage_are_one_line() -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "jupyter_masking", "--help"], capture_output=True, text=True
    )
    assert ok.returncode == 0
    assert "commands" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "jupyter_masking", "no-such-command"], capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr
