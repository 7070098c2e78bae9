"""The analyzer: read-only refusals, allow-listed functions, tables, views, names, parameters.

Table-driven like sqlglot's fixtures: ``tests/fixtures/analyze/refuse.sql`` holds must-refuse
queries with the construct each refusal names, ``allow_<dialect>.sql`` must-allow queries with
the output names the user sees. Every must-allow query is also run, as analyzed, on the real
engine (DuckDB, SQLite, PostgreSQL, MariaDB), whose own column names must equal ours.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
from sqlglot import exp

from jupyter_masking.errors import BadInput, Refused
from jupyter_masking.sql import functions
from jupyter_masking.sql.analyze import Analysis, analyze, table_of
from jupyter_masking.sql.lineage import TABLE_META
from jupyter_masking.sql.schema import Column, Schema, Table

FIXTURES = Path(__file__).parent / "fixtures" / "analyze"
DIALECTS = ("duckdb", "postgres", "mysql", "sqlite")
DEFAULT_DB: dict[str, str | None] = {
    "duckdb": "main",
    "postgres": "public",
    "mysql": "shop",
    "sqlite": None,
}

USERS = (
    ("id", "INT"),
    ("name", "VARCHAR(100)"),
    ("email", "VARCHAR(100)"),
    ("ssn", "VARCHAR(20)"),
    ("dob", "DATE"),
    ("city", "VARCHAR(50)"),
    ("tags", "VARCHAR(200)"),
)
ORDERS = (
    ("id", "INT"),
    ("user_id", "INT"),
    ("amount", "DECIMAL(10,2)"),
    ("created_at", "TIMESTAMP"),
    ("note", "VARCHAR(200)"),
)
V_USERS_SQL = "SELECT id, email, city FROM users WHERE city IS NOT NULL"
V_BIG_ORDERS_SQL = (
    "SELECT o.id, o.amount, v.email FROM orders o JOIN v_users v ON v.id = o.user_id "
    "WHERE o.amount > 100"
)


def make_table(db: str | None, name: str, columns: tuple[tuple[str, str], ...], **kw: Any) -> Table:
    return Table(db, name, tuple(Column(n, t) for n, t in columns), **kw)


def schema_for(
    dialect: str, db: str | None = "default", views: dict[str, str] | None = None
) -> Schema:
    """The test schema: users, orders and two views (v_big_orders reads v_users)."""
    db = DEFAULT_DB[dialect] if db == "default" else db
    views = views or {"v_users": V_USERS_SQL, "v_big_orders": V_BIG_ORDERS_SQL}
    view_columns = {
        "v_users": (("id", "INT"), ("email", "VARCHAR(100)"), ("city", "VARCHAR(50)")),
        "v_big_orders": (("id", "INT"), ("amount", "DECIMAL(10,2)"), ("email", "VARCHAR(100)")),
    }
    tables = (
        make_table(db, "users", USERS),
        make_table(db, "orders", ORDERS),
        *(
            make_table(db, name, view_columns[name], kind="view", view_sql=sql)
            for name, sql in views.items()
        ),
    )
    return Schema(dialect, tables, default_db=db)


@dataclass(frozen=True)
class Case:
    sql: str
    meta: dict[str, str]
    line: int


def load_cases(name: str) -> list[Case]:
    """Blocks of ``# key: value`` lines and SQL, separated by blank lines."""
    cases: list[Case] = []
    text = (FIXTURES / name).read_text()
    line_no = 0
    for block in text.split("\n\n"):
        start = line_no + 1
        line_no += block.count("\n") + 2
        meta: dict[str, str] = {}
        sql_lines: list[str] = []
        for line in block.strip("\n").splitlines():
            if line.startswith("# ") and ":" in line and not sql_lines:
                key, _, value = line[2:].partition(":")
                meta[key.strip()] = value.strip()
            elif not line.startswith("#"):
                sql_lines.append(line)
        if sql_lines:
            cases.append(Case("\n".join(sql_lines), meta, start))
    return cases


def refuse_cases() -> list[Any]:
    return [
        pytest.param(dialect, case, id=f"{dialect}-L{case.line}")
        for case in load_cases("refuse.sql")
        for dialect in case.meta.get("dialects", " ".join(DIALECTS)).split()
    ]


def allow_cases(dialect: str) -> list[Case]:
    return load_cases("allow_common.sql") + load_cases(f"allow_{dialect}.sql")


def all_allow_cases() -> list[Any]:
    return [
        pytest.param(dialect, case, id=f"{dialect}-{name}-L{case.line}")
        for dialect in DIALECTS
        for name in ("common", dialect)
        for case in load_cases(f"allow_{name}.sql")
    ]


def expected_outputs(case: Case) -> list[str] | None:
    outputs = case.meta.get("outputs")
    return [n.strip() for n in outputs.split(",")] if outputs else None


# --- table-driven refusals and allowances ---------------------------------------------------


def test_fixture_files_hold_enough_cases() -> None:
    assert len(load_cases("refuse.sql")) >= 100
    for dialect in DIALECTS:
        assert len(allow_cases(dialect)) >= 30


@pytest.mark.parametrize(("dialect", "case"), refuse_cases())
def test_must_refuse(dialect: str, case: Case) -> None:
    schema = schema_for(dialect)
    if case.meta.get("error") == "BadInput":
        with pytest.raises(BadInput):
            analyze(case.sql, schema)
        return
    with pytest.raises(Refused) as caught:
        analyze(case.sql, schema)
    assert caught.value.construct == case.meta["construct"], str(caught.value)
    assert caught.value.hint, "every refusal says what to change"


@pytest.mark.parametrize(("dialect", "case"), all_allow_cases())
def test_must_allow(dialect: str, case: Case) -> None:
    analysis = analyze(case.sql, schema_for(dialect))
    names = [o.name for o in analysis.outputs]
    expected = expected_outputs(case)
    if expected is not None:
        assert names == expected
    assert_contract(analysis)


def assert_contract(analysis: Analysis) -> None:
    """What the rewrite relies on: qualified columns, tagged tables, unique aliased outputs."""
    query = analysis.expression
    for column in query.find_all(exp.Column):
        clause = column.find_ancestor(exp.Order, exp.Distinct, exp.Window, exp.AggFunc)
        is_output = (
            isinstance(clause, (exp.Order, exp.Distinct))
            and isinstance(clause.parent, exp.Query)
            and column.name in clause.parent.named_selects
        )
        assert column.table or is_output, f"unqualified column {column.sql()}"
    for table in query.find_all(exp.Table):
        assert TABLE_META in table.meta or isinstance(table.this, exp.Func) or not table.db
    names = [o.name.lower() for o in analysis.outputs]
    assert len(names) == len(set(names))
    assert [o.position for o in analysis.outputs] == list(range(len(names)))
    root = query
    while isinstance(root, (exp.SetOperation, exp.Subquery)):
        root = root.this
    assert isinstance(root, exp.Select)
    assert all(isinstance(p, exp.Alias) for p in root.expressions)
    assert not list(query.find_all(exp.Star)) or all(
        isinstance(s.parent, exp.Count) for s in query.find_all(exp.Star)
    )


# --- functions --------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", sorted(functions.DENIED))
def test_every_denied_function_is_refused(dialect: str, name: str) -> None:
    schema = schema_for(dialect)
    for sql in (f"SELECT {name}('x')", f"SELECT id FROM users WHERE {name}(email) IS NULL"):
        try:
            analyze(sql, schema)
        except Refused:
            continue
        except BadInput:  # the dialect cannot even parse it: refused all the same
            continue
        pytest.fail(f"{sql} was allowed in {dialect}")


def test_typed_file_readers_are_refused_although_sqlglot_types_them() -> None:
    for sql in ("SELECT * FROM read_csv('x.csv')", "SELECT * FROM read_parquet('x')"):
        with pytest.raises(Refused, match="reads files"):
            analyze(sql, schema_for("duckdb"))


def test_unknown_function_refusal_names_the_dialect_and_function() -> None:
    with pytest.raises(Refused) as caught:
        analyze("SELECT shady(email) FROM users", schema_for("postgres"))
    assert caught.value.construct == "shady"
    assert "postgres allow-list" in caught.value.message


def test_when_admin_allows_a_function_then_it_passes() -> None:
    schema = schema_for("postgres")
    with pytest.raises(Refused):
        analyze("SELECT unaccent(name) FROM users", schema)
    analysis = analyze("SELECT unaccent(name) FROM users", schema, allow_functions=["UNACCENT"])
    assert analysis.outputs[0].name == "unaccent"


def test_when_admin_allows_a_denied_function_then_it_stays_refused() -> None:
    with pytest.raises(Refused, match="reads files"):
        analyze(
            "SELECT pg_read_file('x')", schema_for("postgres"), allow_functions=["pg_read_file"]
        )


def test_allowed_function_in_from_must_still_be_a_row_generator() -> None:
    with pytest.raises(Refused, match="table function lower"):
        analyze("SELECT * FROM lower('x') AS t(v)", schema_for("postgres"))


def test_every_allow_list_is_a_superset_of_common() -> None:
    for dialect, names in functions.FUNCTIONS_ALLOWED.items():
        assert names >= functions.COMMON, dialect
        assert not names & set(functions.DENIED) - {"glob"}, dialect


# --- parsing ----------------------------------------------------------------------------------


def test_syntax_error_has_line_and_column() -> None:
    with pytest.raises(BadInput) as caught:
        analyze("SELECT email\nFORM users", schema_for("postgres"))
    assert caught.value.line == 2
    assert caught.value.column is not None
    assert "syntax error near" in caught.value.message


def test_trailing_semicolon_and_comments_are_fine() -> None:
    analysis = analyze("-- who\nSELECT email FROM users; -- done\n", schema_for("postgres"))
    assert [o.name for o in analysis.outputs] == ["email"]


def test_comments_never_reach_the_database() -> None:
    analysis = analyze(
        "/* who: bob@example.com */ SELECT email -- the mail\nFROM users /* x */",
        schema_for("mysql"),
    )
    assert "bob" not in analysis.expression.sql("mysql")
    assert "/*" not in analysis.expression.sql("mysql")


def test_empty_input_is_bad_input() -> None:
    for sql in ("", "   ", ";", "-- nothing"):
        with pytest.raises(BadInput, match="no SQL statement"):
            analyze(sql, schema_for("duckdb"))


# --- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "sql", "expected"),
    [
        ("postgres", "SELECT id FROM users WHERE email = :n OR name = :e OR city = :n", ("e", "n")),
        ("postgres", "SELECT id FROM users WHERE id = $10 AND id < $2", ("2", "10")),
        ("duckdb", "SELECT id FROM users WHERE email = $e LIMIT :k", ("e", "k")),
        ("mysql", "SELECT id FROM users WHERE id = ? OR id = ?", ("?",)),
        ("sqlite", "SELECT id FROM users WHERE id = :a OR name = @b OR city = ?", ("?", "a", "b")),
        ("postgres", "SELECT :x AS x", ("x",)),
    ],
)
def test_parameters_are_reported_once_sorted(
    dialect: str, sql: str, expected: tuple[str, ...]
) -> None:
    assert analyze(sql, schema_for(dialect)).parameters == expected


def test_parameters_never_name_tables() -> None:
    with pytest.raises(Refused, match="only stand for values"):
        analyze("SELECT * FROM :t", schema_for("postgres"))


# --- tables and identifier case ---------------------------------------------------------------


def test_unknown_table_hint_lists_a_few_names_only() -> None:
    tables = tuple(make_table("public", f"table_{i:02}", (("id", "INT"),)) for i in range(30))
    schema = Schema("postgres", tables, default_db="public")
    with pytest.raises(Refused) as caught:
        analyze("SELECT id FROM nope", schema)
    assert caught.value.hint is not None
    assert caught.value.hint.count("table_") <= 5
    with pytest.raises(Refused) as close:
        analyze("SELECT id FROM table_7", schema)
    assert "table_07" in (close.value.hint or "")


def test_postgres_folds_unquoted_names_and_keeps_quoted_ones() -> None:
    schema = Schema(
        "postgres",
        (
            make_table("public", "users", (("email", "TEXT"), ("Email", "TEXT"))),
            make_table("public", "Users", (("id", "INT"),)),
        ),
        default_db="public",
    )
    lower = analyze("SELECT EMAIL FROM USERS", schema)
    assert [s.column for s in lower.outputs[0].sources] == ["email"]
    quoted = analyze('SELECT "Email" FROM users', schema)
    assert [s.column for s in quoted.outputs[0].sources] == ["Email"]
    mixed = analyze('SELECT id FROM "Users"', schema)
    assert mixed.tables[0].name == "Users"
    assert '"Users"' in mixed.expression.sql("postgres")


@pytest.mark.parametrize("dialect", ["duckdb", "mysql", "sqlite"])
def test_case_insensitive_dialects_match_any_case(dialect: str) -> None:
    schema = Schema(
        dialect,
        (make_table(DEFAULT_DB[dialect], "Customers", (("Email", "TEXT"), ("id", "INT"))),),
        default_db=DEFAULT_DB[dialect],
    )
    analysis = (
        analyze('SELECT EMAIL, "ID" FROM customers', schema)
        if dialect != "mysql"
        else (analyze("SELECT EMAIL, `ID` FROM customers", schema))
    )
    assert [s.column for o in analysis.outputs for s in o.sources] == ["Email", "id"]
    # the table reference is rewritten to the exact stored name (MariaDB may be case-sensitive)
    assert "Customers" in analysis.expression.sql(dialect)


def test_duckdb_catalogs_must_match() -> None:
    schema = Schema(
        "duckdb",
        (Table("main", "users", (Column("id", "INT"),), catalog="warehouse"),),
        default_db="main",
        default_catalog="warehouse",
    )
    analysis = analyze("SELECT id FROM warehouse.main.users", schema)
    assert '"warehouse"."main"."users"' in analysis.expression.sql("duckdb")
    assert analyze("SELECT id FROM users", schema).tables == schema.tables
    with pytest.raises(Refused, match="not in the database"):
        analyze("SELECT id FROM attached.main.users", schema)


def test_table_of_survives_copies_for_the_rewrite() -> None:
    schema = schema_for("duckdb")
    analysis = analyze("WITH a AS (SELECT id FROM users) SELECT a.id FROM a", schema)
    copied = analysis.expression.copy()
    resolved = [table_of(node) for node in copied.find_all(exp.Table)]
    assert resolved == [None, schema.table("main", "users")]  # the CTE reference, the table
    assert resolved[1] is schema.tables[0]


def test_tables_are_listed_once_in_first_seen_order() -> None:
    analysis = analyze(
        "SELECT o.id FROM orders o JOIN users a ON a.id = o.user_id JOIN users b ON b.id = o.id",
        schema_for("postgres"),
    )
    assert [t.name for t in analysis.tables] == ["orders", "users"]


def test_a_cte_may_shadow_a_table_name_without_reading_it() -> None:
    analysis = analyze(
        "WITH users AS (SELECT 1 AS ssn) SELECT ssn FROM users", schema_for("postgres")
    )
    assert analysis.tables == ()
    assert analysis.outputs[0].sources == ()


# --- views ------------------------------------------------------------------------------------


def test_views_expand_to_base_tables_recursively() -> None:
    analysis = analyze("SELECT email FROM v_big_orders", schema_for("postgres"))
    assert sorted(t.name for t in analysis.tables) == ["orders", "users"]
    assert [s.path for s in analysis.outputs[0].sources] == ["public.users.email"]
    read = {s.path for s in analysis.columns_read}
    assert {"public.orders.amount", "public.users.city", "public.users.id"} <= read


def test_create_view_statements_are_accepted_as_definitions() -> None:
    schema = schema_for("duckdb", views={"v_users": f"CREATE VIEW v_users AS {V_USERS_SQL};"})
    analysis = analyze("SELECT * FROM v_users", schema)
    assert [t.name for t in analysis.tables] == ["users"]


def test_view_without_definition_is_read_as_a_table() -> None:
    schema = Schema(
        "postgres",
        (make_table("public", "v", (("email", "TEXT"),), kind="view"),),
        default_db="public",
    )
    analysis = analyze("SELECT email FROM v", schema)
    assert analysis.tables[0].kind == "view"


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("SELECT FROM WHERE (", "cannot be parsed"),
        ("DELETE FROM users", "not defined by a plain query"),
        ("WITH x AS (DELETE FROM users RETURNING *) SELECT * FROM x", "not a plain read"),
        ("SELECT pg_read_file('/etc/passwd') AS id", "reads files"),
        ("SELECT id FROM users; SELECT 1", "not defined by a plain query"),
        ("SELECT id FROM secret_table", "not in the database"),
    ],
)
def test_bad_view_definitions_are_refused(definition: str, message: str) -> None:
    schema = schema_for("postgres", views={"v_users": definition})
    with pytest.raises(Refused, match=message):
        analyze("SELECT id FROM v_users", schema)


def test_view_cycles_are_refused() -> None:
    schema = schema_for(
        "postgres",
        views={"v_users": "SELECT id FROM v_big_orders", "v_big_orders": "SELECT id FROM v_users"},
    )
    with pytest.raises(Refused, match="cycle"):
        analyze("SELECT id FROM v_users", schema)


def test_view_with_tablesample_is_refused_not_silently_dropped() -> None:
    with pytest.raises(Refused, match=r"TABLESAMPLE|SAMPLE"):
        analyze("SELECT id FROM v_users TABLESAMPLE SYSTEM (10)", schema_for("postgres"))


# --- the same queries on the real engines -----------------------------------------------------

ROWS_USERS = [
    (1, "Ann", "ann@example.com", "123-45-6789", "1990-05-01", "Paris", "a,b"),
    (2, "Bob", "bob@example.com", "987-65-4321", "1985-01-02", "Oslo", "c"),
    (3, "Cy", "cy@x.org", None, None, None, None),
]
ROWS_ORDERS = [
    (1, 1, 150, "2024-01-01 10:00:00", "first"),
    (2, 1, 20, "2024-02-01 10:00:00", None),
    (3, 2, 5, "2024-02-03 11:00:00", "tiny"),
]


def ddl() -> list[str]:
    def columns(spec: tuple[tuple[str, str], ...]) -> str:
        return ", ".join(f"{n} {t}" for n, t in spec)

    return [
        f"CREATE TABLE users ({columns(USERS)})",
        f"CREATE TABLE orders ({columns(ORDERS)})",
        f"CREATE VIEW v_users AS {V_USERS_SQL}",
        f"CREATE VIEW v_big_orders AS {V_BIG_ORDERS_SQL}",
    ]


def runnable(analysis: Analysis) -> str:
    """The analyzed SQL with bound parameters replaced by NULL (the gateway binds real values)."""

    def unbind(node: exp.Expr) -> exp.Expr:
        return exp.null() if isinstance(node, (exp.Placeholder, exp.Parameter)) else node

    return analysis.expression.copy().transform(unbind).sql(analysis.dialect)


def real_schema(dialect: str, db: str | None, view_sql: dict[str, str]) -> Schema:
    """The schema as a connection would introspect it, with view definitions from the database."""
    return schema_for(dialect, db=db, views=view_sql)


def check_on_engine(dialect: str, schema: Schema, execute: Any) -> list[str]:
    """Analyze and run every must-allow case; return the failures."""
    failures = []
    for case in allow_cases(dialect):
        if dialect in case.meta.get("skip-engine", "").split():
            continue
        try:
            analysis = analyze(case.sql, schema)
            names = execute(runnable(analysis))
        except Exception as error:
            failures.append(f"L{case.line} {case.sql!r}: {type(error).__name__}: {error}")
            continue
        if names != [o.name for o in analysis.outputs]:
            failures.append(f"L{case.line}: database names {names} != {analysis.outputs}")
    return failures


@pytest.fixture(scope="module")
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    for statement in ddl():
        connection.execute(statement)
    connection.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?)", ROWS_USERS)
    connection.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", ROWS_ORDERS)
    yield connection
    connection.close()


def test_allowed_queries_run_on_duckdb_with_our_names(duck: duckdb.DuckDBPyConnection) -> None:
    views = dict(
        duck.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall()
    )
    assert views["v_users"].upper().startswith("CREATE VIEW")

    def execute(sql: str) -> list[str]:
        return [d[0] for d in duck.execute(sql).description]

    assert check_on_engine("duckdb", real_schema("duckdb", "main", views), execute) == []


def test_allowed_queries_run_on_sqlite_with_our_names() -> None:
    connection = sqlite3.connect(":memory:")
    for statement in ddl():
        connection.execute(statement)
    connection.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?)", ROWS_USERS)
    connection.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", ROWS_ORDERS)
    views = dict(connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'"))

    def execute(sql: str) -> list[str]:
        return [d[0] for d in connection.execute(sql).description]

    try:
        assert check_on_engine("sqlite", real_schema("sqlite", None, views), execute) == []
    finally:
        connection.close()


@pytest.mark.postgres
def test_allowed_queries_run_on_postgres_with_our_names(pg_schema: Any) -> None:
    engine = sa.create_engine(pg_schema.url)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement in ddl():
            cursor.execute(statement)
        cursor.executemany("INSERT INTO users VALUES (%s, %s, %s, %s, %s, %s, %s)", ROWS_USERS)
        cursor.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s, %s)", ROWS_ORDERS)
        cursor.execute(
            "SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'v'",
            (pg_schema.name,),
        )
        views = dict(cursor.fetchall())
        raw.commit()

        def execute(sql: str) -> list[str]:
            cursor.execute(sql)
            names = [d[0] for d in cursor.description]
            raw.rollback()
            return names

        schema = real_schema("postgres", pg_schema.name, views)
        assert check_on_engine("postgres", schema, execute) == []
    finally:
        raw.close()
        engine.dispose()


@pytest.mark.mariadb
def test_allowed_queries_run_on_mariadb_with_our_names(mariadb_database: Any) -> None:
    engine = sa.create_engine(mariadb_database.url)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement in ddl():
            cursor.execute(statement)
        cursor.executemany("INSERT INTO users VALUES (%s, %s, %s, %s, %s, %s, %s)", ROWS_USERS)
        cursor.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s, %s)", ROWS_ORDERS)
        cursor.execute(
            "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS "
            "WHERE TABLE_SCHEMA = %s",
            (mariadb_database.name,),
        )
        views = dict(cursor.fetchall())
        raw.commit()
        assert "`" in views["v_users"]  # MariaDB reports fully qualified, quoted definitions

        def execute(sql: str) -> list[str]:
            cursor.execute(sql)
            cursor.fetchall()
            return [d[0] for d in cursor.description]

        schema = real_schema("mysql", mariadb_database.name, views)
        assert check_on_engine("mysql", schema, execute) == []
    finally:
        raw.close()
        engine.dispose()


def test_duckdb_columns_selector_matches_duckdb_itself(duck: duckdb.DuckDBPyConnection) -> None:
    """COLUMNS('regex') resolves to the very columns DuckDB would return, in the same order."""
    schema = real_schema(
        "duckdb", "main", {"v_users": V_USERS_SQL, "v_big_orders": V_BIG_ORDERS_SQL}
    )
    for sql in (
        "SELECT COLUMNS('mail') FROM users",
        "SELECT COLUMNS('^(id|note)$') FROM orders",
        "SELECT COLUMNS('_') FROM users u JOIN orders o ON o.user_id = u.id",
        "SELECT COLUMNS(*) FROM orders",
        "SELECT COLUMNS('a') FROM (SELECT email AS a, name AS b, city AS ab FROM users)",
    ):
        theirs = [d[0] for d in duck.execute(sql).description]
        ours = analyze(sql, schema)
        assert [o.name for o in ours.outputs] == theirs, sql
        assert [d[0] for d in duck.execute(runnable(ours)).description] == theirs


# --- the per-schema cache ---------------------------------------------------------------------


def test_cached_analyses_hand_out_independent_expressions() -> None:
    schema = schema_for("duckdb")
    first = analyze("SELECT email FROM users", schema)
    first.expression.set("where", exp.condition("1 = 0"))  # a caller transforming its copy
    second = analyze("SELECT email FROM users", schema)
    assert second.expression is not first.expression
    assert "WHERE" not in second.expression.sql("duckdb")
    assert second.outputs == first.outputs
    assert second.tables[0] is schema.tables[0]


def test_cache_keys_include_the_allowed_functions_and_skip_refusals() -> None:
    schema = schema_for("postgres")
    allowed = analyze("SELECT unaccent(name) FROM users", schema, allow_functions=["unaccent"])
    assert allowed.outputs[0].name == "unaccent"
    with pytest.raises(Refused):
        analyze("SELECT unaccent(name) FROM users", schema)
    with pytest.raises(Refused):  # refusals are not cached into allowances either
        analyze("SELECT unaccent(name) FROM users", schema)


def test_a_new_schema_starts_with_a_new_cache() -> None:
    old = schema_for("postgres")
    analyze("SELECT id FROM users", old)
    new = Schema("postgres", (make_table("public", "orders", ORDERS),), default_db="public")
    with pytest.raises(Refused, match="not in the database"):
        analyze("SELECT id FROM users", new)


def test_when_a_script_transform_runs_a_program_then_it_is_refused() -> None:
    from jupyter_masking.errors import Refused
    from jupyter_masking.sql.analyze import analyze
    from jupyter_masking.sql.schema import Column, Schema, Table

    users = Table("default", "users", (Column("id", "INT"), Column("email", "STRING")))
    schema = Schema("spark", (users,), default_db="default")
    with pytest.raises(Refused) as refused:
        analyze("SELECT TRANSFORM(email) USING 'cat' AS (e STRING) FROM users", schema)
    assert refused.value.construct == "TRANSFORM ... USING"
