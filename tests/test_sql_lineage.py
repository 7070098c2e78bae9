"""Column lineage: the cases where stock sqlglot lineage is silently wrong, and an oracle on DuckDB.

The oracle fills every column with sentinel values naming their column (``users.ssn#2``), runs
each traced query on real DuckDB and checks that every sentinel found in an output comes from a
column the lineage lists as a source of that output, and that identity outputs hold nothing else.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import duckdb
import pytest

from jupyter_masking.errors import MaskingError, Refused
from jupyter_masking.sql.analyze import Analysis, analyze
from jupyter_masking.sql.schema import Column, Schema, Table

COLUMNS = {
    "users": ("id", "name", "email", "ssn", "dob", "city"),
    "orders": ("oid", "user_id", "note", "card"),
    "audit": ("who", "what"),
}


def schema(dialect: str = "duckdb") -> Schema:
    db = {"duckdb": "main", "postgres": "public", "mysql": "shop", "sqlite": None}[dialect]
    tables = tuple(
        Table(db, name, tuple(Column(c, "VARCHAR") for c in columns))
        for name, columns in COLUMNS.items()
    )
    views = (
        Table(
            db,
            "v_contacts",
            (Column("who", "VARCHAR"), Column("contact", "VARCHAR")),
            kind="view",
            view_sql="SELECT name AS who, email AS contact FROM users",
        ),
    )
    return Schema(dialect, tables + views, default_db=db)


def lineage(sql: str, dialect: str = "duckdb") -> dict[str, tuple[str, list[str]]]:
    analysis = analyze(sql, schema(dialect))
    return {
        o.name: (o.transform, sorted(f"{s.table.name}.{s.column}" for s in o.sources))
        for o in analysis.outputs
    }


# --- the research note's pitfalls, one by one ---------------------------------------------------


def test_duplicate_output_names_keep_both_lineages() -> None:
    # stock lineage keys by name and keeps the first "x": ssn vanished
    assert lineage("SELECT u.name AS x, u.ssn AS x FROM users u") == {
        "x": ("identity", ["users.name"]),
        "x_2": ("identity", ["users.ssn"]),
    }


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("postgres", "SELECT to_json(u) FROM users u"),
        ("postgres", "SELECT u FROM users u"),
        ("postgres", "SELECT (u).ssn FROM users u"),
        ("postgres", "SELECT md5(CAST(u AS TEXT)) FROM users u"),
        ("duckdb", "SELECT u FROM users u"),
        ("duckdb", "SELECT to_json(u.*) FROM users u"),
        ("duckdb", "SELECT struct_pack(*) FROM users"),
        ("duckdb", "SELECT x FROM (SELECT u FROM users u) AS t(x)"),
    ],
)
def test_whole_row_references_are_refused(dialect: str, sql: str) -> None:
    with pytest.raises(Refused, match="whole-row"):
        analyze(sql, schema(dialect))


def test_columns_selector_is_resolved_with_its_sources() -> None:
    # stock lineage: _col_0 with no sources
    assert lineage("SELECT COLUMNS('.*mail|ssn') FROM users") == {
        "email": ("identity", ["users.email"]),
        "ssn": ("identity", ["users.ssn"]),
    }


def test_tables_missing_from_the_schema_are_refused_not_guessed() -> None:
    for sql in ("SELECT secret FROM hr.salaries", "SELECT ssn FROM users u, unknown_t t"):
        with pytest.raises(Refused, match="not in the database"):
            analyze(sql, schema("postgres"))


def test_ambiguous_columns_are_refused() -> None:
    with pytest.raises(Refused, match="unknown or in more than one table"):
        analyze("SELECT who FROM audit a, audit b", schema())


def test_nonexistent_quoted_column_is_refused_in_postgres() -> None:
    with pytest.raises(Refused, match="EMAIL"):
        analyze('SELECT "EMAIL" FROM users', schema("postgres"))


def test_recursive_cte_is_refused_with_a_hint() -> None:
    with pytest.raises(Refused) as caught:
        analyze(
            "WITH RECURSIVE r AS (SELECT email AS e FROM users UNION ALL SELECT e FROM r) "
            "SELECT e FROM r",
            schema("postgres"),
        )
    assert caught.value.construct == "WITH RECURSIVE"
    assert "without recursion" in (caught.value.hint or "")


def test_alias_spoofing_follows_the_column_not_the_name() -> None:
    assert lineage("SELECT name AS email, ssn AS zip FROM users") == {
        "email": ("identity", ["users.name"]),
        "zip": ("identity", ["users.ssn"]),
    }


def test_lag_carries_the_value_it_is_not_an_aggregate() -> None:
    out = lineage("SELECT lag(ssn) OVER (PARTITION BY city ORDER BY dob) AS prev FROM users")
    assert out == {"prev": ("identity", ["users.city", "users.dob", "users.ssn"])}


# --- what stock lineage gets right must stay right ------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT upper(email) AS x FROM users", {"x": ("transformation", ["users.email"])}),
        ("SELECT CAST(ssn AS INT) AS x FROM users", {"x": ("transformation", ["users.ssn"])}),
        (
            "WITH t AS (SELECT * FROM users) SELECT t.ssn FROM t",
            {"ssn": ("identity", ["users.ssn"])},
        ),
        (
            "WITH a AS (SELECT ssn AS s FROM users), b AS (SELECT s AS t FROM a) SELECT t FROM b",
            {"t": ("identity", ["users.ssn"])},
        ),
        (
            "SELECT x.k FROM (SELECT ssn AS k FROM users) AS x",
            {"k": ("identity", ["users.ssn"])},
        ),
        (
            "SELECT x.a FROM (SELECT ssn, email FROM users) AS x(a, b)",
            {"a": ("identity", ["users.ssn"])},
        ),
        (
            "SELECT (SELECT max(ssn) FROM users) AS top",
            {"top": ("aggregation", ["users.ssn"])},
        ),
        (
            "SELECT u.id, (SELECT o.card FROM orders o WHERE o.user_id = u.id LIMIT 1) AS card "
            "FROM users u",
            {"id": ("identity", ["users.id"]), "card": ("identity", ["orders.card"])},
        ),
        (
            "SELECT email FROM users UNION SELECT note FROM orders",
            {"email": ("identity", ["orders.note", "users.email"])},
        ),
        (
            "SELECT u.email || o.note AS both FROM users u JOIN orders o ON o.user_id = u.id",
            {"both": ("transformation", ["orders.note", "users.email"])},
        ),
        (
            "SELECT count(DISTINCT email) AS n, string_agg(ssn, ',') AS all_ssn FROM users",
            {"n": ("aggregation", ["users.email"]), "all_ssn": ("aggregation", ["users.ssn"])},
        ),
        (
            "SELECT CASE WHEN city = 'x' THEN ssn ELSE name END AS v FROM users",
            {"v": ("transformation", ["users.city", "users.name", "users.ssn"])},
        ),
        (
            "SELECT row_number() OVER (PARTITION BY email ORDER BY dob) AS rn FROM users",
            {"rn": ("transformation", ["users.dob", "users.email"])},
        ),
        ("SELECT count(*) AS n FROM users WHERE ssn = 'x'", {"n": ("none", [])}),
        ("SELECT 1 AS one, 'a' AS two", {"one": ("none", []), "two": ("none", [])}),
        (
            "SELECT count(ssn) + length(max(city)) AS mix FROM users",
            {"mix": ("aggregation", ["users.city", "users.ssn"])},
        ),
        (
            "SELECT max(city) || id AS mix FROM users GROUP BY id",
            {"mix": ("transformation", ["users.city", "users.id"])},
        ),
        (
            "SELECT unnest(string_split(email, '@')) AS part FROM users",
            {"part": ("transformation", ["users.email"])},
        ),
        (
            "SELECT t.part FROM users u, unnest(string_split(u.email, '@')) AS t(part)",
            {"part": ("transformation", ["users.email"])},
        ),
        (
            "SELECT who, contact FROM v_contacts",
            {"who": ("identity", ["users.name"]), "contact": ("identity", ["users.email"])},
        ),
        (
            "SELECT id FROM users JOIN orders ON orders.user_id = users.id",
            {"id": ("identity", ["users.id"])},
        ),
    ],
)
def test_lineage_table(sql: str, expected: dict[str, tuple[str, list[str]]]) -> None:
    assert lineage(sql) == expected


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite"])
def test_a_cte_shadowing_a_table_still_reaches_the_table(dialect: str) -> None:
    sql = "WITH users AS (SELECT ssn AS name FROM users) SELECT name FROM users"
    assert lineage(sql, dialect) == {"name": ("identity", ["users.ssn"])}
    analysis = analyze(sql, schema(dialect))
    assert [t.name for t in analysis.tables] == ["users"]


def test_table_column_aliases_rename_by_position() -> None:
    # sqlglot's qualification ignores them: users AS u(pin) made u.pin look like a real column
    assert lineage("SELECT u.pin, u.nm FROM users AS u(pin, nm)") == {
        "pin": ("identity", ["users.id"]),
        "nm": ("identity", ["users.name"]),
    }
    with pytest.raises(Refused, match="names two columns"):
        analyze("SELECT max(email) FROM users max(email)", schema())


def test_columns_read_include_indirect_inputs() -> None:
    analysis = analyze(
        "SELECT u.city, count(*) AS n FROM users u JOIN orders o ON o.user_id = u.id "
        "WHERE u.dob > '2000' AND o.oid IN (SELECT what FROM audit) "
        "GROUP BY u.city HAVING max(u.ssn) > 'a' ORDER BY min(o.card)",
        schema(),
    )
    read = {f"{s.table.name}.{s.column}" for s in analysis.columns_read}
    assert read == {
        "users.city",
        "users.id",
        "users.dob",
        "users.ssn",
        "orders.user_id",
        "orders.oid",
        "orders.card",
        "audit.what",
    }
    assert {f"{s.table.name}.{s.column}" for o in analysis.outputs for s in o.sources} == {
        "users.city"
    }


def test_filter_only_query_has_no_output_sources_but_reads_the_filter() -> None:
    analysis = analyze("SELECT count(*) AS n FROM users WHERE ssn LIKE '1%'", schema())
    assert analysis.outputs[0].sources == ()
    assert [s.column for s in analysis.columns_read] == ["ssn"]


def test_wide_star_lineage_is_complete() -> None:
    wide = Table("main", "wide", tuple(Column(f"c{i}", "INT") for i in range(120)))
    analysis = analyze("SELECT * FROM wide", Schema("duckdb", (wide,), default_db="main"))
    assert [o.sources[0].column for o in analysis.outputs] == [f"c{i}" for i in range(120)]
    assert all(o.transform == "identity" for o in analysis.outputs)


def test_source_columns_carry_the_schema_table_and_exact_name() -> None:
    table = Table("main", "People", (Column("FullName", "VARCHAR"),))
    analysis = analyze("SELECT fullname FROM people", Schema("duckdb", (table,), default_db="main"))
    source = analysis.outputs[0].sources[0]
    assert source.table is table
    assert source.column == "FullName"
    assert source.path == "main.People.FullName"


# --- the oracle: sentinels through real DuckDB -------------------------------------------------

ORACLE_QUERIES = [
    "SELECT * FROM users",
    "SELECT u.name AS x, u.ssn AS x FROM users u",
    "SELECT name AS email, ssn AS zip FROM users",
    "SELECT COLUMNS('.*mail|ssn') FROM users",
    "SELECT * EXCLUDE (ssn) FROM users",
    "SELECT * REPLACE (ssn AS email) FROM users",
    "SELECT * RENAME (ssn AS zip) FROM users",
    "WITH t AS (SELECT * FROM users) SELECT t.ssn, t.name FROM t",
    "WITH a AS (SELECT ssn AS s, email FROM users), b AS (SELECT email AS s, s AS e FROM a) "
    "SELECT s, e FROM b",
    "SELECT x.a, x.b FROM (SELECT ssn, email FROM users) AS x(a, b)",
    "SELECT (SELECT max(ssn) FROM users) AS top, name FROM users",
    "SELECT u.id, (SELECT o.card FROM orders o WHERE o.user_id = u.id ORDER BY o.oid LIMIT 1) AS c "
    "FROM users u",
    "SELECT email FROM users UNION ALL SELECT note FROM orders",
    "SELECT u.email || o.note AS both, o.card FROM users u JOIN orders o ON o.user_id = u.id",
    "SELECT city, string_agg(ssn, ',') AS s, max(email) AS m, count(*) AS n FROM users "
    "GROUP BY city",
    "SELECT CASE WHEN city LIKE '%1' THEN ssn ELSE name END AS v FROM users",
    "SELECT lag(ssn) OVER (ORDER BY id) AS prev, lead(email) OVER (ORDER BY id) AS nxt FROM users",
    "SELECT first_value(card) OVER (PARTITION BY user_id ORDER BY oid) AS f FROM orders",
    "SELECT coalesce(NULL, ssn) AS c, nullif(email, 'x') AS n FROM users",
    "SELECT upper(email) AS up, substring(ssn, 1, 8) AS part FROM users",
    "SELECT t.part FROM users u, unnest(string_split(u.email, '#')) AS t(part)",
    "SELECT who, contact FROM v_contacts",
    "SELECT u.id FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id)",
    "SELECT users.id, orders.card FROM users JOIN orders ON orders.user_id = users.id",
    "SELECT {'k': ssn} AS s FROM users",
    "SELECT [email, name] AS l FROM users",
    "SELECT list_transform([ssn, email], lambda x: upper(x)) AS l FROM users",
    "SELECT u.email FROM users u QUALIFY row_number() OVER (PARTITION BY city ORDER BY ssn) = 1",
    "SELECT arg_max(ssn, dob) AS a FROM users",
    "SELECT DISTINCT city FROM users ORDER BY city",
    "SELECT t.x FROM unnest((SELECT list(ssn) FROM users)) AS t(x)",
    "SELECT u.id, t.x FROM users u, unnest([u.name, (SELECT max(note) FROM orders)]) AS t(x)",
    "SELECT g.n FROM generate_series(1, (SELECT count(*) FROM users)) AS g(n)",
    "SELECT t.a, t.b FROM (VALUES ((SELECT max(ssn) FROM users), 'x')) AS t(a, b)",
    "SELECT u.k, u.v, u.ssn FROM users AS u(k, v)",
]

_SENTINEL = re.compile(r"(users|orders|audit)\.([a-z_]+)#\d+", re.IGNORECASE)


@pytest.fixture(scope="module")
def sentinel_db() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    for table, columns in COLUMNS.items():
        connection.execute(f"CREATE TABLE {table} ({', '.join(c + ' VARCHAR' for c in columns)})")
        for row in range(1, 4):
            values = [f"{table}.{column}#{row}" for column in columns]
            if table == "orders":  # join key: orders.user_id holds users.id values
                values[1] = f"users.id#{row}"
            placeholders = ", ".join("?" for _ in columns)
            connection.execute(f"INSERT INTO {table} VALUES ({placeholders})", values)
    connection.execute("CREATE VIEW v_contacts AS SELECT name AS who, email AS contact FROM users")
    yield connection
    connection.close()


def oracle_violations(analysis: Analysis, rows: list[tuple[object, ...]]) -> list[str]:
    problems = []
    for output in analysis.outputs:
        allowed = {f"{s.table.name}.{s.column}" for s in output.sources}
        for row in rows:
            text = str(row[output.position])
            found = {f"{m.group(1)}.{m.group(2)}".lower() for m in _SENTINEL.finditer(text)}
            if found - allowed:
                problems.append(
                    f"{output.name}: {sorted(found - allowed)} not in {sorted(allowed)}"
                )
            if output.transform == "identity" and row[output.position] is not None and not found:
                problems.append(f"{output.name}: identity output holds {text!r}")
    return problems


@pytest.mark.parametrize("sql", ORACLE_QUERIES)
def test_lineage_oracle_on_duckdb(sentinel_db: duckdb.DuckDBPyConnection, sql: str) -> None:
    analysis = analyze(sql, schema())
    rows = sentinel_db.execute(analysis.expression.sql("duckdb")).fetchall()
    assert rows, "the oracle needs rows"
    assert oracle_violations(analysis, rows) == []
    # the original query returns the same rows: analysis changed names, not meaning
    original = sentinel_db.execute(sql).fetchall()
    assert sorted(map(str, original)) == sorted(map(str, rows))


_FRAGMENTS = (
    "(", ")", ",", "*", "u.*", "users", "SELECT", "FROM", "AS", "ssn", "email", "u", "1", "NULL",
    "max(ssn)", "card", "note", "x", "#1", "t", "JOIN", "ON", "/*!", "*/", "ORDER BY", "GROUP BY",
    "UNION ALL SELECT", "(SELECT ssn FROM users LIMIT 1)",
)  # fmt: skip


def mutate(sql: str, rng: random.Random) -> str:
    """One random token edit: drop, duplicate, swap, or insert a fragment."""
    tokens = sql.split()
    i, j = rng.randrange(len(tokens)), rng.randrange(len(tokens))
    choice = rng.random()
    if choice < 0.25:
        del tokens[i]
    elif choice < 0.5:
        tokens.insert(i, tokens[j])
    elif choice < 0.7:
        tokens[i], tokens[j] = tokens[j], tokens[i]
    else:
        tokens.insert(i, rng.choice(_FRAGMENTS))
    return " ".join(tokens)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_queries_fail_closed_or_keep_the_oracle(
    sentinel_db: duckdb.DuckDBPyConnection, seed: int
) -> None:
    """Near-miss queries: refused with a MaskingError, or run with complete output sources."""
    rng = random.Random(seed)
    ran = 0
    for _ in range(150):
        sql = mutate(rng.choice(ORACLE_QUERIES), rng)
        try:
            analysis = analyze(sql, schema())
        except MaskingError:
            continue
        try:
            rows = sentinel_db.execute(analysis.expression.sql("duckdb")).fetchall()
        except duckdb.Error:
            continue  # the database rejects it: nothing returned
        ran += 1
        missing = [v for v in oracle_violations(analysis, rows) if "identity output" not in v]
        assert missing == [], sql
    assert ran > 5
