"""``%%masked_sql`` in a real IPython ``InteractiveShell`` against the DuckDB demo and SQLite.

Every test loads the extension as a user would (``%load_ext jupyter_masking``), points
``%config MaskedSql.config_path`` at its own gateway config (demo policy, its own audit
store, alice in the analysts group) and reads the raw values straight from the database
to prove that what the notebook got is not them.
"""

from __future__ import annotations

import _thread
import http.server
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pytest
import yaml
from IPython.core.interactiveshell import InteractiveShell

from jupyter_masking.audit.store import open_store
from jupyter_masking.demo.build import build_demo
from jupyter_masking.errors import BadInput, ConfigError, MaskingError, Refused
from jupyter_masking.magic.result import LINEAGE_MIME, ExplainReport, MaskedDataFrame

POLICY = Path(__file__).parents[1] / "jupyter_masking" / "demo" / "policy.yaml"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("demo") / "demo.duckdb")


@pytest.fixture(scope="module")
def truth(demo_db: Path) -> list[tuple[Any, ...]]:
    """Raw ``(id, email, ssn)`` of the first customers, read before any gateway opens the file
    (DuckDB refuses a second connection with another configuration in one process)."""
    with duckdb.connect(str(demo_db), read_only=True) as con:
        return con.execute("SELECT id, email, ssn FROM customers ORDER BY id LIMIT 5").fetchall()


@pytest.fixture
def groups() -> list[str]:
    return ["analysts"]


@pytest.fixture
def config(tmp_path: Path, demo_db: Path, groups: list[str], monkeypatch: Any) -> Path:
    monkeypatch.setenv("JUPYTER_MASKING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("JUPYTER_MASKING_GATEWAY_URL", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    path = tmp_path / "gateway.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "connections": {"demo": {"url": f"duckdb:///{demo_db}"}},
                "default_connection": "demo",
                "policy": str(POLICY),
                "audit_store": str(tmp_path / "audit.sqlite3"),
                "local_identity": {"user": "alice", "groups": groups},
            }
        )
    )
    return path


@pytest.fixture
def ip(config: Path) -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.config.pop("MaskedSql", None)  # %config settings persist on the shared shell
    shell.run_line_magic("load_ext", "jupyter_masking")
    shell.run_line_magic("config", f"MaskedSql.config_path = {str(config)!r}")
    yield shell
    shell.run_line_magic("unload_ext", "jupyter_masking")
    shell.config.pop("MaskedSql", None)
    for name in ("x", "top", "country", "attack", "ids", "lite_path"):
        shell.user_ns.pop(name, None)


@pytest.fixture
def store(config: Path) -> Iterator[Any]:
    audit = open_store(yaml.safe_load(config.read_text())["audit_store"])
    yield audit
    audit.close()


def run(ip: InteractiveShell, cell: str) -> Any:
    """Run ``cell``; return its value, raising its error as the notebook would stop on it."""
    result = ip.run_cell(cell, silent=False, store_history=False)
    if result.error_before_exec is not None:
        raise result.error_before_exec
    if result.error_in_exec is not None:
        raise result.error_in_exec
    return result.result


def test_cell_returns_masked_dataframe_with_lineage_of_the_audit_event(
    ip: InteractiveShell, store: Any, truth: list[tuple[Any, ...]]
) -> None:
    frame = run(
        ip, "%%masked_sql\nSELECT id, email, ssn, country FROM customers ORDER BY id LIMIT 5"
    )

    assert isinstance(frame, pd.DataFrame)
    assert isinstance(frame, MaskedDataFrame)
    assert list(frame["id"]) == [t[0] for t in truth]
    assert not set(frame["email"]) & {t[1] for t in truth}
    assert not set(frame["ssn"]) & {t[2] for t in truth}
    assert all(s.endswith(t[2][-4:]) for s, t in zip(frame["ssn"], truth, strict=True))
    lineage = frame.attrs["jupyter_masking"]
    event = store.get(lineage["id"])
    assert event is not None
    assert lineage == event.to_dict()
    assert lineage["identity"] == {"user": "alice", "groups": ["analysts"], "actor": "human"}
    assert lineage["policy_version"].startswith("demo@")
    email = {o["name"]: o for o in lineage["outputs"]}["email"]
    assert (email["data_class"], email["effect"], email["operator"]) == (
        "pii.email",
        "mask",
        "pseudonym",
    )
    assert email["sources"] == ["demo.main.customers.email"]
    assert type(frame.head(2)) is pd.DataFrame  # derived frames are plain pandas


def test_display_marks_masked_headers_escapes_values_and_carries_the_lineage_bundle(
    ip: InteractiveShell,
) -> None:
    frame = run(
        ip, "%%masked_sql\nSELECT '<script>alert(1)</script>' AS note, email FROM customers LIMIT 3"
    )
    bundle = frame._repr_mimebundle_()

    html = bundle["text/html"]
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert 'class="jm-masked" title="pii.email · pseudonym · rule ' in html
    assert "1 of 2 columns masked · policy demo@" in html
    assert "alice (analysts)" in html
    assert bundle[LINEAGE_MIME] == frame.attrs["jupyter_masking"]
    assert "email 🔒" in bundle["text/plain"]


def test_capture_assigns_without_display_and_assign_display_returns_it(
    ip: InteractiveShell,
) -> None:
    assert run(ip, "%%masked_sql top <<\nSELECT id FROM customers LIMIT 2") is None
    assert list(ip.user_ns["top"]["id"]) == [1, 2]
    shown = run(ip, "%%masked_sql x= <<\nSELECT id FROM customers LIMIT 3")
    assert shown is ip.user_ns["x"]
    assert len(shown) == 3
    line = run(ip, "%masked_sql top << SELECT id FROM customers LIMIT 1")
    assert line is None
    assert len(ip.user_ns["top"]) == 1


def test_line_magic_keeps_negative_numbers_comments_and_shifts(ip: InteractiveShell) -> None:
    frame = run(ip, "%masked_sql SELECT 5 * -1 AS n, 1 << 3 AS s -- --limit 1")
    assert frame.to_dict("records") == [{"n": -5, "s": 8}]


def test_cell_body_options_lookalikes_stay_sql(ip: InteractiveShell) -> None:
    frame = run(ip, "%%masked_sql --limit 2\n-- --explain --limit 1\nSELECT id FROM customers")
    assert len(frame) == 2


def test_variables_are_bound_not_pasted(ip: InteractiveShell, store: Any) -> None:
    ip.user_ns["country"] = "US"
    ip.user_ns["top"] = 10
    ip.user_ns["attack"] = "US' OR '1'='1"
    us = run(ip, "%%masked_sql\nSELECT count(*) AS n FROM customers WHERE country = '{{country}}'")
    also = run(ip, "%%masked_sql\nSELECT count(*) AS n FROM customers WHERE id <= :top")
    none = run(ip, "%%masked_sql\nSELECT count(*) AS n FROM customers WHERE country = {{attack}}")

    assert us["n"][0] > 0
    assert also["n"][0] == 10
    assert none["n"][0] == 0
    event = store.get(none.attrs["jupyter_masking"]["id"])
    assert "OR" not in event.sql
    assert "attack" in event.sql


def test_ipython_brace_expansion_does_not_touch_the_sql(ip: InteractiveShell) -> None:
    ip.user_ns["x"] = "pasted"
    frame = run(ip, "%masked_sql SELECT '{x}' AS a, '$x' AS b")
    assert frame.to_dict("records") == [{"a": "{x}", "b": "$x"}]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("%%masked_sql\nSELECT * FROM customers WHERE email LIKE '%{{x}}%'", "longer string"),
        ("%%masked_sql\nSELECT * FROM {% if x %}customers{% endif %}", "Jinja blocks"),
        ("%%masked_sql\nSELECT * FROM customers WHERE id IN :ids", "is a list"),
        ("%%masked_sql\nSELECT email FROM customers WHERE id = :nothing_here", ":nothing_here"),
        ("%%masked_sql --limt 3\nSELECT 1", "unknown option --limt"),
        ("%%masked_sql --persist x\nSELECT 1", "writes would bypass"),
        ("%%masked_sql\n   ", "no SQL"),
    ],
)
def test_when_input_is_wrong_then_bad_input_stops_the_cell(
    ip: InteractiveShell, cell: str, message: str
) -> None:
    ip.user_ns["x"] = "a"
    ip.user_ns["ids"] = [1, 2]
    with pytest.raises(BadInput) as raised:
        run(ip, cell)
    assert message in str(raised.value)


def test_limit_caps_rows_and_autolimit_is_the_default(ip: InteractiveShell) -> None:
    assert len(run(ip, "%%masked_sql --limit 4\nSELECT id FROM customers")) == 4
    run(ip, "%config MaskedSql.autolimit = 3")
    assert len(run(ip, "%%masked_sql\nSELECT id FROM customers")) == 3
    assert len(run(ip, "%%masked_sql --limit 2\nSELECT id FROM customers")) == 2


def test_explain_shows_masking_and_runs_nothing(ip: InteractiveShell, store: Any) -> None:
    report = run(ip, "%%masked_sql --explain\nSELECT email, country FROM customers")
    assert isinstance(report, ExplainReport)
    text = repr(report)
    assert "masked pii.email by pseudonym" in text
    assert "country  raw" in text
    assert "would run: 1 of 2 columns masked" in text
    assert "masked pii.email" in report._repr_html_()
    assert store.head() is None


def test_explain_of_a_refused_query_says_why_without_raising(ip: InteractiveShell) -> None:
    report = run(ip, "%%masked_sql --explain\nDELETE FROM customers")
    assert report.explanation.outcome == "refused"
    assert "DELETE" in repr(report)


def test_polars_by_option_and_by_config(ip: InteractiveShell) -> None:
    frame = run(ip, "%%masked_sql --polars\nSELECT id, email FROM customers LIMIT 2")
    assert isinstance(frame, pl.DataFrame)
    assert frame.attrs["jupyter_masking"]["outputs"][1]["effect"] == "mask"
    assert LINEAGE_MIME in frame._repr_mimebundle_()
    run(ip, "%config MaskedSql.autopolars = True")
    assert isinstance(run(ip, "%%masked_sql\nSELECT id FROM customers LIMIT 1"), pl.DataFrame)
    assert isinstance(run(ip, "%%masked_sql --pandas\nSELECT 1 AS one"), pd.DataFrame)


def test_displaylimit_cuts_the_display_not_the_data(ip: InteractiveShell) -> None:
    run(ip, "%config MaskedSql.displaylimit = 2")
    frame = run(ip, "%%masked_sql\nSELECT id FROM customers LIMIT 5")
    html = frame._repr_mimebundle_()["text/html"]
    assert len(frame) == 5
    assert html.count("<tr>") == 3
    assert "3 more rows" in html


def test_refused_write_is_a_refused_error_that_names_the_construct_and_is_audited(
    ip: InteractiveShell, store: Any
) -> None:
    result = ip.run_cell("%%masked_sql\nDELETE FROM customers WHERE id = 1")
    error = result.error_in_exec
    assert type(error).__name__ == "Refused"
    assert isinstance(error, Refused)
    assert "DELETE" in str(error)
    rendered = error._render_traceback_()  # what the notebook shows: one line, no stack
    assert rendered[0].startswith("Refused: refused:")
    assert len(rendered) == 1
    [event] = store.query()
    assert event.outcome == "refused"
    assert event.identity.user == "alice"


@pytest.mark.parametrize("groups", [["contractors"]])
def test_policy_denial_names_the_rule(ip: InteractiveShell) -> None:
    with pytest.raises(Refused) as raised:
        run(ip, "%%masked_sql\nSELECT ssn FROM customers")
    assert "no-ssn-for-contractors" in str(raised.value)


@pytest.mark.parametrize("groups", [["support"]])
def test_groups_from_the_config_change_what_is_masked(
    ip: InteractiveShell, truth: list[tuple[Any, ...]]
) -> None:
    frame = run(ip, "%%masked_sql\nSELECT email FROM customers ORDER BY id LIMIT 5")
    assert list(frame["email"]) == [t[1] for t in truth]  # support sees contact details raw


def test_syntax_error_points_at_the_position(ip: InteractiveShell) -> None:
    result = ip.run_cell("%%masked_sql\nSELECT email\nFROM customers WHERE")
    error = result.error_in_exec
    assert isinstance(error, BadInput)
    assert error.line == 2
    lines = error._render_traceback_()
    assert lines[1].strip() == "FROM customers WHERE"
    assert lines[2].index("^") >= lines[1].index("WHERE")


def test_connection_errors_never_show_credentials(
    ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JM_SECRET_PW", "hunter2-secret")
    result = ip.run_cell(
        "%%masked_sql postgresql://reader:${JM_SECRET_PW}@127.0.0.1:1/nowhere\nSELECT 1"
    )
    error = result.error_in_exec
    assert isinstance(error, MaskingError)
    shown = "\n".join(error._render_traceback_()) + str(error) + repr(error)
    assert "hunter2" not in shown


def test_a_password_typed_in_the_magic_line_is_refused(ip: InteractiveShell) -> None:
    with pytest.raises(BadInput) as raised:
        run(ip, "%%masked_sql postgresql://reader:hunter2@db/x\nSELECT 1")
    assert "saved in the notebook" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_unknown_connection_lists_the_known_ones(ip: InteractiveShell) -> None:
    with pytest.raises(ConfigError) as raised:
        run(ip, "%%masked_sql warehouse\nSELECT 1")
    assert "demo" in str(raised.value)


def test_configured_connection_alias_and_default_connection(
    ip: InteractiveShell, tmp_path: Path
) -> None:
    lite = tmp_path / "crm.sqlite"
    with sqlite3.connect(lite) as con:
        con.execute("CREATE TABLE people (id INTEGER, email TEXT, city TEXT)")
        con.execute("INSERT INTO people VALUES (1, 'ann.real@corp.example', 'Oslo')")
    run(ip, f"%config MaskedSql.connections = {{'crm': 'sqlite:///{lite}'}}")

    frame = run(ip, "%%masked_sql crm\nSELECT email, city FROM people")
    assert frame["city"][0] == "Oslo"
    assert frame["email"][0] != "ann.real@corp.example"
    assert "@" in frame["email"][0]

    run(ip, "%config MaskedSql.default_connection = 'crm'")
    assert run(ip, "%%masked_sql\nSELECT city FROM people")["city"][0] == "Oslo"


def test_cell_context_from_the_kernel_is_recorded(
    ip: InteractiveShell, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Kernel:
        def get_parent(self) -> dict[str, Any]:
            return {"metadata": {"cellId": "cell-42"}}

    monkeypatch.setenv("JPY_SESSION_NAME", "reports/q1.ipynb")
    monkeypatch.setattr(ip, "kernel", Kernel(), raising=False)
    result = ip.run_cell("%%masked_sql\nSELECT id FROM customers LIMIT 1", store_history=True)
    event = store.get(result.result.attrs["jupyter_masking"]["id"])
    assert (event.notebook, event.cell_id) == ("reports/q1.ipynb", "cell-42")
    assert event.execution_count == result.execution_count
    assert [e.id for e in store.latest_per_cell("reports/q1.ipynb", user="alice")] == [event.id]


def test_magic_help_lists_every_option(ip: InteractiveShell) -> None:
    doc = ip.find_cell_magic("masked_sql").__doc__
    for option in ("--limit", "--explain", "--polars", "--file"):
        assert option in doc


def test_config_traits_have_help(ip: InteractiveShell) -> None:
    from jupyter_masking.magic.magic import MaskedSql

    traits = MaskedSql.class_traits(config=True)
    assert {"displaylimit", "autolimit", "autopolars", "default_connection", "connections"} <= set(
        traits
    )
    assert all(trait.help for trait in traits.values())


class _SlowClient:
    """A gateway client whose query waits for the test to release it."""

    mode = "embedded"

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.release = threading.Event()
        self.finished = False

    def query(self, request: Any) -> Any:
        self.release.wait(30)
        self.finished = True
        return self.inner.query(request)

    def close(self) -> None:
        self.release.set()
        self.inner.close()


def _magics(ip: InteractiveShell) -> Any:
    return ip.find_cell_magic("masked_sql").__self__


def test_a_running_query_shows_elapsed_time_then_rows(
    ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[str] = []

    class Handle:
        def update(self, bundle: dict[str, str], raw: bool = False) -> None:
            shown.append(bundle["text/plain"])

    def fake_display(bundle: dict[str, str], **_: Any) -> Handle:
        shown.append(bundle["text/plain"])
        slow.release.set()  # the progress line is up: let the query finish
        return Handle()

    magics = _magics(ip)
    slow = _SlowClient(magics.client)
    magics._client = slow
    monkeypatch.setattr(ip, "kernel", object(), raising=False)  # progress shows in kernels only
    monkeypatch.setattr("IPython.display.display", fake_display)
    run(ip, "%config MaskedSql.progress_after = 0.0")

    frame = run(ip, "%%masked_sql\nSELECT id FROM customers LIMIT 4")

    assert len(frame) == 4
    assert shown[0].startswith("running on the default connection…")
    assert shown[-1].startswith("4 rows in ")


def test_interrupting_stops_waiting_for_a_running_query(ip: InteractiveShell) -> None:
    magics = _magics(ip)
    slow = _SlowClient(magics.client)
    magics._client = slow
    threading.Timer(0.3, _thread.interrupt_main).start()

    result = ip.run_cell("%%masked_sql\nSELECT id FROM customers LIMIT 1")

    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert slow.finished is False  # the cell returned while the query was still running
    slow.release.set()


def test_hub_groups_come_from_the_hub_api_with_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_masking.magic.identity import embedded_identity, hub_groups

    seen: list[str | None] = []
    answer = {"body": b'{"name": "alice", "groups": ["fraud", "analysts"]}'}

    class Hub(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(answer["body"])

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("JUPYTERHUB_API_URL", f"http://127.0.0.1:{server.server_port}/hub/api")
        monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "tok-123")
        monkeypatch.setenv("JUPYTERHUB_USER", "alice")
        monkeypatch.delenv("JUPYTER_MASKING_CONFIG", raising=False)

        who = embedded_identity(None)
        assert (who.user, who.groups) == ("alice", ("analysts", "fraud"))
        assert seen == ["token tok-123"]

        answer["body"] = b'{"groups": ["bad group!"]}'  # not a valid name: no groups at all
        assert hub_groups() == ()
        monkeypatch.setenv("JUPYTERHUB_API_URL", "http://127.0.0.1:1/hub/api")
        assert hub_groups() == ()
    finally:
        server.shutdown()
