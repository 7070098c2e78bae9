"""Write audit events out: canonical JSON lines, or OpenLineage RunEvents.

JSON lines are the stored events verbatim (hashes included), so an export can be
checked again offline. The OpenLineage mapping (see the README, "Audit trail"):

- each event is a run (``runId`` = the event id) of the job
  ``<user>/<notebook>#<cell>`` in namespace ``jupyter://<host>``; a START at the
  query's start, then COMPLETE, or FAIL with an ``errorMessage`` when refused or failed;
- inputs are the tables read, in namespace ``<dialect>://<connection>`` (the connection
  name stands for host and port; no credentials), with a ``schema`` facet of the
  columns read and a ``tags`` facet ``data_class=<class>`` per classified field;
- the one output, ``<user>/<notebook>#<cell>/result``, carries ``columnLineage``: per
  output column its inputs with ``DIRECT`` transformations (``IDENTITY``,
  ``TRANSFORMATION`` or ``AGGREGATION``) and ``masking: true`` when the gateway masked
  it; columns read only by filters, joins or sorts appear as ``INDIRECT`` dataset inputs;
- the run facet ``jupyterMasking_audit`` holds actor, policy version, per-column
  decisions and the audit record (seq, hash) so a lineage entry leads back to the chain.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, TextIO

import attr
from openlineage.client.event_v2 import (
    InputDataset,
    Job,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
)
from openlineage.client.facet_v2 import (
    RunFacet,
    column_lineage_dataset,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    schema_dataset,
    sql_job,
    tags_dataset,
)
from openlineage.client.serde import Serde

from jupyter_masking import __version__
from jupyter_masking.audit.event import AuditEvent, OutputLineage, format_time

PRODUCER = f"https://github.com/jupyter-masking/jupyter-masking/tree/v{__version__}"
FACET_NAME = "jupyterMasking_audit"
FACET_SCHEMA = (
    "https://github.com/jupyter-masking/jupyter-masking/blob/main/"
    "jupyter_masking/audit/schemas/jupyterMasking_audit.json"
)
SUBTYPES = {
    "identity": "IDENTITY",
    "transformation": "TRANSFORMATION",
    "aggregation": "AGGREGATION",
}
TERMINAL = {"allowed": RunState.COMPLETE, "refused": RunState.FAIL, "failed": RunState.FAIL}


@attr.define
class JupyterMaskingAuditRunFacet(RunFacet):
    """The custom run facet linking a lineage run to its audit event."""

    actor: dict[str, Any]
    policy: dict[str, Any]
    decisions: list[dict[str, Any]]
    auditRecord: dict[str, Any]  # OpenLineage's camelCase
    outcome: str
    reason: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return FACET_SCHEMA


def export_jsonl(events: Iterable[AuditEvent], out: TextIO) -> int:
    """Write each event as one canonical JSON line; return how many were written.

    >>> import io
    >>> export_jsonl([], io.StringIO())
    0
    """
    count = 0
    for event in events:
        out.write(event.to_json() + "\n")
        count += 1
    return count


def export_openlineage(
    events: Iterable[AuditEvent], out: TextIO, namespace: str | None = None
) -> int:
    """Write a START and a terminal RunEvent per audit event as JSON lines; return the count.

    Args:
        events: Audit events, usually oldest first.
        out: A text stream for JSON lines.
        namespace: The job namespace, default ``jupyter://<this host>``.
    """
    namespace = namespace or f"jupyter://{socket.gethostname()}"
    count = 0
    for event in events:
        for run_event in run_events(event, namespace):
            out.write(Serde.to_json(run_event) + "\n")
            count += 1
    return count


def run_events(event: AuditEvent, namespace: str) -> tuple[RunEvent, RunEvent]:
    """The START and terminal (COMPLETE or FAIL) RunEvents of one audit event."""
    job_name = _job_name(event)
    job = Job(
        namespace=namespace,
        name=job_name,
        facets={
            "sql": sql_job.SQLJobFacet(query=event.sql, dialect=event.dialect, producer=PRODUCER),
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH",
                integration="JUPYTER_MASKING",
                jobType="QUERY",
                producer=PRODUCER,
            ),
        },
    )
    inputs = _inputs(event)
    start_time = event.time - timedelta(milliseconds=event.duration_ms)
    start = RunEvent(
        eventType=RunState.START,
        eventTime=format_time(start_time),
        run=Run(runId=_run_id(event.id)),
        job=job,
        inputs=inputs,
        producer=PRODUCER,
    )
    facets: dict[str, RunFacet] = {FACET_NAME: _audit_facet(event)}
    if event.outcome != "allowed":
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=f"{event.outcome}: {event.reason or 'no reason recorded'}",
            programmingLanguage="python",
            producer=PRODUCER,
        )
    end = RunEvent(
        eventType=TERMINAL[event.outcome],
        eventTime=format_time(event.time),
        run=Run(runId=_run_id(event.id), facets=facets),
        job=job,
        inputs=inputs,
        outputs=[_output(event, namespace, job_name)] if event.outcome == "allowed" else [],
        producer=PRODUCER,
    )
    return start, end


def _run_id(event_id: str) -> str:
    return f"{event_id[:8]}-{event_id[8:12]}-{event_id[12:16]}-{event_id[16:20]}-{event_id[20:]}"


def _job_name(event: AuditEvent) -> str:
    return f"{event.identity.user}/{event.notebook or '-'}#{event.cell_id or '-'}"


def _split(column: str) -> tuple[str, str]:
    table, _, field = column.rpartition(".")
    return table, field


def _input_namespace(event: AuditEvent) -> str:
    return f"{event.dialect}://{event.connection}"


def _inputs(event: AuditEvent) -> list[InputDataset]:
    classes: dict[str, dict[str, str]] = {}
    for output in event.outputs:
        for source in output.sources:
            table, field = _split(source)
            if output.data_class:
                classes.setdefault(table, {}).setdefault(field, output.data_class)
    datasets = []
    for table in event.tables:
        fields = [f for t, f in map(_split, event.columns_read) if t == table]
        tags = [
            tags_dataset.TagsDatasetFacetFields(
                key="data_class", value=cls, source="jupyter-masking", field=field
            )
            for field, cls in sorted(classes.get(table, {}).items())
        ]
        facets: dict[str, Any] = {
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[schema_dataset.SchemaDatasetFacetFields(name=f) for f in fields],
                producer=PRODUCER,
            )
        }
        if tags:
            facets["tags"] = tags_dataset.TagsDatasetFacet(tags=tags, producer=PRODUCER)
        datasets.append(InputDataset(namespace=_input_namespace(event), name=table, facets=facets))
    return datasets


def _output(event: AuditEvent, namespace: str, job_name: str) -> OutputDataset:
    ns = _input_namespace(event)
    fields = {}
    for output in event.outputs:
        if output.transform == "none" or not output.sources:
            continue
        transformation = column_lineage_dataset.Transformation(
            type="DIRECT",
            subtype=SUBTYPES[output.transform],
            masking=output.effect == "mask",
            description=_describe(output, event.policy_version),
        )
        fields[output.name] = column_lineage_dataset.Fields(
            inputFields=[
                column_lineage_dataset.InputField(
                    namespace=ns, name=table, field=field, transformations=[transformation]
                )
                for table, field in map(_split, output.sources)
            ]
        )
    projected = {source for output in event.outputs for source in output.sources}
    indirect = [
        column_lineage_dataset.InputField(
            namespace=ns,
            name=table,
            field=field,
            transformations=[
                column_lineage_dataset.Transformation(
                    type="INDIRECT", description="read by a filter, join, grouping or sort"
                )
            ],
        )
        for table, field in map(_split, event.columns_read)
        if f"{table}.{field}" not in projected
    ]
    return OutputDataset(
        namespace=namespace,
        name=f"{job_name}/result",
        facets={
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name=o.name) for o in event.outputs
                ],
                producer=PRODUCER,
            ),
            "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(
                fields=fields, dataset=indirect, producer=PRODUCER
            ),
        },
        outputFacets={
            "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=event.rows, producer=PRODUCER
            )
        },
    )


def _describe(output: OutputLineage, policy_version: str | None) -> str:
    what = f"masked by {output.operator or 'an operator'}" if output.effect == "mask" else "raw"
    return f"gateway: {what} (rule {output.rule or '-'}, policy {policy_version or '-'})"


def _audit_facet(event: AuditEvent) -> JupyterMaskingAuditRunFacet:
    return JupyterMaskingAuditRunFacet(
        actor=event.identity.model_dump(),
        policy={"version": event.policy_version},
        decisions=[
            {
                "column": o.name,
                "sources": o.sources,
                "data_class": o.data_class,
                "effect": o.effect,
                "operator": o.operator,
                "rule": o.rule,
                "detected_by": o.detected_by,
            }
            for o in event.outputs
        ],
        auditRecord={"id": event.id, "seq": event.seq, "sha256": event.hash},
        outcome=event.outcome,
        reason=event.reason,
        producer=PRODUCER,
    )
