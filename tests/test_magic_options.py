"""The magic's option grammar and parameter binding, as tables of inputs and outcomes."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_masking.errors import BadInput
from jupyter_masking.magic.kernel import cell_context, notebook_path
from jupyter_masking.magic.options import parse_line
from jupyter_masking.magic.params import bind, parameter_names

# (line, cell, expected fields); "sql" is always checked
PARSES = [
    ("", "SELECT 1", {"sql": "SELECT 1", "connection": None}),
    ("demo", "SELECT 1", {"connection": "demo"}),
    ("duckdb:///x.duckdb --limit 3", "SELECT 1", {"connection": "duckdb:///x.duckdb", "limit": 3}),
    ("--limit=7 --explain", "SELECT 1", {"limit": 7, "explain": True}),
    ("x <<", "SELECT 1", {"capture": "x", "capture_display": False}),
    ("x<<", "SELECT 1", {"capture": "x"}),
    ("x= << demo", "SELECT 1", {"capture": "x", "capture_display": True, "connection": "demo"}),
    ("demo top << --polars", "SELECT 1", {"capture": "top", "frame": "polars"}),
    ("--pandas", "SELECT 1", {"frame": "pandas"}),
    # the cell body is never read for options
    ("", "SELECT 1 -- --limit 3\n--explain", {"limit": None, "explain": False}),
    # line magic: options stop at the first SQL word
    (" SELECT 5 * -1", None, {"sql": "SELECT 5 * -1", "connection": None}),
    ("SELECT data->'a', data->>'b' FROM t", None, {"sql": "SELECT data->'a', data->>'b' FROM t"}),
    ("demo SELECT 1 -- --limit 3", None, {"sql": "SELECT 1 -- --limit 3", "limit": None}),
    ("--limit 2 SELECT 1 << 2", None, {"sql": "SELECT 1 << 2", "limit": 2, "capture": None}),
    ("x << SELECT 1", None, {"capture": "x", "sql": "SELECT 1"}),
    ("-- a comment then SQL", "SELECT 1", {"sql": "-- a comment then SQL\nSELECT 1"}),
    ("/* c */ SELECT 1", None, {"sql": "/* c */ SELECT 1"}),
    ("-1", None, {"sql": "-1"}),
    ("demo with t as (select 1) select * from t", None, {"connection": "demo"}),
    ("(SELECT 1)", None, {"sql": "(SELECT 1)", "connection": None}),
    ("select 1", None, {"connection": None, "sql": "select 1"}),
    ("FROM customers", None, {"connection": None}),
    # the SQL is kept byte for byte
    ("", "SELECT  '  spaced  '\n\n  FROM t", {"sql": "SELECT  '  spaced  '\n\n  FROM t"}),
]


@pytest.mark.parametrize(("line", "cell", "expected"), PARSES)
def test_parse_line(line: str, cell: str | None, expected: dict[str, object]) -> None:
    parsed = parse_line(line, cell)
    for name, value in expected.items():
        assert getattr(parsed, name) == value, name


REFUSALS = [
    ("--bogus", "unknown option --bogus"),
    ("--limt 3", "unknown option --limt"),
    ("--limit", "needs a value"),
    ("--limit 0", "positive whole number"),
    ("--limit -5", "positive whole number"),
    ("--limit 5x", "positive whole number"),
    ("--explain=yes", "takes no value"),
    ("--persist df", "only reads"),
    ("-P df", "only reads"),
    ("--append", "only reads"),
    ("--creator make", "raw connections bypass"),
    ("-a {}", "raw connections bypass"),
    ("--alias wh", "%config MaskedSql.connections"),
    ("-x wh", "%config MaskedSql.connections"),
    ("--save snip", "write the CTE in the query"),
    ("--with snip", "write the CTE in the query"),
    ("--interact n", "use a parameter"),
    ("a << b <<", "one variable only"),
    ("--file /nonexistent/q.sql", "cannot read --file"),
]


@pytest.mark.parametrize(("line", "message"), REFUSALS)
def test_when_an_option_is_unknown_refused_or_malformed_then_bad_input(
    line: str, message: str
) -> None:
    with pytest.raises(BadInput) as raised:
        parse_line(line, "SELECT 1")
    assert message in str(raised.value)


def test_file_option_prepends_the_file_to_the_cell(tmp_path: Path) -> None:
    query = tmp_path / "q.sql"
    query.write_text("SELECT email\n", encoding="utf-8")
    parsed = parse_line(f"--file {query}", "FROM customers")
    assert parsed.sql == "SELECT email\nFROM customers"


BINDS = [
    ("SELECT :a", {"a": 1}, "SELECT :a", {"a": 1}),
    ("SELECT {{a}}", {"a": "x"}, "SELECT :a", {"a": "x"}),
    ("SELECT {{ a }}", {"a": "x"}, "SELECT :a", {"a": "x"}),
    ("SELECT '{{a}}'", {"a": "x"}, "SELECT :a", {"a": "x"}),
    ("SELECT '{{ a }}' = :a", {"a": "x"}, "SELECT :a = :a", {"a": "x"}),
    # not parameters: strings, comments, casts, identifiers, undefined names
    ("SELECT ':a', \":a\" -- :a", {"a": 1}, "SELECT ':a', \":a\" -- :a", {}),
    ("SELECT x::int /* :a */", {"a": 1, "int": 2}, "SELECT x::int /* :a */", {}),
    ("SELECT :undefined", {}, "SELECT :undefined", {}),
    ("SELECT 'it''s :a'", {"a": 1}, "SELECT 'it''s :a'", {}),
    # values are unwrapped to plain scalars
    ("SELECT :n", {"n": np.int64(4)}, "SELECT :n", {"n": 4}),
    (
        "SELECT :d",
        {"d": pd.Timestamp("2026-01-02")},
        "SELECT :d",
        {"d": dt.datetime(2026, 1, 2)},
    ),
    ("SELECT :m", {"m": decimal.Decimal("1.5")}, "SELECT :m", {"m": decimal.Decimal("1.5")}),
    ("SELECT :z", {"z": None}, "SELECT :z", {"z": None}),
]


@pytest.mark.parametrize(("sql", "namespace", "rewritten", "values"), BINDS)
def test_bind(
    sql: str, namespace: dict[str, object], rewritten: str, values: dict[str, object]
) -> None:
    assert bind(sql, namespace) == (rewritten, values)


def test_an_injection_attempt_stays_a_value_not_sql() -> None:
    attack = "x' OR '1'='1"
    sql, values = bind("SELECT * FROM t WHERE name = '{{name}}'", {"name": attack})
    assert attack not in sql
    assert values == {"name": attack}


BIND_REFUSALS = [
    ("SELECT '%{{a}}%'", {"a": "x"}, "longer string literal"),
    ('SELECT * FROM "{{table}}"', {"table": "t"}, "names cannot come from variables"),
    ("SELECT {% for x in y %}1{% endfor %}", {}, "Jinja blocks"),
    ("SELECT {# note #} 1", {}, "Jinja blocks"),
    ("SELECT {{ a + 1 }}", {"a": 1}, "not a plain variable name"),
    ("SELECT {{ a | upper }}", {"a": "x"}, "not a plain variable name"),
    ("SELECT :ids", {"ids": [1, 2]}, "is a list"),
    ("SELECT :frame", {"frame": pd.DataFrame()}, "is a DataFrame"),
    ("SELECT :arr", {"arr": np.array([1, 2])}, "is a ndarray"),
]


@pytest.mark.parametrize(("sql", "namespace", "message"), BIND_REFUSALS)
def test_when_a_template_would_paste_text_then_bad_input(
    sql: str, namespace: dict[str, object], message: str
) -> None:
    with pytest.raises(BadInput) as raised:
        bind(sql, namespace)
    assert message in str(raised.value)


def test_parameter_names_skip_strings_comments_and_casts() -> None:
    sql = "SELECT :a, b::text, ':c', \"x:d\", `:e` -- :f\n/* :g */ , :h"
    assert parameter_names(sql) == ["a", "h"]


@pytest.mark.parametrize(
    ("path", "roots", "expected"),
    [
        ("/srv/lab/a/b.ipynb", ("/srv/lab",), "a/b.ipynb"),
        ("/srv/lab/a/b.ipynb", ("/srv/lab/",), "a/b.ipynb"),
        ("/srv/lab/a/b.ipynb", ("/srv", "/srv/lab"), "lab/a/b.ipynb"),
        ("/srv/labx/b.ipynb", ("/srv/lab",), "/srv/labx/b.ipynb"),
        ("/srv/lab/../etc/b.ipynb", ("/srv/lab",), "/srv/etc/b.ipynb"),
        ("a/b.ipynb", ("/srv/lab",), "a/b.ipynb"),
    ],
)
def test_notebook_path_is_relative_to_the_server_root(
    path: str, roots: tuple[str, ...], expected: str
) -> None:
    assert notebook_path(path, roots=roots) == expected


class _Kernel:
    def __init__(self, metadata: dict[str, object]) -> None:
        self.metadata = metadata

    def get_parent(self) -> dict[str, object]:
        return {"metadata": self.metadata}


class _Shell:
    def __init__(self, metadata: dict[str, object], count: int = 7) -> None:
        self.kernel = _Kernel(metadata)
        self.execution_count = count
        self.user_ns: dict[str, object] = {}


def test_cell_context_reads_cell_id_session_path_and_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", "reports/q1.ipynb")
    context = cell_context(_Shell({"cellId": "c-12_ab"}))
    assert (context.notebook, context.cell_id, context.execution_count) == (
        "reports/q1.ipynb",
        "c-12_ab",
        7,
    )


@pytest.mark.parametrize("bad", ["", "x" * 65, "a b", "../x", 12, None])
def test_when_the_cell_id_is_malformed_then_it_is_dropped(bad: object) -> None:
    assert cell_context(_Shell({"cellId": bad})).cell_id is None


def test_vscode_notebook_path_is_used_without_a_jupyter_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    shell = _Shell({})
    shell.user_ns["__vsc_ipynb_file__"] = "c:\\work\\nb.ipynb"
    assert cell_context(shell).notebook == "c:/work/nb.ipynb"
