"""Shared fixtures: real PostgreSQL and MariaDB, each test in its own schema or database.

The servers run on the development and CI machines (127.0.0.1:5432 and :3306).
Where one is unreachable, tests that need it skip with the reason; CI sets
``JM_REQUIRE_SERVICES=1`` so that a missing server fails the run instead.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings

PG_URL = os.environ.get("JM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("JM_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
REQUIRE_SERVICES = os.environ.get("JM_REQUIRE_SERVICES") == "1"

# CI replays the same generated examples on every run, so a submission's result does not depend
# on the draw; local runs explore new ones, and benchmarks/fuzz_long.py runs long random budgets.
settings.register_profile("ci", derandomize=True, print_blob=True)
if REQUIRE_SERVICES:
    settings.load_profile("ci")


@dataclass(frozen=True)
class Scratch:
    """A private namespace on a real server: the admin engine, its name and a URL into it."""

    engine: sa.Engine
    name: str
    url: str


def _reachable(url: str) -> str | None:
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any failure means "not reachable"
        return f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    return None


def _require(url: str, what: str) -> str:
    problem = _reachable(url)
    if problem is None:
        return url
    where = sa.make_url(url).render_as_string(hide_password=True)
    message = f"{what} at {where} unreachable: {problem}"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL admin URL, or skip (fail in CI) when the server is unreachable."""
    return _require(PG_URL, "PostgreSQL")


@pytest.fixture(scope="session")
def mariadb_url() -> str:
    """The MariaDB admin URL, or skip (fail in CI) when the server is unreachable."""
    return _require(MARIADB_URL, "MariaDB")


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[Scratch]:
    """A fresh PostgreSQL schema, dropped after the test; ``url`` sets it as the search path."""
    name = f"jm_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    url = sa.make_url(pg_url).update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield Scratch(engine, name, url.render_as_string(hide_password=False))
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        engine.dispose()


@pytest.fixture
def mariadb_database(mariadb_url: str) -> Iterator[Scratch]:
    """A fresh MariaDB database, dropped after the test; ``url`` points into it."""
    name = f"jm_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(mariadb_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{name}`"))
    url = sa.make_url(mariadb_url).set(database=name)
    try:
        yield Scratch(engine, name, url.render_as_string(hide_password=False))
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE `{name}`"))
        engine.dispose()


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mounts a tmpfs of a given size (``"512k"``) under ``tmp_path``; skips where that needs root.

    Every mount is taken away after the test.
    """
    mounts: list[Path] = []

    def mount(size: str) -> Path:
        target = tmp_path / f"tmpfs-{len(mounts)}"
        target.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip("cannot mount a tmpfs here (needs root)")
        mounts.append(target)
        return target

    try:
        yield mount
    finally:
        for target in mounts:
            subprocess.run(["umount", "-l", str(target)], check=False)
