"""``jupyter-masking scan`` through a real subprocess: stdin modes, files, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest


def scan(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_masking", "scan", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def records(result: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def test_each_stdin_line_gives_one_json_record_with_findings() -> None:
    text = "mail ann@example.com or call (555) 010-0199\nnothing to see\n"
    result = scan(stdin=text.encode())
    assert result.returncode == 0, result.stderr
    first, second = records(result)
    assert first["text"] == "mail ann@example.com or call (555) 010-0199"
    assert [(f["class"], f["start"], f["end"]) for f in first["findings"]] == [  # type: ignore[union-attr]
        ("pii.email", 5, 20),
        ("pii.phone", 29, 43),
    ]
    assert set(first["findings"][0]) == {"class", "start", "end", "score"}  # type: ignore[index]
    assert second == {"text": "nothing to see", "findings": []}


def test_explain_adds_the_pattern_and_check() -> None:
    result = scan("--explain", stdin=b"card 4111 1111 1111 1111\n")
    [record] = records(result)
    assert record["findings"][0]["explanation"] == "pattern card + Luhn+IIN valid"  # type: ignore[index]


def test_jsonl_mode_reads_the_text_field_and_reports_bad_lines() -> None:
    lines = [
        json.dumps({"text": "key AKIAIOSFODNN7EXAMPLE", "id": 1}),
        "not json at all",
        json.dumps({"body": "no text field"}),
        json.dumps({"text": 42}),
    ]
    result = scan("--jsonl", stdin=("\n".join(lines) + "\n").encode())
    assert result.returncode == 2
    out = records(result)
    assert out[0]["findings"][0]["class"] == "secret.aws_access_key"  # type: ignore[index]
    assert out[1] == {"line": 2, "error": "not a JSON object"}
    assert out[2] == {"line": 3, "error": "no 'text' field"}
    assert out[3] == {"line": 4, "error": "'text' is not a string"}
    assert b"3 input line(s) rejected" in result.stderr


def test_jsonl_with_a_lone_surrogate_keeps_offsets() -> None:
    result = scan("--jsonl", stdin=b'{"text": "\\ud800 x@example.com"}\n')
    assert result.returncode == 0, result.stderr
    [record] = records(result)
    assert record["text"] == "? x@example.com"
    assert record["findings"][0]["start"] == 2  # type: ignore[index]


def test_an_oversized_line_is_an_error_record_and_the_rest_is_scanned() -> None:
    big = b"x" * 2000 + b" secret ann@example.com\n"
    result = scan("--max-line-bytes", "1000", stdin=b"a@b.io\n" + big + b"c@d.io\n")
    assert result.returncode == 2
    out = records(result)
    assert out[1] == {"line": 2, "error": "line longer than 1000 bytes; skipped"}
    assert [r["text"] for r in (out[0], out[2])] == ["a@b.io", "c@d.io"]
    assert b"ann@example.com" not in result.stderr + result.stdout


def test_a_10_mb_line_is_rejected_without_a_traceback() -> None:
    result = scan(stdin=b"y" * (10 << 20) + b"\nok@example.com\n")
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr
    assert records(result)[1]["findings"][0]["class"] == "pii.email"  # type: ignore[index]


def test_invalid_utf8_and_binary_garbage_are_replaced_and_reported_once() -> None:
    garbage = bytes(range(256)) + b"\n\xff\xfe mail x@example.org\n"
    result = scan(stdin=garbage)
    assert result.returncode == 0
    assert result.stderr.decode().count("not valid UTF-8") == 1
    out = records(result)
    assert len(out) == 3  # the garbage contains one newline byte itself
    assert out[2]["findings"][0]["class"] == "pii.email"  # type: ignore[index]


def test_columns_classifies_a_csv_file(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "c_email_address": [f"u{i}@example.com" for i in range(50)],
            "ssn": pd.date_range("2020-01-01", periods=50).strftime("%Y-%m-%d"),
            "order_id": range(50),
            "notes": [f"call (555) 010-{i:04d}" for i in range(50)],
        }
    )
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    result = scan("--columns", str(path))
    assert result.returncode == 0, result.stderr
    by_column = {r["column"]: r for r in records(result)}
    assert by_column["c_email_address"]["class"] == "pii.email"
    assert by_column["ssn"]["class"] is None
    assert "overruled" in str(by_column["ssn"]["evidence"])
    assert by_column["order_id"]["class"] is None
    assert by_column["notes"]["span_classes"] == ["pii.phone"]


def test_columns_reads_parquet(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"iban": ["GB82WEST12345698765432"] * 20}).to_parquet(path)
    [record] = records(scan("--columns", str(path)))
    assert record["class"] == "financial.iban"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, b"no such file"),
        ("data.xlsx", b"PK\x03\x04", b"cannot tell the format"),
        ("broken.parquet", b"\x00\x01 not parquet", b"cannot read broken.parquet as parquet"),
        ("empty.csv", b"", b"cannot read empty.csv as csv"),
    ],
)
def test_bad_files_give_one_line_errors_and_exit_2(
    tmp_path: Path, name: str, content: bytes | None, message: bytes
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = scan("--columns", str(path))
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert b"Traceback" not in result.stderr


def test_binary_garbage_as_csv_is_handled(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 50)
    result = scan("--columns", str(path))
    assert result.returncode in (0, 2)
    assert b"Traceback" not in result.stderr


def test_demo_prints_spans_and_columns() -> None:
    result = scan("--demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "<pii.email>" in out
    assert "<secret.aws_access_key>" in out
    assert "name rule 'ssn'" in out
    assert "AKIAIOSFODNN7EXAMPLE" in out  # the original line is shown above its masked form


def test_help_documents_every_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "jupyter_masking", "scan", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    for option in ("--jsonl", "--columns", "--demo", "--explain", "--max-line-bytes", "--sample"):
        assert option in result.stdout


def test_conflicting_modes_are_a_usage_error() -> None:
    result = scan("--demo", "--jsonl")
    assert result.returncode == 2
    assert b"not allowed with" in result.stderr
