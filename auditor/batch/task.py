"""One trace, audited inside a worker (a spawned process, or a Dask worker).

The task takes plain, picklable values and returns a :class:`TaskResult`; the client
writes every output file, so a worker needs to see the traces (and the user's map and
rule files) but never the output directory. No polars at module level: the worker
sets ``POLARS_MAX_THREADS`` before anything imports it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
import time
import traceback
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from auditor.pipeline import Auditor
    from auditor.suppressions import Suppressions
    from parsers.timestamps import TraceStart

STATUS_OK = "ok"
STATUS_FAILED = "failed"  # the input could not be read: deterministic, cached
STATUS_ERROR = "error"  # the audit itself broke (a bug, a dead worker): retried next run


@dataclass(frozen=True)
class AuditConfig:
    """What an auditor is built from, identical in every worker."""

    map_paths: tuple[str, ...] = ()
    rule_paths: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    tz: str = "UTC"
    trace_start: TraceStart | None = None
    fingerprint: str = ""  # see auditor.batch.store.config_fingerprint
    reports: bool = True  # render the per-trace HTML report
    polars_threads: int | None = None  # POLARS_MAX_THREADS for a worker that has none yet
    # Loaded once by the client (file:line as the user named the files), applied per trace
    # under its batch name, so a trace glob sees the name traces.parquet shows.
    suppressions: Suppressions | None = None


@dataclass(frozen=True)
class TraceTask:
    name: str
    path: str
    member: str | None
    key: str  # cache key: content hash + config fingerprint


@dataclass
class TaskResult:
    name: str
    key: str
    status: str
    summary: dict[str, Any]  # TraceSummary fields, plus first_ts (ns since the epoch)
    findings: pl.DataFrame | None = None
    not_evaluable: pl.DataFrame | None = None
    report: bytes | None = None  # zlib-compressed HTML, without the inlined plotly.js
    seconds: float = 0.0
    cached: bool = field(default=False)
    suppressed: pl.DataFrame | None = None  # auditor.suppressions.SUPPRESSED_SCHEMA
    used_suppressions: tuple[str, ...] = ()  # file:line of the entries that matched here


def limit_threads(threads: int | None) -> None:
    """Cap polars' thread pool in this process, if polars has not started it yet."""
    if threads and "polars" not in sys.modules:
        os.environ["POLARS_MAX_THREADS"] = str(threads)


_AUDITORS: dict[str, Auditor] = {}


def _auditor(config: AuditConfig) -> Auditor:
    """One auditor per process and config: maps and rules are compiled once."""
    found = _AUDITORS.get(config.fingerprint)
    if found is None:
        from auditor.pipeline import Auditor

        found = Auditor.load(
            map_paths=config.map_paths,
            rule_paths=config.rule_paths,
            select=config.select,
            ignore=config.ignore,
            tz=config.tz,
            trace_start=config.trace_start,
        )
        _AUDITORS.clear()
        _AUDITORS[config.fingerprint] = found
    return found


@contextlib.contextmanager
def _local_copy(task: TraceTask) -> Iterator[Path]:
    """The trace as a file: itself, or its zip member copied (bounded) to a temp file."""
    if task.member is None:
        yield Path(task.path)
        return
    from parsers.archive import copy_member

    suffix = PurePosixPath(task.member).suffix
    fd, tmp = tempfile.mkstemp(prefix="trace-audit-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            copy_member(task.path, task.member, out)
        yield Path(tmp)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


@functools.cache
def _inline_plotly() -> str:
    from plotly.offline import get_plotlyjs

    return '<script type="text/javascript">' + get_plotlyjs() + "</script>\n"


def strip_plotly(html_text: str) -> str:
    """The report with its inlined plotly.js replaced by a reference to reports/plotly.min.js.

    A thousand reports would otherwise carry a thousand 4.8 MB copies of the same
    library. If the report's shape ever changes, the text is returned unchanged
    (self-contained, just larger).
    """
    return html_text.replace(_inline_plotly(), '<script src="plotly.min.js"></script>\n', 1)


def run_task(task: TraceTask, config: AuditConfig) -> TaskResult:
    """Audit one trace. Never raises: a failure is a result with its reason."""
    limit_threads(config.polars_threads)
    start = time.perf_counter()
    try:
        import polars as pl

        from auditor.pipeline import AuditResult

        auditor = _auditor(config)
        try:
            with _local_copy(task) as path:
                result = auditor.audit([path])
        except Exception as exc:  # an archive member that cannot be read
            from parsers.archive import ArchiveError

            if not isinstance(exc, (ArchiveError, OSError)):
                raise
            summary = {"path": task.name, "error": str(exc), "error_line": None}
            return TaskResult(
                task.name, task.key, STATUS_FAILED, summary, seconds=time.perf_counter() - start
            )
        trace = result.traces[0]
        label = trace.path
        summary = {
            name: getattr(trace, name) for name in trace.__dataclass_fields__ if name != "adapters"
        }
        summary["path"] = task.name
        summary["adapters"] = list(trace.adapters)
        findings = result.findings.with_columns(pl.lit(task.name, dtype=pl.String).alias("trace"))
        suppressed, used = None, ()
        if config.suppressions is not None and config.suppressions.entries:
            applied = config.suppressions.apply(findings)
            findings, suppressed = applied.kept, applied.suppressed
            unused = {e.origin for e in applied.unused}
            used = tuple(e.origin for e in config.suppressions.entries if e.origin not in unused)
        not_evaluable = result.not_evaluable.with_columns(
            pl.lit(task.name, dtype=pl.String).alias("trace")
        )
        first = (
            result.lifecycle.lazy()
            .filter(pl.col("trace") == label)
            .select(pl.col("ts").min().dt.epoch("ns"))
            .collect()
            .item()
        )
        summary["first_ts"] = None if first is None else int(first)
        status = STATUS_OK if trace.error is None else STATUS_FAILED
        report = None
        if config.reports and status == STATUS_OK:
            from dataclasses import replace

            from auditor.report.html import render_html

            relabelled = AuditResult(
                traces=[replace(trace, path=task.name)],
                lifecycle=result.lifecycle.with_columns(
                    pl.lit(task.name, dtype=pl.String).alias("trace")
                ),
                findings=findings,
                not_evaluable=not_evaluable,
                rejects=result.rejects.with_columns(
                    pl.lit(task.name, dtype=pl.String).alias("trace")
                ),
                rules=result.rules,
            )
            if suppressed is not None:
                relabelled.suppressed = suppressed
            page = strip_plotly(render_html(relabelled, title=f"trace-auditor: {task.name}"))
            report = zlib.compress(page.encode("utf-8"), 6)
        return TaskResult(
            task.name,
            task.key,
            status,
            summary,
            findings=findings,
            not_evaluable=not_evaluable,
            report=report,
            seconds=time.perf_counter() - start,
            suppressed=suppressed,
            used_suppressions=used,
        )
    except Exception as exc:  # a bug in the auditor must not stop the batch
        return error_result(task, exc, time.perf_counter() - start)


def error_result(task: TraceTask, exc: BaseException, seconds: float = 0.0) -> TaskResult:
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" (at {Path(where[0].filename).name}:{where[0].lineno})" if where else ""
    summary = {
        "path": task.name,
        "error": f"internal error: {type(exc).__name__}: {exc}{at}",
        "error_line": None,
    }
    return TaskResult(task.name, task.key, STATUS_ERROR, summary, seconds=seconds)


def probe() -> dict[str, Any]:
    """What a worker runs with (for tests and ``--debug``): its polars thread pool size."""
    import polars as pl

    return {
        "pid": os.getpid(),
        "polars_threads": pl.thread_pool_size(),
        "POLARS_MAX_THREADS": os.environ.get("POLARS_MAX_THREADS"),
    }
