"""The gateway service's wire format, shared by the service and the remote client.

Requests are JSON. A query result travels as one Arrow IPC stream (dtypes survive the
trip) whose schema metadata carries the audit event and the truncation flag; clients
that ask for JSON get :meth:`MaskedResult.to_json` plus the event. Errors are JSON
``{code, message, hint, ..., "attributes": {...}}`` with an HTTP status from
:data:`HTTP_STATUS`; :func:`error_from_payload` rebuilds the same
:class:`~jupyter_masking.errors.MaskingError` subclass, so a remote user reads the same
one-line error as an embedded one.

>>> request = request_from_json({"sql": "SELECT 1", "params": {"d": {"$date": "2026-01-02"}}})
>>> request.params
{'d': datetime.date(2026, 1, 2)}
>>> request_from_json(request_to_json(request)) == request
True
>>> str(error_from_payload(error_payload(Refused("no", construct="INSERT"))))
'refused: no (INSERT)'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from jupyter_masking.audit.event import AuditEvent
from jupyter_masking.errors import (
    AuditError,
    BadInput,
    ConfigError,
    DatabaseError,
    MaskingError,
    PolicyError,
    Refused,
)
from jupyter_masking.gateway.api import MaskedResult, QueryRequest

ARROW = "application/vnd.apache.arrow.stream"
JSON = "application/json"

EVENT_KEY = b"jupyter_masking.event"
TRUNCATED_KEY = b"jupyter_masking.truncated"

#: HTTP status per error code; anything else is a 500.
HTTP_STATUS: dict[str, int] = {
    BadInput.code: 400,
    PolicyError.code: 400,
    ConfigError.code: 400,
    Refused.code: 403,
    DatabaseError.code: 502,
    AuditError.code: 500,
    MaskingError.code: 500,
}

#: The class a client raises per error code.
ERRORS: dict[str, type[MaskingError]] = {
    cls.code: cls
    for cls in (
        MaskingError,
        BadInput,
        PolicyError,
        Refused,
        DatabaseError,
        AuditError,
        ConfigError,
    )
}

#: Error attributes that may cross the wire: names and positions, never values.
_ERROR_ATTRIBUTES = frozenset(
    {"message", "hint", "line", "column", "source", "construct", "rule_id", "col", "field"}
    | {"kind", "connection", "driver_code"}
)

#: Request fields a client may send; identity claims are not among them.
REQUEST_FIELDS = frozenset(f.name for f in dataclasses.fields(QueryRequest))

#: Identity claims a client might send: dropped, since the hub token alone says who asks.
IGNORED_CLAIMS = frozenset({"user", "groups", "identity", "username", "reviewer"})

_TAGS: dict[str, Any] = {
    "$datetime": dt.datetime.fromisoformat,
    "$date": dt.date.fromisoformat,
    "$time": dt.time.fromisoformat,
    "$decimal": decimal.Decimal,
}


# -- requests -----------------------------------------------------------------------------


def request_to_json(request: QueryRequest) -> dict[str, Any]:
    """The JSON body of ``POST /api/query`` for ``request`` (bound values tagged by type)."""
    body: dict[str, Any] = {"sql": request.sql}
    for name in sorted(REQUEST_FIELDS - {"sql", "params"}):
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    if request.params:
        body["params"] = {str(k): _encode_value(str(k), v) for k, v in request.params.items()}
    return body


def request_from_json(body: object) -> QueryRequest:
    """A :class:`QueryRequest` from a JSON body; identity claims are dropped, typos refused."""
    if not isinstance(body, dict):
        raise BadInput("the request body must be a JSON object")
    unknown = sorted(set(body) - REQUEST_FIELDS - IGNORED_CLAIMS)
    if unknown:
        raise BadInput(
            f"unknown request field {unknown[0]!r}",
            hint=f"known: {', '.join(sorted(REQUEST_FIELDS))}",
        )
    sql = body.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise BadInput("no SQL given", hint='send {"sql": "SELECT ..."}')
    fields: dict[str, Any] = {"sql": sql}
    for name, kind in (("connection", str), ("notebook", str), ("cell_id", str), ("actor", str)):
        fields[name] = _optional(body, name, kind)
    for name in ("max_rows", "execution_count"):
        fields[name] = _optional(body, name, int)
    if fields["max_rows"] is not None and fields["max_rows"] <= 0:
        raise BadInput("max_rows must be a positive number")
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise BadInput("params must be a JSON object of name: value")
    fields["params"] = {str(k): _decode_value(str(k), v) for k, v in params.items()}
    return QueryRequest(**fields)


def _optional(body: Mapping[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BadInput(f"{name} must be a {kind.__name__}")
    return value


def _encode_value(name: str, value: object) -> object:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalars
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    for tag, kind in (
        ("$datetime", dt.datetime),
        ("$date", dt.date),
        ("$time", dt.time),
    ):
        if isinstance(value, kind):
            return {tag: value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"$decimal": str(value)}
    raise BadInput(
        f"parameter :{name} has a type the gateway cannot receive ({type(value).__name__})",
        hint="use a number, string, boolean, None, date, time, datetime or Decimal",
    )


def _decode_value(name: str, value: object) -> object:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((tag, text),) = value.items()
        if tag in _TAGS and isinstance(text, str):
            try:
                return _TAGS[tag](text)
            except (ValueError, decimal.InvalidOperation):
                raise BadInput(f"parameter :{name}: not a valid {tag[1:]}") from None
    raise BadInput(
        f"parameter :{name} must be a JSON scalar or a tagged value like {{'$date': ...}}"
    )


# -- results ------------------------------------------------------------------------------


def encode_result(result: MaskedResult) -> bytes:
    """One Arrow IPC stream: the masked frame, with the event and truncation in the metadata."""
    table = _to_arrow(result.frame)
    metadata = dict(table.schema.metadata or {})
    metadata[EVENT_KEY] = json.dumps(result.event.to_dict()).encode()
    metadata[TRUNCATED_KEY] = b"true" if result.truncated else b"false"
    table = table.replace_schema_metadata(metadata)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def decode_result(body: bytes) -> MaskedResult:
    """The :class:`MaskedResult` an :func:`encode_result` stream holds."""
    try:
        table = pa.ipc.open_stream(body).read_all()
        metadata = table.schema.metadata or {}
        event = AuditEvent.model_validate(json.loads(metadata[EVENT_KEY]))
    except (pa.ArrowException, KeyError, ValueError) as error:
        raise MaskingError(
            f"the gateway sent a result this client cannot read ({type(error).__name__})",
            hint="the gateway and the notebook may run different jupyter-masking versions",
        ) from None
    frame = table.to_pandas()
    return MaskedResult(frame=frame, event=event, truncated=metadata.get(TRUNCATED_KEY) == b"true")


def result_to_json(result: MaskedResult) -> dict[str, Any]:
    """The JSON form: the CLI contract plus the whole audit event."""
    return {**result.to_json(), "event": result.event.to_dict()}


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        # mixed Python objects in one column: send those columns as text
        fixed = frame.copy()
        for name in fixed.columns:
            try:
                pa.array(fixed[name], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                fixed[name] = fixed[name].map(lambda v: None if v is None else str(v))
        return pa.Table.from_pandas(fixed, preserve_index=False)


# -- errors -------------------------------------------------------------------------------


def error_payload(error: MaskingError) -> dict[str, Any]:
    """The JSON body for ``error``: its ``to_dict()`` plus the attributes to rebuild it."""
    attributes = {
        k: v
        for k, v in vars(error).items()
        if k in _ERROR_ATTRIBUTES and (v is None or isinstance(v, (str, int, float, bool)))
    }
    return {**error.to_dict(), "attributes": attributes}


def error_status(error: MaskingError) -> int:
    """The HTTP status for ``error``."""
    return HTTP_STATUS.get(error.code, 500)


def error_from_payload(payload: Mapping[str, Any]) -> MaskingError:
    """The :class:`MaskingError` subclass a payload from :func:`error_payload` describes."""
    cls = ERRORS.get(str(payload.get("code")), MaskingError)
    attributes = payload.get("attributes")
    if not isinstance(attributes, dict):
        attributes = {}
    message = str(attributes.get("message") or payload.get("message") or "the gateway failed")
    hint = attributes.get("hint", payload.get("hint"))
    error = cls.__new__(cls)
    MaskingError.__init__(error, message, hint=hint if isinstance(hint, str) else None)
    for name in _ERROR_ATTRIBUTES - {"message", "hint"}:
        value = attributes.get(name)
        setattr(error, name, value if value is None or isinstance(value, (str, int)) else None)
    return error
