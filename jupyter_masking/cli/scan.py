"""``jupyter-masking scan``: find sensitive spans in text, or classify the columns of a file.

Reads stdin one value per line (or JSON lines with a ``text`` field) and prints one
JSON object per line: ``{"text": ..., "findings": [{"class", "start", "end", "score"}]}``.
Offsets count characters (Python ``str`` indices), not bytes. ``--columns FILE``
classifies the columns of a CSV or Parquet file instead; ``--demo`` runs both on a
built-in example.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import IO, Any

from jupyter_masking.cli import Subparsers
from jupyter_masking.errors import BadInput

_BATCH = 2000
_CHUNK = 1 << 16
_READERS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


def register(subparsers: Subparsers) -> None:
    """Add the ``scan`` command."""
    parser = subparsers.add_parser(
        "scan",
        help="find sensitive data in text (stdin) or classify the columns of a file",
        description=(
            "Without options, read text from stdin, one value per line, and print one JSON "
            "object per line with the sensitive spans found in it."
        ),
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--jsonl",
        action="store_true",
        help="read JSON lines from stdin and scan the 'text' field of each",
    )
    mode.add_argument(
        "--columns",
        metavar="FILE",
        help="classify each column of a CSV (.csv/.tsv) or Parquet (.parquet) file",
    )
    mode.add_argument(
        "--demo", action="store_true", help="scan built-in example text and a demo table"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="add each finding's explanation (pattern and check) to the output",
    )
    parser.add_argument(
        "--max-line-bytes",
        type=int,
        default=1 << 20,
        metavar="N",
        help="reject input lines longer than N bytes with an error record (default: 1 MiB)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=1000,
        metavar="N",
        help="with --columns: values per column to look at (default: 1000)",
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=100_000,
        metavar="N",
        help="with --columns: read at most the first N rows of the file (default: 100000)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the scan; 0 when every line was scanned, 2 when any input was rejected."""
    if args.max_line_bytes < 1 or args.sample < 1 or args.rows < 1:
        raise BadInput("--max-line-bytes, --sample and --rows must be positive")
    if args.demo:
        from jupyter_masking.detect.demo import print_demo

        print_demo(sys.stdout)
        return 0
    if args.columns:
        return _columns(args.columns, args.sample, args.rows)
    return _stream(sys.stdin.buffer, sys.stdout, args)


def _lines(stream: IO[bytes], limit: int) -> Iterator[tuple[int, bytes | None]]:
    """``(line number, bytes)`` per input line, ``None`` for one longer than ``limit``.

    The rest of an overlong line is skipped in chunks, never held in memory.
    """
    number = 0
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not (len(line) == limit + 1 and line.endswith(b"\n")):
            while line and not line.endswith(b"\n"):
                line = stream.readline(_CHUNK)
            yield number, None
            continue
        yield number, line.rstrip(b"\r\n") if line.endswith(b"\n") else line


def _stream(stream: IO[bytes], out: IO[str], args: argparse.Namespace) -> int:
    from jupyter_masking.detect import find_spans_many

    rejected = 0
    warned = False
    batch: list[tuple[int, str | None, str]] = []

    def flush() -> None:
        texts = [text for _, text, _ in batch]
        found = find_spans_many(texts)
        for (number, text, error), findings in zip(batch, found, strict=True):
            if text is None:
                out.write(json.dumps({"line": number, "error": error}) + "\n")
                continue
            record = {"text": text, "findings": [_finding(f, args.explain) for f in findings]}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        batch.clear()

    for number, raw in _lines(stream, args.max_line_bytes):
        if raw is None:
            rejected += 1
            batch.append((number, None, f"line longer than {args.max_line_bytes} bytes; skipped"))
        else:
            try:
                decoded = raw.decode("utf-8")
            except UnicodeDecodeError:
                decoded = raw.decode("utf-8", errors="replace")
                if not warned:
                    warned = True
                    print(
                        f"jupyter-masking scan: line {number} is not valid UTF-8; "
                        "undecodable bytes were replaced with U+FFFD (reported once)",
                        file=sys.stderr,
                    )
            text, error = _text_of(decoded) if args.jsonl else (decoded, "")
            rejected += text is None
            batch.append((number, text, error))
        if len(batch) >= _BATCH:
            flush()
    flush()
    if rejected:
        print(f"jupyter-masking scan: {rejected} input line(s) rejected", file=sys.stderr)
    return 2 if rejected else 0


def _text_of(line: str) -> tuple[str | None, str]:
    """The ``text`` field of one JSON line, or ``None`` and the reason."""
    try:
        record = json.loads(line)
    except ValueError:
        return None, "not a JSON object"
    if not isinstance(record, dict):
        return None, "not a JSON object"
    text = record.get("text")
    if text is None:
        return None, "no 'text' field"
    if not isinstance(text, str):
        return None, "'text' is not a string"
    # JSON may carry lone surrogates ("\ud800"), which cannot be printed as UTF-8; "?"
    # keeps every offset.
    return text.encode("utf-8", "replace").decode("utf-8"), ""


def _finding(finding: Any, explain: bool) -> dict[str, object]:
    item: dict[str, object] = {
        "class": finding.data_class,
        "start": finding.start,
        "end": finding.end,
        "score": finding.score,
    }
    if explain:
        item["explanation"] = finding.explanation
    return item


def _columns(path: str, sample: int, rows: int) -> int:
    from pathlib import Path

    from jupyter_masking.detect import classify_frame

    frame = _read_table(Path(path), rows)
    for column, result in classify_frame(frame, sample=sample).items():
        record = {
            "column": column,
            "class": result.data_class,
            "confidence": result.confidence,
            "evidence": result.evidence,
            "span_classes": list(result.span_classes),
        }
        print(json.dumps(record, ensure_ascii=False))
    return 0


def _read_table(path: Any, rows: int) -> Any:
    """The first ``rows`` rows of a CSV or Parquet file; :class:`BadInput` if unreadable."""
    import pandas as pd
    import pyarrow as pa

    kind = _READERS.get(path.suffix.lower())
    if kind is None:
        raise BadInput(
            f"cannot tell the format of {path.name!r}",
            hint="use a .csv, .tsv or .parquet file",
        )
    if not path.is_file():
        raise BadInput(f"no such file: {path}")
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            batches = pq.ParquetFile(path).iter_batches(batch_size=rows)
            first = next(batches, None)
            return first.to_pandas() if first is not None else pd.DataFrame()
        separator = "\t" if path.suffix.lower() == ".tsv" else ","
        return pd.read_csv(path, sep=separator, nrows=rows, encoding_errors="replace")
    except (OSError, ValueError, pa.ArrowException, pd.errors.ParserError) as error:
        reason = type(error).__name__
        raise BadInput(f"cannot read {path.name} as {kind} ({reason})") from None
