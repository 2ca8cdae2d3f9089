"""``--format jsonl``, ``csv`` and ``parquet``: the findings of the pinned JSON, as tables.

The fields are those of a finding in ``--format json`` (:func:`json_report.export_findings`),
in that order: ``rule, severity, title, source, trace, adapter, adapter_inferred, ts,
line, message, evidence``. The engine's ``seq`` is not a field of the JSON, so it is
not one here either.

- jsonl: one finding per line, exactly the JSON finding object; no trace records
  (those are in ``--format json`` and in the parquet traces table).
- csv: one row per finding, ``ts`` as ISO 8601 UTC text, booleans ``true``/``false``,
  null as an empty cell, and ``evidence`` flattened into one cell:
  ``L12 radio=on: text | L20 halt.end: text`` (``L?`` where an event has no line).
- parquet: ``FILE`` holds the findings with native types (``ts`` timestamp[ns, UTC],
  ``evidence`` a list of structs ``{line, ts, kind, value, text, role,
  adapter_inferred}``); ``STEM.traces.parquet`` one row per trace with the fields of a
  JSON trace entry (``error`` a struct ``{message, line}``, ``not_evaluable`` a list of
  structs); ``STEM.not_evaluable.parquet`` the flat ``(trace, adapter, rule, reason)``.

All three hold the findings only: findings a ``--suppress`` file accepted are not in
them (``--format json``, ``sarif``, ``junit`` and the HTML report list those).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from auditor.findings import FINDING_SCHEMA, NOT_EVALUABLE_SCHEMA
from auditor.report.atomic import atomic_path
from auditor.report.json_report import FINDING_FIELDS, _trace_entry, export_findings, iso

if TYPE_CHECKING:
    from auditor.pipeline import TraceSummary

TRACES_SCHEMA: dict[str, pl.DataType] = {
    "path": pl.String(),
    "format": pl.String(),
    "encoding": pl.String(),
    "lines": pl.UInt64(),
    "events": pl.UInt64(),
    "continuation": pl.UInt64(),
    "meta": pl.UInt64(),
    "rejected": pl.UInt64(),
    "lifecycle_events": pl.UInt64(),
    "unattributed": pl.UInt64(),
    "adapters": pl.List(pl.String()),
    "clock_jumps": pl.UInt64(),
    "clock_jump_max_s": pl.Float64(),
    "clock_jump_line": pl.UInt32(),
    "notes": pl.List(pl.String()),
    "not_evaluable": pl.List(
        pl.Struct({"rule": pl.String(), "adapter": pl.String(), "reason": pl.String()})
    ),
    "error": pl.Struct({"message": pl.String(), "line": pl.UInt32()}),
}


def findings_table(findings: pl.DataFrame) -> pl.DataFrame:
    """The findings with exactly the JSON's fields, in its order, with native types."""
    if findings.is_empty():
        findings = pl.DataFrame(schema=FINDING_SCHEMA)
    return findings.select(FINDING_FIELDS)


def traces_table(traces: Sequence[TraceSummary], not_evaluable: pl.DataFrame) -> pl.DataFrame:
    """One row per trace: the fields of a JSON trace entry."""
    rows = [_trace_entry(t, not_evaluable) for t in traces]
    return pl.DataFrame(rows, schema=TRACES_SCHEMA)


def render_jsonl(findings: pl.DataFrame) -> str:
    """One JSON finding per line (the objects of ``--format json``'s ``findings``)."""
    return "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in export_findings(findings))


def _flat_evidence() -> pl.Expr:
    e = pl.element().struct
    entry = pl.concat_str(
        pl.when(e.field("line").is_not_null())
        .then(pl.lit("L") + e.field("line").cast(pl.String))
        .otherwise(pl.lit("L?")),
        pl.lit(" "),
        e.field("kind").fill_null(""),
        pl.when(e.field("value").is_not_null())
        .then(pl.lit("=") + e.field("value"))
        .otherwise(pl.lit("")),
        pl.lit(": "),
        e.field("text").fill_null(""),
    )
    return pl.col("evidence").list.eval(entry).list.join(" | ").fill_null("")


def render_csv(findings: pl.DataFrame) -> str:
    """One row per finding, RFC 4180 quoting (by polars), ``\\n`` line ends, a header row."""
    table = findings_table(findings).with_columns(iso(pl.col("ts")).alias("ts"), _flat_evidence())
    return table.write_csv(quote_style="necessary", line_terminator="\n")


def parquet_paths(output: str | Path) -> tuple[Path, Path, Path]:
    """``out.parquet`` -> (out.parquet, out.traces.parquet, out.not_evaluable.parquet)."""
    target = Path(output)
    return (
        target,
        target.with_name(f"{target.stem}.traces.parquet"),
        target.with_name(f"{target.stem}.not_evaluable.parquet"),
    )


def write_parquet(
    output: str | Path,
    traces: Sequence[TraceSummary],
    findings: pl.DataFrame,
    not_evaluable: pl.DataFrame,
) -> tuple[Path, Path, Path]:
    """Write the three tables (each atomically); return their paths."""
    paths = parquet_paths(output)
    ne = (
        not_evaluable.select(list(NOT_EVALUABLE_SCHEMA))
        if not not_evaluable.is_empty()
        else pl.DataFrame(schema=NOT_EVALUABLE_SCHEMA)
    )
    tables = (findings_table(findings), traces_table(traces, not_evaluable), ne)
    for table, path in zip(tables, paths, strict=True):
        with atomic_path(path) as tmp:
            table.write_parquet(tmp, statistics=True)
    return paths
