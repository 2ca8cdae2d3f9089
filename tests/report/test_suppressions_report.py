"""Suppressed findings in every report: JSON, SARIF, JUnit, HTML, terminal, and the CLI.

Each test compares with the same traces audited without suppressions, so it holds
whichever rules the built-in pack has.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import polars as pl
import pytest
from junitparser import Failure, JUnitXml
from rich.console import Console

from auditor.pipeline import Auditor, AuditResult
from auditor.report.html import render_html
from auditor.report.json_report import render_json, to_document
from auditor.report.junit import render_junit
from auditor.report.sarif import render_sarif
from auditor.report.terminal import print_report
from tests.report.conftest import HALT, PAYLOAD, TWO_ADAPTERS

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SCHEMA_PATH = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"

# Everything adapter A1 did is accepted; the second entry can never match.
A1_ACCEPTED = """\
[[suppress]]
rule = "*"
adapter = "A1"
reason = "A1 is the rig's reference adapter: FW-1234"

[[suppress]]
rule = "halt-*"
trace = "no-such-trace.txt"
reason = "left over from an old lab run"
"""


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    assert SCHEMA_PATH.exists(), f"SARIF schema not found at {SCHEMA_PATH}"
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


@pytest.fixture
def audit_pair(
    write_trace: Callable[[str, str], str], tmp_path: Path
) -> Callable[[dict[str, str], str], tuple[AuditResult, AuditResult, Path]]:
    """Audit traces without and with a suppressions file: (plain, suppressed, file)."""

    def run(traces: dict[str, str], entries: str) -> tuple[AuditResult, AuditResult, Path]:
        paths = [write_trace(name, text) for name, text in traces.items()]
        path = tmp_path / "known.suppress.toml"
        path.write_text(entries, encoding="utf-8")
        plain = Auditor.load().audit(paths)
        suppressed = Auditor.load(suppress_paths=[path]).audit(paths)
        return plain, suppressed, path

    return run


def _without(finding: dict) -> dict:
    return {k: v for k, v in finding.items() if k not in ("reason", "suppression")}


def test_json_keeps_version_traces_findings_and_adds_suppressed_and_unused(audit_pair):
    plain, result, path = audit_pair({"two.txt": TWO_ADAPTERS}, A1_ACCEPTED)
    before, after = to_document(plain), to_document(result)
    a1 = [f for f in before["findings"] if f["adapter"] == "A1"]
    assert a1, "adapter A1 breaks the halt rules"
    assert list(after) == [
        "version",
        "traces",
        "findings",
        "suppressed",
        "unused_suppressions",
        "expired_suppressions",
        "summary",
    ]
    assert after["version"] == before["version"] and after["traces"] == before["traces"]
    assert after["findings"] == [f for f in before["findings"] if f["adapter"] != "A1"]
    assert [_without(f) for f in after["suppressed"]] == a1
    assert {(f["reason"], f["suppression"]) for f in after["suppressed"]} == {
        ("A1 is the rig's reference adapter: FW-1234", f"{path}:1")
    }
    assert after["unused_suppressions"] == [
        {
            "suppression": f"{path}:6",
            "rule": "halt-*",
            "adapter": None,
            "trace": "no-such-trace.txt",
            "from": None,
            "until": None,
            "expires": None,
            "reason": "left over from an old lab run",
        }
    ]
    assert after["summary"]["suppressed"] == len(a1)
    assert after["summary"]["findings"] == len(before["findings"]) - len(a1)
    # the rendered text is that document, and deterministic
    assert json.loads(render_json(result)) == json.loads(json.dumps(after))
    assert render_json(result) == render_json(result)
    assert json.loads(render_json(plain))["suppressed"] == []


def _sarif(result: AuditResult, base: Path) -> dict:
    return json.loads(
        render_sarif(
            result.traces,
            result.findings,
            result.not_evaluable,
            result.rules,
            base=base,
            suppressed=result.suppressed,
        )
    )


def test_sarif_marks_suppressed_results_and_keeps_their_identity(audit_pair, tmp_path, validator):
    plain, result, path = audit_pair({"two.txt": TWO_ADAPTERS}, A1_ACCEPTED)
    before, after = _sarif(plain, tmp_path), _sarif(result, tmp_path)
    for doc in (before, after):
        errors = list(validator.iter_errors(doc))
        assert not errors, [e.message for e in errors]
    old, new = before["runs"][0]["results"], after["runs"][0]["results"]
    # every finding is still a result, in the same order, with the same fingerprint and level
    assert [(r["ruleId"], r["level"], r["partialFingerprints"]) for r in new] == [
        (r["ruleId"], r["level"], r["partialFingerprints"]) for r in old
    ]
    accepted = [r for r in new if "suppressions" in r]
    assert len(accepted) == result.suppressed.height > 0
    assert all(r["properties"]["adapter"] == "A1" for r in accepted)
    assert all("suppressions" not in r for r in new if r["properties"]["adapter"] != "A1")
    (suppression,) = accepted[0]["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert suppression["justification"] == "A1 is the rig's reference adapter: FW-1234"
    location = suppression["location"]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": path.name, "uriBaseId": "SRCROOT"}
    assert location["region"] == {"startLine": 1}


def test_sarif_fingerprint_occurrences_survive_suppressing_the_first_of_two(audit_pair, tmp_path):
    body = HALT.splitlines(keepends=True)
    twice = "".join(body) + "".join(line.replace("12:00:0", "12:01:0") for line in body)
    first_only = """\
[[suppress]]
rule = "*"
until = "2025-06-06T12:00:59Z"
reason = "the first halt is the known one"
"""
    plain, result, _ = audit_pair({"twice.txt": twice}, first_only)
    old = _sarif(plain, tmp_path)["runs"][0]["results"]
    new = _sarif(result, tmp_path)["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in new] == [r["partialFingerprints"] for r in old]
    suppressed = [r["properties"]["ts"] < "2025-06-06T12:01" for r in new]
    assert suppressed == ["suppressions" in r for r in new] and any(suppressed)
    assert not all(suppressed)


def test_junit_suppressed_findings_do_not_fail_and_are_listed(audit_pair):
    plain, result, path = audit_pair({"two.txt": TWO_ADAPTERS}, A1_ACCEPTED)

    def junit(r: AuditResult) -> JUnitXml:
        text = render_junit(r.traces, r.findings, r.not_evaluable, r.rules, suppressed=r.suppressed)
        return JUnitXml.fromstring(text)

    failing = {
        f["rule"]
        for f in plain.findings.iter_rows(named=True)
        if f["severity"] in ("error", "warning") and f["adapter"] != "A1"
    }
    (suite,) = list(junit(result))
    failed = {c.name for c in suite if any(isinstance(x, Failure) for x in c.result)}
    assert failed == failing
    assert suite.failures == len(failing) < next(iter(junit(plain))).failures
    radio = next(c for c in suite if c.name == "halt-radio-left-on")
    assert f"suppressed by {path}:1 (A1 is the rig's reference adapter: FW-1234)" in (
        radio.system_out
    )


def test_html_has_a_collapsed_suppressed_section_with_escaped_reasons(audit_pair):
    entries = A1_ACCEPTED.replace("FW-1234", PAYLOAD)
    plain, result, path = audit_pair({"two.txt": TWO_ADAPTERS}, entries)
    page = render_html(result)
    assert '<h2 id="suppressed">Suppressed</h2>' in page
    section = page.split('<details class="suppressed">', 1)[1].split("</details>", 1)[0]
    n = result.suppressed.height
    assert f"<summary>{n} suppressed finding{'s' if n != 1 else ''}, 1 unused entry" in section
    assert section.count("<tr><td class='nowrap'>") == n
    assert PAYLOAD not in page and "&lt;/script&gt;&lt;script&gt;alert(1)" in section
    assert f"{path}:6" in section and "no-such-trace.txt" in section
    assert f'<a href="#suppressed">{n:,} suppressed</a>' in page
    assert 'id="suppressed"' not in render_html(plain)
    assert render_html(result) == page


def test_terminal_counts_suppressed_findings(audit_pair):
    plain, result, _ = audit_pair({"two.txt": TWO_ADAPTERS}, A1_ACCEPTED)

    def text(r: AuditResult) -> str:
        buffer = io.StringIO()
        print_report(r, Console(file=buffer, width=200, highlight=False))
        return buffer.getvalue()

    out = text(result)
    n = result.suppressed.height
    assert f"{n} suppressed finding{'s' if n != 1 else ''} not shown (" in out
    assert "halt-radio-left-on" in out.split("suppressed finding", 1)[1]
    assert "suppressed" not in text(plain)


def cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> tuple[Path, dict, Path]:
    """The samples (with the northwind map) audited as JSON, and a suppressions file
    accepting every finding of the first trace that has one, plus one stale entry."""
    traces = sorted(str(p) for p in SAMPLES.glob("*.txt"))
    args = ["audit", *traces, "--map", SAMPLES / "northwind-rf.map.toml", "--format", "json"]
    done = cli(*args)
    doc = json.loads(done.stdout)
    assert doc["findings"], "the samples produce findings"
    first = Path(doc["findings"][0]["trace"]).name
    path = tmp_path_factory.mktemp("suppress") / "lab.toml"
    path.write_text(
        f'[[suppress]]\nrule = "*"\ntrace = "{first}"\nreason = "known trace"\n\n'
        '[[suppress]]\nrule = "*"\ntrace = "gone-*.txt"\nreason = "stale"\n',
        encoding="utf-8",
    )
    return path, doc, Path(first)


def test_cli_json_and_table_with_suppress(sample_run):
    path, before, first = sample_run
    traces = sorted(str(p) for p in SAMPLES.glob("*.txt"))
    common = [*traces, "--map", SAMPLES / "northwind-rf.map.toml", "--suppress", path]
    done = cli("audit", *common, "--format", "json", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    after = json.loads(done.stdout)
    moved = [f for f in before["findings"] if Path(f["trace"]).name == first.name]
    assert [_without(f) for f in after["suppressed"]] == moved
    assert after["findings"] == [f for f in before["findings"] if f not in moved]
    assert [u["suppression"] for u in after["unused_suppressions"]] == [f"{path}:6"]
    warning = f"warning: {path}:6: suppression matched no finding: rule *, trace gone-*.txt"
    assert warning in done.stderr.replace("\n", "")
    table = cli("audit", *common, "--fail-on", "never")
    assert table.returncode == 0
    assert f"{len(moved)} suppressed finding" in table.stdout
    assert warning in table.stderr.replace("\n", "")


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_cli_line_formats_hold_the_findings_only(sample_run, fmt):
    path, before, first = sample_run
    traces = sorted(str(p) for p in SAMPLES.glob("*.txt"))
    done = cli(
        "audit",
        *traces,
        "--map",
        SAMPLES / "northwind-rf.map.toml",
        "--suppress",
        path,
        "--format",
        fmt,
        "--fail-on",
        "never",
    )
    assert done.returncode == 0, done.stderr
    kept = [f for f in before["findings"] if Path(f["trace"]).name != first.name]
    rows = done.stdout.splitlines()
    assert len(rows) == len(kept) + (fmt == "csv")
    assert first.name not in done.stdout


def test_cli_parquet_holds_the_findings_only(sample_run, tmp_path):
    path, before, first = sample_run
    out = tmp_path / "f.parquet"
    done = cli(
        "audit",
        *sorted(str(p) for p in SAMPLES.glob("*.txt")),
        "--map",
        SAMPLES / "northwind-rf.map.toml",
        "--suppress",
        path,
        "--format",
        "parquet",
        "-o",
        out,
        "--fail-on",
        "never",
    )
    assert done.returncode == 0, done.stderr
    traces = pl.read_parquet(out).get_column("trace").to_list()
    assert len(traces) == sum(Path(f["trace"]).name != first.name for f in before["findings"])
