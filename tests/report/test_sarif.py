"""``--format sarif``: valid SARIF 2.1.0 whose results are the findings, located in the traces."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import polars as pl
import pytest

from auditor import __version__
from auditor.pipeline import Auditor
from auditor.report.sarif import artifact_location, render_sarif, to_sarif
from tests.report.conftest import HALT

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "shared" / "schemas" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    # shared/ sits beside the checkout (CI provides it): its absence is a set-up error
    assert SCHEMA_PATH.exists(), f"SARIF schema not found at {SCHEMA_PATH}"
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def assert_valid(validator: jsonschema.Draft7Validator, doc: dict) -> None:
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def sarif_of(result, base: Path) -> dict:
    text = render_sarif(
        result.traces, result.findings, result.not_evaluable, result.rules, base=base
    )
    return json.loads(text)


def test_findings_become_results_at_the_anchor_line(audit_texts, tmp_path, validator):
    result = audit_texts({"halt.txt": HALT})
    doc = sarif_of(result, tmp_path)
    assert_valid(validator, doc)
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("trace-auditor", __version__)
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == [r.id for r in result.rules.rules]

    results = run["results"]
    assert len(results) == 2
    by_rule = {r["ruleId"]: r for r in results}
    assert set(by_rule) == {"halt-radio-left-on", "halt-without-disconnect"}
    assert by_rule["halt-radio-left-on"]["level"] == "error"
    assert by_rule["halt-without-disconnect"]["level"] == "warning"
    for r in results:
        assert rule_ids[r["ruleIndex"]] == r["ruleId"]
        physical = r["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "halt.txt"
        assert physical["artifactLocation"]["uriBaseId"] == "SRCROOT"
        assert physical["region"]["startLine"] == 5
        assert physical["region"]["snippet"]["text"] == "<--- MPHaltEx Adapter=A1"
        assert "adapter A1" in r["message"]["text"]
        assert r["properties"]["adapter"] == "A1"

    radio = by_rule["halt-radio-left-on"]
    related = [
        (loc["physicalLocation"]["region"]["startLine"], loc["message"]["text"])
        for loc in radio["relatedLocations"]
    ]
    assert related == [
        (2, "Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1"),
        (5, "<--- MPHaltEx Adapter=A1"),
    ]
    assert [loc["properties"]["role"] for loc in radio["relatedLocations"]] == [
        "witness",
        "anchor",
    ]
    disconnect = by_rule["halt-without-disconnect"]
    assert [
        loc["physicalLocation"]["region"]["startLine"] for loc in disconnect["relatedLocations"]
    ] == [3, 4, 5]

    assert [a["location"]["uri"] for a in run["artifacts"]] == ["halt.txt"]
    assert run["artifacts"][0]["properties"]["format"] == "wpp-text"
    assert run["invocations"] == [{"executionSuccessful": True}]


def test_rules_carry_help_formula_source_and_level(demo, tmp_path, validator):
    doc = sarif_of(demo, tmp_path)
    assert_valid(validator, doc)
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    radio = rules["halt-radio-left-on"]
    assert radio["name"] == "HaltRadioLeftOn"
    assert radio["shortDescription"]["text"] == "Radio still on when MiniportHaltEx returned"
    assert radio["fullDescription"]["text"].startswith("The 802.11 station must turn off")
    assert radio["defaultConfiguration"]["level"] == "error"
    assert "When: radio_on" in radio["help"]["text"]
    assert "Source: Native 802.11 Miniport Driver Halt" in radio["help"]["text"]
    assert radio["properties"]["source"] == "Native 802.11 Miniport Driver Halt"
    disconnect = rules["halt-without-disconnect"]
    assert disconnect["defaultConfiguration"]["level"] == "warning"
    assert "since(halt.begin & connected, !(disconnect | halt.begin))" in disconnect["help"]["text"]


def test_info_severity_is_a_note(write_trace, tmp_path, validator):
    rules = tmp_path / "info.toml"
    rules.write_text(
        '[[rule]]\nid = "radio-on-noted"\nseverity = "info"\ntitle = "noted"\n'
        'source = "Test page"\non = "halt.end"\nwhen = "radio_on"\n',
        encoding="utf-8",
    )
    result = Auditor.load(rule_paths=[rules]).audit([write_trace("halt.txt", HALT)])
    doc = sarif_of(result, tmp_path)
    assert_valid(validator, doc)
    run = doc["runs"][0]
    noted = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "radio-on-noted")
    assert noted["defaultConfiguration"]["level"] == "note"
    assert [r["level"] for r in run["results"] if r["ruleId"] == "radio-on-noted"] == ["note"]


def test_unreadable_traces_and_not_evaluable_rules_are_notifications(
    audit_texts, samples, tmp_path, validator
):
    result = audit_texts(
        {"garbage.txt": "this is not a trace\n", "unnamed.txt": samples.unnamed, "halt.txt": HALT}
    )
    doc = sarif_of(result, tmp_path)
    assert_valid(validator, doc)
    run = doc["runs"][0]
    assert [a["location"]["uri"] for a in run["artifacts"]] == [
        "garbage.txt",
        "unnamed.txt",
        "halt.txt",
    ]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    errors = [n for n in notes if n["level"] == "error"]
    assert len(errors) == 1
    assert "unrecognised trace format" in errors[0]["message"]["text"]
    where = errors[0]["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == "garbage.txt"
    assert where["region"]["startLine"] == 1
    skipped = [n for n in notes if n["level"] == "note"]
    assert len(skipped) == result.not_evaluable.height == 1
    assert skipped[0]["associatedRule"]["id"] == "halt-radio-left-on"
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids[skipped[0]["associatedRule"]["index"]] == "halt-radio-left-on"
    assert "no event matching 'radio'" in skipped[0]["message"]["text"]
    assert skipped[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "unnamed.txt"
    )
    # halt.txt breaks two rules; unnamed.txt halts while connected (no radio events)
    assert len(run["results"]) == result.findings.height == 3


def test_region_is_omitted_when_the_line_is_unknown(demo, tmp_path, validator):
    no_lines = demo.findings.with_columns(
        pl.lit(None, dtype=pl.UInt32).alias("line"),
        pl.col("evidence").list.eval(
            pl.element().struct.with_fields(pl.lit(None, dtype=pl.UInt32).alias("line"))
        ),
    )
    doc = to_sarif(demo.traces, no_lines, demo.not_evaluable, demo.rules, base=tmp_path)
    assert_valid(validator, doc)
    for r in doc["runs"][0]["results"]:
        assert "region" not in r["locations"][0]["physicalLocation"]
        assert all("region" not in loc["physicalLocation"] for loc in r["relatedLocations"])


def test_fingerprints_are_stable_across_directories_and_distinct(auditor, tmp_path):
    fingerprints = []
    for folder in ("run1", "run2"):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "halt.txt"
        path.write_text(HALT, encoding="utf-8")
        result = auditor.audit([path])
        doc = sarif_of(result, tmp_path)
        fingerprints.append(
            [r["partialFingerprints"]["traceAuditorFinding/v1"] for r in doc["runs"][0]["results"]]
        )
    assert fingerprints[0] == fingerprints[1]
    assert len(set(fingerprints[0])) == 2


def test_repeated_identical_findings_get_distinct_fingerprints(audit_texts, tmp_path):
    body = HALT.splitlines(keepends=True)
    twice = "".join(body) + "".join(
        line.replace("12:00:0", "12:01:0") for line in body
    )  # same texts, a minute later
    result = audit_texts({"twice.txt": twice})
    doc = sarif_of(result, tmp_path)
    prints = [r["partialFingerprints"]["traceAuditorFinding/v1"] for r in doc["runs"][0]["results"]]
    assert len(prints) == 4 and len(set(prints)) == 4
    assert sorted(p.rsplit(":", 1)[1] for p in prints) == ["1", "1", "2", "2"]


def test_artifact_uris():
    base = Path("/lab/runs").absolute()
    assert artifact_location("a b/t#1.txt", base) == {
        "uri": "a%20b/t%231.txt",
        "uriBaseId": "SRCROOT",
    }
    assert artifact_location(str(base / "x" / "t.txt"), base) == {
        "uri": "x/t.txt",
        "uriBaseId": "SRCROOT",
    }
    outside = artifact_location(str(base.parent / "other" / "t.txt"), base)
    assert outside["uri"].startswith("file:///") and "uriBaseId" not in outside
    assert artifact_location("run:1.txt", base)["uri"] == "run%3A1.txt"


def test_trace_text_is_carried_verbatim(audit_texts, tmp_path, validator):
    nasty = HALT.replace(
        "<--- MPHaltEx Adapter=A1", "<--- MPHaltEx Adapter=A1 <script>\"x\" & 'y'</script>"
    )
    doc = sarif_of(audit_texts({"nasty.txt": nasty}), tmp_path)
    assert_valid(validator, doc)
    snippet = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert snippet["snippet"]["text"] == "<--- MPHaltEx Adapter=A1 <script>\"x\" & 'y'</script>"


def test_cli_sarif_is_valid_and_deterministic(tmp_path, validator):
    (tmp_path / "halt.txt").write_text(HALT, encoding="utf-8")
    cmd = [sys.executable, "-m", "auditor.cli", "audit", "halt.txt", "-f", "sarif"]
    first = subprocess.run(cmd, cwd=tmp_path, capture_output=True, timeout=120, check=False)
    second = subprocess.run(cmd, cwd=tmp_path, capture_output=True, timeout=120, check=False)
    assert first.returncode == 1, first.stderr
    assert first.stdout == second.stdout
    doc = json.loads(first.stdout)
    assert_valid(validator, doc)
    assert len(doc["runs"][0]["results"]) == 2
    assert doc["runs"][0]["artifacts"][0]["location"]["uri"] == "halt.txt"
    out = tmp_path / "out" / "audit.sarif"
    written = subprocess.run(
        [*cmd, "-o", str(out), "--fail-on", "never"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert written.returncode == 0, written.stderr
    assert out.read_bytes() == first.stdout
