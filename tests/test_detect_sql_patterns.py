"""SQL_SPAN_PATTERNS run for real: regexp_replace in DuckDB, PostgreSQL and MariaDB, and
Python re (what SQLite uses); every planted value must disappear from realistic texts."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
import sqlglot
from sqlglot import exp

from jupyter_masking import classes as c
from jupyter_masking.detect import SQL_SPAN_PATTERNS

_B62 = "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
MASK = "#"

# data class -> realistic texts, each with the planted value(s) that must be masked
PLANTED: dict[str, list[tuple[str, str]]] = {
    c.PII_EMAIL: [("Reply to ann.lee+x@example.co.uk today.", "ann.lee+x@example.co.uk")],
    c.PII_PHONE: [
        ("Call (555) 010-0199 after 5pm.", "010-0199"),
        ("Mobile +44 20 7946 0958, office 555.010.0123", "7946 0958"),
        ("cb 001-555-010-0199x123 asap", "010-0199"),
    ],
    c.GOV_ID_US_SSN: [("SSN 078-05-1120 verified", "078-05-1120"), ("ssn: 536228726", "536228726")],
    c.FINANCIAL_CREDIT_CARD: [
        ("card 4111 1111 1111 1111 declined", "1111 1111"),
        ("pan=4111-1111-1111-1111;", "4111-1111"),
        ("amex 340000000000009.", "340000000000009"),
    ],
    c.FINANCIAL_IBAN: [("IBAN GB82 WEST 1234 5698 7654 32 ok", "WEST 1234")],
    c.PII_IP_ADDRESS: [
        ("login from 192.168.10.20 failed", "192.168.10.20"),
        ("v6 2001:db8:85a3::8a2e:370:7334 seen", "8a2e:370:7334"),
        ("lo fe80::1 up", "fe80::1"),
    ],
    c.SECRET_JWT: [
        ("auth eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl end", "eyJzdWIiOiIxMjMifQ")
    ],
    c.SECRET_AWS_ACCESS_KEY: [("key=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE")],
    c.SECRET_GITHUB_TOKEN: [(f"t ghp_{_B62} x", f"ghp_{_B62}")],
    c.SECRET_GITLAB_TOKEN: [("glpat-AbCdEfGhIjKlMnOpQrSt", "AbCdEfGhIjKlMnOpQrSt")],
    c.SECRET_SLACK_TOKEN: [("xoxb-123456789012-AbCdEfGhIjKl ok", "AbCdEfGhIjKl")],
    c.SECRET_STRIPE_KEY: [("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc")],
    c.SECRET_ANTHROPIC_API_KEY: [(f"sk-ant-api03-{_B62}", _B62)],
    c.SECRET_OPENAI_API_KEY: [(f"OPENAI sk-proj-{_B62} x", _B62)],
    c.SECRET_HUGGINGFACE_TOKEN: [("hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh", "AbCdEfGhIjKl")],
    c.SECRET_NPM_TOKEN: [(f"npm_{_B62}", _B62)],
    c.SECRET_PYPI_TOKEN: [(f"pypi-AgEIcHlwaS5vcmc{_B62}{_B62}", _B62)],
    c.SECRET_SENDGRID_KEY: [(f"SG.{_B62[:22]}.{_B62}{_B62[:7]}", _B62[:22])],
    c.SECRET_MAILCHIMP_KEY: [("0123456789abcdef0123456789abcdef-us12", "0123456789abcdef")],
    c.SECRET_DISCORD_TOKEN: [(f"M{_B62[:23]}.AbCdEf.{_B62[:27]}", _B62[:23])],
    c.SECRET_TELEGRAM_BOT_TOKEN: [(f"123456789:AA{_B62[:33]}", _B62[:33])],
    c.SECRET_HEROKU_API_KEY: [(f"HRKU-AA{_B62}{_B62[:22]}", _B62)],
    c.SECRET_PRIVATE_KEY: [
        (
            "x -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nq+/Z==\n"
            "-----END RSA PRIVATE KEY----- y",
            "MIIEowIBAAKCAQEA7",
        )
    ],
    c.SECRET_BASIC_AUTH: [
        ("postgresql://report:s3cr3t@db:5432/x", "s3cr3t"),
        ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
    ],
    c.SECRET_GENERIC: [
        ('{"password": "hunter2", "user": "x"}', "hunter2"),
        ("db_password=Tr0ub4dor&3 more", "Tr0ub4dor&3"),
        ("API_KEY: 9f8e7d6c5b4a39281706", "9f8e7d6c5b4a39281706"),
        ("Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
    ],
    c.FINANCIAL_CRYPTO_WALLET: [
        ("btc 1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "1BoatSLRHtKNngkdXEeobR76b53")
    ],
    c.HEALTH_US_MBI: [("mbi 1EG4-TE5-MK73", "1EG4-TE5-MK73")],
    c.GOV_ID_UK_NINO: [("nino AB 12 34 56 C", "AB 12 34 56 C")],
    c.PII_MAC_ADDRESS: [("nic 00:1A:2B:3C:4D:5E", "00:1A:2B:3C:4D:5E")],
}

ORDINARY = [
    "Order ORD-2024-001 shipped on 2024-01-15, total USD 1,234.56.",
    "Meeting moved to 15.03.2024 at 10:30, room 4B.",
    "Version 1.2.3 fixed the bug; see ticket #4412.",
]

REQUIRED = {
    c.PII_EMAIL, c.PII_PHONE, c.GOV_ID_US_SSN, c.FINANCIAL_CREDIT_CARD, c.FINANCIAL_IBAN,
    c.PII_IP_ADDRESS, c.SECRET_JWT, c.SECRET_PRIVATE_KEY, c.SECRET_GENERIC,
    c.SECRET_AWS_ACCESS_KEY, c.SECRET_GITHUB_TOKEN, c.SECRET_SLACK_TOKEN, c.SECRET_STRIPE_KEY,
    c.SECRET_OPENAI_API_KEY, c.SECRET_ANTHROPIC_API_KEY,
}  # fmt: skip

CASES = [(cls, text, value) for cls, items in PLANTED.items() for text, value in items]


def test_the_patterns_cover_the_required_classes_and_only_known_ones() -> None:
    assert set(SQL_SPAN_PATTERNS) >= REQUIRED
    assert all(c.is_known(cls) for cls in SQL_SPAN_PATTERNS)
    assert set(PLANTED) == set(SQL_SPAN_PATTERNS)


@pytest.mark.parametrize("pattern", list(SQL_SPAN_PATTERNS.values()))
def test_patterns_stay_in_the_portable_subset(pattern: str) -> None:
    for banned in ("\\", "(?", "*?", "+?", "??", "'", '"', "[:"):
        assert banned not in pattern
    assert all(int(n) <= 255 for n in re.findall(r"\{(\d+)", pattern))


def _python(text: str, pattern: str) -> str:
    return re.sub(pattern, MASK, text)


@pytest.mark.parametrize(("data_class", "text", "value"), CASES)
def test_python_re_masks_every_planted_value(data_class: str, text: str, value: str) -> None:
    assert value not in _python(text, SQL_SPAN_PATTERNS[data_class])


@pytest.mark.parametrize("text", ORDINARY)
def test_python_re_leaves_ordinary_text_alone(text: str) -> None:
    masked = text
    for pattern in SQL_SPAN_PATTERNS.values():
        masked = _python(masked, pattern)
    assert masked == text


def _replace(dialect: str, this: exp.Expression, pattern: str) -> exp.Expression:
    """``regexp_replace(this, <pattern>, '#'[, 'g'])`` as the gateway builds it (sqlglot)."""
    args: list[exp.Expression] = [this, exp.Literal.string(pattern), exp.Literal.string(MASK)]
    if dialect != "mysql":  # MariaDB replaces every match and takes no flags argument
        args.append(exp.Literal.string("g"))
    return exp.Anonymous(this="regexp_replace", expressions=args)


def _select(dialect: str, patterns: list[str]) -> str:
    """``SELECT id, <every pattern applied in turn to body> FROM notes ORDER BY id``."""
    masked: exp.Expression = exp.column("body")
    for pattern in patterns:
        masked = _replace(dialect, masked, pattern)
    return sqlglot.select(exp.column("id"), masked).from_("notes").order_by("id").sql(dialect)


def _texts() -> list[str]:
    return [text for _, text, _ in CASES] + ORDINARY


Runner = Callable[[str], dict[int, str]]


def _check_engine(run: Runner, dialect: str) -> list[str]:
    """Assert every planted value is masked by its own pattern; return the ordinary texts
    after all patterns, for the caller to judge."""
    for data_class, pattern in SQL_SPAN_PATTERNS.items():
        out = run(_select(dialect, [pattern]))
        for i, (cls, _text, value) in enumerate(CASES):
            if cls == data_class:
                assert value not in out[i], f"{data_class} left a planted value in {dialect}"
    everything = run(_select(dialect, list(SQL_SPAN_PATTERNS.values())))
    # One regexp_replace with every pattern as an alternative works too (fewer nested calls).
    combined = run(_select(dialect, ["|".join(f"({p})" for p in SQL_SPAN_PATTERNS.values())]))
    for i, (_cls, _text, value) in enumerate(CASES):
        assert value not in everything[i]
        assert value not in combined[i]
    ordinary = [everything[j] for j in range(len(CASES), len(CASES) + len(ORDINARY))]
    assert ordinary == [combined[j] for j in range(len(CASES), len(CASES) + len(ORDINARY))]
    return ordinary


def test_duckdb_masks_every_planted_value_and_ordinary_text_survives() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE notes (id INTEGER, body VARCHAR)")
    con.executemany("INSERT INTO notes VALUES (?, ?)", list(enumerate(_texts())))
    ordinary = _check_engine(lambda sql: dict(con.execute(sql).fetchall()), "duckdb")
    assert ordinary == ORDINARY


@pytest.fixture
def pg_engine(pg_schema: Any) -> Iterator[sa.Engine]:
    engine = sa.create_engine(pg_schema.url)
    yield engine
    engine.dispose()


@pytest.fixture
def mariadb_engine(mariadb_database: Any) -> Iterator[sa.Engine]:
    engine = sa.create_engine(mariadb_database.url)
    yield engine
    engine.dispose()


def _load(engine: sa.Engine, ddl: str) -> Runner:
    with engine.begin() as conn:
        conn.execute(sa.text(ddl))
        conn.execute(
            sa.text("INSERT INTO notes (id, body) VALUES (:id, :body)"),
            [{"id": i, "body": t} for i, t in enumerate(_texts())],
        )

    def run(sql: str) -> dict[int, str]:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(sql.replace("%", "%%")).fetchall()
        return {int(r[0]): str(r[1]) for r in rows}

    return run


@pytest.mark.postgres
def test_postgres_masks_every_planted_value_and_ordinary_text_survives(
    pg_engine: sa.Engine,
) -> None:
    run = _load(pg_engine, "CREATE TABLE notes (id INTEGER, body TEXT)")
    assert _check_engine(run, "postgres") == ORDINARY


@pytest.mark.mariadb
def test_mariadb_masks_every_planted_value(mariadb_engine: sa.Engine) -> None:
    ddl = "CREATE TABLE notes (id INTEGER, body TEXT) CHARACTER SET utf8mb4"
    ordinary = _check_engine(_load(mariadb_engine, ddl), "mysql")
    # A case-insensitive collation makes [A-Z] match lowercase too (documented over-match);
    # with these texts nothing ordinary is hit.
    assert ordinary == ORDINARY
