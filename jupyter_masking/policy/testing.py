"""Policy tests: expected decisions in YAML, checked against a policy (``policy test``).

A tests file is a list of cases (or a mapping with a ``tests:`` list)::

    - name: support sees emails raw by hand
      identity: {user: sam, groups: [support], actor: human}
      column: demo.main.customers.email      # or  class: pii.email
      expect: {effect: raw, rule: support-sees-contact}

``expect.effect`` is ``raw``, ``deny``, ``mask``, an operator name (any parameters),
an exact call (``partial(keep_last=4)``), or ``scan`` for an untagged column
under ``unclassified: scan``. ``expect`` may also hold ``rule`` and ``class``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from jupyter_masking.errors import BadInput, PolicyError
from jupyter_masking.identity import Identity
from jupyter_masking.mask.spec import parse_operator_call
from jupyter_masking.policy.engine import PolicyEngine
from jupyter_masking.policy.model import ClassName, split_column_pattern
from jupyter_masking.policy.problems import validation_problems
from jupyter_masking.policy.yamlpos import Lines, parse_yaml

UNCLASSIFIED_RULE = "unclassified"
_PLAIN_EFFECTS = ("raw", "deny", "mask", "scan")


def _expected_effect(text: str) -> str:
    bare = text.removeprefix("mask:")
    if bare not in _PLAIN_EFFECTS:
        parse_operator_call(bare)
    return text


def _column(text: str) -> str:
    if len(split_column_pattern(text)) != 4:
        raise ValueError(f"column {text[:80]!r} must be catalog.schema.table.column")
    return text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CaseIdentity(_Strict):
    """Who asks in a test case."""

    user: str = "tester"
    groups: tuple[str, ...] = ()
    actor: str = "human"


class Expect(_Strict):
    """What the decision must be; every given key is checked."""

    effect: Annotated[str, AfterValidator(_expected_effect)] | None = None
    rule: str | None = None
    data_class: ClassName | None = Field(default=None, alias="class")

    @model_validator(mode="after")
    def _something(self) -> Expect:
        if self.effect is None and self.rule is None and self.data_class is None:
            raise ValueError("expect needs at least one of effect, rule, class")
        return self


class Case(_Strict):
    """One test case: an identity, a column or a class, and the expectation."""

    name: str
    identity: CaseIdentity = CaseIdentity()
    column: Annotated[str, AfterValidator(_column)] | None = None
    data_class: ClassName | None = Field(default=None, alias="class")
    expect: Expect

    @model_validator(mode="after")
    def _one_target(self) -> Case:
        if (self.column is None) == (self.data_class is None):
            raise ValueError("give exactly one of column or class")
        return self


class CaseList(BaseModel):
    """The whole tests file."""

    tests: tuple[Case, ...]


@dataclass(frozen=True)
class Outcome:
    """What the policy said for a case: effect label, rule and class (``None`` if untagged)."""

    label: str
    rule: str
    data_class: str | None


@dataclass(frozen=True)
class CaseResult:
    """A case and whether it passed; ``message`` says what differed."""

    name: str
    source: str
    line: int | None
    passed: bool
    message: str = ""

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"FAIL {where}: {self.name}: {self.message}"


def read_cases(path: str | Path) -> tuple[list[Case], Lines]:
    """Read and validate a tests file; raise :class:`PolicyError` with file:line on a mistake."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(
            f"cannot read tests file: {type(error).__name__}", source=source
        ) from None
    data, lines = parse_yaml(text, source)
    if isinstance(data, dict) and set(data) == {"tests"}:
        data = data["tests"]
        lines = {path[1:]: line for path, line in lines.items() if path[:1] == ("tests",)}
    if not isinstance(data, list):
        raise PolicyError("a tests file is a list of cases", source=source, line=1)
    try:
        cases = CaseList.model_validate({"tests": data}).tests
    except ValidationError as error:
        shifted = {("tests", *path): line for path, line in lines.items()}
        problem = validation_problems(error, CaseList, shifted, source)[0]
        field = problem.field.removeprefix("tests") if problem.field else None
        raise PolicyError(problem.message, source=source, line=problem.line, field=field) from None
    return list(cases), lines


def outcome(engine: PolicyEngine, case: Case, identity: Identity) -> Outcome:
    """The policy's answer for one case."""
    data_class = case.data_class or engine.tagged_class(case.column or "")
    if data_class is None:
        return Outcome(engine.unclassified, UNCLASSIFIED_RULE, None)
    decision = engine.decide(identity, data_class)
    return Outcome(decision.label, decision.rule_id, data_class)


def effect_matches(expected: str, label: str) -> bool:
    """Whether a decision label (``mask:partial(keep_last=4)``) meets an expected effect.

    >>> effect_matches("partial", "mask:partial(keep_last=4)")
    True
    >>> effect_matches("partial(keep_last=2)", "mask:partial(keep_last=4)")
    False
    >>> effect_matches("mask", "raw")
    False
    """
    bare = expected.removeprefix("mask:")
    if bare in _PLAIN_EFFECTS:
        return label.split(":", 1)[0] == bare
    if not label.startswith("mask:"):
        return False
    want, got = parse_operator_call(bare), parse_operator_call(label[5:])
    return want == got if "(" in bare else want.name == got.name


def run_cases(engine: PolicyEngine, path: str | Path) -> list[CaseResult]:
    """Run every case of a tests file against ``engine``."""
    cases, lines = read_cases(path)
    results = []
    for index, case in enumerate(cases):
        line = lines.get((index,))
        try:
            who = Identity(case.identity.user, case.identity.groups, case.identity.actor)
        except BadInput as error:
            raise PolicyError(
                error.message,
                source=str(path),
                line=lines.get((index, "identity"), line),
                field=f"[{index}].identity",
            ) from None
        got = outcome(engine, case, who)
        results.append(_compare(case, got, str(path), line))
    return results


def _compare(case: Case, got: Outcome, source: str, line: int | None) -> CaseResult:
    want = case.expect
    wrong = (
        (want.effect is not None and not effect_matches(want.effect, got.label))
        or (want.rule is not None and want.rule != got.rule)
        or (want.data_class is not None and want.data_class != got.data_class)
    )
    if not wrong:
        return CaseResult(case.name, source, line, True)
    expected = " ".join(
        part
        for part in (
            want.effect,
            f"by {want.rule}" if want.rule else None,
            f"as {want.data_class}" if want.data_class else None,
        )
        if part
    )
    actual = f"{got.label} by {got.rule} as {got.data_class or 'unclassified'}"
    return CaseResult(case.name, source, line, False, f"expected {expected}, got {actual}")


def summary(results: list[CaseResult]) -> str:
    """``N passed, M failed``."""
    failed = sum(1 for r in results if not r.passed)
    return f"{len(results) - failed} passed, {failed} failed"
