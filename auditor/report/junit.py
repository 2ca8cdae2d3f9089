"""``--format junit``: JUnit XML for CI test-report readers (Jenkins, GitLab, Azure DevOps).

Shape, in a deterministic order (traces as given, rules in rule-set order):

- ``<testsuites name="trace-auditor">`` with the totals of its suites;
- one ``<testsuite name="TRACE PATH">`` per trace, with ``tests``, ``failures``,
  ``errors`` and ``skipped`` counts and ``<properties>`` (format, encoding, events,
  rejected lines, adapters);
- in it one ``<testcase classname="TRACE PATH" name="RULE ID">`` per rule:

  - findings of severity ``error`` or ``warning`` make it fail: one ``<failure
    message="N finding(s): TITLE" type="SEVERITY">`` whose text lists each finding
    (adapter, time, anchor line, message) with its evidence lines under it;
  - ``info`` findings never fail a testcase (they are notes, not broken obligations):
    they are listed in the testcase's ``<system-out>``;
  - findings a suppressions file accepted never fail it either: each is listed in
    ``<system-out>`` with the entry (``file:line``) and its reason;
  - a rule that has no failing finding and is not evaluable for some adapter is
    ``<skipped message="not evaluable: ADAPTER: REASON; ...">``;
  - otherwise it passes.

- a trace that could not be read has a single ``<testcase name="read">`` with
  ``<error message=... type="unreadable">`` and no rule testcases (nothing was checked).

The XML is built with :mod:`xml.etree.ElementTree`, which escapes ``<``, ``>``, ``&``
and quotes; characters XML 1.0 cannot carry at all (control characters, lone
surrogates) are written as ``\\xNN`` / ``\\uNNNN`` so the document always parses.
There is no ``time`` or ``timestamp`` attribute: the same input gives the same bytes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from auditor.report.json_report import export_findings, export_suppressed

if TYPE_CHECKING:
    from auditor.pipeline import TraceSummary
    from auditor.ruleset import RuleSet

FAILING_SEVERITIES = frozenset({"error", "warning"})
UNNAMED_ADAPTER = "(adapter not named)"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _NOT_XML.sub(escape, text)


def _element(tag: str, attrib: dict[str, str] | None = None, text: str | None = None) -> ET.Element:
    node = ET.Element(tag, {k: _xml_safe(v) for k, v in (attrib or {}).items()})
    if text is not None:
        node.text = _xml_safe(text)
    return node


def _adapter(name: str | None) -> str:
    return name if name is not None else UNNAMED_ADAPTER


def describe_finding(finding: dict[str, Any]) -> str:
    """One finding as readable lines: where and when, the message, then its evidence."""
    line = finding["line"]
    at = f"line {line}" if line is not None else "no line"
    lines = [
        f"[{finding['severity']}] adapter {_adapter(finding['adapter'])} at {finding['ts']}, "
        f"{at}: {finding['message']}"
    ]
    for e in finding["evidence"]:
        label = e["kind"] if e["value"] is None else f"{e['kind']}={e['value']}"
        number = f"L{e['line']}" if e["line"] is not None else "L?"
        lines.append(f"    {number} {label} ({e['role']}): {e['text']}")
    return "\n".join(lines)


def _testcase(
    path: str,
    rule_id: str,
    title: str,
    findings: list[dict[str, Any]],
    missing: list[dict[str, Any]],
    accepted: list[dict[str, Any]] | None = None,
) -> tuple[ET.Element, str]:
    """The testcase of one rule on one trace, and its outcome: passed, failure or skipped."""
    case = _element("testcase", {"classname": path, "name": rule_id})
    failing = [f for f in findings if f["severity"] in FAILING_SEVERITIES]
    notes = [f for f in findings if f["severity"] not in FAILING_SEVERITIES]
    reasons = "; ".join(f"{_adapter(m['adapter'])}: {m['reason']}" for m in missing)
    outcome = "passed"
    if failing:
        severity = "error" if any(f["severity"] == "error" for f in failing) else "warning"
        count = f"{len(failing)} finding{'s' if len(failing) != 1 else ''}"
        case.append(
            _element(
                "failure",
                {"message": f"{count}: {title}", "type": severity},
                "\n\n".join(describe_finding(f) for f in failing) + "\n",
            )
        )
        outcome = "failure"
    elif missing:
        case.append(_element("skipped", {"message": f"not evaluable: {reasons}"}))
        outcome = "skipped"
    out: list[str] = []
    if notes:
        out.append("\n\n".join(describe_finding(f) for f in notes))
    if missing and failing:
        out.append(f"not evaluable: {reasons}")
    for f in accepted or []:
        out.append(f"suppressed by {f['suppression']} ({f['reason']}):\n" + describe_finding(f))
    if out:
        case.append(_element("system-out", text="\n\n".join(out) + "\n"))
    return case, outcome


def _properties(trace: TraceSummary) -> ET.Element:
    props = _element("properties")
    values = {
        "format": trace.format or "",
        "encoding": trace.encoding or "",
        "lines": str(trace.lines),
        "events": str(trace.events),
        "rejected": str(trace.rejected),
        "adapters": ", ".join(_adapter(a) for a in trace.adapters),
    }
    for name, value in values.items():
        props.append(_element("property", {"name": name, "value": value}))
    return props


def to_junit(
    traces: Sequence[TraceSummary],
    findings: pl.DataFrame,
    not_evaluable: pl.DataFrame,
    rules: RuleSet,
    suppressed: pl.DataFrame | None = None,
) -> ET.Element:
    """The ``<testsuites>`` element (see the module docstring for the shape)."""
    by_case: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for finding in export_findings(findings):
        by_case.setdefault((finding["trace"], finding["rule"]), []).append(finding)
    accepted: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for finding in export_suppressed(suppressed) if suppressed is not None else []:
        accepted.setdefault((finding["trace"], finding["rule"]), []).append(finding)
    missing: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in not_evaluable.iter_rows(named=True):
        missing.setdefault((row["trace"], row["rule"]), []).append(row)

    root = _element("testsuites", {"name": "trace-auditor"})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for trace in traces:
        suite = _element("testsuite", {"name": trace.path})
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        cases: list[ET.Element] = []
        if trace.error is not None:
            where = f"{trace.path}:{trace.error_line}" if trace.error_line else trace.path
            case = _element("testcase", {"classname": trace.path, "name": "read"})
            case.append(
                _element(
                    "error",
                    {"message": trace.error, "type": "unreadable"},
                    f"{where}: {trace.error}\n",
                )
            )
            cases.append(case)
            counts["tests"], counts["errors"] = 1, 1
        else:
            for rule in rules.rules:
                key = (trace.path, rule.id)
                case, outcome = _testcase(
                    trace.path,
                    rule.id,
                    rule.title,
                    by_case.get(key, []),
                    missing.get(key, []),
                    accepted.get(key, []),
                )
                cases.append(case)
                counts["tests"] += 1
                if outcome == "failure":
                    counts["failures"] += 1
                elif outcome == "skipped":
                    counts["skipped"] += 1
        for name, value in counts.items():
            suite.set(name, str(value))
            totals[name] += value
        suite.append(_properties(trace))
        suite.extend(cases)
        root.append(suite)
    for name, value in totals.items():
        root.set(name, str(value))
    return root


def render_junit(
    traces: list[TraceSummary],
    findings: pl.DataFrame,
    not_evaluable: pl.DataFrame,
    rules: RuleSet,
    suppressed: pl.DataFrame | None = None,
) -> str:
    """JUnit XML text (UTF-8 declaration, two-space indent, newline at the end)."""
    root = to_junit(traces, findings, not_evaluable, rules, suppressed)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
