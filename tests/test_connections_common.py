"""Engine-independent parts of connections: URLs, config, parameters, identity tags, Arrow."""

from __future__ import annotations

import pytest

from jupyter_masking.errors import BadInput, ConfigError
from jupyter_masking.gateway.connections import (
    ConnectionConfig,
    expand_env,
    open_connection,
    redact_url,
)
from jupyter_masking.gateway.engines.pooled import rows_to_arrow
from jupyter_masking.gateway.params import render
from jupyter_masking.gateway.tagging import sql_comment, tag_sql
from jupyter_masking.identity import Identity

SECRET = "s3cret-Pw"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://bob:{SECRET}@db.internal:5432/sales",
        f"mysql+pymysql://root:{SECRET}@127.0.0.1/db",
        f"postgresql://bob@db/sales?password={SECRET}",
        f"postgresql://bob@db/sales?sslpassword={SECRET}&sslmode=require",
    ],
)
def test_redact_url_hides_passwords_in_userinfo_and_query(url: str) -> None:
    shown = redact_url(url)
    assert SECRET not in shown
    assert "***" in shown


def test_redact_url_keeps_what_helps_debugging() -> None:
    assert redact_url("postgresql://bob:x@db:5432/sales?sslmode=require") == (
        "postgresql://bob:***@db:5432/sales?sslmode=require"
    )


def test_when_url_is_malformed_then_redact_shows_nothing_of_it() -> None:
    assert SECRET not in redact_url(f"::{SECRET}::")


def test_config_repr_and_str_never_show_the_password_or_connect_args() -> None:
    config = ConnectionConfig(
        "warehouse",
        f"postgresql://bob:{SECRET}@db/sales",
        connect_args={"sslpassword": SECRET},
    )
    for text in (repr(config), str(config), f"{config}", repr([config])):
        assert SECRET not in text
    assert "warehouse" in repr(config)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "bad name!"}, "invalid connection name"),
        ({"statement_timeout_s": 0}, "must be positive"),
        ({"max_rows": 0}, "must be positive"),
    ],
)
def test_when_config_is_invalid_then_config_error(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"name": "x", "url": "duckdb:///x.duckdb", **kwargs}
    with pytest.raises(ConfigError, match=message):
        ConnectionConfig(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"oracle://scott:{SECRET}@h/db", "unsupported database 'oracle'"),
        (f"postgresql+psycopg2://u:{SECRET}@h/db", "unsupported driver 'psycopg2'"),
        (f"mysql+mysqldb://u:{SECRET}@h/db", "unsupported driver 'mysqldb'"),
        (f"not a url {SECRET}", "malformed database URL"),
        ("duckdb:///:memory:", "DuckDB needs a database file"),
        ("sqlite://", "SQLite needs a database file"),
        ("sqlite:////nonexistent/dir/x.db", "does not exist"),
    ],
)
def test_when_url_is_unusable_then_config_error_without_the_secret(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        open_connection(ConnectionConfig("x", url))
    assert SECRET not in str(caught.value)
    assert caught.value.__suppress_context__ or caught.value.__context__ is None


def test_env_vars_expand_quoted_inside_a_url_and_verbatim_as_a_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JM_PW", "p@ss/word")
    monkeypatch.setenv("JM_URL", "postgresql://u:p@h/db")
    assert expand_env("postgresql://u:${JM_PW}@h/db", "x") == "postgresql://u:p%40ss%2Fword@h/db"
    assert expand_env("${JM_URL}", "x") == "postgresql://u:p@h/db"


def test_when_env_var_is_missing_then_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JM_MISSING_PW", raising=False)
    with pytest.raises(ConfigError, match="JM_MISSING_PW is not set"):
        open_connection(ConnectionConfig("x", "postgresql://u:${JM_MISSING_PW}@h/db"))


# --- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "dialect", "style", "expected"),
    [
        ("SELECT :a", "sqlite", "named", "SELECT :a"),
        ("SELECT %(a)s, 'x%'", "postgres", "pyformat", "SELECT %(a)s, 'x%%'"),
        ("SELECT :a, 'x%'", "postgres", "pyformat", "SELECT %(a)s, 'x%%'"),
        ("SELECT :a, 'x%'", "mysql", "pyformat", "SELECT %(a)s, 'x%%'"),
        ("SELECT $a", "duckdb", "dollar", "SELECT $a"),
        ("SELECT :a", "duckdb", "dollar", "SELECT $a"),
        # inside strings, quoted identifiers and comments nothing is a placeholder
        ("SELECT ':a', \":a\" /* :a */", "postgres", "pyformat", "SELECT ':a', \":a\" /* :a */"),
        ("SELECT '%(a)s'", "postgres", "pyformat", "SELECT '%%(a)s'"),
        # casts and unknown names are left alone
        ("SELECT x::int, :b", "postgres", "pyformat", "SELECT x::int, :b"),
        ("SELECT a % 2", "mysql", "pyformat", "SELECT a %% 2"),
        # quoted words are not names
        ('SELECT :"a"', "postgres", "pyformat", 'SELECT :"a"'),
    ],
)
def test_placeholders_are_rewritten_only_where_they_are_code(
    sql: str, dialect: str, style: str, expected: str
) -> None:
    assert render(sql, {"a": 1}, dialect, style) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite", "duckdb"])
def test_keywords_can_be_parameter_names(dialect: str) -> None:
    params = {"limit": 1, "user": 2, "rows": 3, "date": 4}
    sql = "SELECT :limit, :user, :rows, :date"
    style = {"postgres": "pyformat", "mysql": "pyformat", "sqlite": "named", "duckdb": "dollar"}
    rendered = render(sql, params, dialect, style[dialect])  # type: ignore[arg-type]
    mark = {"pyformat": "%({})s", "named": ":{}", "dollar": "${}"}[style[dialect]]
    assert rendered == "SELECT " + ", ".join(mark.format(k) for k in params)


def test_when_there_are_no_params_then_pyformat_still_escapes_percent() -> None:
    assert render("SELECT 'a%'", {}, "postgres", "pyformat") == "SELECT 'a%%'"
    assert render("SELECT 'a%'", {}, "sqlite", "named") == "SELECT 'a%'"


def test_when_sql_cannot_be_tokenized_then_bad_input() -> None:
    with pytest.raises(BadInput):
        render("SELECT 'unterminated", {"a": 1}, "postgres", "pyformat")


# --- identity tags ----------------------------------------------------------------------------


def test_comment_is_sorted_url_encoded_and_cannot_be_closed_by_a_value() -> None:
    identity = Identity(user="a.b+c@x", actor="ai:mcp:claude", cell_id="*/ DROP TABLE t; /*")
    comment = sql_comment(identity)
    assert comment.startswith("/*actor='ai%3Amcp%3Aclaude',app='jupyter-masking',cell=")
    assert comment.count("*/") == 1
    assert comment.endswith("*/")
    assert "user='a.b%2Bc%40x'" in comment


def test_tag_goes_after_a_trailing_line_comment_on_a_new_line() -> None:
    tagged = tag_sql("SELECT 1 -- note", Identity(user="alice"))
    assert tagged.splitlines()[0] == "SELECT 1 -- note"
    assert tagged.splitlines()[1].startswith("/*actor=")


def test_notebook_path_is_not_put_in_the_comment() -> None:
    identity = Identity(user="alice", notebook="private/jane-doe-case.ipynb")
    assert "jane" not in tag_sql("SELECT 1", identity)


# --- Arrow ------------------------------------------------------------------------------------


def test_rows_to_arrow_keeps_duplicate_names_and_types_empty_results() -> None:
    table = rows_to_arrow(["a", "a"], [(1, 2)])
    assert table.column_names == ["a", "a"]
    empty = rows_to_arrow(["x", "y"], [])
    assert empty.num_rows == 0
    assert empty.column_names == ["x", "y"]


def test_rows_to_arrow_turns_untypable_columns_into_text() -> None:
    import uuid

    table = rows_to_arrow(["u", "j"], [(uuid.UUID(int=1), {"k": 1}), (None, [1, 2])])
    assert table.column("u").to_pylist() == ["00000000-0000-0000-0000-000000000001", None]
    assert table.column("j").to_pylist() == ['{"k": 1}', "[1, 2]"]
