"""Policy decisions: defaults, grants, restricts, deny, globs, column tags, reviewers, reloads."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from jupyter_masking import classes
from jupyter_masking.errors import BadInput, PolicyError
from jupyter_masking.identity import Identity
from jupyter_masking.mask.spec import OPERATOR_NAMES
from jupyter_masking.policy import PERMISSIVENESS, PolicyEngine, PolicyHolder, parse_effect

DEMO = Path(__file__).parents[1] / "jupyter_masking" / "demo" / "policy.yaml"

BASE = """
version: 1
name: t
classes:
  pii.email: {default: pseudonym}
  gov_id.us_ssn: {default: "partial(keep_last=4)"}
  pii.date_of_birth: {default: "generalize(to=year)"}
  "secret.*": {default: redact}
columns:
  "*.crm.customers.email": pii.email
  "*.*.legacy_export.c1": pii.email
  crm.customers.ssn: gov_id.us_ssn
  warehouse.crm.customers.ssn: pii.email
  "demo.main.\\"odd.table\\".email": pii.email
unclassified: scan
rules:
  - id: support-sees-contact
    kind: grant
    when: {groups: [support], actor: human}
    classes: [pii.email, pii.phone]
    effect: raw
  - id: fraud-ssn-last4
    kind: grant
    when: {groups: ["fraud-*"]}
    classes: [gov_id.us_ssn]
    effect: "partial(keep_last=4)"
  - id: auditors-hash
    kind: grant
    when: {users: [audit-bot]}
    classes: ["pii.*"]
    effect: hash
  - id: ai-never-raw
    kind: restrict
    when: {actor: "ai:*"}
    classes: ["*"]
    effect: redact
  - id: mcp-nulls-email
    kind: restrict
    when: {actor: "ai:mcp"}
    classes: [pii.email]
    effect: "null"
  - id: no-ssn-at-all-for-contractors
    kind: restrict
    when: {groups: [contractors]}
    classes: [gov_id.us_ssn]
    effect: deny
reviewers: {groups: [compliance], users: ["lead-*"]}
"""


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def engine(tmp_path: Path) -> PolicyEngine:
    return PolicyEngine.load(write(tmp_path, BASE))


def who(user: str = "alice", *groups: str, actor: str = "human") -> Identity:
    return Identity(user, groups, actor)


@pytest.mark.parametrize(
    ("identity", "data_class", "label", "rule"),
    [
        # class default for anyone without a grant
        (who("alice", "analysts"), "pii.email", "mask:pseudonym", "default:pii.email"),
        (who("alice"), "secret.jwt", "mask:redact", "default:secret.jwt"),
        # a class the policy leaves out falls back to the built-in default, never raw
        (who("alice"), "pii.phone", "mask:pseudonym", "builtin:pii.phone"),
        (
            who("alice"),
            "financial.credit_card",
            "mask:partial(keep_last=4)",
            "builtin:financial.credit_card",
        ),
        # grants replace the default; only matching identities get them
        (who("sam", "support"), "pii.email", "raw", "support-sees-contact"),
        (who("sam", "support"), "pii.phone", "raw", "support-sees-contact"),
        (who("sam", "supporters"), "pii.email", "mask:pseudonym", "default:pii.email"),
        (who("sam", "Support"), "pii.email", "mask:pseudonym", "default:pii.email"),
        # the most permissive matching grant wins, whatever the rule order
        (who("audit-bot", "support"), "pii.email", "raw", "support-sees-contact"),
        (who("audit-bot"), "pii.email", "mask:hash", "auditors-hash"),
        (who("audit-bot"), "pii.url", "mask:hash", "auditors-hash"),
        # group globs
        (who("fred", "fraud-eu"), "gov_id.us_ssn", "mask:partial(keep_last=4)", "fraud-ssn-last4"),
        (
            who("fred", "fraud"),
            "gov_id.us_ssn",
            "mask:partial(keep_last=4)",
            "default:gov_id.us_ssn",
        ),
        # restricts override grants for AI actors
        (who("sam", "support", actor="ai:jupyter-ai"), "pii.email", "mask:redact", "ai-never-raw"),
        # the most restrictive matching restrict wins; 'ai:mcp' also matches 'ai:mcp:<client>'
        (
            who("sam", "support", actor="ai:mcp:claude-desktop"),
            "pii.email",
            "mask:null",
            "mcp-nulls-email",
        ),
        (who("sam", "support", actor="ai:mcp"), "pii.email", "mask:null", "mcp-nulls-email"),
        (who("sam", "support", actor="ai:mcpx"), "pii.email", "mask:redact", "ai-never-raw"),
        # deny always wins, over grants and over other restricts
        (
            who("cora", "contractors", "fraud-eu"),
            "gov_id.us_ssn",
            "deny",
            "no-ssn-at-all-for-contractors",
        ),
        (
            who("cora", "contractors", actor="ai:x"),
            "gov_id.us_ssn",
            "deny",
            "no-ssn-at-all-for-contractors",
        ),
        (who("cora", "contractors"), "pii.email", "mask:pseudonym", "default:pii.email"),
    ],
)
def test_decision_table(
    engine: PolicyEngine, identity: Identity, data_class: str, label: str, rule: str
) -> None:
    decision = engine.decide(identity, data_class)
    assert (decision.label, decision.rule_id) == (label, rule)
    assert decision.data_class == data_class


def test_when_a_restrict_is_looser_than_the_result_then_it_never_loosens(tmp_path: Path) -> None:
    engine = PolicyEngine.load(
        write(
            tmp_path,
            """
            version: 1
            classes: {pii.email: "null"}
            rules:
              - {id: cap, kind: restrict, when: {actor: "ai:*"}, classes: ["*"], effect: pseudonym}
            """,
        )
    )
    decision = engine.decide(who("a", actor="ai:x"), "pii.email")
    assert (decision.label, decision.rule_id) == ("mask:null", "default:pii.email")


def test_when_grants_tie_then_the_first_rule_wins(tmp_path: Path) -> None:
    engine = PolicyEngine.load(
        write(
            tmp_path,
            """
            version: 1
            rules:
              - id: two
                kind: grant
                when: {groups: [a]}
                classes: [gov_id.us_ssn]
                effect: "partial(keep_last=2)"
              - id: six
                kind: grant
                when: {groups: [b]}
                classes: [gov_id.us_ssn]
                effect: "partial(keep_last=6)"
            """,
        )
    )
    decision = engine.decide(who("x", "a", "b"), "gov_id.us_ssn")
    assert (decision.rule_id, decision.operator and decision.operator.params) == (
        "two",
        {"keep_last": 2},
    )


def test_when_a_restrict_has_the_same_operator_then_it_still_applies(tmp_path: Path) -> None:
    engine = PolicyEngine.load(
        write(
            tmp_path,
            """
            version: 1
            rules:
              - {id: g, kind: grant, classes: [gov_id.us_ssn], effect: "partial(keep_last=6)"}
              - id: r
                kind: restrict
                when: {actor: "ai:*"}
                classes: [gov_id.us_ssn]
                effect: "partial(keep_last=2)"
            """,
        )
    )
    assert engine.decide(who(), "gov_id.us_ssn").label == "mask:partial(keep_last=6)"
    assert engine.decide(who(actor="ai:x"), "gov_id.us_ssn").label == "mask:partial(keep_last=2)"


def test_class_defaults_prefer_exact_names_then_the_most_specific_glob(tmp_path: Path) -> None:
    engine = PolicyEngine.load(
        write(
            tmp_path,
            """
            version: 1
            classes:
              "*": "null"
              "secret.*": hash
              secret.jwt: redact
            """,
        )
    )
    assert engine.decide(who(), "secret.jwt").label == "mask:redact"
    assert engine.decide(who(), "secret.npm_token").label == "mask:hash"
    assert engine.decide(who(), "pii.email").label == "mask:null"


def test_unknown_classes_are_never_raw(engine: PolicyEngine) -> None:
    # A class added by a newer detector: the family glob of the built-in policy applies.
    assert engine.decide(who("sam", "support"), "pii.shoe_size").label == "mask:pseudonym"
    assert engine.decide(who(), "secret.new_vendor_key").label == "mask:redact"
    unknown = engine.decide(who(), "biometric.iris")
    assert (unknown.label, unknown.rule_id) == ("mask:redact", "builtin:biometric.iris")


def test_reason_is_a_readable_sentence(engine: PolicyEngine) -> None:
    analyst = engine.decide(who("alice", "analysts"), "pii.email")
    assert analyst.reason == "pii.email is pseudonymised for alice (analysts) by default:pii.email"
    ai = engine.decide(who("sam", "support", actor="ai:jupyter-ai"), "pii.email")
    assert ai.reason == "pii.email is redacted for sam via ai:jupyter-ai (support) by ai-never-raw"
    ssn = engine.decide(who("cora", "contractors"), "gov_id.us_ssn")
    assert ssn.reason.startswith("gov_id.us_ssn is denied for cora (contractors)")


def test_decision_is_frozen_and_cached_per_identity_and_class(engine: PolicyEngine) -> None:
    first = engine.decide(who("sam", "support"), "pii.email")
    with pytest.raises(AttributeError):
        first.effect = "deny"  # type: ignore[misc]
    assert engine.decide(Identity("sam", ("support",), notebook="n.ipynb"), "pii.email") is first
    assert engine.decide(who("sam", "support", actor="ai:x"), "pii.email").effect == "mask"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("demo.crm.customers.email", "pii.email"),
        ("DEMO.CRM.Customers.EMAIL", "pii.email"),  # identifiers match case-insensitively
        ("x.y.legacy_export.c1", "pii.email"),
        ("demo.crm.customers.ssn", "gov_id.us_ssn"),  # 3-part pattern: any catalog
        ("warehouse.crm.customers.ssn", "pii.email"),  # a 4-part literal beats a 3-part one
        ('demo.main."odd.table".email', "pii.email"),
        ("demo.crm.customers.phone", None),
        ("demo.crm2.customers.email", None),
        ("demo.x.crm.customers", None),
    ],
)
def test_column_tags(engine: PolicyEngine, path: str, expected: str | None) -> None:
    assert engine.tagged_class(path) == expected


def test_a_star_matches_one_whole_part_and_never_spans_dots(engine: PolicyEngine) -> None:
    # A catalog whose name holds a dot is still one part, given as a tuple or double-quoted.
    assert engine.tagged_class(("a.b", "crm", "customers", "email")) == "pii.email"
    assert engine.tagged_class('"a.b".crm.customers.email') == "pii.email"
    # "*.*.legacy_export.c1" needs legacy_export as the table part, not anywhere.
    assert engine.tagged_class("legacy_export.c1.legacy_export.x") is None
    assert engine.tagged_class("demo.legacy_export.c1.x") is None


@pytest.mark.parametrize("path", ["crm.customers.email", "a.b.c.d.e", "demo..customers.email"])
def test_column_paths_must_have_four_parts(engine: PolicyEngine, path: str) -> None:
    with pytest.raises(BadInput, match="four parts"):
        engine.tagged_class(path)


def test_decide_column_combines_tag_and_decision(engine: PolicyEngine) -> None:
    decision = engine.decide_column(who("sam", "support"), "demo.crm.customers.email")
    assert decision is not None
    assert decision.effect == "raw"
    assert engine.decide_column(who(), "demo.crm.customers.notes") is None


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        (who("carol", "compliance"), True),
        (who("lead-ops"), True),
        (who("carol", "compliance", actor="ai:jupyter-ai"), False),  # AI actors are not reviewers
        (who("carol", "analysts"), False),
        (who("leader"), False),
    ],
)
def test_reviewers(engine: PolicyEngine, identity: Identity, expected: bool) -> None:
    assert engine.is_reviewer(identity) is expected


def test_builtin_masks_every_class_and_grants_nothing() -> None:
    engine = PolicyEngine.builtin()
    assert engine.version.startswith("builtin@")
    assert "+git" not in engine.version
    assert engine.unclassified == "scan"
    assert set(classes.ALL) <= set(engine.loaded.policy.classes)
    for name in classes.ALL:
        human = engine.decide(who("root", "admins"), name)
        assert human.effect == "mask", name
        assert human.rule_id == f"builtin:{name}"
        ai = engine.decide(who("x", actor="ai:x"), name)
        strict = ("redact", "null", "hash")
        capped = human.operator is not None and human.operator.name not in strict
        assert ai.effect == "mask", name
        assert ai.rule_id == ("ai-never-raw" if capped else f"builtin:{name}"), name
        assert ai.label == ("mask:pseudonym" if capped else human.label), name
    assert not engine.is_reviewer(who("root", "compliance"))
    labels = {n: engine.decide(who(), n).label for n in classes.ALL}
    assert labels["gov_id.us_ssn"] == labels["financial.credit_card"] == "mask:partial(keep_last=4)"
    assert labels["pii.date_of_birth"] == "mask:generalize(to=year)"
    assert all(labels[n] == "mask:redact" for n in classes.matching("secret.*"))
    assert all(
        labels[n] == "mask:pseudonym" for n in classes.matching("pii.*") if n != "pii.date_of_birth"
    )


def test_load_none_is_the_builtin_policy() -> None:
    assert PolicyEngine.load(None) is PolicyEngine.builtin()


def test_every_operator_has_a_permissiveness_rank() -> None:
    assert set(OPERATOR_NAMES) <= set(PERMISSIVENESS)
    ranks = [PERMISSIVENESS[n] for n in ("raw", "pseudonym", "redact", "deny")]
    assert ranks == sorted(ranks, reverse=True)
    assert len(set(PERMISSIVENESS.values())) == len(PERMISSIVENESS)  # a total order
    assert parse_effect("raw").rank > parse_effect("partial(keep_last=4)").rank
    assert parse_effect("null").rank > parse_effect("deny").rank


def test_directory_policy_merges_files_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "policy"
    folder.mkdir()
    write(folder, "version: 1\nname: team\nclasses:\n  pii.email: hash\n", "00-classes.yaml")
    write(
        folder,
        "version: 1\nrules:\n  - {id: s, kind: grant, when: {groups: [s]}, classes: [pii.email], "
        "effect: raw}\n",
        "10-rules.yml",
    )
    write(folder, "not: [a, policy", ".hidden.yaml")  # hidden files are ignored
    write(folder, "not yaml at all {", "notes.txt")
    engine = PolicyEngine.load(folder)
    assert engine.name == "team"
    assert engine.decide(who("x"), "pii.email").label == "mask:hash"
    assert engine.decide(who("x", "s"), "pii.email").label == "raw"
    assert [p.name for p in engine.loaded.files] == ["00-classes.yaml", "10-rules.yml"]


def test_when_two_files_set_the_same_thing_then_loading_fails(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    write(folder, "version: 1\nunclassified: scan\n", "a.yaml")
    write(folder, "version: 1\nunclassified: raw\n", "b.yaml")
    with pytest.raises(PolicyError) as caught:
        PolicyEngine.load(folder)
    assert (
        str(caught.value)
        == f"bad policy: {folder}/b.yaml:2: unclassified: also set in {folder}/a.yaml:2"
    )


def test_version_is_a_content_hash(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nname: v\n")
    first = PolicyEngine.load(path).version
    assert first.startswith("v@")
    assert len(first.split("@")[1]) == 12
    assert PolicyEngine.load(path).version == first
    path.write_text("version: 1\nname: v\n# a comment changes the reviewed text\n")
    assert PolicyEngine.load(path).version != first


def test_version_names_the_git_commit_inside_a_work_tree(tmp_path: Path) -> None:
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    path = write(tmp_path, "version: 1\nname: g\n")
    subprocess.run([*git, "add", "policy.yaml"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "policy"], check=True)
    sha = subprocess.run(
        [*git, "rev-parse", "--short=7", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert PolicyEngine.load(path).version.endswith(f"+git:{sha}")


def test_holder_keeps_the_last_good_policy_when_a_reload_fails(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nclasses:\n  pii.email: hash\n")
    holder = PolicyHolder(path)
    good = holder.engine
    path.write_text("version: 1\nclasses:\n  pii.email: pseudo\n")
    error = holder.reload()
    assert isinstance(error, PolicyError)
    assert "unknown operator 'pseudo'" in str(error)
    assert holder.engine is good
    assert holder.engine.decide(who(), "pii.email").label == "mask:hash"
    path.write_text("version: 1\nclasses:\n  pii.email: redact\n")
    assert holder.reload() is None
    assert holder.engine.decide(who(), "pii.email").label == "mask:redact"


def test_holder_refuses_to_start_on_a_bad_policy(tmp_path: Path) -> None:
    with pytest.raises(PolicyError):
        PolicyHolder(write(tmp_path, "version: 1\nrules: {}\n"))


def test_a_policy_with_one_bad_rule_loads_nothing(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        rules:
          - {id: fine, kind: grant, classes: [pii.email], effect: raw}
          - {id: broken, kind: grant, classes: [pii.email], effect: "partial(keep_last=)"}
        """,
    )
    with pytest.raises(PolicyError, match=r"rules\[1\]\.effect"):
        PolicyEngine.load(path)


def test_alias_bombs_are_refused(tmp_path: Path) -> None:
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 9)
    ]
    with pytest.raises(PolicyError, match="more than 200000 YAML nodes"):
        PolicyEngine.load(write(tmp_path, "\n".join(lines) + "\n"))


def test_demo_policy_loads_and_leaves_legacy_export_untagged() -> None:
    engine = PolicyEngine.load(DEMO)
    assert engine.name == "demo"
    for column in ("c1", "c2", "c3", "payload"):
        assert engine.tagged_class(f"demo.main.legacy_export.{column}") is None
    assert engine.tagged_class("demo.main.payments.card_number") == "financial.credit_card"
    assert engine.is_reviewer(who("carol", "compliance"))
    ai = who("sam", "support", actor="ai:jupyter-ai")
    assert all(engine.decide(ai, name).effect != "raw" for name in classes.ALL)


def test_operator_parameters_are_validated_by_the_operator_at_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        rules:
          - id: short
            kind: grant
            classes: [gov_id.us_ssn]
            effect: "partial(keep_last=-1)"
        """,
    )
    with pytest.raises(PolicyError) as caught:
        PolicyEngine.load(path)
    error = caught.value
    assert (error.line, error.field) == (7, "rules[0].effect")
    assert "keep_last" in error.message
