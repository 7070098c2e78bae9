"""The gateway service's wire format: requests, Arrow results and errors survive the trip."""

from __future__ import annotations

import datetime as dt
import decimal

import pandas as pd
import pytest

from jupyter_masking.audit.event import GENESIS_HASH, EventDraft, EventIdentity, OutputLineage
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
from jupyter_masking.gateway.dberrors import QueryFailed
from jupyter_masking.hub import wire


def _event() -> object:
    draft = EventDraft(
        identity=EventIdentity(user="alice", groups=["analysts"]),
        connection="demo",
        dialect="duckdb",
        sql="SELECT email FROM customers",
        outputs=[OutputLineage(name="email", data_class="pii.email", effect="mask")],
        outcome="allowed",
        rows=2,
    )
    return draft.seal(
        seq=1, prev_hash=GENESIS_HASH, event_id="a" * 32, time=dt.datetime.now(dt.timezone.utc)
    )


def test_a_result_round_trips_through_arrow_with_dtypes_event_and_truncation() -> None:
    frame = pd.DataFrame(
        {
            "id": pd.array([1, None], dtype="Int64"),
            "email": ["a@example.com", None],
            "amount": [decimal.Decimal("1.50"), decimal.Decimal("2.25")],
            "at": pd.to_datetime(["2026-01-01T10:00:00Z", None]),
            "day": [dt.date(2026, 1, 1), dt.date(2026, 1, 2)],
        }
    )
    result = MaskedResult(frame=frame, event=_event(), truncated=True)  # type: ignore[arg-type]

    back = wire.decode_result(wire.encode_result(result))

    assert back.truncated is True
    assert back.event == result.event
    assert back.event.hash == back.event.compute_hash()
    assert list(back.frame.dtypes) == list(frame.dtypes)
    assert back.frame.equals(frame)


def test_mixed_object_columns_are_sent_as_text_rather_than_failing() -> None:
    frame = pd.DataFrame({"odd": [1, "two", 3.0]}, dtype=object)
    result = MaskedResult(frame=frame, event=_event())  # type: ignore[arg-type]
    back = wire.decode_result(wire.encode_result(result))
    assert back.frame["odd"].tolist() == ["1", "two", "3.0"]


def test_a_garbled_result_is_a_clear_error() -> None:
    with pytest.raises(MaskingError, match="cannot read"):
        wire.decode_result(b"not arrow at all")


def test_identity_claims_in_a_request_are_dropped() -> None:
    request = wire.request_from_json(
        {"sql": "SELECT 1", "user": "bob", "groups": ["support"], "reviewer": True}
    )
    assert request == QueryRequest("SELECT 1")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"sql": "SELECT 1", "max_row": 5}, "unknown request field 'max_row'"),
        ({"sql": "  "}, "no SQL given"),
        ({"sql": "SELECT 1", "max_rows": 0}, "max_rows must be a positive number"),
        ({"sql": "SELECT 1", "max_rows": True}, "max_rows must be a int"),
        ({"sql": "SELECT 1", "params": [1]}, "params must be a JSON object"),
        ({"sql": "SELECT 1", "params": {"a": [1, 2]}}, "parameter :a must be a JSON scalar"),
        ({"sql": "SELECT 1", "params": {"d": {"$date": "nope"}}}, "parameter :d: not a valid"),
        (["SELECT 1"], "must be a JSON object"),
    ],
)
def test_malformed_requests_are_bad_input(body: object, message: str) -> None:
    with pytest.raises(BadInput, match=message.replace("(", r"\(")):
        wire.request_from_json(body)


def test_bound_values_keep_their_types() -> None:
    params = {
        "when": dt.datetime(2026, 1, 2, 3, 4, 5),
        "day": dt.date(2026, 1, 2),
        "at": dt.time(3, 4),
        "money": decimal.Decimal("12.30"),
        "n": 3,
        "flag": False,
        "none": None,
    }
    request = QueryRequest("SELECT :n", params=params, notebook="a.ipynb", execution_count=4)
    back = wire.request_from_json(wire.request_to_json(request))
    assert back == request
    assert {k: type(v) for k, v in back.params.items()} == {k: type(v) for k, v in params.items()}


def test_an_unsendable_parameter_is_refused_on_the_client() -> None:
    with pytest.raises(BadInput, match="cannot receive"):
        wire.request_to_json(QueryRequest("SELECT :x", params={"x": object()}))


@pytest.mark.parametrize(
    "error",
    [
        Refused("writes are not allowed", hint="run a SELECT", construct="INSERT"),
        Refused("denied", rule_id="no-ssn", column="demo.main.customers.ssn"),
        BadInput("unparseable SQL", line=1, column=8, hint="check the quotes"),
        PolicyError("bad effect", source="p.yaml", line=3, field="rules[0].effect"),
        QueryFailed("timeout", connection="warehouse", code="57014"),
        AuditError("the audit store is read-only"),
        ConfigError("unknown connection 'x'", hint="known connections: demo"),
        MaskingError("something else"),
    ],
)
def test_errors_rebuild_as_the_same_class_with_the_same_line(error: MaskingError) -> None:
    back = wire.error_from_payload(wire.error_payload(error))
    expected = DatabaseError if isinstance(error, DatabaseError) else type(error)
    assert type(back) is expected
    assert str(back) == str(error)
    assert back.hint == error.hint
    for name in ("construct", "rule_id", "column", "line", "field"):
        assert getattr(back, name, None) == getattr(error, name, None)


def test_error_payloads_carry_names_not_values() -> None:
    error = QueryFailed("data", connection="demo", detail='bad value "alice@example.com"')
    payload = wire.error_payload(error)
    assert "alice" not in str(payload)
    assert wire.error_status(error) == 502
    assert wire.error_status(Refused("no")) == 403
    assert wire.error_status(BadInput("no")) == 400
