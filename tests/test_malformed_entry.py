"""Malformed input at every entry point: CLI, ``%%masked_sql``, REST and MCP.

Each entry point parses its own envelope (argv and stdin bytes, the magic line, a JSON body,
an MCP tool call) before the gateway sees any SQL. Whatever arrives, the caller gets one clear
line (CLI: exit 2 for bad input, no traceback; REST: a 4xx JSON ``{code, message, hint}``; MCP:
an ``isError`` result; magic: a one-line error) and the process keeps serving: the next plain
query works. A bug inside the gateway (simulated) must not leak a traceback or a value either.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from IPython.core.interactiveshell import InteractiveShell
from mcp.client.session import ClientSession
from tornado.httpclient import HTTPClientError

from jupyter_masking.demo.build import build_demo
from jupyter_masking.errors import MaskingError

pytest_plugins = ("pytest_jupyter.jupyter_server",)

SCRIPT = str(Path(sys.executable).with_name("jupyter-masking"))
POLICY = Path(__file__).parents[1] / "jupyter_masking" / "demo" / "policy.yaml"
PLAIN = "SELECT id, email FROM customers LIMIT 3"
SECRET = "078-05-1120"
#: SQL every entry point must answer with one clean line (sent through each envelope).
BAD_SQL = {
    "unterminated-string": "SELECT 'abc FROM customers",
    "unterminated-comment": "SELECT email /* FROM customers",
    "deep-nesting": "SELECT " + "(" * 3000 + "1" + ")" * 3000,
    "not-a-read": "DELETE FROM customers",
    "two-statements": "SELECT 1; SELECT 2",
    "garbage": "\u202e\x1b[2J\u0007 ))) SELECT",
}
#: Results every entry point must render: NaN/Infinity, binary, nulls, odd times, wide.
ODD_RESULTS = {
    "nan-infinity": "SELECT CAST('NaN' AS DOUBLE) AS n, CAST('Infinity' AS DOUBLE) AS i",
    "binary": "SELECT CAST('ab' AS BLOB) AS b, CAST(NULL AS BLOB) AS n",
    "nulls": "SELECT NULL AS a, NULLIF(email, email) AS e FROM customers LIMIT 3",
    "times": "SELECT CAST('9999-12-31 23:59:59' AS TIMESTAMP) AS far, "
    "CAST('2026-03-29 02:30:00+02' AS TIMESTAMPTZ) AS dst",
    "wide": "SELECT " + ", ".join(f"id AS c{i}" for i in range(1500)) + " FROM customers LIMIT 1",
}


def strict_json(text: str | bytes) -> Any:
    """Parse JSON, refusing NaN/Infinity tokens (browsers and strict clients reject them)."""

    def refuse(token: str) -> float:
        raise ValueError(f"non-standard JSON number {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the demo database (built once) and a key."""
    folder = tmp_path_factory.mktemp("entry")
    build_demo(folder / "demo.duckdb")
    return folder


# --- CLI ----------------------------------------------------------------------------------------


def cli(data_dir: Path, *args: str | bytes, stdin: bytes | None = None) -> Any:
    env = {**os.environ, "JUPYTER_MASKING_DATA_DIR": str(data_dir)}
    for name in ("JUPYTER_MASKING_GATEWAY_URL", "JUPYTER_MASKING_CONFIG"):
        env.pop(name, None)
    return subprocess.run(
        [SCRIPT, "query", "--user", "alice", "--group", "analysts", "--policy", str(POLICY), *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )


def assert_cli_error(done: Any, code: int) -> str:
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == code, err
    assert done.stdout == b""
    assert "Traceback" not in err
    assert err.count("\n") == 1
    assert err.startswith("jupyter-masking: ")
    return str(err)


@pytest.mark.parametrize("name", sorted(BAD_SQL))
def test_cli_answers_bad_sql_on_stdin_with_one_line(data_dir: Path, name: str) -> None:
    done = cli(data_dir, "-", stdin=BAD_SQL[name].encode())
    assert_cli_error(done, 3 if name in ("not-a-read", "two-statements") else 2)


def test_cli_refuses_stdin_that_is_not_utf8_as_bad_input(data_dir: Path) -> None:
    err = assert_cli_error(cli(data_dir, "-", stdin=b"SELECT '\xff\xfe' AS x"), 2)
    assert "UTF-8" in err


def test_cli_refuses_an_empty_stdin(data_dir: Path) -> None:
    assert_cli_error(cli(data_dir, "-", stdin=b""), 2)


@pytest.mark.parametrize("name", sorted(ODD_RESULTS))
@pytest.mark.parametrize("form", ["json", "csv", "table"])
def test_cli_renders_odd_results_in_every_format(data_dir: Path, name: str, form: str) -> None:
    done = cli(data_dir, "--format", form, ODD_RESULTS[name])
    assert done.returncode == 0, done.stderr.decode()
    if form == "json":
        body = strict_json(done.stdout)
        assert body["rows"]


def _embedded_config(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An embedded gateway config on the demo database for alice (analysts), no hub URL."""
    monkeypatch.setenv("JUPYTER_MASKING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("JUPYTER_MASKING_GATEWAY_URL", raising=False)
    config = tmp_path / "gateway.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "connections": {"demo": {"url": f"duckdb:///{data_dir / 'demo.duckdb'}"}},
                "default_connection": "demo",
                "policy": str(POLICY),
                "audit_store": str(tmp_path / "audit.sqlite3"),
                "local_identity": {"user": "alice", "groups": ["analysts"]},
            }
        )
    )
    return config


# --- the magic ----------------------------------------------------------------------------------


@pytest.fixture
def ip(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    config = _embedded_config(data_dir, tmp_path, monkeypatch)
    shell = InteractiveShell.instance()
    shell.config.pop("MaskedSql", None)
    shell.run_line_magic("load_ext", "jupyter_masking")
    shell.run_line_magic("config", f"MaskedSql.config_path = {str(config)!r}")
    yield shell
    shell.run_line_magic("unload_ext", "jupyter_masking")
    shell.config.pop("MaskedSql", None)


MAGIC_LINES = {
    "unknown-option": "--no-such-option",
    "bad-limit": "--limit abc",
    "negative-limit": "--limit -5",
    "nul-in-line": "demo\x00",
    "password-in-line": "postgresql://u:hunter2@db/x",
}


@pytest.mark.parametrize("name", sorted(BAD_SQL) + sorted(MAGIC_LINES))
def test_the_magic_answers_bad_input_with_one_line_and_keeps_working(ip: Any, name: str) -> None:
    line, cell = MAGIC_LINES.get(name, ""), BAD_SQL.get(name, PLAIN)
    with pytest.raises(MaskingError) as caught:
        ip.run_cell_magic("masked_sql", line, cell)
    rendered = caught.value._render_traceback_()  # type: ignore[attr-defined]
    # one line, plus the offending SQL line and a caret for syntax errors
    assert len(rendered) <= 3
    assert "Traceback" not in "".join(rendered)
    assert "hunter2" not in "".join(rendered)
    assert len(ip.run_cell_magic("masked_sql", "", PLAIN)) == 3


@pytest.mark.parametrize("name", sorted(ODD_RESULTS))
def test_the_magic_renders_odd_results(ip: Any, name: str) -> None:
    frame = ip.run_cell_magic("masked_sql", "", ODD_RESULTS[name])
    html = frame._repr_html_()
    assert "<table" in html
    assert "\x1b" not in html


# --- REST (the Jupyter Server extension) ------------------------------------------------------


@pytest.fixture
def jp_server_config(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    path = _embedded_config(data_dir, tmp_path, monkeypatch)
    monkeypatch.setenv("JUPYTER_MASKING_CONFIG", str(path))
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_masking": True},
            "allow_unauthenticated_access": False,
        },
    }


async def post(jp_fetch: Any, body: bytes) -> tuple[int, Any]:
    try:
        response = await jp_fetch("jupyter-masking", "api", "query", method="POST", body=body)
    except HTTPClientError as error:
        response = error.response
    assert response is not None
    return response.code, strict_json(response.body)


def _json(sql: object, **extra: object) -> bytes:
    return json.dumps({"sql": sql, **extra}).encode()


REST_BODIES: dict[str, bytes] = {
    **{name: _json(sql) for name, sql in BAD_SQL.items()},
    "not-json": b"{'sql': ",
    "not-utf8": b'{"sql": "SELECT \xff\xfe"}',
    "nul-in-sql": _json("SELECT email\x00 FROM customers"),
    "lone-surrogate": b'{"sql": "SELECT \'\\udcff\' AS x"}',
    "too-long": _json("SELECT 1 AS x --" + "x" * 1_000_001),
    "sql-not-a-string": _json(12),
    "params-nested": _json(PLAIN, params={"a": {"b": [1]}}),
    "negative-max-rows": _json(PLAIN, max_rows=-1),
    "unknown-field": _json(PLAIN, run_as="admin"),
    "deep-json": b'{"sql": "x", "params": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "empty-body": b"",
    "json-null": b"null",
    "connection-url": _json(PLAIN, connection="sqlite:////etc/passwd"),
}


@pytest.mark.parametrize("name", sorted(REST_BODIES))
async def test_rest_answers_a_bad_body_with_a_json_error_and_keeps_serving(
    jp_fetch: Any, name: str
) -> None:
    status, body = await post(jp_fetch, REST_BODIES[name])
    assert 400 <= status < 500, (status, body)
    assert set(body) == {"code", "message", "hint"}
    assert "\n" not in body["message"]
    assert "Traceback" not in json.dumps(body)
    status, body = await post(jp_fetch, _json(PLAIN))
    assert status == 200
    assert len(body["rows"]) == 3


@pytest.mark.parametrize("name", sorted(ODD_RESULTS))
async def test_rest_returns_odd_results_as_strict_json(jp_fetch: Any, name: str) -> None:
    status, body = await post(jp_fetch, _json(ODD_RESULTS[name]))
    assert status == 200, body
    assert body["rows"]


async def test_a_bug_inside_the_gateway_reaches_rest_without_traceback_or_values(
    jp_fetch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_masking.gateway.pipeline import Gateway

    def broken(*_: object, **__: object) -> None:
        raise KeyError(f"row with ssn {SECRET}")

    monkeypatch.setattr(Gateway, "query", broken)
    status, body = await post(jp_fetch, _json(PLAIN))
    assert status == 500
    assert SECRET not in json.dumps(body)
    assert "traceback" not in body
    assert body["code"] == "internal_error"
    monkeypatch.undo()
    status, _ = await post(jp_fetch, _json(PLAIN))
    assert status == 200


# --- MCP (a real stdio server, one session for every call) --------------------------------------

MCP_CALLS: dict[str, dict[str, Any]] = {
    **{name: {"sql": sql} for name, sql in BAD_SQL.items()},
    "nul": {"sql": "SELECT email\x00 FROM customers"},
    # (a lone surrogate cannot be sent: the SDK client refuses to encode it)
    "too-long": {"sql": "SELECT 1 AS x --" + "x" * 200_000},
    "empty": {"sql": "   "},
    "sql-not-a-string": {"sql": 12},
    "limit-negative": {"sql": PLAIN, "limit": -3},
    "connection-url": {"sql": PLAIN, "connection": "duckdb:////etc/x"},
}
#: Calls answered normally: the limit is capped, unknown arguments are ignored.
MCP_TOLERATED: dict[str, dict[str, Any]] = {
    "limit-huge": {"sql": PLAIN, "limit": 10**30},
    "unknown-argument": {"sql": PLAIN, "as_user": "admin"},
}


@pytest.fixture(scope="module")
def mcp_answers(data_dir: Path) -> dict[str, Any]:
    from test_mcp_server import serve

    async def body(session: ClientSession) -> dict[str, Any]:
        answers: dict[str, Any] = {}
        odd = {name: {"sql": sql} for name, sql in ODD_RESULTS.items()}
        for name, arguments in {**MCP_CALLS, **MCP_TOLERATED, **odd}.items():
            answers[name] = await session.call_tool("masked_query", arguments)
            answers[f"{name}:after"] = await session.call_tool("masked_query", {"sql": PLAIN})
        return answers

    args = ["--user", "alice", "--group", "analysts", "--policy", str(POLICY)]
    return serve(data_dir, args, body, client="fuzzer")


@pytest.mark.parametrize("name", sorted(MCP_CALLS))
def test_mcp_answers_bad_calls_with_an_error_result_and_keeps_serving(
    mcp_answers: dict[str, Any], name: str
) -> None:
    result = mcp_answers[name]
    text = result.content[0].text
    assert result.is_error, text
    assert "Traceback" not in text
    assert len(text) < 2000
    after = mcp_answers[f"{name}:after"]
    assert not after.is_error
    assert after.structured_content["row_count"] == 3


@pytest.mark.parametrize("name", sorted(ODD_RESULTS))
def test_mcp_returns_odd_results(mcp_answers: dict[str, Any], name: str) -> None:
    result = mcp_answers[name]
    assert not result.is_error, result.content[0].text
    strict_json(json.dumps(result.structured_content, allow_nan=False))


@pytest.mark.parametrize("name", sorted(MCP_TOLERATED))
def test_mcp_caps_or_ignores_odd_arguments(mcp_answers: dict[str, Any], name: str) -> None:
    result = mcp_answers[name]
    assert not result.is_error
    assert result.structured_content["row_count"] == 3
    assert result.structured_content["actor"] == "ai:mcp:fuzzer"  # not "admin", not human


def test_a_bug_inside_the_gateway_reaches_an_mcp_agent_without_values() -> None:
    from jupyter_masking.mcp.tools import MaskingTools

    class Broken:
        mode = "embedded"

        def with_actor(self, actor: str) -> Broken:
            return self

        def query(self, request: object) -> None:
            raise KeyError(f"row with ssn {SECRET}")

        def close(self) -> None:
            pass

    tools = MaskingTools(Broken())  # type: ignore[arg-type]
    result = tools.masked_query(PLAIN, actor="ai:mcp:test")
    assert result.is_error
    assert SECRET not in result.content[0].text + json.dumps(result.structured_content)
