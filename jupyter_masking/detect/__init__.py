"""Sensitive-data detection: spans inside text and classes of whole columns.

Detection knows nothing about SQL execution, operators or policies: the data-class
string (:mod:`jupyter_masking.classes`) is the whole contract with the rest of the
package. Detectors are data (patterns, validators, column-name rules), registered in
one :data:`DETECTORS` table in priority order.

>>> [f.data_class for f in find_spans("ssn 078-05-1120, key AKIAIOSFODNN7EXAMPLE")]
['gov_id.us_ssn', 'secret.aws_access_key']
>>> classify_column("c_email_address", ["ann@example.com", None]).confidence
1.0
>>> name_hint("birth_date")
'pii.date_of_birth'
"""

from __future__ import annotations

from jupyter_masking.detect.columns import classify_column, classify_frame, value_validates
from jupyter_masking.detect.model import ColumnClassification, Detector, Finding, Pattern
from jupyter_masking.detect.names import name_hint, name_rule
from jupyter_masking.detect.registry import DETECTORS, detector
from jupyter_masking.detect.spans import find_spans, find_spans_many
from jupyter_masking.detect.sql_patterns import SQL_SPAN_PATTERNS
from jupyter_masking.detect.wordlists import first_names, last_names

__all__ = [
    "DETECTORS",
    "SQL_SPAN_PATTERNS",
    "ColumnClassification",
    "Detector",
    "Finding",
    "Pattern",
    "classify_column",
    "classify_frame",
    "detector",
    "find_spans",
    "find_spans_many",
    "first_names",
    "last_names",
    "name_hint",
    "name_rule",
    "value_validates",
]
