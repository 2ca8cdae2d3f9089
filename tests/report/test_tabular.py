"""``--format jsonl``, ``csv`` and ``parquet``: the pinned JSON's findings, as tables."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from auditor.findings import EVIDENCE_DTYPE
from auditor.report.json_report import export_findings, to_document
from auditor.report.tabular import (
    FINDING_FIELDS,
    parquet_paths,
    render_csv,
    render_jsonl,
    traces_table,
    write_parquet,
)
from tests.report.conftest import CLEAN, HALT

# Quotes, a comma and markup in the anchor line: CSV must quote, nothing may be altered.
QUOTED = HALT.replace(
    "<--- MPHaltEx Adapter=A1", "<--- MPHaltEx Adapter=A1 note=\"a, b\" <x> & 'y'"
)


def cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "auditor.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_jsonl_is_the_json_findings_one_per_line(audit_texts):
    result = audit_texts({"halt.txt": HALT, "quoted.txt": QUOTED})
    text = render_jsonl(result.findings)
    lines = text.splitlines()
    assert text.endswith("\n") and len(lines) == 4
    assert [json.loads(line) for line in lines] == to_document(result)["findings"]
    first = json.loads(lines[0])
    assert list(first) == list(FINDING_FIELDS)
    assert (first["rule"], first["line"], first["ts"]) == (
        "halt-radio-left-on",
        5,
        "2025-06-06T12:00:03.100Z",
    )
    assert render_jsonl(result.findings.clear()) == ""


def test_csv_rows_match_the_json_with_flattened_evidence(audit_texts):
    result = audit_texts({"halt.txt": HALT, "quoted.txt": QUOTED})
    rows = list(csv.DictReader(io.StringIO(render_csv(result.findings), newline="")))
    expected = export_findings(result.findings)
    assert len(rows) == len(expected) == 4
    for row, finding in zip(rows, expected, strict=True):
        assert list(row) == list(FINDING_FIELDS)
        for field in ("rule", "severity", "title", "source", "trace", "adapter", "ts", "message"):
            assert row[field] == finding[field]
        assert row["line"] == str(finding["line"])
        assert row["adapter_inferred"] == "false"
    assert rows[0]["evidence"] == (
        "L2 radio=on: Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1 | "
        "L5 halt.end: <--- MPHaltEx Adapter=A1"
    )
    assert rows[1]["evidence"] == (
        "L3 assoc.end=ok: Indicate NDIS_STATUS_DOT11_ASSOCIATION_COMPLETION Adapter=A1 "
        "Status = 0x0 | L4 halt.begin: ---> MPHaltEx Adapter=A1 | "
        "L5 halt.end: <--- MPHaltEx Adapter=A1"
    )
    quoted = [r for r in rows if r["trace"].endswith("quoted.txt")]
    assert quoted[0]["evidence"].endswith(
        "L5 halt.end: <--- MPHaltEx Adapter=A1 note=\"a, b\" <x> & 'y'"
    )
    # the title holds a comma: quoted in the raw text, whole after parsing
    assert (
        rows[1]["title"] == "Halt while connected, and no disconnect before MiniportHaltEx returned"
    )


def test_csv_of_no_findings_is_the_header():
    empty = render_csv(pl.DataFrame())
    assert empty == ",".join(FINDING_FIELDS) + "\n"


def test_csv_unknown_line_is_marked(demo):
    no_lines = demo.findings.with_columns(
        pl.col("evidence").list.eval(
            pl.element().struct.with_fields(pl.lit(None, dtype=pl.UInt32).alias("line"))
        )
    )
    rows = list(csv.DictReader(io.StringIO(render_csv(no_lines), newline="")))
    assert rows[0]["evidence"].startswith("L? ")


def test_parquet_tables_hold_the_json_fields(audit_texts, tmp_path, samples):
    result = audit_texts(
        {"halt.txt": HALT, "unnamed.txt": samples.unnamed, "garbage.txt": "not a trace\n"}
    )
    doc = to_document(result)
    out = tmp_path / "out" / "audit.parquet"
    paths = write_parquet(out, result.traces, result.findings, result.not_evaluable)
    assert paths == (
        out,
        out.with_name("audit.traces.parquet"),
        out.with_name("audit.not_evaluable.parquet"),
    )
    assert paths == parquet_paths(out)

    findings = pl.read_parquet(out)
    assert findings.columns == list(FINDING_FIELDS)
    assert findings.schema["ts"] == pl.Datetime("ns", "UTC")
    assert findings.schema["evidence"] == EVIDENCE_DTYPE
    assert findings.height == len(doc["findings"]) == 3
    exported = export_findings(findings)  # the parquet table renders to the same JSON
    assert exported == doc["findings"]

    traces = pl.read_parquet(paths[1])
    assert traces.height == 3
    assert traces.to_dicts() == doc["traces"]
    assert traces.columns == list(doc["traces"][0])
    garbage = traces.filter(pl.col("path").str.ends_with("garbage.txt")).row(0, named=True)
    assert garbage["error"]["line"] == 1 and "unrecognised" in garbage["error"]["message"]

    not_evaluable = pl.read_parquet(paths[2])
    assert not_evaluable.columns == ["trace", "adapter", "rule", "reason"]
    assert not_evaluable.rows() == result.not_evaluable.rows()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_parquet_of_no_traces_and_no_findings(tmp_path):
    paths = write_parquet(tmp_path / "e.parquet", [], pl.DataFrame(), pl.DataFrame())
    assert [pl.read_parquet(p).height for p in paths] == [0, 0, 0]
    assert pl.read_parquet(paths[0]).schema["evidence"] == EVIDENCE_DTYPE
    assert pl.read_parquet(paths[1]).schema == traces_table([], pl.DataFrame()).schema


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_cli_text_formats_are_deterministic(tmp_path, fmt):
    (tmp_path / "halt.txt").write_text(HALT, encoding="utf-8")
    (tmp_path / "clean.txt").write_text(CLEAN, encoding="utf-8")
    first = cli("audit", "halt.txt", "clean.txt", "-f", fmt, cwd=tmp_path)
    second = cli("audit", "halt.txt", "clean.txt", "-f", fmt, cwd=tmp_path)
    assert first.returncode == 1, first.stderr
    assert first.stdout == second.stdout
    text = first.stdout.decode("utf-8")
    if fmt == "jsonl":
        assert [json.loads(x)["rule"] for x in text.splitlines()] == [
            "halt-radio-left-on",
            "halt-without-disconnect",
        ]
    else:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        assert [(r["rule"], r["trace"], r["line"]) for r in rows] == [
            ("halt-radio-left-on", "halt.txt", "5"),
            ("halt-without-disconnect", "halt.txt", "5"),
        ]
    out = tmp_path / f"out.{fmt}"
    assert cli("audit", "halt.txt", "clean.txt", "-f", fmt, "-o", out, cwd=tmp_path).returncode == 1
    assert out.read_bytes() == first.stdout
    clean = cli("audit", "clean.txt", "-f", fmt, cwd=tmp_path)
    assert clean.returncode == 0
    assert clean.stdout == (b"" if fmt == "jsonl" else (",".join(FINDING_FIELDS) + "\n").encode())


def test_cli_parquet_needs_an_output_file(tmp_path):
    (tmp_path / "halt.txt").write_text(HALT, encoding="utf-8")
    proc = cli("audit", "halt.txt", "-f", "parquet", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == b""
    stderr = proc.stderr.decode()
    assert "-o" in stderr and "parquet" in stderr and "Traceback" not in stderr


def test_cli_parquet_writes_three_tables_deterministically(tmp_path):
    (tmp_path / "halt.txt").write_text(HALT, encoding="utf-8")
    digests = []
    for _ in range(2):
        proc = cli("audit", "halt.txt", "-f", "parquet", "-o", "res/a.parquet", cwd=tmp_path)
        assert proc.returncode == 1, proc.stderr
        digests.append(
            [
                (tmp_path / "res" / name).read_bytes()
                for name in ("a.parquet", "a.traces.parquet", "a.not_evaluable.parquet")
            ]
        )
    assert digests[0] == digests[1]
    findings = pl.read_parquet(tmp_path / "res" / "a.parquet")
    assert findings.select("rule", "line").rows() == [
        ("halt-radio-left-on", 5),
        ("halt-without-disconnect", 5),
    ]
    assert pl.read_parquet(tmp_path / "res" / "a.traces.parquet").get_column("path").to_list() == [
        "halt.txt"
    ]
