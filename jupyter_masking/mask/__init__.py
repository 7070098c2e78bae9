"""Masking operators: a SQL form computed in the database, and presenters for realistic values.

Each operator masks inside the database (its SQL form); where realism needs it, a
presenter turns the database's tokens into realistic values in Python. The key stays in
the process: only per-class subkeys reach SQL.

Names are imported lazily, so that ``jupyter_masking.mask.spec`` (used by policy
loading and the CLI) does not pay for pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_masking.mask.base import Operator, Params, PyContext, SqlContext
    from jupyter_masking.mask.engines import ENGINES, engine_for
    from jupyter_masking.mask.keys import MaskingKey
    from jupyter_masking.mask.operators import OPERATORS, build, validate_call
    from jupyter_masking.mask.presenters import PRESENTERS, present
    from jupyter_masking.mask.shapes import pseudonym_token_sql, pseudonym_tokens
    from jupyter_masking.mask.spans import pseudonymize_spans, span_mask_sql
    from jupyter_masking.mask.spec import OPERATOR_NAMES, OperatorCall, parse_operator_call
    from jupyter_masking.mask.sqlite import register_sqlite
    from jupyter_masking.mask.tokens import canonical_text, token, token_many, token_sql

_HOMES = {
    "Operator": "base",
    "Params": "base",
    "PyContext": "base",
    "SqlContext": "base",
    "ENGINES": "engines",
    "engine_for": "engines",
    "MaskingKey": "keys",
    "OPERATORS": "operators",
    "build": "operators",
    "validate_call": "operators",
    "PRESENTERS": "presenters",
    "present": "presenters",
    "pseudonym_token_sql": "shapes",
    "pseudonym_tokens": "shapes",
    "pseudonymize_spans": "spans",
    "span_mask_sql": "spans",
    "OPERATOR_NAMES": "spec",
    "OperatorCall": "spec",
    "parse_operator_call": "spec",
    "register_sqlite": "sqlite",
    "canonical_text": "tokens",
    "token": "tokens",
    "token_many": "tokens",
    "token_sql": "tokens",
}

__all__ = [
    "ENGINES",
    "OPERATORS",
    "OPERATOR_NAMES",
    "PRESENTERS",
    "MaskingKey",
    "Operator",
    "OperatorCall",
    "Params",
    "PyContext",
    "SqlContext",
    "build",
    "canonical_text",
    "engine_for",
    "parse_operator_call",
    "present",
    "pseudonym_token_sql",
    "pseudonym_tokens",
    "pseudonymize_spans",
    "register_sqlite",
    "span_mask_sql",
    "token",
    "token_many",
    "token_sql",
    "validate_call",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
