"""``jupyter-masking audit``: verify the hash chain, show its head, show or export events.

``verify`` exits 0 when the chain is sound and 1 with one line naming the first broken
seq and the kind of damage. The store comes from ``--store``, else
``JUPYTER_MASKING_AUDIT_STORE``, else the default SQLite file; passwords in store URLs
are never printed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from jupyter_masking.errors import BadInput

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jupyter_masking.audit.store import AuditStore
    from jupyter_masking.audit.verify import VerifyReport
    from jupyter_masking.cli import Subparsers

_HASH = re.compile(r"^[0-9a-f]{64}$")
FORMATS = ("jsonl", "openlineage")


def register(subparsers: Subparsers) -> None:
    """Add ``audit`` and its sub-commands."""
    parser = subparsers.add_parser(
        "audit",
        help="verify, inspect and export the audit trail",
        description="Verify, inspect and export the hash-chained audit trail.",
    )
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument(
        "--store",
        metavar="LOC",
        help="SQLite path or postgresql:// URL (default: $JUPYTER_MASKING_AUDIT_STORE, "
        "else the SQLite file in the user data directory)",
    )
    commands = parser.add_subparsers(title="audit commands", metavar="ACTION", required=True)

    verify = commands.add_parser(
        "verify",
        parents=[store],
        help="check the whole hash chain; exit 1 naming the first broken seq",
        description="Recompute every hash and link; report the first edited, deleted, "
        "inserted or reordered event. A chain cannot see its tail cut off: pass a head "
        "recorded earlier (audit head) with --expect-head for that.",
    )
    verify.add_argument(
        "--expect-head",
        metavar="HASH",
        help="a head hash recorded earlier with 'audit head'; fail if the chain lacks it",
    )
    verify.add_argument(
        "--jsonl",
        metavar="FILE",
        help="check a full 'audit export --format jsonl' file instead of a store",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(func=run_verify)

    head = commands.add_parser(
        "head",
        parents=[store],
        help="print the seq and hash of the last event (keep it elsewhere as a checkpoint)",
        description="Print 'SEQ HASH' of the last event ('0' and the genesis hash when empty).",
    )
    head.add_argument("--json", action="store_true", help="print {seq, hash} as JSON")
    head.set_defaults(func=run_head)

    show = commands.add_parser(
        "show", parents=[store], help="print one event as JSON", description="Print one event."
    )
    show.add_argument("event_id", metavar="ID", help="the event id (32 hex digits)")
    show.set_defaults(func=run_show)

    export = commands.add_parser(
        "export",
        parents=[store],
        help="write events as JSON lines or OpenLineage RunEvents",
        description="Write events, oldest first, as canonical JSON lines (verifiable "
        "offline) or as OpenLineage RunEvents (START + COMPLETE/FAIL per event).",
    )
    export.add_argument("--format", required=True, choices=FORMATS, help="output format")
    export.add_argument("--user", help="only events of this user")
    export.add_argument(
        "--actor",
        help="only events of this actor: 'human', 'ai:mcp:claude-desktop', or a prefix "
        "ending in '*' ('ai:*' for every AI tool)",
    )
    export.add_argument("--since", metavar="ISO", help="only events at or after this time")
    export.add_argument("--until", metavar="ISO", help="only events before this time")
    export.add_argument(
        "--namespace", help="OpenLineage job namespace (default: jupyter://<this host>)"
    )
    export.add_argument(
        "--output", "-o", metavar="FILE", default="-", help="write here instead of stdout"
    )
    export.set_defaults(func=run_export)


@contextmanager
def _opened(args: argparse.Namespace) -> Iterator[AuditStore]:
    from jupyter_masking.audit.store import open_store

    store = open_store(args.store, create=False)
    try:
        yield store
    finally:
        store.close()


def run_verify(args: argparse.Namespace) -> int:
    """``audit verify``."""
    expect = args.expect_head
    if expect is not None and not _HASH.match(expect.lower()):
        raise BadInput("--expect-head takes the 64-hex hash printed by 'audit head'")
    expect = expect.lower() if expect else None
    if args.jsonl:
        report = _verify_file(args.jsonl, expect)
    else:
        with _opened(args) as store:
            report = store.verify(expect_head=expect)
    print(json.dumps(report.to_dict()) if args.json else report.describe())
    return 0 if report.ok else 1


def _verify_file(path: str, expect: str | None) -> VerifyReport:
    from jupyter_masking.audit.verify import verify_lines

    try:
        with Path(path).open(encoding="utf-8") as handle:
            return verify_lines(handle, expect)
    except OSError as error:
        raise BadInput(f"cannot read {path}: {error.strerror}") from error


def run_head(args: argparse.Namespace) -> int:
    """``audit head``."""
    from jupyter_masking.audit.event import GENESIS_HASH

    with _opened(args) as store:
        seq, digest = store.head() or (0, GENESIS_HASH)
    print(json.dumps({"seq": seq, "hash": digest}) if args.json else f"{seq} {digest}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """``audit show ID``."""
    with _opened(args) as store:
        event = store.get(args.event_id.lower())
    if event is None:
        raise BadInput(f"no audit event with id {args.event_id[:40]!r}")
    print(json.dumps(event.to_dict(), indent=2, ensure_ascii=False))
    return 0


def run_export(args: argparse.Namespace) -> int:
    """``audit export``."""
    from jupyter_masking.audit.export import export_jsonl, export_openlineage

    with _opened(args) as store, _output(args.output) as out:
        events = store.iter_events(
            user=args.user, actor=args.actor, since=args.since, until=args.until
        )
        if args.format == "jsonl":
            count = export_jsonl(events, out)
        else:
            count = export_openlineage(events, out, namespace=args.namespace)
    where = "stdout" if args.output == "-" else args.output
    unit = "events" if args.format == "jsonl" else "OpenLineage run events"
    print(f"exported {count} {unit} to {where}", file=sys.stderr)
    return 0


@contextmanager
def _output(target: str) -> Iterator[TextIO]:
    if target == "-":
        yield sys.stdout
        return
    try:
        with Path(target).open("w", encoding="utf-8") as handle:
            yield handle
    except OSError as error:
        raise BadInput(f"cannot write {target}: {error.strerror}") from error
