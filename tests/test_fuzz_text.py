"""Fuzzing the gateway with broken SQL text: mutated queries and arbitrary characters.

Where ``test_fuzz_rewrite`` generates well-formed queries to attack the masking, this module
feeds the analyzer what a user (or an AI agent) might really send: generated queries with
quotes, brackets, comment markers, parameters and semicolons inserted or cut out, and short
arbitrary texts. The property is the same: a result without a planted value, or a clean
:class:`~jupyter_masking.errors.MaskingError`; never an unhandled exception.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz_harness import ENGINES, FuzzLab, check, fuzz_lab, queries
from test_fuzz_rewrite import EXAMPLES

__all__ = ["fuzz_lab"]

#: Fragments that change how SQL tokenizes.
SHARDS = (
    "'", '"', "`", "(", ")", "[", "]", "{", "}", ";", ",", ".", "*", "--", "/*", "*/", "$$",
    "$1", ":x", "?", "\\", "||", "::", "E'", "U&'", "\n", "\t", " ", "\u00a0", "\u202e",
    "SELECT", "FROM", "WHERE", "UNION", "AS", "NULL", "'';", "/*!", "#", "@x", "%s", "{{x}}",
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    """A generated query with a few shards inserted and slices cut out, and who runs it."""
    query = draw(queries(depth=1))
    engine = draw(st.sampled_from(ENGINES))
    text = query.sql(engine)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(SHARDS)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 12)) :]
    return engine, text


@given(case=mutated())
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
def test_mutated_queries_get_a_clean_answer(fuzz_lab: FuzzLab, case: tuple[str, str]) -> None:
    engine, text = case
    check(fuzz_lab, engine, text, "alice")


# Lone surrogates (category Cs) and NUL are refused up front by the analyzer; see
# test_malformed_gateway.py for those.
_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=80,
)


@given(text=_TEXT, engine=st.sampled_from(ENGINES))
@settings(
    max_examples=EXAMPLES // 2,
    deadline=None,
    derandomize=True,
    database=None,
)
def test_arbitrary_text_gets_a_clean_answer(fuzz_lab: FuzzLab, text: str, engine: str) -> None:
    check(fuzz_lab, engine, text, "alice")
    check(fuzz_lab, engine, f"SELECT {text} FROM customers", "alice")
