"""The catalog: the data class of every physical column, for the tables a query reads.

A column's class comes, in order of trust, from the policy's explicit tags, then from
detection over its name and a sample of its content (so tables nobody tagged are still
protected). Content profiles are sampled once per table and cached for a TTL; the
samples stay inside the gateway.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from jupyter_masking.detect import classify_column, name_hint
from jupyter_masking.sql.schema import Table

DetectedBy = Literal["policy", "name", "content", "none"]

# Names that announce free text: span-masked in SQL even when the sample held no span.
FREE_TEXT_NAMES = frozenset(
    {"body", "notes", "note", "comment", "comments", "description", "message", "text", "payload"}
)


@dataclass(frozen=True)
class ColumnInfo:
    """What the catalog knows about one physical column.

    Attributes:
        path: ``catalog.schema.table.column``.
        data_class: The whole-value data class, or ``None``.
        detected_by: ``policy`` (tagged), ``name``, ``content`` or ``none``.
        evidence: Why, in words (never raw values).
        span_classes: Classes found inside free-text values.
        free_text: Whether the column holds free text to span-mask.
    """

    path: str
    data_class: str | None
    detected_by: DetectedBy
    evidence: str
    span_classes: tuple[str, ...] = ()
    free_text: bool = False


Sampler = Callable[[Table], pd.DataFrame]
Tagger = Callable[[str], "str | None"]


class Catalog:
    """Column classes per table of one connection, with cached content profiles."""

    def __init__(self, catalog_name: str, sample: Sampler, *, ttl_s: float = 300.0) -> None:
        self.catalog_name = catalog_name
        self._sample = sample
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._profiles: dict[str, tuple[float, dict[str, ColumnInfo]]] = {}

    def table_path(self, table: Table) -> str:
        """The path of ``table``: ``catalog.schema.table``."""
        return f"{self.catalog_name}.{table.db or 'main'}.{table.name}"

    def path(self, table: Table, column: str) -> str:
        """The policy path of ``column``: ``catalog.schema.table.column``."""
        return f"{self.table_path(table)}.{column}"

    def columns(self, table: Table, tagged: Tagger) -> dict[str, ColumnInfo]:
        """The class of every column of ``table``; ``tagged`` gives the policy's explicit tags."""
        _, profile = self._profile(table)
        result: dict[str, ColumnInfo] = {}
        for column in table.columns:
            path = self.path(table, column.name)
            tag = tagged(path)
            info = profile[column.name]
            if tag is not None:
                info = ColumnInfo(path, tag, "policy", f"tagged {tag} by the policy")
            result[column.name] = info
        return result

    def stamps(self, tables: Iterable[Table]) -> tuple[float, ...]:
        """When the profile of each of ``tables`` was taken (refreshing expired ones).

        Anything derived from :meth:`columns` stays valid while these stamps do not change.
        """
        return tuple(self._profile(table)[0] for table in tables)

    def invalidate(self) -> None:
        """Forget every cached profile (after a schema change or policy reload)."""
        with self._lock:
            self._profiles.clear()

    def _profile(self, table: Table) -> tuple[float, dict[str, ColumnInfo]]:
        """When ``table``'s content profile was taken, and the profile (re-taken when expired)."""
        now = time.monotonic()
        with self._lock:
            cached = self._profiles.get(table.path)
            if cached is not None and now - cached[0] < self._ttl_s:
                return cached
        sample = self._sample(table)
        profile = {
            column.name: self._classify(table, column.name, sample) for column in table.columns
        }
        entry = (now, profile)
        with self._lock:
            self._profiles[table.path] = entry
        return entry

    def _classify(self, table: Table, column: str, sample: pd.DataFrame) -> ColumnInfo:
        path = self.path(table, column)
        values = sample[column] if column in sample.columns else pd.Series([], dtype=object)
        found = classify_column(column, values)
        free_text = found.free_text or (
            found.data_class is None and column.lower() in FREE_TEXT_NAMES
        )
        if found.data_class is None:
            return ColumnInfo(path, None, "none", found.evidence, found.span_classes, free_text)
        by: DetectedBy = "name" if name_hint(column) == found.data_class else "content"
        return ColumnInfo(path, found.data_class, by, found.evidence, found.span_classes, False)
