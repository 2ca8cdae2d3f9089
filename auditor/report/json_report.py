"""``--format json``: the pinned machine-readable result (version 1).

Timestamps are formatted by polars from the nanosecond values, so JSON keeps the
precision the trace had (Python datetimes would cut it to microseconds).
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from auditor.pipeline import AuditResult, TraceSummary

JSON_VERSION = 1
ISO = "%Y-%m-%dT%H:%M:%S%.fZ"
# A finding's fields in the order of the JSON keys (and of the tabular formats' columns).
FINDING_FIELDS = (
    "rule",
    "severity",
    "title",
    "source",
    "trace",
    "adapter",
    "adapter_inferred",
    "ts",
    "line",
    "message",
    "evidence",
)


def iso(expr: pl.Expr) -> pl.Expr:
    return expr.dt.convert_time_zone("UTC").dt.to_string(ISO)


def findings_frame(findings: pl.DataFrame) -> pl.DataFrame:
    """Findings with ISO timestamps, columns and evidence fields in JSON key order."""
    frame = findings.with_columns(
        iso(pl.col("ts")).alias("ts"),
        pl.col("evidence").list.eval(
            pl.element().struct.with_fields(iso(pl.field("ts")).alias("ts"))
        ),
    )
    return frame.select(
        *FINDING_FIELDS[:-1],
        pl.col("evidence").list.eval(
            pl.struct(
                pl.element().struct.field(
                    "line", "ts", "kind", "value", "text", "role", "adapter_inferred"
                )
            )
        ),
    )


def export_findings(findings: pl.DataFrame) -> list[dict[str, Any]]:
    """Findings as plain dicts with ISO timestamps, evidence included."""
    if findings.is_empty():
        return []
    return findings_frame(findings).to_dicts()


def _json_lines(frame: pl.DataFrame) -> list[str]:
    """One JSON object per row, serialised by polars (no Python object per finding)."""
    if frame.is_empty():
        return []
    return frame.write_ndjson().splitlines()


def export_suppressed(suppressed: pl.DataFrame) -> list[dict[str, Any]]:
    """Suppressed findings: each finding's fields, then ``reason`` and ``suppression``."""
    if suppressed.is_empty():
        return []
    labels = suppressed.select("reason", "suppression").iter_rows()
    return [
        {**finding, "reason": reason, "suppression": origin}
        for finding, (reason, origin) in zip(export_findings(suppressed), labels, strict=True)
    ]


def _trace_entry(summary: TraceSummary, not_evaluable: pl.DataFrame) -> dict[str, Any]:
    missing = not_evaluable.filter(pl.col("trace") == summary.path)
    return {
        "path": summary.path,
        "format": summary.format,
        "encoding": summary.encoding,
        "lines": summary.lines,
        "events": summary.events,
        "continuation": summary.continuation,
        "meta": summary.meta,
        "rejected": summary.rejected,
        "lifecycle_events": summary.lifecycle,
        "unattributed": summary.unattributed,
        "adapters": list(summary.adapters),
        "clock_jumps": summary.clock_jumps,
        "clock_jump_max_s": summary.clock_jump_max_s,
        "clock_jump_line": summary.clock_jump_line,
        "notes": list(summary.notes),
        "not_evaluable": [
            {"rule": r["rule"], "adapter": r["adapter"], "reason": r["reason"]}
            for r in missing.iter_rows(named=True)
        ],
        "error": None
        if summary.error is None
        else {"message": summary.error, "line": summary.error_line},
    }


def to_document(result: AuditResult, *, with_findings: bool = True) -> dict[str, Any]:
    severities = result.findings.get_column("severity").value_counts()
    by_severity = {s: 0 for s in ("error", "warning", "info")}
    for severity, count in severities.iter_rows():
        by_severity[severity] = by_severity.get(severity, 0) + count
    doc: dict[str, Any] = {
        "version": JSON_VERSION,
        "traces": [_trace_entry(t, result.not_evaluable) for t in result.traces],
    }
    if with_findings:
        doc["findings"] = export_findings(result.findings)
        doc["suppressed"] = export_suppressed(result.suppressed)
    doc |= {
        "unused_suppressions": [s.to_dict() for s in result.unused_suppressions],
        "expired_suppressions": [s.to_dict() for s in result.expired_suppressions],
        "summary": {
            "traces": len(result.traces),
            "failed": len(result.failed),
            "findings": result.findings.height,
            "by_severity": by_severity,
            "rules": [r.id for r in result.rules.rules],
            "suppressed": result.suppressed.height,
        },
    }
    return doc


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def render_json(result: AuditResult) -> str:
    """One trace or finding per line: readable, diff-friendly, and fast.

    Findings are serialised by polars, a line each, so a run with a million findings
    costs no Python object per finding; the rest goes through ``json``'s C encoder.
    """
    doc = to_document(result, with_findings=False)
    parts = ['{"version": ', _compact(doc["version"])]
    suppressed = result.suppressed
    lines = {
        "traces": ["  " + _compact(t) for t in doc["traces"]],
        "findings": ["  " + x for x in _json_lines(findings_frame(result.findings))],
        "suppressed": [
            "  " + x
            for x in _json_lines(
                findings_frame(suppressed).with_columns(suppressed.select("reason", "suppression"))
                if not suppressed.is_empty()
                else pl.DataFrame()
            )
        ],
    }
    for key in ("traces", "findings", "suppressed"):
        if lines[key]:
            body = ",\n".join(lines[key])
            parts.append(f', "{key}": [\n{body}\n]')
        else:
            parts.append(f', "{key}": []')
    for key in ("unused_suppressions", "expired_suppressions"):
        parts.append(f', "{key}": ' + _compact(doc[key]))
    parts.append(', "summary": ' + _compact(doc["summary"]) + "}\n")
    return "".join(parts)
