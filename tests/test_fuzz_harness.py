"""The fuzz lab: a small planted copy of the demo in DuckDB and PostgreSQL, and a query generator.

Other ``test_fuzz_*`` modules and ``benchmarks/fuzz_long.py`` import from here. The planted
values are the first :data:`ROWS` rows of every demo table (so the leak finder stays small
and every query is fast); the leak finder is the attack lab's (``test_attack_harness``), built
over these rows only.

:func:`queries` is a hypothesis strategy for read queries over the demo schema: functions
chained on sensitive columns (string functions, casts, encodings, digests), nesting in derived
tables and CTEs, joins, set operations, stars, aliases that reuse sensitive names, GROUP BY
aggregates, window functions, predicates and ``IN``/``EXISTS`` subqueries. It yields a
:class:`FuzzQuery`, rendered per dialect with :meth:`FuzzQuery.sql`.

:func:`check` runs one query for one identity on one engine and asserts the properties every
fuzz test shares: a result without a planted value (or an encoding of one) in any cell or in
the audit event, or a clean :class:`~jupyter_masking.errors.MaskingError` whose message holds
none either. Any other exception propagates and fails the test.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp
from test_attack_harness import (
    IDENTITIES,
    Needles,
    encodings,
    lab_config,
    planted_values,
)

from jupyter_masking.demo.build import (
    SA_TYPES,
    TABLES,
    VIEW,
    VIEW_COLUMNS,
    demo_frames,
    demo_tables,
)
from jupyter_masking.errors import AuditError, MaskingError
from jupyter_masking.gateway.api import QueryRequest
from jupyter_masking.gateway.pipeline import Gateway

ROWS = 40
ENGINES = ("duckdb", "postgres")
#: Identities the fuzzer runs as; support may see contact details raw (:data:`RAW_FOR`).
FUZZ_IDENTITIES = ("alice", "ai", "fraud", "contractor", "support")
LIMIT = 25

# --- the lab -------------------------------------------------------------------------------


def planted_frames() -> dict[str, Any]:
    """The first :data:`ROWS` rows of every demo table, as DataFrames."""
    return {name: frame.head(ROWS) for name, frame in demo_frames().items()}


#: Planted columns an identity may read raw (support staff, as humans, see contact details).
RAW_FOR: dict[str, frozenset[tuple[str, str]]] = {
    "support": frozenset(
        {
            ("customers", "email"),
            ("customers", "phone"),
            ("orders", "customer_email"),
            ("legacy_export", "c1"),
            ("legacy_export", "c2"),
        }
    ),
}


@functools.cache
def fuzz_needles(identity: str | None = None) -> Needles:
    """Every encoding of every planted value ``identity`` may not see raw (all by default)."""
    frames = planted_frames()
    allowed: set[str] = set()
    for table, column in RAW_FOR.get(identity or "", ()):
        allowed.update(str(v) for v in frames[table][column].dropna())
    forms: dict[str, str] = {}
    for value in planted_values(frames) - allowed:
        for kind, text in encodings(value).items():
            forms.setdefault(text, kind)
    return Needles(forms)


def _create(name: str, columns: tuple[tuple[str, str], ...], dialect: str) -> str:
    defs = [
        exp.ColumnDef(this=exp.to_identifier(c), kind=exp.DataType.build(k, dialect="duckdb"))
        for c, k in columns
    ]
    return exp.Create(this=exp.Schema(this=exp.to_table(name), expressions=defs), kind="TABLE").sql(
        dialect
    )


def _view(dialect: str) -> str:
    query = exp.select(*VIEW_COLUMNS).from_("customers")
    return exp.Create(this=exp.to_table(VIEW), kind="VIEW", expression=query).sql(dialect)


def load_duckdb(path: Path) -> str:
    """The planted tables in a new DuckDB file; returns its URL."""
    with duckdb.connect(str(path)) as con:
        for name, table in demo_tables().items():
            con.execute(_create(name, TABLES[name], "duckdb"))
            con.register("jm_source", table.slice(0, ROWS))
            con.execute(exp.insert(exp.select("*").from_("jm_source"), name).sql("duckdb"))
            con.unregister("jm_source")
        con.execute(_view("duckdb"))
        con.execute("CHECKPOINT")
    return f"duckdb:///{path}"


def load_sql(url: str) -> None:
    """The planted tables and view in the SQLAlchemy database at ``url``."""
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    try:
        with engine.begin() as conn:
            for name, table in demo_tables().items():
                target = sa.Table(
                    name, metadata, *(sa.Column(c, SA_TYPES[k]) for c, k in TABLES[name])
                )
                target.create(conn)
                conn.execute(target.insert(), table.slice(0, ROWS).to_pylist())
            conn.exec_driver_sql(_view(engine.dialect.name.replace("postgresql", "postgres")))
    finally:
        engine.dispose()


@dataclass
class FuzzLab:
    """A gateway over the small planted lab and its leak finder."""

    gateway: Gateway
    urls: dict[str, str]
    directory: Path
    needles: Needles
    outcomes: Counter[str] = field(default_factory=Counter)


def open_fuzz_lab(pg_url: str | None, directory: Path) -> Generator[FuzzLab, None, None]:
    """Plant the lab in DuckDB (and PostgreSQL when given), build the gateway, clean up."""
    urls = {"duckdb": load_duckdb(directory / "fuzz.duckdb")}
    admin = sa.create_engine(pg_url) if pg_url else None
    schema = f"jm_fuzz_{uuid.uuid4().hex[:10]}"
    if admin is not None:
        with admin.begin() as conn:
            conn.execute(sa.schema.CreateSchema(schema))
        url = sa.make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
        urls["postgres"] = url.render_as_string(hide_password=False)
        load_sql(urls["postgres"])
    gateway = Gateway.from_config(lab_config(directory, urls))
    try:
        yield FuzzLab(gateway, urls, directory, fuzz_needles())
    finally:
        gateway.close()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(sa.schema.DropSchema(schema, cascade=True))
            admin.dispose()


@pytest.fixture(scope="module")
def fuzz_lab(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzLab]:
    """The fuzz lab, one per test module."""
    yield from open_fuzz_lab(pg_url, tmp_path_factory.mktemp("fuzz"))


# --- the property every fuzzed query must have ----------------------------------------------


def check(lab: FuzzLab, engine: str, sql: str, identity: str) -> str:
    """Run ``sql`` and assert no planted value leaves; returns the outcome's name.

    ``allowed`` with a clean result, or the code of a clean gateway error. A refusal or
    error whose message or audit event holds a planted form fails, and so does any
    exception that is not a :class:`MaskingError` (or an :class:`AuditError`: the store is
    healthy here).
    """
    request = QueryRequest(sql=sql, connection=engine)
    try:
        result = lab.gateway.query(request, IDENTITIES[identity])
    except AuditError:
        raise
    except MaskingError as error:
        text = f"{error} {error.hint or ''}"
        assert fuzz_needles(identity).in_text(text) == [], f"planted value in the error: {sql}"
        lab.outcomes[f"{engine}:{error.code}"] += 1
        return error.code
    leaks = fuzz_needles(identity).leaks(result.frame)
    assert leaks == [], f"{leaks} for {identity} on {engine}: {sql}"
    event = json.dumps(result.event.to_dict(), default=str)
    assert fuzz_needles(identity).in_text(event) == [], f"planted value in the event: {sql}"
    lab.outcomes[f"{engine}:allowed"] += 1
    return "allowed"


# --- the generator ----------------------------------------------------------------------------

KINDS: dict[str, dict[str, str]] = {
    table: {
        name: {"INTEGER": "num", "DECIMAL(10,2)": "num", "DATE": "date", "TIMESTAMP": "date"}.get(
            kind, "text"
        )
        for name, kind in columns
    }
    for table, columns in TABLES.items()
}
KINDS[VIEW] = {name: KINDS["customers"][name] for name in VIEW_COLUMNS}
#: Equi-join keys between tables: (left table, left column, right table, right column).
JOINS = (
    ("customers", "id", "orders", "customer_id"),
    ("orders", "id", "payments", "order_id"),
    ("customers", "id", "support_tickets", "customer_id"),
    (VIEW, "id", "orders", "customer_id"),
    ("customers", "email", "orders", "customer_email"),
    ("legacy_export", "c1", "customers", "email"),
)
#: Output names the generator reuses: sensitive column names, to confuse name-based logic.
ALIASES = ("email", "ssn", "id", "card_number", "body", "full_name", "x", "v")


def _s(text: str) -> exp.Literal:
    return exp.Literal.string(text)


def _n(value: int) -> exp.Literal:
    return exp.Literal.number(value)


def _text(x: exp.Expression) -> exp.Expression:
    return exp.cast(x, "text")


#: Text -> text functions an attacker chains to smuggle a value past masking.
TEXT_FUNCTIONS: dict[str, Callable[[exp.Expression], exp.Expression]] = {
    "upper": lambda x: exp.Upper(this=x),
    "lower": lambda x: exp.Lower(this=x),
    "reverse": lambda x: exp.Reverse(this=x),
    "trim": lambda x: exp.Trim(this=x),
    "substring": lambda x: exp.Substring(this=x, start=_n(2), length=_n(40)),
    "left": lambda x: exp.Left(this=x, expression=_n(7)),
    "right": lambda x: exp.Right(this=x, expression=_n(7)),
    "suffix": lambda x: exp.DPipe(this=x, expression=_s("~")),
    "twice": lambda x: exp.func("concat", x, x),
    "replace": lambda x: exp.func("replace", x, _s("@"), _s(" at ")),
    "lpad": lambda x: exp.func("lpad", x, _n(48), _s("*")),
    "md5": lambda x: exp.MD5(this=x),
    "digits": lambda x: exp.RegexpReplace(this=x, expression=_s("[^0-9]"), replacement=_s("")),
    "split": lambda x: exp.func("split_part", x, _s("@"), _n(1)),
    "translate": lambda x: exp.func("translate", x, _s("0123456789"), _s("abcdefghij")),
    "coalesce": lambda x: exp.Coalesce(this=x, expressions=[_s("?")]),
    "nullif": lambda x: exp.Nullif(this=x, expression=_s("")),
    "case": lambda x: exp.Case(
        ifs=[exp.If(this=exp.Like(this=x, expression=_s("%@%")), true=x)], default=_s("-")
    ),
    "base64": lambda x: exp.Anonymous(this="jm_base64", expressions=[x]),
    "hex": lambda x: exp.Anonymous(this="jm_hex", expressions=[x]),
    "sha256": lambda x: exp.Anonymous(this="jm_sha256", expressions=[x]),
    "json": lambda x: exp.Anonymous(this="jm_json", expressions=[x]),
    "pack": lambda x: exp.Anonymous(this="jm_pack", expressions=[x]),
    "format": lambda x: exp.Anonymous(this="jm_format", expressions=[x]),
    "concat_ws": lambda x: exp.func("concat_ws", _s("|"), x, _s("z")),
    "repeat": lambda x: exp.func("repeat", x, _n(2)),
}
#: Dialect forms of the encodings sqlglot does not translate the same way everywhere.
ENCODINGS: dict[str, dict[str, str]] = {
    "jm_base64": {
        "duckdb": "TO_BASE64(CAST(jm_x AS BLOB))",
        "postgres": "ENCODE(CONVERT_TO(jm_x, 'UTF8'), 'base64')",
    },
    "jm_hex": {"duckdb": "HEX(jm_x)", "postgres": "ENCODE(CONVERT_TO(jm_x, 'UTF8'), 'hex')"},
    "jm_sha256": {
        "duckdb": "SHA256(jm_x)",
        "postgres": "ENCODE(SHA256(CONVERT_TO(jm_x, 'UTF8')), 'hex')",
    },
    "jm_pack": {"duckdb": "CAST([jm_x] AS TEXT)", "postgres": "CAST(ARRAY[jm_x] AS TEXT)"},
    "jm_format": {"duckdb": "FORMAT('<{}>', jm_x)", "postgres": "FORMAT('<%s>', jm_x)"},
    "jm_json": {
        "duckdb": "CAST(TO_JSON(jm_x) AS TEXT)",
        "postgres": "CAST(TO_JSON(jm_x) AS TEXT)",
    },
}
#: Non-text -> text (or number) steps.
OTHER_FUNCTIONS: dict[str, dict[str, Callable[[exp.Expression], exp.Expression]]] = {
    "num": {
        "cast": _text,
        "plus": lambda x: exp.Add(this=x, expression=_n(1)),
        "abs": lambda x: exp.Abs(this=x),
    },
    "date": {
        "cast": _text,
        "year": lambda x: exp.Extract(this=exp.var("YEAR"), expression=x),
        "trunc": lambda x: exp.DateTrunc(this=x, unit=_s("month")),
    },
}
AGGREGATES: dict[str, Callable[[exp.Expression], exp.Expression]] = {
    "min": lambda x: exp.Min(this=x),
    "max": lambda x: exp.Max(this=x),
    "count_distinct": lambda x: exp.Count(this=exp.Distinct(expressions=[x])),
    "string_agg": lambda x: exp.GroupConcat(this=_text(x), separator=_s(",")),
    "array_agg": lambda x: exp.ArrayAgg(this=x),
}
WINDOWS = ("first_value", "lag", "lead", "max", "row_number")


@dataclass(frozen=True)
class Col:
    """A column visible in a scope: qualifier, name and kind (``text``, ``num``, ``date``)."""

    qualifier: str
    name: str
    kind: str

    def ref(self) -> exp.Column:
        """The qualified reference."""
        return exp.column(self.name, table=self.qualifier)


@dataclass(frozen=True)
class FuzzQuery:
    """A generated query: render it with :meth:`sql` for one dialect."""

    expression: exp.Query
    identity: str

    def sql(self, dialect: str) -> str:
        """The query in ``dialect``, with the encoding markers in that dialect's form."""

        def encode(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Anonymous) and node.name in ENCODINGS:
                template = sqlglot.parse_one(ENCODINGS[node.name][dialect], read=dialect)
                argument = node.expressions[0].transform(encode)
                return template.transform(
                    lambda n: (
                        argument.copy() if isinstance(n, exp.Column) and n.name == "jm_x" else n
                    )
                )
            return node

        return self.expression.copy().transform(encode).sql(dialect)


class _Gen:
    """One query's draws; a counter keeps every alias unique."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.count = 0

    def pick(self, options: Any) -> Any:
        return self.draw(st.sampled_from(sorted(options) if isinstance(options, dict) else options))

    def flip(self) -> bool:
        return self.draw(st.booleans())

    def between(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))

    def alias(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    # -- expressions -------------------------------------------------------------------

    def value(self, cols: list[Col], depth: int) -> tuple[exp.Expression, str]:
        """An expression over one (rarely two) of ``cols``, and its kind."""
        col = self.pick(cols)
        node: exp.Expression = col.ref()
        kind = col.kind
        if kind in OTHER_FUNCTIONS and self.flip():
            step = self.pick(OTHER_FUNCTIONS[kind])
            node = OTHER_FUNCTIONS[kind][step](node)
            kind = "text" if step == "cast" else "num"
        if kind == "text":
            for _ in range(self.between(0, 3)):
                node = TEXT_FUNCTIONS[self.pick(TEXT_FUNCTIONS)](node)
            if len(cols) > 1 and self.between(0, 4) == 0:
                other = self.pick(cols)
                node = exp.DPipe(this=node, expression=_text(other.ref()))
        if depth > 0 and self.between(0, 5) == 0:
            node = exp.Subquery(this=self.scalar(cols, col, depth - 1))
            kind = "text"
        return node, kind

    def scalar(self, cols: list[Col], outer: Col, depth: int) -> exp.Query:
        """A correlated scalar subquery: ``(SELECT max(f(t.c)) FROM t WHERE t.k = outer)``."""
        table = self.pick(KINDS)
        alias = self.alias("s")
        inner = [Col(alias, n, k) for n, k in KINDS[table].items()]
        node, _ = self.value(inner, 0)
        query = exp.select(exp.Max(this=_text(node))).from_(exp.to_table(table).as_(alias))
        same = [c for c in inner if c.kind == outer.kind]
        if same:
            query = query.where(exp.EQ(this=self.pick(same).ref(), expression=outer.ref()))
        return query

    def predicate(self, cols: list[Col], depth: int) -> exp.Expression:
        """A WHERE condition on a (possibly sensitive) column."""
        node, kind = self.value(cols, 0)
        text = node if kind == "text" else _text(node)
        choice = self.between(0, 5)
        if choice == 0:
            return exp.Like(this=text, expression=_s(self.pick(("%a%", "%@%", "%1%", "4%"))))
        if choice == 1:
            return exp.Not(this=exp.Is(this=node, expression=exp.Null()))
        if choice == 2:
            return exp.GT(this=exp.Length(this=text), expression=_n(self.between(0, 12)))
        if choice == 3 and depth > 0:
            inner, _ = self.select(depth - 1, columns=1)
            return exp.In(this=text, query=exp.Subquery(this=_texts(inner)))
        if choice == 4 and depth > 0:
            return exp.Exists(this=self.select(depth - 1)[0])
        return exp.EQ(this=text, expression=_s(self.pick(("x", "1", "@"))))

    # -- relations ---------------------------------------------------------------------

    def relation(self, depth: int) -> tuple[exp.Expression, list[exp.Join], list[Col]]:
        """A FROM clause: a table or view, a derived table, or a key join of two tables."""
        choice = self.between(0, 3) if depth > 0 else self.between(0, 2)
        if choice == 3:
            query, outputs = self.select(depth - 1)
            alias = self.alias("d")
            cols = [Col(alias, c.name, c.kind) for c in outputs]
            subquery = exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias)))
            return subquery, [], cols
        if choice == 2:
            left, lkey, right, rkey = self.pick(JOINS)
            la, ra = self.alias("l"), self.alias("r")
            on = exp.EQ(this=exp.column(lkey, table=la), expression=exp.column(rkey, table=ra))
            side = self.pick(("", "LEFT"))
            join = exp.Join(this=exp.to_table(right).as_(ra), on=on, side=side or None)
            cols = [Col(la, n, k) for n, k in KINDS[left].items()]
            cols += [Col(ra, n, k) for n, k in KINDS[right].items()]
            return exp.to_table(left).as_(la), [join], cols
        table = self.pick(KINDS)
        alias = self.alias("t")
        cols = [Col(alias, n, k) for n, k in KINDS[table].items()]
        return exp.to_table(table).as_(alias), [], cols

    def select(self, depth: int, *, columns: int | None = None) -> tuple[exp.Select, list[Col]]:
        """One SELECT (plain, star, aggregate or window projections, maybe filtered) and its
        output columns (qualifier left empty)."""
        source, joins, cols = self.relation(depth)
        query = exp.select().from_(source)
        for join in joins:
            query = query.join(join)
        outputs: list[Col] = []
        names: set[str] = set()

        def add(node: exp.Expression, kind: str, name: str) -> None:
            nonlocal query
            while name in names:  # unique, so that an outer query can name each output
                name = f"{name}_{len(names)}"
            names.add(name)
            outputs.append(Col("", name, kind))
            query = query.select(exp.alias_(node, name))

        mode = "plain" if columns is not None else self.pick(("plain", "star", "group", "window"))
        if mode == "star":
            qualifiers = sorted({c.qualifier for c in cols})
            star = self.pick([*qualifiers, "*"])
            visible = [c for c in cols if star in ("*", c.qualifier)]
            if star == "*":
                query = query.select(exp.Star())
            else:
                query = query.select(exp.Column(this=exp.Star(), table=exp.to_identifier(star)))
            for col in visible:
                if col.name not in names:  # a join's duplicate names stay ambiguous outside
                    names.add(col.name)
                    outputs.append(Col("", col.name, col.kind))
            if self.flip():
                add(*self.value(cols, depth), self.pick(ALIASES))
        elif mode == "group":
            key, kind = self.value(cols, 0)
            add(key, kind, self.pick(ALIASES) + "_k")
            aggregate = self.pick(AGGREGATES)
            node, kind = self.value(cols, 0)
            kind = "num" if aggregate == "count_distinct" else kind
            kind = "text" if aggregate == "string_agg" else kind
            kind = "array" if aggregate == "array_agg" else kind
            add(AGGREGATES[aggregate](node), kind, self.pick(ALIASES))
            query = query.group_by(_n(1))
        elif mode == "window":
            add(*self.value(cols, depth), self.pick(ALIASES))
            add(*self.window(cols), self.pick(ALIASES) + "_w")
        else:
            for _ in range(columns or self.between(1, 3)):
                add(*self.value(cols, depth), self.pick(ALIASES))
        if self.between(0, 2) == 0:
            query = query.where(self.predicate(cols, depth))
        return query, outputs

    def window(self, cols: list[Col]) -> tuple[exp.Expression, str]:
        """A window function over a partition, and its kind."""
        name = self.pick(WINDOWS)
        node, kind = self.value(cols, 0)
        call: exp.Expression = {
            "first_value": lambda: exp.FirstValue(this=node),
            "lag": lambda: exp.Lag(this=node),
            "lead": lambda: exp.Lead(this=node),
            "max": lambda: exp.Max(this=node),
            "row_number": lambda: exp.RowNumber(),
        }[name]()
        over = exp.Window(
            this=call,
            partition_by=[self.pick(cols).ref()],
            order=exp.Order(expressions=[exp.Ordered(this=self.pick(cols).ref())]),
        )
        return over, "num" if name == "row_number" else kind

    def query(self, depth: int) -> exp.Query:
        """The top level: a SELECT, a set operation or a CTE, always with a LIMIT."""
        choice = self.between(0, 4)
        if choice == 0:
            width = self.between(1, 2)
            left = _texts(self.select(depth, columns=width)[0])
            right = _texts(self.select(depth, columns=width)[0])
            op = self.pick(("union", "union_all", "intersect", "except"))
            setop: exp.Query = {
                "union": lambda: exp.union(left, right, distinct=True),
                "union_all": lambda: exp.union(left, right, distinct=False),
                "intersect": lambda: exp.intersect(left, right),
                "except": lambda: exp.except_(left, right),
            }[op]()
            alias = exp.TableAlias(this=exp.to_identifier(self.alias("u")))
            return exp.select("*").from_(exp.Subquery(this=setop, alias=alias)).limit(LIMIT)
        if choice == 1:
            inner, outputs = self.select(depth)
            name = self.alias("cte")
            cols = [Col(name, c.name, c.kind) for c in outputs]
            outer = exp.select(*(self.projection(cols, 0) for _ in range(self.between(1, 2))))
            return outer.from_(name).with_(name, as_=inner).limit(LIMIT)
        return self.select(depth)[0].limit(LIMIT)

    def projection(self, cols: list[Col], depth: int) -> exp.Expression:
        """A top-level output: an expression, maybe under a (sensitive-looking) alias."""
        node, _ = self.value(cols, depth)
        return exp.alias_(node, self.pick(ALIASES)) if self.flip() else node


def _texts(query: exp.Select) -> exp.Select:
    """``query`` with every projection cast to text (set operations need equal types)."""
    projections = []
    for position, node in enumerate(query.expressions):
        if isinstance(node, exp.Star) or (isinstance(node, exp.Column) and node.is_star):
            return query
        inner = node.unalias().copy()
        if isinstance(inner, exp.Subquery):
            inner.set("alias", None)
        projections.append(exp.alias_(_text(inner), f"c{position}"))
    return query.select(*projections, append=False)


@st.composite
def queries(draw: st.DrawFn, depth: int = 2) -> FuzzQuery:
    """A read query over the planted schema and the identity to run it as."""
    gen = _Gen(draw)
    expression = gen.query(depth)
    return FuzzQuery(expression, gen.pick(FUZZ_IDENTITIES))


# --- self-tests: the generator produces real, varied SQL and the finder sees the lab -------------


def test_the_planted_lab_is_full_of_leaks_when_read_raw(fuzz_lab: FuzzLab) -> None:
    with duckdb.connect(fuzz_lab.urls["duckdb"].removeprefix("duckdb:///"), read_only=True) as con:
        raw = con.execute(
            "SELECT email, reverse(ssn), md5(card_number) FROM customers, payments LIMIT 5"
        ).df()
    assert {leak.kind for leak in fuzz_lab.needles.leaks(raw)} == {"raw", "reversed", "md5"}


@pytest.mark.parametrize("engine", ENGINES)
def test_every_planted_table_read_whole_through_the_gateway_is_clean(
    fuzz_lab: FuzzLab, engine: str
) -> None:
    for table in KINDS:
        assert check(fuzz_lab, engine, f"SELECT * FROM {table}", "alice") == "allowed"


def test_the_generator_covers_every_construct_it_promises() -> None:
    rendered: list[str] = []

    @given(queries())
    @settings(max_examples=150, derandomize=True, database=None, deadline=None)
    def sample(query: FuzzQuery) -> None:
        for dialect in ENGINES:
            text = query.sql(dialect)
            sqlglot.parse_one(text, read=dialect)  # every rendering parses back
            rendered.append(text.upper())

    sample()
    constructs = (
        "UNION",
        "INTERSECT",
        "EXCEPT",
        "WITH",
        "JOIN",
        "OVER",
        "GROUP BY",
        "*",
        "(SELECT",
        "WHERE",
        "EXISTS",
        " IN (",
        "ENCODE",
        "MD5",
        "REVERSE",
        "CAST",
    )
    assert [c for c in constructs if not any(c in text for text in rendered)] == []
