"""Canonical JSON, the byte string an audit event's hash is computed over.

RFC 8785 (JCS) style: object keys sorted, no whitespace, UTF-8, strings escaped as
ECMAScript ``JSON.stringify`` does, numbers in ECMAScript's shortest round-trip
form (``12.0`` is ``12``, ``1e-7`` not ``1e-07``, ``1e21`` not ``1e+21``). NaN and
infinities are refused. Two simplifications, both harmless for audit events: keys
sort by code point rather than UTF-16 unit (they differ only for astral characters,
and our keys are ASCII), and integers are written exactly even beyond 2**53.

>>> canonical_json({"b": [1, 2.0, 0.5], "a": None, "é": "ü"})
'{"a":null,"b":[1,2,0.5],"é":"ü"}'
>>> format_number(1e21), format_number(1.5e-7), format_number(123.456)
('1e+21', '1.5e-7', '123.456')
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

JsonValue = None | bool | int | float | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"]

_STRING = json.JSONEncoder(ensure_ascii=False)


def canonical_json(value: object) -> str:
    """Serialize ``value`` (dicts, lists, str, int, float, bool, None) canonically.

    Raises:
        ValueError: For NaN, infinities, non-string keys or unsupported types.
    """
    try:
        # Fast path: the C encoder, once floats are in a range where repr matches ECMAScript.
        return _FAST.encode(_prepare(value))
    except _NeedsSlowPath:
        parts: list[str] = []
        _write(value, parts)
        return "".join(parts)


class _NeedsSlowPath(Exception):
    """A float whose Python repr differs from its ECMAScript form (exponents)."""


_FAST = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"), check_circular=False
)
_SAFE = (1e-4, 1e16)  # Python's repr uses plain decimals exactly in this range


def _prepare(value: object) -> object:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("NaN and infinities have no canonical JSON form")
        if value.is_integer() and abs(value) < _SAFE[1]:
            return int(value)
        if not _SAFE[0] <= abs(value) < _SAFE[1]:
            raise _NeedsSlowPath
        return value
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise ValueError("canonical JSON keys must be strings")
        return {key: _prepare(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_prepare(item) for item in value]
    if value is None or isinstance(value, (str, int)):
        return value
    raise ValueError(f"{type(value).__name__} has no canonical JSON form")


def format_number(number: float) -> str:
    """A float in ECMAScript ``Number.prototype.toString`` form (RFC 8785 section 3.2.2.3).

    >>> format_number(12.0), format_number(-0.0), format_number(1e16), format_number(0.000001)
    ('12', '0', '10000000000000000', '0.000001')
    """
    if not math.isfinite(number):
        raise ValueError("NaN and infinities have no canonical JSON form")
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    # repr gives the shortest digits that round-trip; only the layout differs from ECMAScript.
    mantissa, _, exponent = repr(abs(number)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    significant = (whole + fraction).lstrip("0")
    digits = significant.rstrip("0")
    k = len(digits)  # value = int(digits) * 10 ** (n - k)
    n = k + int(exponent or 0) - len(fraction) + (len(significant) - k)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        tail = f".{digits[1:]}" if k > 1 else ""
        text = f"{digits[0]}{tail}e{n - 1:+d}"
    return sign + text


def _write(value: object, parts: list[str]) -> None:
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, int):
        parts.append(str(value))
    elif isinstance(value, float):
        parts.append(format_number(value))
    elif isinstance(value, str):
        parts.append(_STRING.encode(value))
    elif isinstance(value, Mapping):
        parts.append("{")
        for index, key in enumerate(sorted(value)):
            if not isinstance(key, str):
                raise ValueError(f"canonical JSON keys must be strings, not {type(key).__name__}")
            parts.append("," if index else "")
            parts.append(_STRING.encode(key))
            parts.append(":")
            _write(value[key], parts)
        parts.append("}")
    elif isinstance(value, (list, tuple)):
        parts.append("[")
        for index, item in enumerate(value):
            parts.append("," if index else "")
            _write(item, parts)
        parts.append("]")
    else:
        raise ValueError(f"{type(value).__name__} has no canonical JSON form")
