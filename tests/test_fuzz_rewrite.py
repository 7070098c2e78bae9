"""Property-based fuzzing of analyze + rewrite, executed on DuckDB and PostgreSQL.

Hypothesis composes read queries over the planted demo schema (``test_fuzz_harness``):
functions, casts and encodings chained on sensitive columns, nesting, set operations,
subqueries, aliases reusing sensitive names, stars and window functions. Each query runs
through the gateway on both engines for an identity without raw grants. The property: a
result in which no planted value nor an encoding of one appears (nor in the audit event), or
a clean gateway error whose message holds none either; never an unhandled exception.

The budget here is small and fixed (``derandomize``: the same queries every run, so CI is
reproducible); ``benchmarks/fuzz_long.py`` runs a longer, random budget. Counterexamples
either finds are kept in ``tests/fixtures/fuzz_regressions/*.sql`` and replayed below.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp
from test_attack_harness import IDENTITIES
from test_fuzz_harness import (
    ENGINES,
    FUZZ_IDENTITIES,
    FuzzLab,
    FuzzQuery,
    check,
    fuzz_lab,
    planted_frames,
    queries,
)

from jupyter_masking.gateway.api import QueryRequest

REGRESSIONS = Path(__file__).parent / "fixtures" / "fuzz_regressions"
#: Examples per run of the suite; JM_FUZZ_EXAMPLES raises it locally.
EXAMPLES = int(os.environ.get("JM_FUZZ_EXAMPLES", "150"))

__all__ = ["fuzz_lab"]  # the module-scoped lab fixture, shared with the harness


@given(query=queries())
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_fuzzed_queries_never_return_a_planted_value_on_any_engine(
    fuzz_lab: FuzzLab, query: FuzzQuery
) -> None:
    for engine in ENGINES:
        check(fuzz_lab, engine, query.sql(engine), query.identity)


def test_the_fuzz_budget_mostly_runs_queries_rather_than_refusing_them(fuzz_lab: FuzzLab) -> None:
    """The fuzz tests above must exercise the rewrite, not just the refusal paths."""
    ran = {key: n for key, n in fuzz_lab.outcomes.items() if key.endswith(":allowed")}
    total = sum(fuzz_lab.outcomes.values())
    if total < len(ENGINES) * 10:
        pytest.skip("run together with the fuzz test")
    assert sum(ran.values()) >= total // 3, dict(fuzz_lab.outcomes)


# --- predicates see masked values too: no membership oracle ------------------------------------

#: Columns masked whole (pseudonym) for an identity: (table, column, identities).
WHOLLY_MASKED = (
    ("customers", "email", ("alice", "ai", "fraud", "contractor")),
    ("customers", "full_name", ("alice", "ai", "fraud", "contractor")),
    ("customers", "phone", ("alice", "ai", "fraud", "contractor")),
    ("orders", "customer_email", ("alice", "ai", "fraud", "contractor")),
    ("payments", "card_number", ("alice", "ai", "contractor")),
    ("payments", "iban", ("alice", "ai", "contractor")),
)
#: Functions f for which f(mask(v)) = f(v) only if mask(v) = v (up to case).
INJECTIVE = {
    "same": lambda x: x,
    "upper": lambda x: exp.Upper(this=x),
    "reverse": lambda x: exp.Reverse(this=x),
    "md5": lambda x: exp.MD5(this=x),
    "suffix": lambda x: exp.DPipe(this=x, expression=exp.Literal.string("#")),
}


@st.composite
def oracle_probes(draw: st.DrawFn) -> tuple[str, str, str, str, str]:
    """(table, column, raw value planted in it, function, identity)."""
    table, column, who = draw(st.sampled_from(WHOLLY_MASKED))
    values = sorted(str(v) for v in planted_frames()[table][column].dropna())
    return (
        table,
        column,
        draw(st.sampled_from(values)),
        draw(st.sampled_from(sorted(INJECTIVE))),
        draw(st.sampled_from(who)),
    )


@given(probe=oracle_probes(), form=st.sampled_from(("where", "join", "in", "case")))
@settings(
    max_examples=max(EXAMPLES // 3, 10),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
def test_a_predicate_on_a_masked_column_never_matches_its_raw_value(
    fuzz_lab: FuzzLab, probe: tuple[str, str, str, str, str], form: str
) -> None:
    table, column, value, name, who = probe
    f = INJECTIVE[name]
    test = exp.EQ(this=f(exp.column(column, table="t")), expression=f(exp.Literal.string(value)))
    source = exp.to_table(table).as_("t")
    query = {
        "where": lambda: exp.select(exp.Count(this=exp.Star()).as_("n")).from_(source).where(test),
        "join": lambda: (
            exp.select(exp.Count(this=exp.Star()).as_("n"))
            .from_(source)
            .join(
                exp.select(exp.Literal.string(value).as_("v")).subquery("k"),
                on=exp.EQ(
                    this=f(exp.column(column, table="t")), expression=f(exp.column("v", table="k"))
                ),
            )
        ),
        "in": lambda: (
            exp.select(exp.Count(this=exp.Star()).as_("n"))
            .from_(source)
            .where(
                exp.In(
                    this=f(exp.column(column, table="t")),
                    expressions=[f(exp.Literal.string(value))],
                )
            )
        ),
        "case": lambda: exp.select(
            exp.Sum(
                this=exp.Case(
                    ifs=[exp.If(this=test, true=exp.Literal.number(1))],
                    default=exp.Literal.number(0),
                )
            ).as_("n")
        ).from_(source),
    }[form]()
    for engine in ENGINES:
        request = QueryRequest(sql=query.sql(engine), connection=engine)
        frame = fuzz_lab.gateway.query(request, IDENTITIES[who]).frame
        assert int(frame["n"].fillna(0)[0]) == 0, f"{who} on {engine}: {request.sql}"


def test_the_probe_does_find_a_value_the_identity_may_see_raw(fuzz_lab: FuzzLab) -> None:
    value = str(planted_frames()["customers"]["email"].iloc[0])
    query = exp.select(exp.Count(this=exp.Star()).as_("n")).from_("customers")
    query = query.where(exp.EQ(this=exp.column("email"), expression=exp.Literal.string(value)))
    for engine in ENGINES:
        request = QueryRequest(sql=query.sql(engine), connection=engine)
        assert fuzz_lab.gateway.query(request, IDENTITIES["support"]).frame["n"][0] == 1
        assert fuzz_lab.gateway.query(request, IDENTITIES["alice"]).frame["n"][0] == 0


# --- counterexamples kept as regression tests ------------------------------------------------


@dataclass(frozen=True)
class Regression:
    """One kept counterexample: the SQL per engine, who runs it, and what it found."""

    name: str
    identity: str
    engines: tuple[str, ...]
    sql: str
    found: str


def load_regressions(folder: Path = REGRESSIONS) -> list[Regression]:
    """Every ``*.sql`` file in ``folder`` (format: ``tests/fixtures/fuzz_regressions/README.md``).

    Header lines ``-- identity: <name>``, ``-- engines: duckdb postgres`` and
    ``-- found: <what it showed>``, then the query.
    """
    cases = []
    for path in sorted(folder.glob("*.sql")):
        header: dict[str, str] = {}
        body = []
        for line in path.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.removeprefix("-- ").partition(": ")
            if line.startswith("-- ") and sep and key in ("identity", "engines", "found"):
                header[key] = value.strip()
            else:
                body.append(line)
        cases.append(
            Regression(
                path.stem,
                header.get("identity", "alice"),
                tuple(header.get("engines", " ".join(ENGINES)).split()),
                "\n".join(body).strip(),
                header.get("found", ""),
            )
        )
    return cases


def test_a_kept_counterexample_file_is_read_with_its_header(tmp_path: Path) -> None:
    (tmp_path / "case.sql").write_text(
        "-- identity: ai\n-- engines: postgres\n-- found: md5 of an email\n"
        "SELECT md5(email)\nFROM customers\n",
        encoding="utf-8",
    )
    (case,) = load_regressions(tmp_path)
    assert case == Regression(
        "case", "ai", ("postgres",), "SELECT md5(email)\nFROM customers", "md5 of an email"
    )


def test_every_kept_counterexample_names_a_known_identity_and_engine() -> None:
    for case in load_regressions():
        assert case.identity in FUZZ_IDENTITIES, case.name
        assert set(case.engines) <= set(ENGINES), case.name
        assert case.sql, case.name
        assert case.found, case.name


def test_kept_counterexamples_stay_fixed(fuzz_lab: FuzzLab) -> None:
    # one test over the folder (not parametrized): an empty folder is not a skipped test
    for case in load_regressions():
        for engine in case.engines:
            check(fuzz_lab, engine, case.sql, case.identity)
