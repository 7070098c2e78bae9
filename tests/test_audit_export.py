"""Exports: canonical JSON lines, and OpenLineage RunEvents checked through openlineage's Serde."""

from __future__ import annotations

import io
import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from openlineage.client.serde import Serde

from jupyter_masking.audit import export as export_module
from jupyter_masking.audit.event import GENESIS_HASH, AuditEvent, EventDraft
from jupyter_masking.audit.export import (
    FACET_NAME,
    FACET_SCHEMA,
    PRODUCER,
    export_jsonl,
    export_openlineage,
    run_events,
)

WHEN = datetime(2026, 11, 28, 7, 5, 29, 123456, tzinfo=timezone.utc)
NS = "jupyter://hub.example"


def event(outcome: str = "allowed", seq: int = 1, **overrides: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "identity": {"user": "alice", "groups": ["analysts"], "actor": "ai:jupyter-ai"},
        "notebook": "work/demo.ipynb",
        "cell_id": "c1a2",
        "connection": "demo",
        "dialect": "duckdb",
        "sql": "SELECT email, upper(name) AS n, count(*) AS k FROM customers WHERE id = 42 "
               "GROUP BY 1, 2",
        "tables": ["demo.main.customers"],
        "columns_read": ["demo.main.customers.email", "demo.main.customers.name",
                         "demo.main.customers.id"],
        "outputs": [
            {"name": "email", "sources": ["demo.main.customers.email"], "data_class": "pii.email",
             "effect": "mask", "operator": "pseudonym", "rule": "default:pii.email",
             "transform": "identity", "detected_by": "policy"},
            {"name": "n", "sources": ["demo.main.customers.name"], "data_class": None,
             "effect": "raw", "rule": "unclassified", "transform": "transformation"},
            {"name": "k", "sources": [], "transform": "none"},
        ],
        "rows": 10,
        "duration_ms": 12.5,
        "policy_version": "demo@1a2b3c",
        "outcome": outcome,
        "reason": None if outcome == "allowed" else "policy denies gov_id.us_ssn",
    }  # fmt: skip
    fields.update(overrides)
    d = EventDraft.model_validate(fields)
    return d.seal(seq=seq, prev_hash=GENESIS_HASH, event_id=uuid.uuid4().hex, time=WHEN)


def lineage(e: AuditEvent) -> list[dict[str, Any]]:
    out = io.StringIO()
    assert export_openlineage([e], out, namespace=NS) == 2
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_jsonl_lines_are_the_stored_events_with_their_hashes() -> None:
    events = [event(seq=1), event("refused", seq=2)]
    out = io.StringIO()
    assert export_jsonl(events, out) == 2
    lines = out.getvalue().splitlines()
    assert lines == [e.to_json() for e in events]
    again = [AuditEvent.model_validate_json(line) for line in lines]
    assert again == events
    assert all(e.compute_hash() == e.hash for e in again)


def test_an_allowed_query_is_a_start_and_a_complete_run_of_the_cell_job() -> None:
    e = event()
    start, end = lineage(e)
    assert (start["eventType"], end["eventType"]) == ("START", "COMPLETE")
    assert start["run"]["runId"] == end["run"]["runId"] == str(uuid.UUID(e.id))
    assert end["job"] == start["job"]
    assert end["job"]["namespace"] == NS
    assert end["job"]["name"] == "alice/work/demo.ipynb#c1a2"
    assert end["job"]["facets"]["sql"]["query"] == e.sql
    assert "42" not in e.sql
    assert end["job"]["facets"]["jobType"]["jobType"] == "QUERY"
    assert end["eventTime"] == "2026-11-28T07:05:29.123456Z"
    assert datetime.fromisoformat(start["eventTime"].replace("Z", "+00:00")) == WHEN - timedelta(
        milliseconds=12.5
    )
    assert end["producer"] == PRODUCER
    assert end["schemaURL"].startswith("https://openlineage.io/spec/")


def test_inputs_carry_the_columns_read_and_a_data_class_tag_per_field() -> None:
    _, end = lineage(event())
    (table,) = end["inputs"]
    assert (table["namespace"], table["name"]) == ("duckdb://demo", "demo.main.customers")
    assert [f["name"] for f in table["facets"]["schema"]["fields"]] == ["email", "name", "id"]
    assert table["facets"]["tags"]["tags"] == [
        {"key": "data_class", "value": "pii.email", "field": "email", "source": "jupyter-masking"}
    ]


def test_column_lineage_marks_masked_fields_and_lists_indirect_inputs() -> None:
    _, end = lineage(event())
    (output,) = end["outputs"]
    assert output["name"] == "alice/work/demo.ipynb#c1a2/result"
    assert output["namespace"] == NS
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 10
    facet = output["facets"]["columnLineage"]
    assert facet["_schemaURL"].endswith("ColumnLineageDatasetFacet")
    email = facet["fields"]["email"]["inputFields"]
    assert email == [{
        "namespace": "duckdb://demo", "name": "demo.main.customers", "field": "email",
        "transformations": [{
            "type": "DIRECT", "subtype": "IDENTITY", "masking": True,
            "description":
                "gateway: masked by pseudonym (rule default:pii.email, policy demo@1a2b3c)",
        }],
    }]  # fmt: skip
    name = facet["fields"]["n"]["inputFields"][0]["transformations"][0]
    assert (name["subtype"], name["masking"]) == ("TRANSFORMATION", False)
    assert "k" not in facet["fields"]  # no source, nothing to trace
    assert [(d["field"], d["transformations"][0]["type"]) for d in facet["dataset"]] == [
        ("id", "INDIRECT")
    ]
    assert [f["name"] for f in output["facets"]["schema"]["fields"]] == ["email", "n", "k"]


def test_aggregations_are_direct_aggregation_transformations() -> None:
    e = event(outputs=[{"name": "c", "sources": ["demo.main.customers.email"],
                        "data_class": "pii.email", "effect": "mask", "operator": "hash",
                        "transform": "aggregation"}])  # fmt: skip
    _, end = lineage(e)
    t = end["outputs"][0]["facets"]["columnLineage"]["fields"]["c"]["inputFields"][0]
    assert t["transformations"][0]["subtype"] == "AGGREGATION"
    assert t["transformations"][0]["masking"] is True


@pytest.mark.parametrize("outcome", ["refused", "failed"])
def test_a_refused_or_failed_query_is_start_and_fail_with_the_reason(outcome: str) -> None:
    start, end = lineage(event(outcome))
    assert (start["eventType"], end["eventType"]) == ("START", "FAIL")
    error = end["run"]["facets"]["errorMessage"]
    assert error["message"] == f"{outcome}: policy denies gov_id.us_ssn"
    assert error["programmingLanguage"] == "python"
    assert end["outputs"] == []
    assert end["inputs"][0]["name"] == "demo.main.customers"  # the attempted read stays visible


def test_the_audit_run_facet_leads_back_to_the_chain() -> None:
    e = event(seq=7)
    _, end = lineage(e)
    facet = end["run"]["facets"][FACET_NAME]
    assert facet["_producer"] == PRODUCER
    assert facet["_schemaURL"].startswith("https://")
    assert facet["_schemaURL"].endswith(".json")
    assert facet["auditRecord"] == {"id": e.id, "seq": 7, "sha256": e.hash}
    assert facet["actor"] == {"user": "alice", "groups": ["analysts"], "actor": "ai:jupyter-ai"}
    assert facet["policy"] == {"version": "demo@1a2b3c"}
    assert facet["outcome"] == "allowed"
    assert [(d["column"], d["effect"]) for d in facet["decisions"]] == [
        ("email", "mask"), ("n", "raw"), ("k", "raw")
    ]  # fmt: skip


def test_run_events_serialise_through_openlineage_serde_without_nulls() -> None:
    for run_event in run_events(event("refused"), NS):
        data = json.loads(Serde.to_json(run_event))
        assert "null" not in Serde.to_json(run_event)
        assert {"eventTime", "eventType", "producer", "schemaURL", "run", "job"} <= set(data)


def test_a_cell_without_notebook_gets_a_placeholder_job_name() -> None:
    _, end = lineage(event(notebook=None, cell_id=None))
    assert end["job"]["name"] == "alice/-#-"


@pytest.mark.parametrize("outcome", ["allowed", "refused"])
def test_the_audit_run_facet_matches_its_published_schema(outcome: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema_file = Path(export_module.__file__).parent / "schemas" / "jupyterMasking_audit.json"
    schema = json.loads(schema_file.read_text())
    assert schema["$id"] == FACET_SCHEMA
    schema.pop("allOf")  # the base RunFacet schema lives on openlineage.io (no network here)
    facet = lineage(event(outcome))[1]["run"]["facets"][FACET_NAME]
    jsonschema.validate(facet, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**facet, "outcome": "maybe"}, schema)
