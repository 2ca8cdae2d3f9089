"""``--format junit``: one suite per trace, one case per rule, parsed back by junitparser."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from auditor.pipeline import Auditor
from auditor.report.junit import render_junit
from auditor.ruleset import PINNED_RULE_IDS
from tests.report.conftest import CLEAN, HALT

INFO_RULE = """\
[[rule]]
id = "radio-on-noted"
severity = "info"
title = 'Radio <on> & "noted"'
source = "Test page"
message = 'radio <on> & "noted" at halt'
on = "halt.end"
when = "radio_on"
"""


def junit_of(result) -> tuple[str, JUnitXml]:
    text = render_junit(result.traces, result.findings, result.not_evaluable, result.rules)
    return text, JUnitXml.fromstring(text)


def cases(suite) -> dict[str, object]:
    return {case.name: case for case in suite}


def test_one_suite_per_trace_one_case_per_rule(audit_texts, samples):
    result = audit_texts({"halt.txt": HALT, "clean.txt": CLEAN, "unnamed.txt": samples.unnamed})
    _, xml = junit_of(result)
    suites = list(xml)
    assert [Path(s.name).name for s in suites] == ["halt.txt", "clean.txt", "unnamed.txt"]
    rule_ids = [r.id for r in result.rules.rules]
    for suite, trace in zip(suites, result.traces, strict=True):
        assert suite.name == trace.path
        assert [c.name for c in suite] == rule_ids
        assert {c.classname for c in suite} == {trace.path}
        assert suite.tests == len(rule_ids)

    halt, clean, unnamed = suites
    assert (halt.tests, halt.failures, halt.errors, halt.skipped) == (3, 2, 0, 0)
    assert (clean.tests, clean.failures, clean.errors, clean.skipped) == (3, 0, 0, 0)
    # unnamed: connected at the halt (failure), no radio events (halt-radio-left-on skipped)
    assert (unnamed.tests, unnamed.failures, unnamed.errors, unnamed.skipped) == (3, 1, 0, 1)
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (9, 3, 0, 1)
    assert all(c.is_passed for c in clean)


def test_failure_lists_each_finding_with_its_evidence(audit_texts):
    result = audit_texts({"halt.txt": HALT})
    _, xml = junit_of(result)
    by_name = cases(next(iter(xml)))
    radio = by_name["halt-radio-left-on"]
    [failure] = radio.result
    assert isinstance(failure, Failure)
    assert failure.type == "error"
    assert failure.message == "1 finding: Radio still on when MiniportHaltEx returned"
    lines = failure.text.splitlines()
    assert lines[0] == (
        "[error] adapter A1 at 2025-06-06T12:00:03.100Z, line 5: "
        "MiniportHaltEx returned with the radio on: the last radio state before it was on"
    )
    assert lines[1:] == [
        "    L2 radio=on (witness): Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1",
        "    L5 halt.end (anchor): <--- MPHaltEx Adapter=A1",
    ]
    [warning] = by_name["halt-without-disconnect"].result
    assert warning.type == "warning"
    assert "L3 assoc.end=ok (witness)" in warning.text
    assert "L4 halt.begin (witness): ---> MPHaltEx Adapter=A1" in warning.text
    assert by_name["radio-on-before-initialize"].is_passed


def test_several_findings_of_one_rule_share_one_failure(audit_texts):
    body = HALT.splitlines(keepends=True)
    twice = "".join(body) + "".join(line.replace("12:00:0", "12:01:0") for line in body)
    _, xml = junit_of(audit_texts({"twice.txt": twice}))
    [failure] = cases(next(iter(xml)))["halt-radio-left-on"].result
    assert failure.message.startswith("2 findings: ")
    assert "line 5:" in failure.text and "line 10:" in failure.text


def test_not_evaluable_rule_is_skipped_with_the_reason(audit_texts, samples):
    _, xml = junit_of(audit_texts({"unnamed.txt": samples.unnamed}))
    [skipped] = cases(next(iter(xml)))["halt-radio-left-on"].result
    assert isinstance(skipped, Skipped)
    assert skipped.message == (
        "not evaluable: (adapter not named): no event matching 'radio' for this adapter"
    )


def test_unreadable_trace_is_one_read_error(audit_texts, tmp_path):
    result = audit_texts({"garbage.txt": "this is not a trace\n", "halt.txt": HALT})
    missing = Auditor.load().audit([tmp_path / "missing.txt"])
    _, xml = junit_of(result)
    garbage, halt = list(xml)
    assert (garbage.tests, garbage.errors, garbage.failures, garbage.skipped) == (1, 1, 0, 0)
    [case] = list(garbage)
    assert (case.name, case.classname) == ("read", garbage.name)
    [error] = case.result
    assert isinstance(error, Error)
    assert error.type == "unreadable"
    assert "unrecognised trace format" in error.message
    assert error.text.startswith(f"{garbage.name}:1: unrecognised trace format")
    assert halt.failures == 2
    assert (xml.tests, xml.errors, xml.failures) == (4, 1, 2)
    _, xml = junit_of(missing)
    [suite] = list(xml)
    assert "cannot open" in next(iter(suite)).result[0].message


def test_info_findings_do_not_fail_and_go_to_system_out(write_trace, tmp_path):
    rules = tmp_path / "info.toml"
    rules.write_text(INFO_RULE, encoding="utf-8")
    pinned_and_info = [*PINNED_RULE_IDS, "radio-on-noted"]
    result = Auditor.load(rule_paths=[rules], select=pinned_and_info).audit(
        [write_trace("halt.txt", HALT)]
    )
    assert "info" in result.findings.get_column("severity").to_list()
    _, xml = junit_of(result)
    suite = next(iter(xml))
    noted = cases(suite)["radio-on-noted"]
    assert noted.is_passed and noted.result == []
    assert noted.system_out.startswith(
        '[info] adapter A1 at 2025-06-06T12:00:03.100Z, line 5: radio <on> & "noted" at halt'
    )
    assert (suite.tests, suite.failures) == (4, 2)


def test_markup_in_rules_and_traces_is_escaped(write_trace, tmp_path):
    rules = tmp_path / "markup.toml"
    rules.write_text(INFO_RULE.replace('"info"', '"error"'), encoding="utf-8")
    nasty = HALT.replace(
        "<--- MPHaltEx Adapter=A1",
        "<--- MPHaltEx Adapter=A1 </failure><script>\"x\" & 'y'</script> bell\x07",
    )
    result = Auditor.load(rule_paths=[rules]).audit([write_trace("nasty.txt", nasty)])
    text, xml = junit_of(result)
    assert "<script>" not in text and "</failure><script>" not in text
    assert "&lt;script&gt;" in text and "&amp;" in text
    assert "\x07" not in text  # not representable in XML 1.0: written as \x07
    [failure] = cases(next(iter(xml)))["radio-on-noted"].result
    assert failure.message == '1 finding: Radio <on> & "noted"'
    assert (
        "L5 halt.end (anchor): <--- MPHaltEx Adapter=A1 </failure><script>\"x\" & 'y'</script> bell\\x07"
        in failure.text
    )
    assert 'radio <on> & "noted" at halt' in failure.text


def test_empty_and_deterministic(audit_texts, auditor):
    result = audit_texts({"halt.txt": HALT})
    first, _ = junit_of(result)
    second, _ = junit_of(audit_texts({"halt.txt": HALT}))
    assert first == second
    assert first.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')
    empty = render_junit(
        [], pl.DataFrame(), pl.DataFrame(schema=result.not_evaluable.schema), auditor.rules
    )
    xml = JUnitXml.fromstring(empty)
    assert (xml.tests, xml.failures) == (0, 0) and list(xml) == []


@pytest.mark.parametrize("fail_on", ["error", "never"])
def test_cli_junit(tmp_path, fail_on):
    (tmp_path / "halt.txt").write_text(HALT, encoding="utf-8")
    out = tmp_path / "reports" / "junit.xml"
    cmd = [sys.executable, "-m", "auditor.cli", "audit", "halt.txt", "-f", "junit"]
    proc = subprocess.run(
        [*cmd, "-o", str(out), "--fail-on", fail_on],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == (1 if fail_on == "error" else 0), proc.stderr
    xml = JUnitXml.fromfile(str(out))
    # one case per rule of the whole pack; only the two halt rules fail on HALT
    assert (xml.tests, xml.failures) == (len(Auditor.load().rules.rules), 2)
    stdout = subprocess.run(cmd, cwd=tmp_path, capture_output=True, timeout=120, check=False)
    assert stdout.stdout == out.read_bytes()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]
