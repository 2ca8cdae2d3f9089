"""Compare a batch with an earlier one: which findings are new, fixed or persisting.

Findings match on (trace name, rule, adapter, relative time), the relative time being
the time since the trace's first lifecycle event (the first event the auditor keeps;
data-path events are never decoded), rounded to ``resolution`` seconds, so the same
violation matches across re-runs and re-exports of a trace whose wall-clock times
differ. Equal keys pair one to one in time order. A finding is *fixed* only when its
trace was audited successfully in the new batch: a trace that is missing or unreadable
now proves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

NEW, FIXED, PERSISTING = "new", "fixed", "persisting"
KEY = ["trace", "rule", "adapter", "rel_bucket", "occurrence"]

CHANGES_SCHEMA: dict[str, pl.DataType] = {
    "change": pl.String(),
    "trace": pl.String(),
    "rule": pl.String(),
    "severity": pl.String(),
    "adapter": pl.String(),
    "rel_s": pl.Float64(),
    "line": pl.UInt32(),
    "baseline_line": pl.UInt32(),
    "message": pl.String(),
}


class BaselineError(Exception):
    """The baseline directory is not a batch output (exit code 2)."""


@dataclass(frozen=True)
class Baseline:
    path: Path
    findings: pl.DataFrame
    traces: pl.DataFrame  # trace, status, first_ts


def load_baseline(path: str | Path) -> Baseline:
    root = Path(path)
    findings_path, traces_path = root / "findings.parquet", root / "traces.parquet"
    for needed in (findings_path, traces_path):
        if not needed.is_file():
            raise BaselineError(
                f"--baseline {root}: no {needed.name} there (give the --out of an earlier batch)"
            )
    try:
        findings = pl.read_parquet(findings_path)
        traces = pl.read_parquet(traces_path, columns=["trace", "status", "first_ts"])
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise BaselineError(f"--baseline {root}: cannot read it: {exc}") from None
    return Baseline(root, findings, traces)


def _keyed(findings: pl.DataFrame, traces: pl.DataFrame, resolution: float) -> pl.DataFrame:
    step = max(int(resolution * 1e9), 1)
    return (
        findings.select("trace", "rule", "severity", "adapter", "ts", "seq", "line", "message")
        .join(traces.select("trace", pl.col("first_ts").dt.epoch("ns")), on="trace", how="left")
        .with_columns(
            rel=(pl.col("ts").dt.epoch("ns") - pl.col("first_ts")),
        )
        .with_columns(
            rel_bucket=(pl.col("rel").cast(pl.Float64) / step).round().cast(pl.Int64),
            rel_s=(pl.col("rel").cast(pl.Float64) / step).round() * (step / 1e9),
        )
        .sort("trace", "rule", "adapter", "rel_bucket", "ts", "seq", nulls_last=True)
        .with_columns(
            occurrence=pl.int_range(pl.len()).over(
                "trace", "rule", "adapter", "rel_bucket", order_by=None
            )
        )
    )


def compare(
    findings: pl.DataFrame,
    traces: pl.DataFrame,
    baseline: Baseline,
    resolution: float = 1.0,
) -> pl.DataFrame:
    """One row per finding of either batch, ``change`` = new | fixed | persisting."""
    now = _keyed(findings, traces, resolution)
    then = _keyed(baseline.findings, baseline.traces, resolution)
    audited = traces.filter(pl.col("status") == "ok").get_column("trace")
    then = then.filter(pl.col("trace").is_in(audited.implode()))
    joined = (
        now.with_columns(pl.lit(True).alias("_now"))
        .join(
            then.select(
                *KEY,
                "severity",
                "rel_s",
                pl.col("line").alias("baseline_line"),
                pl.col("message").alias("baseline_message"),
                pl.lit(True).alias("_then"),
            ),
            on=KEY,
            how="full",
            nulls_equal=True,
            coalesce=True,
            suffix="_then",
        )
        .with_columns(pl.col("_then").fill_null(False))
    )
    in_now = pl.col("_now").fill_null(False)
    return (
        joined.with_columns(
            change=pl.when(in_now & pl.col("_then"))
            .then(pl.lit(PERSISTING))
            .when(in_now)
            .then(pl.lit(NEW))
            .otherwise(pl.lit(FIXED)),
            severity=pl.coalesce("severity", "severity_then"),
            rel_s=pl.coalesce("rel_s", "rel_s_then"),
            message=pl.coalesce("message", "baseline_message"),
        )
        .select(list(CHANGES_SCHEMA))
        .cast(CHANGES_SCHEMA)  # type: ignore[arg-type]
        .sort("trace", "rel_s", "rule", "adapter", "change", nulls_last=True)
    )


def counts(changes: pl.DataFrame | None) -> dict[str, int]:
    if changes is None:
        return {}
    found = dict(changes.group_by("change").len().iter_rows()) if changes.height else {}
    return {c: int(found.get(c, 0)) for c in (NEW, FIXED, PERSISTING)}
