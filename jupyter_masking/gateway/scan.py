"""The result scan: a second net over output columns no mask covered.

After the masked query ran, string outputs that no policy tag, name rule or content
profile classified (and free-text outputs, whose SQL span masking cannot know names)
are scanned. A column that turns out to hold one class as a whole is masked with that
class's operator; sensitive spans inside text are replaced by the same pseudonyms the
values get in their own columns. Not the primary mechanism: derivations of raw values
(``reverse(x)``) are beyond any scan, which is why the rewrite masks in the database.

Free text may hold spans SQL cannot mask (names): outputs that pass such text unchanged
are always scanned (also when another source, say a masked email in a UNION, labels them),
and text *derived* from it (``upper(body)``, ``body || email``, ``string_agg(body)``) is
refused, since no scan can find a name in ``reverse(body)``. Numbers, booleans and dates
derived from it (``length(body)``) pass.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping

import numpy as np
import pandas as pd

from jupyter_masking.audit.event import OutputLineage
from jupyter_masking.detect import classify_column, find_spans_many
from jupyter_masking.errors import Refused
from jupyter_masking.identity import Identity
from jupyter_masking.mask import MaskingKey, PyContext, build, parse_operator_call
from jupyter_masking.mask import pseudonymize_spans as replace_spans
from jupyter_masking.policy import PolicyEngine

SCAN_OPERATOR = "pseudonym(spans)"
# A whole column is treated as one class only when detection is this sure of it.
MIN_CONFIDENCE = 0.8


def scan_result(
    frame: pd.DataFrame,
    outputs: tuple[OutputLineage, ...],
    identity: Identity,
    *,
    policy: PolicyEngine,
    key: MaskingKey,
    free_text: Mapping[str, bool] | None = None,
) -> tuple[pd.DataFrame, tuple[OutputLineage, ...]]:
    """Mask what the scan finds in unmasked string outputs; return the frame and lineage.

    ``frame``'s columns are in the order of ``outputs``. ``free_text`` (from the plan) names
    the outputs that read free text with spans only the scan can mask: ``True`` when they pass
    it unchanged (always scanned), ``False`` when they derive from it.

    Raises:
        Refused: An output derives text from such free text.
    """
    if policy.unclassified != "scan" or frame.empty:
        return frame, outputs
    free_text = free_text or {}
    scanned = list(outputs)
    columns: dict[int, pd.Series] = {}
    kinds = [dtype.kind for dtype in frame.dtypes]
    for position, out in enumerate(outputs):
        unchanged = free_text.get(out.name)
        if kinds[position] in _SCALAR_KINDS or not (unchanged is not None or _needs_scan(out)):
            continue  # numbers, booleans and times hold no text; nothing to scan or refuse
        values = frame.iloc[:, position]
        if unchanged is False and _carries_text(values):
            raise _derived_text(out)
        if not (_needs_scan(out) or unchanged) or not _is_text(values):
            continue
        found = _scan_column(values, out, identity, policy, key)
        if found is not None:
            columns[position], scanned[position] = found
    if not columns:
        return frame, outputs
    result = frame.copy(deep=False)
    for position, values in columns.items():
        result.isetitem(position, values)
    return result, tuple(scanned)


def _needs_scan(out: OutputLineage) -> bool:
    if out.effect != "raw" and not (out.operator or "").endswith("(spans)"):
        return False
    return out.data_class is None or out.data_class.startswith("free_text")


# Values that cannot spell out a name (checked per value for object columns).
_SCALARS = (bool, int, float, decimal.Decimal, dt.date, dt.time, dt.timedelta, np.number, np.bool_)


# numpy dtype kinds of columns that cannot hold text
_SCALAR_KINDS = frozenset("biufcmM")


def _carries_text(values: pd.Series) -> bool:
    """Whether ``values`` may hold text: strings, bytes, lists, structs, JSON or unknown."""
    if values.dtype.kind in _SCALAR_KINDS:
        return False
    present = values.dropna()
    return not all(isinstance(value, _SCALARS) for value in present)


def _derived_text(out: OutputLineage) -> Refused:
    return Refused(
        f"output {out.name} derives text from free text whose names only the result scan can mask",
        column=out.name,
        hint="select the free-text column unchanged (the scan masks names there), or derive "
        "numbers from it (length, position, count)",
    )


# What ``pd.api.types.infer_dtype`` says of object columns that may hold a string.
_MIXED = frozenset({"mixed", "mixed-integer", "mixed-integer-float"})


def _is_text(values: pd.Series) -> bool:
    # is_string_dtype is also true of object columns of Decimals: ask for the values' kind
    # (in C) and look at each value only when the kinds are mixed
    if values.dtype != object:
        return pd.api.types.is_string_dtype(values.dtype)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in _MIXED:
        return bool(values.map(lambda v: isinstance(v, str)).any())
    return kind == "string"


def _scan_column(
    values: pd.Series,
    out: OutputLineage,
    identity: Identity,
    policy: PolicyEngine,
    key: MaskingKey,
) -> tuple[pd.Series, OutputLineage] | None:
    present = values.dropna() if values.hasnans else values
    whole = classify_column(out.name, present.head(1000) if len(present) > 1000 else present)
    if (
        out.data_class is None
        and whole.data_class is not None
        and whole.confidence >= MIN_CONFIDENCE
    ):
        decision = policy.decide(identity, whole.data_class)
        if decision.effect == "raw":
            return None
        call = decision.operator or parse_operator_call("redact")
        operator = build(call)
        context = PyContext(whole.data_class, key.subkey(whole.data_class))
        masked = operator.python(values, context)
        lineage = out.model_copy(
            update={
                "data_class": whole.data_class,
                "effect": "mask",
                "operator": str(call),
                "rule": decision.rule_id,
                "detected_by": "scan",
            }
        )
        return masked, lineage
    if values.dtype != object and pd.api.types.is_string_dtype(values.dtype):
        texts = values  # Arrow-backed strings hold only str or missing values
    else:
        strings = [v if isinstance(v, str) else None for v in values.tolist()]
        texts = pd.Series(strings, index=values.index, dtype=object)
    findings = find_spans_many(texts)
    wanted = {f.data_class for spans in findings for f in spans}
    kept = {c for c in wanted if policy.decide(identity, c).effect != "raw"}
    if not kept:
        return None
    chosen = (
        findings
        if kept == wanted
        else [[f for f in spans if f.data_class in kept] for spans in findings]
    )
    masked = replace_spans(texts, chosen, key).where(values.notna(), values)
    rules = sorted({policy.decide(identity, c).rule_id for c in kept})
    lineage = out.model_copy(
        update={
            "data_class": "free_text:" + ",".join(sorted(kept)),
            "effect": "mask",
            "operator": SCAN_OPERATOR if out.effect == "raw" else f"{out.operator}+{SCAN_OPERATOR}",
            "rule": rules[0] if len(rules) == 1 else f"{rules[0]} (+{len(rules) - 1} more)",
            "detected_by": "scan",
        }
    )
    return masked, lineage
