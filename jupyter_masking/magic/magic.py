"""``%%masked_sql``: a thin adapter from a notebook cell to the masking gateway.

Read the options (:mod:`.options`), bind the variables (:mod:`.params`), learn which cell is
running (:mod:`.kernel`), make one call through :func:`jupyter_masking.client.connect`, and
wrap the answer (:mod:`.result`). Everything about SQL, policy and masking happens in the
gateway; everything about display happens in the result object.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from traitlets import Bool, Dict, Float, Int, Unicode

from jupyter_masking.errors import BadInput, MaskingError
from jupyter_masking.magic.kernel import cell_context
from jupyter_masking.magic.options import option_help, parse_line
from jupyter_masking.magic.params import bind

if TYPE_CHECKING:
    from jupyter_masking.client import GatewayClient
    from jupyter_masking.gateway.api import QueryRequest

T = TypeVar("T")

#: ``scheme://user:password@`` with a literal password (``${ENV}`` references are fine).
_INLINE_PASSWORD = re.compile(r"^[A-Za-z][\w+.\-]*://[^/@:]*:(?!\$\{)[^/@]+@")
_POLL_S = 0.25


@magics_class
class MaskedSql(Magics):
    """The ``%masked_sql`` / ``%%masked_sql`` magics; settings via ``%config MaskedSql.*``."""

    displaylimit = Int(
        20, help="Rows shown in a result's display (the DataFrame always holds them all)."
    ).tag(config=True)
    autolimit = Int(0, help="Row cap for every query, as --limit (0: the gateway's own cap).").tag(
        config=True
    )
    autopolars = Bool(
        False, help="Return polars DataFrames instead of pandas (--pandas overrides)."
    ).tag(config=True)
    default_connection = Unicode(
        None, allow_none=True, help="Connection used when a cell names none."
    ).tag(config=True)
    connections = Dict(
        value_trait=Unicode(),
        help="Embedded mode: short names for SQLAlchemy URLs, e.g. "
        "{'wh': 'postgresql://me:${PGPASSWORD}@db/wh'}. Under a hub, ask an admin instead.",
    ).tag(config=True)
    config_path = Unicode(
        None,
        allow_none=True,
        help="Embedded mode: the gateway config file (default $JUPYTER_MASKING_CONFIG).",
    ).tag(config=True)
    progress_after = Float(1.0, help="Seconds before a running query shows its elapsed time.").tag(
        config=True
    )

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._client: GatewayClient | None = None
        self.observe(self._reset_client, names=["config_path"])

    @property
    def client(self) -> GatewayClient:
        """The gateway client, opened on first use (remote under a hub, else embedded)."""
        if self._client is None:
            from jupyter_masking.magic.identity import open_client

            self._client = open_client(self.config_path)
        return self._client

    def close(self) -> None:
        """Release the gateway client."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _reset_client(self, change: Any) -> None:
        self.close()

    @no_var_expand  # IPython's {x}/$x expansion would paste values into the SQL
    @line_cell_magic
    def masked_sql(self, line: str, cell: str | None = None) -> Any:
        """Run a read-only SQL query through the masking gateway; return a DataFrame.

        ``%%masked_sql [VAR <<|VAR= <<] [CONNECTION] [options]`` with the SQL in the cell, or
        ``%masked_sql [...] SQL`` on one line. ``{{var}}`` and ``:var`` are bound parameters.
        """
        sql = ""
        try:
            parsed = parse_line(line, cell)
            if not parsed.sql.strip():
                raise BadInput("no SQL to run", hint="write the query in the cell body")
            sql, params = bind(parsed.sql, self.shell.user_ns if self.shell else {})
            request = self._request(parsed.connection, sql, params, parsed.limit)
            if parsed.explain:
                from jupyter_masking.magic.result import ExplainReport

                return ExplainReport(self.client.explain(request))
            result = self._wait(lambda: self.client.query(request), request)
            frame = self._frame(result, parsed.frame)
        except MaskingError as error:
            error._render_traceback_ = _one_line(error, sql)  # type: ignore[attr-defined]
            raise
        if parsed.capture is not None and self.shell is not None:
            self.shell.user_ns[parsed.capture] = frame
            return frame if parsed.capture_display else None
        return frame

    masked_sql.__doc__ = (masked_sql.__doc__ or "") + "\nOptions:\n" + option_help()

    def _request(
        self, connection: str | None, sql: str, params: dict[str, object], limit: int | None
    ) -> QueryRequest:
        from jupyter_masking.gateway.api import QueryRequest

        chosen = connection or self.default_connection
        if chosen and _INLINE_PASSWORD.match(chosen):
            raise BadInput(
                "a password typed in the magic line would be saved in the notebook",
                hint="write ${ENV_VAR} for it, or name the connection in the gateway config",
            )
        if chosen in self.connections:
            chosen = self.connections[chosen]
        context = cell_context(self.shell)
        return QueryRequest(
            sql=sql,
            connection=chosen or None,
            params=params,
            max_rows=limit or (self.autolimit if self.autolimit > 0 else None),
            notebook=context.notebook,
            cell_id=context.cell_id,
            execution_count=context.execution_count,
        )

    def _frame(self, result: Any, frame: str | None) -> Any:
        from jupyter_masking.magic.result import to_pandas, to_polars

        polars = frame == "polars" or (frame is None and self.autopolars)
        convert = to_polars if polars else to_pandas
        return convert(result, display_limit=max(self.displaylimit, 0))

    def _wait(self, work: Callable[[], T], request: QueryRequest) -> T:
        """Run ``work`` in a thread; show elapsed time while it runs; Ctrl-C stops waiting."""
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                outcome["value"] = work()
            except BaseException as error:  # handed to the waiting thread as is
                outcome["error"] = error
            finally:
                done.set()

        worker = threading.Thread(target=run, name="masked-sql", daemon=True)
        started = time.monotonic()
        worker.start()
        progress = _Progress(self.shell, request.connection or "the default connection")
        try:
            while not done.wait(_POLL_S):
                if time.monotonic() - started >= self.progress_after:
                    progress.show(time.monotonic() - started)
        except KeyboardInterrupt:
            progress.finish("interrupted: the result will be discarded")
            raise
        if "error" in outcome:
            progress.finish("failed")
            raise outcome["error"]
        value: T = outcome["value"]
        rows = getattr(getattr(value, "frame", None), "shape", (None,))[0]
        progress.finish(f"{rows:,} rows in {time.monotonic() - started:.1f} s")
        return value


class _Progress:
    """A one-line display updated in place while a query runs (only in a kernel)."""

    def __init__(self, shell: Any, target: str) -> None:
        self.enabled = getattr(shell, "kernel", None) is not None
        self.target = target if "://" not in target else "a database URL"
        self.handle: Any = None

    def show(self, elapsed: float) -> None:
        if not self.enabled:
            return
        text = f"running on {self.target}… {elapsed:.1f} s (interrupt the kernel to stop)"
        self._update(text)

    def finish(self, text: str) -> None:
        if self.handle is not None:
            self._update(text)

    def _update(self, text: str) -> None:
        from IPython.display import display

        bundle = {"text/plain": text}
        if self.handle is None:
            self.handle = display(bundle, raw=True, display_id=True)  # type: ignore[no-untyped-call]
        else:
            self.handle.update(bundle, raw=True)


def _one_line(error: MaskingError, sql: str) -> Callable[[], list[str]]:
    """How IPython shows ``error``: its one line, and for a position, the SQL line and a caret."""

    def render() -> list[str]:
        lines = [f"{type(error).__name__}: {error}"]
        line = getattr(error, "line", None)
        column = getattr(error, "column", None) or getattr(error, "col", None)  # Refused: col
        source = sql.splitlines()
        if isinstance(line, int) and isinstance(column, int) and 0 < line <= len(source):
            lines += [f"  {source[line - 1]}", "  " + " " * max(column - 1, 0) + "^"]
        return lines

    return render
