"""What ``%%masked_sql`` returns: a DataFrame that carries its lineage and shows its masking.

The result is a real ``pandas.DataFrame`` (a thin subclass, so ``isinstance`` holds and every
derived frame is a plain DataFrame again) or, with ``--polars``, a ``polars.DataFrame``
subclass. Both hold the query's audit event in ``attrs["jupyter_masking"]``: identity, policy
version, event id, and per output column its sources, class, effect, operator and rule.

Displayed, the result is the escaped HTML table of :func:`jupyter_masking.render.render_html`
(masked headers marked, one summary line), a text table, and the lineage bundle
``application/vnd.jupyter-masking.lineage+json``, so the notebook file keeps the lineage.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from jupyter_masking.gateway.api import MaskedResult
from jupyter_masking.render import render_html, render_text

if TYPE_CHECKING:
    from jupyter_masking.audit.event import AuditEvent
    from jupyter_masking.gateway.api import Explanation

LINEAGE_MIME = "application/vnd.jupyter-masking.lineage+json"
ATTRS_KEY = "jupyter_masking"


class _Shown:
    """How one query result displays itself (shared by the pandas and polars results)."""

    def __init__(self, event: AuditEvent, truncated: bool, display_limit: int) -> None:
        self.event = event
        self.truncated = truncated
        self.display_limit = display_limit

    def bundle(self, frame: pd.DataFrame) -> dict[str, Any]:
        result = MaskedResult(frame=frame, event=self.event, truncated=self.truncated)
        return {
            "text/html": render_html(result, max_rows=self.display_limit),
            "text/plain": render_text(result, max_rows=self.display_limit),
            LINEAGE_MIME: self.event.to_dict(),
        }


class MaskedDataFrame(pd.DataFrame):
    """A pandas DataFrame of masked rows that displays its masking and keeps its lineage."""

    _metadata: ClassVar[list[str]] = ["_jm_shown"]
    _jm_shown: _Shown | None

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        # derived frames are plain DataFrames: the display belongs to this query's result only
        return pd.DataFrame

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any] | None:
        shown = getattr(self, "_jm_shown", None)
        return shown.bundle(pd.DataFrame(self)) if shown is not None else None


def to_pandas(result: MaskedResult, *, display_limit: int) -> MaskedDataFrame:
    """The pandas result of a query, with ``attrs["jupyter_masking"]`` set to its event.

    >>> import pandas as pd
    >>> from jupyter_masking.audit.event import EventDraft, EventIdentity, GENESIS_HASH
    >>> from datetime import datetime, timezone
    >>> event = EventDraft(identity=EventIdentity(user="alice"), connection="demo",
    ...     dialect="duckdb", sql="SELECT 1 AS one", outcome="allowed").seal(
    ...     seq=1, prev_hash=GENESIS_HASH, event_id="a" * 32, time=datetime.now(timezone.utc))
    >>> frame = to_pandas(MaskedResult(pd.DataFrame({"one": [1]}), event), display_limit=5)
    >>> frame.attrs["jupyter_masking"]["id"] == "a" * 32, type(frame.head()).__name__
    (True, 'DataFrame')
    """
    frame: MaskedDataFrame = MaskedDataFrame(result.frame)
    frame._jm_shown = _Shown(result.event, result.truncated, display_limit)
    frame.attrs[ATTRS_KEY] = result.event.to_dict()
    return frame


@functools.cache
def _polars_class() -> type[Any]:
    try:
        import polars as pl
    except ImportError:
        from jupyter_masking.errors import ConfigError

        raise ConfigError("--polars needs the polars package", hint="pip install polars") from None

    class MaskedPolarsFrame(pl.DataFrame):
        """A polars DataFrame of masked rows; ``attrs["jupyter_masking"]`` is its lineage."""

        attrs: dict[str, Any]
        _jm_shown: _Shown | None = None
        _jm_pandas: pd.DataFrame | None = None

        def _repr_mimebundle_(
            self, include: Any = None, exclude: Any = None
        ) -> dict[str, Any] | None:
            if self._jm_shown is None or self._jm_pandas is None:
                return None
            return self._jm_shown.bundle(self._jm_pandas)

    return MaskedPolarsFrame


def to_polars(result: MaskedResult, *, display_limit: int) -> Any:
    """The polars result of a query, with ``attrs["jupyter_masking"]`` set to its event."""
    import polars as pl

    cls = _polars_class()
    converted = pl.from_pandas(result.frame)
    frame = cls._from_pydf(converted._df)
    frame.attrs = {ATTRS_KEY: result.event.to_dict()}
    frame._jm_shown = _Shown(result.event, result.truncated, display_limit)
    frame._jm_pandas = result.frame.head(display_limit)
    return frame


class ExplainReport:
    """The display of ``--explain``: per output column what would happen, and the verdict."""

    def __init__(self, explanation: Explanation) -> None:
        self.explanation = explanation

    def to_dict(self) -> dict[str, Any]:
        """The explanation as JSON (also what the REST API answers)."""
        return self.explanation.to_dict()

    def __repr__(self) -> str:
        return self.explanation.render()

    def _repr_html_(self) -> str:
        import html

        from jupyter_masking.gateway.api import describe_output

        rows = "".join(
            f"<tr><td>{html.escape(o.name)}</td><td>{html.escape(describe_output(o))}</td></tr>"
            for o in self.explanation.outputs
        )
        verdict = self.explanation.render().splitlines()[-1]
        head = f"as {self.explanation.identity} · policy {self.explanation.policy_version}"
        return (
            "<div class='jm-explain'>"
            f"<p class='jm-summary'>{html.escape(head)}</p>"
            f"<table class='jm-table'><thead><tr><th>column</th><th>what happens</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>"
            f"<p class='jm-verdict'><b>{html.escape(verdict)}</b></p></div>"
        )
