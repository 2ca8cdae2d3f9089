"""``trace-audit batch``: discover, skip what is cached, run the rest, merge, write, judge.

Exit codes are bit flags, so findings and failures are told apart (``summary.json``
repeats the code and its reasons):

====  ===============================================================================
0     every trace audited, no finding at or above ``--fail-on``
1     a finding at or above ``--fail-on`` (with ``--fail-on-new``: a *new* one)
2     bad usage: options, map or rule files, no trace found, Dask missing or unreachable
4     some traces could not be read or audited (each named in traces.parquet and on
      stderr); the others were audited and reported
5     both 1 and 4
====  ===============================================================================

(3 stays the CLI's "internal error of the tool itself".)
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.markup import escape

from auditor.batch import baseline as baseline_mod
from auditor.batch.discover import DiscoveryError, TraceInput, discover
from auditor.batch.progress import BatchProgress
from auditor.batch.runner import DaskRunner, LocalRunner, Runner, RunnerError, run_tasks
from auditor.batch.store import OutputStore, cache_key, config_fingerprint
from auditor.batch.task import STATUS_FAILED, STATUS_OK, AuditConfig, TaskResult, TraceTask
from auditor.eventmap import is_builtin_ref
from auditor.findings import FINDING_SCHEMA, NOT_EVALUABLE_SCHEMA
from auditor.suppressions import empty_suppressed
from parsers.archive import DEFAULT_LIMITS, ArchiveLimits
from parsers.schema import TS_DTYPE
from parsers.timestamps import TraceStart

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 4
SUMMARY_VERSION = 1
FAILURES_SHOWN = 20

TRACES_SCHEMA: dict[str, pl.DataType] = {
    "trace": pl.String(),
    "source": pl.String(),
    "status": pl.String(),  # ok | failed (unreadable input) | error (the audit broke)
    "error": pl.String(),
    "error_line": pl.UInt32(),
    "format": pl.String(),
    "encoding": pl.String(),
    "lines": pl.UInt64(),
    "events": pl.UInt64(),
    "continuation": pl.UInt64(),
    "meta": pl.UInt64(),
    "rejected": pl.UInt64(),
    "lifecycle": pl.UInt64(),
    "unattributed": pl.UInt64(),
    "adapters": pl.List(pl.String()),
    "first_ts": TS_DTYPE,
    "findings": pl.UInt32(),
    "errors": pl.UInt32(),
    "warnings": pl.UInt32(),
    "infos": pl.UInt32(),
    "not_evaluable": pl.UInt32(),
    "suppressed": pl.UInt32(),  # findings a --suppress file accepted (not in "findings")
    "content_hash": pl.String(),
    "key": pl.String(),
    "report": pl.String(),
    "cached": pl.Boolean(),
}


class BatchUsageError(Exception):
    """Bad options or inputs: exit code 2."""


@dataclass
class BatchOptions:
    inputs: list[str]
    out: Path
    jobs: int | None = None
    scheduler: str | None = None
    force: bool = False
    baseline: Path | None = None
    baseline_resolution: float = 1.0
    fail_on: str = "error"  # error | warning | info | never
    fail_on_new: bool = False
    map_paths: tuple[str, ...] = ()
    rule_paths: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    tz: str = "UTC"
    trace_start: TraceStart | None = None  # where PerfView / wpaexporter times begin
    reports: bool = True
    progress: bool = False
    limits: ArchiveLimits = DEFAULT_LIMITS
    suppress_paths: tuple[str, ...] = ()


@dataclass
class BatchOutcome:
    traces: pl.DataFrame
    findings: pl.DataFrame
    not_evaluable: pl.DataFrame
    changes: pl.DataFrame | None
    summary: dict[str, Any]
    exit_code: int
    audited: int
    cached: int
    seconds: float
    warnings: list[str] = field(default_factory=list)
    suppressed: pl.DataFrame = field(default_factory=empty_suppressed)


def _runner(options: BatchOptions) -> Runner:
    if options.jobs is not None and options.jobs < 1:
        raise BatchUsageError("--jobs must be 1 or more")
    if options.scheduler:
        return DaskRunner(options.scheduler)
    return LocalRunner(options.jobs)


def _failed(item: TraceInput, reason: str) -> TaskResult:
    return TaskResult(item.name, "", STATUS_FAILED, {"path": item.name, "error": reason})


def run_batch(
    options: BatchOptions, *, runner: Runner | None = None, console: Console | None = None
) -> BatchOutcome:
    from auditor.pipeline import Auditor

    started = time.perf_counter()
    console = console or Console(stderr=True, highlight=False, soft_wrap=True)
    if options.fail_on_new and options.baseline is None:
        raise BatchUsageError("--fail-on-new needs --baseline DIR")
    if options.fail_on not in ("error", "warning", "info", "never"):
        raise BatchUsageError(f"--fail-on {options.fail_on!r}: use error, warning, info or never")
    # Load maps and rules here first: a mistake in them is a usage error, reported once.
    auditor = Auditor.load(
        map_paths=options.map_paths,
        rule_paths=options.rule_paths,
        select=options.select,
        ignore=options.ignore,
        tz=options.tz,
        suppress_paths=options.suppress_paths,
        trace_start=options.trace_start,
    )
    suppressions = auditor.suppressions
    try:
        inputs, warnings = discover(options.inputs, options.limits)
    except DiscoveryError as exc:
        raise BatchUsageError(str(exc)) from None
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    baseline = None
    if options.baseline is not None:
        try:
            baseline = baseline_mod.load_baseline(options.baseline)  # before OUT is rewritten
        except baseline_mod.BaselineError as exc:
            raise BatchUsageError(str(exc)) from None
    runner = runner or _runner(options)
    config = AuditConfig(
        map_paths=tuple(
            p if is_builtin_ref(p) else str(Path(p).resolve()) for p in options.map_paths
        ),
        rule_paths=tuple(str(Path(p).resolve()) for p in options.rule_paths),
        select=options.select,
        ignore=options.ignore,
        tz=options.tz,
        trace_start=options.trace_start,
        fingerprint=config_fingerprint(
            map_paths=options.map_paths,
            rule_paths=options.rule_paths,
            select=options.select,
            ignore=options.ignore,
            tz=options.tz,
            suppressions=suppressions,
            trace_start=options.trace_start,
        ),
        reports=options.reports,
        polars_threads=runner.polars_threads,
        suppressions=suppressions,
    )
    store = OutputStore(options.out)
    store.prepare()

    results: dict[str, TaskResult] = {}
    hashes: dict[str, str] = {}
    # A trace glob makes the result depend on the trace's name, not only on its content:
    # two traces with the same bytes then need a cache entry (and report) each.
    by_name = any(e.trace is not None for e in suppressions.entries)
    progress = BatchProgress(len(inputs), enabled=options.progress)

    def record(result: TaskResult) -> None:
        results[result.name] = result
        if not result.cached:
            store.save(result, config)
        progress.advance(
            failed=result.status != STATUS_OK,
            findings=0 if result.findings is None else result.findings.height,
            cached=result.cached,
        )

    def tasks() -> Iterator[TraceTask]:
        """Hash each trace; yield those not in the cache (the others are recorded)."""
        for item in inputs:
            if item.refused:
                record(_failed(item, item.refused))
                continue
            try:
                digest = item.content_hash(options.limits)
            except OSError as exc:
                record(_failed(item, f"cannot read: {exc.strerror or exc}"))
                continue
            except Exception as exc:  # a zip member that will not decompress
                record(_failed(item, f"cannot read: {exc}"))
                continue
            hashes[item.name] = digest
            key = cache_key(digest, config.fingerprint + (f"\0{item.name}" if by_name else ""))
            cached = None if options.force else store.load(key, item.name)
            if cached is not None:
                record(cached)
                continue
            yield TraceTask(item.name, item.path, item.member, key)

    with progress:
        pending = tasks()
        first = next(pending, None)
        if first is not None:
            try:
                run_tasks(runner, itertools.chain([first], pending), config, record)
            except RunnerError as exc:
                raise BatchUsageError(str(exc)) from None
    description = runner.description

    # --- merge, in trace-name order whatever the completion order --------------------
    by_source = {item.name: item for item in inputs}
    ordered = [results[item.name] for item in inputs if item.name in results]
    ordered.sort(key=lambda r: r.name)
    findings_parts = [r.findings for r in ordered if r.findings is not None and r.findings.height]
    findings = (
        pl.concat(findings_parts, how="vertical")
        if findings_parts
        else pl.DataFrame(schema=FINDING_SCHEMA)
    )
    suppressed_parts = [
        r.suppressed for r in ordered if r.suppressed is not None and r.suppressed.height
    ]
    suppressed = (
        pl.concat(suppressed_parts, how="vertical") if suppressed_parts else empty_suppressed()
    )
    used = {origin for r in ordered for origin in r.used_suppressions}
    unused = [e for e in suppressions.entries if e.origin not in used]
    ne_parts = [
        r.not_evaluable for r in ordered if r.not_evaluable is not None and r.not_evaluable.height
    ]
    not_evaluable = (
        pl.concat(ne_parts, how="vertical")
        if ne_parts
        else pl.DataFrame(schema=NOT_EVALUABLE_SCHEMA)
    )
    rows = []
    for r in ordered:
        s = r.summary
        sev = (
            dict(r.findings.group_by("severity").len().iter_rows())
            if r.findings is not None and r.findings.height
            else {}
        )
        report = store.report_path(r.key)
        rows.append(
            {
                "trace": r.name,
                "source": by_source[r.name].source,
                "status": r.status,
                "error": s.get("error"),
                "error_line": s.get("error_line"),
                "format": s.get("format"),
                "encoding": s.get("encoding"),
                **{
                    k: s.get(k, 0)
                    for k in (
                        "lines",
                        "events",
                        "continuation",
                        "meta",
                        "rejected",
                        "lifecycle",
                        "unattributed",
                    )
                },
                "adapters": s.get("adapters", []),
                "first_ts": s.get("first_ts"),
                "findings": 0 if r.findings is None else r.findings.height,
                "errors": sev.get("error", 0),
                "warnings": sev.get("warning", 0),
                "infos": sev.get("info", 0),
                "not_evaluable": 0 if r.not_evaluable is None else r.not_evaluable.height,
                "suppressed": 0 if r.suppressed is None else r.suppressed.height,
                "content_hash": hashes.get(r.name),
                "key": r.key or None,
                "report": f"reports/{report.name}"
                if r.key and r.status == STATUS_OK and report.is_file()
                else None,
                "cached": r.cached,
            }
        )
    traces = pl.DataFrame(
        rows,
        schema={**TRACES_SCHEMA, "first_ts": pl.Int64()},  # type: ignore[arg-type]
        orient="row",
    ).with_columns(pl.col("first_ts").cast(pl.Datetime("ns", "UTC")))

    changes = None
    if baseline is not None:
        changes = baseline_mod.compare(findings, traces, baseline, options.baseline_resolution)

    # --- the verdict -----------------------------------------------------------------
    from auditor.ruleset import Severity

    exit_code = EXIT_OK
    if options.fail_on != "never":
        threshold = Severity(options.fail_on).rank
        gated = changes.filter(pl.col("change") == "new") if options.fail_on_new else findings
        assert gated is not None
        if any(Severity(s).rank >= threshold for s in gated.get_column("severity").to_list()):
            exit_code |= EXIT_FINDINGS
    failures = traces.filter(pl.col("status") != STATUS_OK)
    if failures.height:
        exit_code |= EXIT_FAILED

    by_severity = {s: 0 for s in ("error", "warning", "info")}
    for sev, n in findings.group_by("severity").len().iter_rows() if findings.height else []:
        by_severity[sev] = int(n)
    cached = sum(1 for r in ordered if r.cached)
    summary: dict[str, Any] = {
        "version": SUMMARY_VERSION,
        "traces": traces.height,
        "ok": traces.height - failures.height,
        "failed": failures.height,
        "audited": sum(1 for r in ordered if r.key and not r.cached),
        "cached": cached,
        "findings": findings.height,
        "by_severity": by_severity,
        "by_rule": {
            r.id: int(findings.filter(pl.col("rule") == r.id).height) for r in auditor.rules.rules
        },
        "rules": [r.id for r in auditor.rules.rules],
        "suppressed": suppressed.height,
        "suppressed_by_rule": {
            rule: int(n)
            for rule, n in (
                suppressed.group_by("rule").len().sort("rule").iter_rows()
                if suppressed.height
                else []
            )
        },
        "unused_suppressions": [e.to_dict() for e in unused],
        "expired_suppressions": [e.to_dict() for e in suppressions.expired],
        "fail_on": options.fail_on,
        "fail_on_new": options.fail_on_new,
        "baseline": None
        if changes is None
        else {"path": str(options.baseline), **baseline_mod.counts(changes)},
        "exit_code": exit_code,
        "failures": [
            {
                "trace": f["trace"],
                "status": f["status"],
                "error": f["error"],
                "line": f["error_line"],
            }
            for f in failures.iter_rows(named=True)
        ],
    }

    # --- the files -------------------------------------------------------------------
    _write_outputs(
        store, options, auditor, traces, findings, not_evaluable, changes, summary, suppressed
    )
    store.prune({k for k in traces.get_column("key").to_list() if k})

    seconds = time.perf_counter() - started
    for f in failures.head(FAILURES_SHOWN).iter_rows(named=True):
        where = f"{f['trace']}:{f['error_line']}" if f["error_line"] is not None else f["trace"]
        console.print(f"[red]{f['status']}:[/] {escape(where)}: {escape(f['error'] or '')}")
    if failures.height > FAILURES_SHOWN:
        console.print(f"… and {failures.height - FAILURES_SHOWN} more (see traces.parquet)")
    from auditor.report.terminal import print_suppression_warnings

    print_suppression_warnings(unused, suppressions.expired, console)
    line = (
        f"batch: {traces.height} traces ({summary['audited']} audited on {description}, "
        f"{cached} cached, {failures.height} failed), {findings.height} findings "
        f"({', '.join(f'{n} {s}' for s, n in by_severity.items())})"
    )
    if suppressed.height:
        line += f"; {suppressed.height} suppressed"
    if changes is not None:
        c = baseline_mod.counts(changes)
        line += f"; vs baseline: {c['new']} new, {c['fixed']} fixed, {c['persisting']} persisting"
    console.print(escape(line) + f" in {seconds:.1f} s → {escape(str(options.out))}/index.html")
    return BatchOutcome(
        traces=traces,
        findings=findings,
        not_evaluable=not_evaluable,
        changes=changes,
        summary=summary,
        exit_code=exit_code,
        audited=int(summary["audited"]),
        cached=cached,
        seconds=seconds,
        warnings=warnings,
        suppressed=suppressed,
    )


def _write_outputs(
    store: OutputStore,
    options: BatchOptions,
    auditor: Any,
    traces: pl.DataFrame,
    findings: pl.DataFrame,
    not_evaluable: pl.DataFrame,
    changes: pl.DataFrame | None,
    summary: dict[str, Any],
    suppressed: pl.DataFrame,
) -> None:
    import json

    from auditor.batch.index import render_index
    from auditor.pipeline import TraceSummary
    from auditor.report.junit import render_junit

    if options.reports:
        store.write_plotly_js()
    store.write_parquet("findings.parquet", findings)
    store.write_parquet("not_evaluable.parquet", not_evaluable)
    store.write_parquet("traces.parquet", traces)
    if changes is not None:
        store.write_parquet("baseline.parquet", changes)
    else:
        store.remove("baseline.parquet")
    if options.suppress_paths:
        store.write_parquet("suppressed.parquet", suppressed)
    else:
        store.remove("suppressed.parquet")
    summaries = [
        TraceSummary(
            path=t["trace"],
            format=t["format"],
            encoding=t["encoding"],
            lines=t["lines"],
            events=t["events"],
            continuation=t["continuation"],
            meta=t["meta"],
            rejected=t["rejected"],
            lifecycle=t["lifecycle"],
            unattributed=t["unattributed"],
            adapters=tuple(t["adapters"] or ()),
            error=t["error"],
            error_line=t["error_line"],
        )
        for t in traces.iter_rows(named=True)
    ]
    store.write_text(
        "junit.xml",
        render_junit(summaries, findings, not_evaluable, auditor.rules, suppressed=suppressed),
    )
    store.write_text(
        "summary.json", json.dumps(summary, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    )
    store.write_text(
        "index.html",
        render_index(
            traces=traces,
            findings=findings,
            rules=auditor.rules,
            summary=summary,
            changes=changes,
            baseline=None if options.baseline is None else str(options.baseline),
        ),
    )
