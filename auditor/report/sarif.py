"""``--format sarif``: SARIF 2.1.0 for code-scanning viewers and CI dashboards.

One run. ``tool.driver.rules`` holds every rule of the rule set in its order (a rule with
no finding is still listed, so a viewer can show what was checked). Each finding is one
result located at its trace file and anchor line, with every evidence line as a related
location. Traces are artifacts; a trace that could not be read makes the invocation
unsuccessful and appears as an error notification; each not-evaluable (rule, adapter)
is a note notification associated with its rule.

Trace paths become URIs relative to ``base`` (default: the working directory) under
the base id ``SRCROOT`` where they lie below it, and absolute ``file:`` URIs otherwise.
``originalUriBaseIds`` names ``SRCROOT`` without its absolute URI, so the same traces
audited from the same relative location give the same bytes on any machine.

``partialFingerprints["traceAuditorFinding/v1"]`` is ``<sha256 of rule, trace file name,
adapter and anchor text, 32 hex>:<n>``: ``n`` counts identical earlier findings in the
same run (1-based), the same convention as GitHub's ``primaryLocationLineHash``, so
repeated halts with identical lines stay distinct. It depends on neither the directory
nor the line number nor the time, so a result is recognised across runs of the same test.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import polars as pl

from auditor import __version__
from auditor.report.json_report import export_findings, export_suppressed

if TYPE_CHECKING:
    from auditor.pipeline import TraceSummary
    from auditor.ruleset import Rule, RuleSet

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
TOOL_NAME = "trace-auditor"
BASE_ID = "SRCROOT"
FINGERPRINT_KEY = "traceAuditorFinding/v1"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
ORDER = ["trace", "ts", "seq", "rule", "adapter"]  # the engine's order of findings


def level(severity: str) -> str:
    return LEVELS.get(severity, "warning")


def artifact_location(path: str, base: Path) -> dict[str, Any]:
    """A trace path as a SARIF artifactLocation: relative to ``SRCROOT`` where possible."""
    given = PurePath(path)
    if given.is_absolute():
        absolute = Path(os.path.normpath(given))
    elif ".." in given.parts:
        absolute = Path(os.path.normpath(base / given))
    else:
        return {"uri": quote(given.as_posix(), safe="/"), "uriBaseId": BASE_ID}
    try:
        relative = absolute.relative_to(Path(os.path.normpath(base.absolute())))
    except ValueError:
        return {"uri": absolute.as_uri()}
    return {"uri": quote(relative.as_posix(), safe="/"), "uriBaseId": BASE_ID}


def _rule_name(rule_id: str) -> str:
    """``halt-radio-left-on`` -> ``HaltRadioLeftOn`` (SARIF names are identifier-like)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", rule_id))


def _rule_descriptor(rule: Rule) -> dict[str, Any]:
    description = " ".join(rule.description.split()) or rule.title
    help_lines = [
        description,
        "",
        f"Fires at: {rule.on_text}",
        f"When: {rule.when_text}",
    ]
    help_lines += [f"Requires: {text} (else not evaluable)" for text, _ in rule.requires]
    help_lines.append(f"Source: {rule.source} (WDK documentation)")
    markdown = [
        description,
        "",
        f"- fires at: `{rule.on_text}`",
        f"- when: `{rule.when_text}`",
    ]
    markdown += [f"- requires: `{text}` (else not evaluable)" for text, _ in rule.requires]
    markdown.append(f"- source: *{rule.source}* (WDK documentation)")
    return {
        "id": rule.id,
        "name": _rule_name(rule.id),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": description},
        "help": {"text": "\n".join(help_lines), "markdown": "\n".join(markdown)},
        "defaultConfiguration": {"level": level(rule.severity.value)},
        "properties": {
            "source": rule.source,
            "severity": rule.severity.value,
            "on": rule.on_text,
            "when": rule.when_text,
            "tags": ["wdk-lifecycle"],
        },
    }


def _fingerprint(finding: dict[str, Any], anchor_text: str) -> str:
    key = "\x1f".join(
        [
            finding["rule"],
            PurePath(finding["trace"]).name,
            finding["adapter"] or "",
            anchor_text,
        ]
    )
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _region(line: int | None, text: str | None = None) -> dict[str, Any] | None:
    if line is None:
        return None
    region: dict[str, Any] = {"startLine": line}
    if text is not None:
        region["snippet"] = {"text": text}
    return region


def _physical(location: dict[str, Any], region: dict[str, Any] | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": location}
    if region is not None:
        physical["region"] = region
    return physical


def _message(finding: dict[str, Any]) -> str:
    adapter = finding["adapter"]
    where = f"adapter {adapter}" if adapter is not None else "adapter not named"
    return f"{finding['message']} [{where}, {finding['ts']}]"


def _results_in_order(
    findings: pl.DataFrame, suppressed: pl.DataFrame | None
) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each finding with its suppression (None for a kept one), in the engine's order.

    Kept and suppressed findings interleave as they were found, so the occurrence count
    of a fingerprint does not change when an entry is added to a suppressions file.
    """
    if suppressed is None or suppressed.is_empty():
        return [(f, None) for f in export_findings(findings)]
    marked = pl.concat(
        [
            findings.with_columns(
                pl.lit(None, dtype=pl.String).alias("reason"),
                pl.lit(None, dtype=pl.String).alias("suppression"),
            ),
            suppressed.select(*findings.columns, "reason", "suppression"),
        ],
        how="vertical_relaxed",
    ).sort(ORDER, nulls_last=True, maintain_order=True)
    out: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for entry in export_suppressed(marked):
        accepted = None
        if entry["suppression"] is not None:
            accepted = {"reason": entry["reason"], "suppression": entry["suppression"]}
        finding = {k: v for k, v in entry.items() if k not in ("reason", "suppression")}
        out.append((finding, accepted))
    return out


def _suppression(accepted: dict[str, Any], base: Path) -> dict[str, Any]:
    """A SARIF suppression: accepted in an external file, at the entry's line."""
    origin = str(accepted["suppression"])
    path, _, line = origin.rpartition(":")
    if not line.isdigit():
        path, line = origin, ""
    physical: dict[str, Any] = {"artifactLocation": artifact_location(path, base)}
    if line:
        physical["region"] = {"startLine": int(line)}
    return {
        "kind": "external",
        "status": "accepted",
        "justification": accepted["reason"],
        "location": {"physicalLocation": physical},
        "properties": {"suppression": origin},
    }


def to_sarif(
    traces: Sequence[TraceSummary],
    findings: pl.DataFrame,
    not_evaluable: pl.DataFrame,
    rules: RuleSet,
    *,
    base: Path | None = None,
    suppressed: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """The SARIF log as a dict (see the module docstring for the shape)."""
    base = Path.cwd() if base is None else base
    rule_index = {rule.id: i for i, rule in enumerate(rules.rules)}
    artifact_index: dict[str, int] = {}
    artifacts: list[dict[str, Any]] = []
    locations: dict[str, dict[str, Any]] = {}

    def locate(path: str) -> dict[str, Any]:
        if path not in locations:
            location = artifact_location(path, base)
            artifact_index[path] = len(artifacts)
            artifacts.append({"location": dict(location)})
            locations[path] = {**location, "index": artifact_index[path]}
        return dict(locations[path])

    for trace in traces:
        locate(trace.path)
        artifacts[artifact_index[trace.path]]["properties"] = {
            "format": trace.format,
            "encoding": trace.encoding,
            "lines": trace.lines,
            "events": trace.events,
            "rejected": trace.rejected,
            "adapters": list(trace.adapters),
            "error": trace.error,
        }

    results: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for finding, accepted in _results_in_order(findings, suppressed):
        evidence = finding["evidence"]
        anchor = next((e for e in evidence if e["role"] == "anchor"), None)
        anchor_text = anchor["text"] if anchor is not None else finding["message"]
        digest = _fingerprint(finding, anchor_text or "")
        seen[digest] = seen.get(digest, 0) + 1
        result: dict[str, Any] = {"ruleId": finding["rule"]}
        if finding["rule"] in rule_index:
            result["ruleIndex"] = rule_index[finding["rule"]]
        result["level"] = level(finding["severity"])
        result["message"] = {"text": _message(finding)}
        result["locations"] = [
            {
                "physicalLocation": _physical(
                    locate(finding["trace"]),
                    _region(finding["line"], anchor["text"] if anchor else None),
                )
            }
        ]
        result["relatedLocations"] = [
            {
                "id": i,
                "physicalLocation": _physical(locate(finding["trace"]), _region(e["line"])),
                "message": {"text": e["text"]},
                "properties": {
                    "ts": e["ts"],
                    "kind": e["kind"],
                    "value": e["value"],
                    "role": e["role"],
                },
            }
            for i, e in enumerate(evidence, start=1)
        ]
        result["partialFingerprints"] = {FINGERPRINT_KEY: f"{digest}:{seen[digest]}"}
        if accepted is not None:
            result["suppressions"] = [_suppression(accepted, base)]
        result["properties"] = {
            "severity": finding["severity"],
            "trace": finding["trace"],
            "adapter": finding["adapter"],
            "adapterInferred": finding["adapter_inferred"],
            "ts": finding["ts"],
            "title": finding["title"],
            "source": finding["source"],
        }
        results.append(result)

    notifications: list[dict[str, Any]] = []
    for trace in traces:
        if trace.error is None:
            continue
        notifications.append(
            {
                "level": "error",
                "message": {"text": f"{trace.path}: {trace.error}"},
                "descriptor": {"id": "trace-unreadable"},
                "locations": [
                    {"physicalLocation": _physical(locate(trace.path), _region(trace.error_line))}
                ],
            }
        )
    for row in not_evaluable.iter_rows(named=True):
        adapter = row["adapter"] if row["adapter"] is not None else "(adapter not named)"
        note: dict[str, Any] = {
            "level": "note",
            "message": {
                "text": f"{row['rule']} not evaluable for {adapter} in {row['trace']}: {row['reason']}"
            },
            "descriptor": {"id": "rule-not-evaluable"},
            "associatedRule": {"id": row["rule"]},
            "locations": [{"physicalLocation": {"artifactLocation": locate(row["trace"])}}],
            "properties": {"adapter": row["adapter"], "reason": row["reason"]},
        }
        if row["rule"] in rule_index:
            note["associatedRule"]["index"] = rule_index[row["rule"]]
        notifications.append(note)

    invocation: dict[str, Any] = {
        "executionSuccessful": all(t.error is None for t in traces),
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications

    run = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule_descriptor(rule) for rule in rules.rules],
            }
        },
        "originalUriBaseIds": {
            BASE_ID: {
                "description": {
                    "text": "The directory trace-audit ran in; relative trace paths start there."
                }
            }
        },
        "invocations": [invocation],
        "artifacts": artifacts,
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(
    traces: Sequence[TraceSummary],
    findings: pl.DataFrame,
    not_evaluable: pl.DataFrame,
    rules: RuleSet,
    *,
    base: Path | None = None,
    suppressed: pl.DataFrame | None = None,
) -> str:
    """The SARIF log as text: indented, deterministic, UTF-8 (no ASCII escapes)."""
    doc = to_sarif(traces, findings, not_evaluable, rules, base=base, suppressed=suppressed)
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
