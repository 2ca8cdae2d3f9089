"""One audit run: parse each trace, classify, attribute, evaluate. The CLI and the API both call this."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from auditor import engine
from auditor.coverage import COVERAGE_SCHEMA, unclassified
from auditor.eventmap import MapSet
from auditor.lifecycle import attribute, attributed_only
from auditor.ruleset import RuleSet, load_rules
from auditor.suppressions import Suppression, Suppressions, empty_suppressed, load_suppressions
from parsers import REJECT_SCHEMA, ParseOptions, TraceReadError, read_trace, stream_trace
from parsers.clock import DEFAULT_THRESHOLD_NS, clock_jumps
from parsers.query import collect
from parsers.schema import CLASSIFIED_COLUMNS, EVENT_SCHEMA
from parsers.timestamps import TraceStart
from parsers.trace import RecordFilter

LIFECYCLE_SCHEMA = {**EVENT_SCHEMA, **CLASSIFIED_COLUMNS}


@dataclass(frozen=True)
class TraceSummary:
    path: str
    format: str | None
    encoding: str | None
    lines: int = 0
    events: int = 0
    continuation: int = 0
    meta: int = 0
    rejected: int = 0
    lifecycle: int = 0
    unattributed: int = 0
    adapters: tuple[str | None, ...] = ()
    error: str | None = None
    error_line: int | None = None
    # Steps back of the clock beyond the threshold, among the decoded (lifecycle) events.
    clock_jumps: int = 0
    clock_jump_max_s: float = 0.0
    clock_jump_line: int | None = None
    notes: tuple[str, ...] = ()  # e.g. times relative to an unknown start


@dataclass
class AuditResult:
    traces: list[TraceSummary]
    lifecycle: pl.DataFrame  # attributed lifecycle events, sorted per adapter
    findings: pl.DataFrame
    not_evaluable: pl.DataFrame
    rejects: pl.DataFrame
    rules: RuleSet
    # Message shapes no map classifies, per trace (auditor.coverage); filled on request.
    unclassified: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=COVERAGE_SCHEMA))
    # Findings a suppressions file accepted (auditor.suppressions.SUPPRESSED_SCHEMA: the
    # finding's columns plus reason and suppression "file:line"); not in ``findings``.
    suppressed: pl.DataFrame = field(default_factory=empty_suppressed)
    unused_suppressions: tuple[Suppression, ...] = ()  # entries that matched no finding
    expired_suppressions: tuple[Suppression, ...] = ()  # past their expires date: not applied

    @property
    def failed(self) -> list[TraceSummary]:
        return [t for t in self.traces if t.error is not None]


@dataclass(frozen=True)
class Auditor:
    maps: MapSet
    rules: RuleSet
    tz: str = "UTC"
    wpp_prefix: str | None = None  # tracefmt's TRACE_FORMAT_PREFIX, for custom WPP layouts
    clock_jump_ns: int = DEFAULT_THRESHOLD_NS
    suppressions: Suppressions = field(default_factory=Suppressions)
    # where PerfView and wpaexporter times (relative to the trace start) begin
    trace_start: TraceStart | None = None

    @classmethod
    def load(
        cls,
        *,
        map_paths: Iterable[str | Path] = (),
        rule_paths: Iterable[str | Path] = (),
        select: Iterable[str] = (),
        ignore: Iterable[str] = (),
        tz: str = "UTC",
        wpp_prefix: str | None = None,
        clock_jump_ns: int = DEFAULT_THRESHOLD_NS,
        suppress_paths: Iterable[str | Path] = (),
        trace_start: TraceStart | None = None,
    ) -> Auditor:
        maps = MapSet.load(list(map_paths))
        loaded = load_rules(rule_paths, kinds=maps.kinds)
        rules = loaded.select(select, ignore)
        # Rule ids are checked against every loaded rule, so one suppressions file serves
        # every --select; entries for rules not evaluated in this run are left out.
        suppressions = load_suppressions(
            suppress_paths, rule_ids=[r.id for r in loaded.rules]
        ).for_rules(r.id for r in rules.rules)
        return cls(maps, rules, tz, wpp_prefix, clock_jump_ns, suppressions, trace_start)

    def parse_options(self, keep: RecordFilter | None = None) -> ParseOptions:
        """How this audit reads traces: every reader of them asks here."""
        return ParseOptions(
            tz=self.tz, keep=keep, wpp_prefix=self.wpp_prefix, trace_start=self.trace_start
        )

    def read(self, path: str | Path) -> tuple[TraceSummary, pl.DataFrame, pl.DataFrame]:
        """Parse and classify one trace; a bad file becomes a summary with its error."""
        label = str(path)
        try:
            # Streamed: memory holds the records the maps may classify, not the file.
            parsed = stream_trace(path, self.parse_options(keep=self.maps)).read()
            lifecycle = collect(self.maps.classify(parsed.events))
        except TraceReadError as exc:
            summary = TraceSummary(label, None, None, error=exc.reason, error_line=exc.line)
            return (
                summary,
                pl.DataFrame(schema=LIFECYCLE_SCHEMA),
                pl.DataFrame(schema=REJECT_SCHEMA),
            )
        acc = parsed.accounting
        jumps = clock_jumps(lifecycle, self.clock_jump_ns)
        summary = TraceSummary(
            path=parsed.path,
            format=parsed.format,
            encoding=parsed.encoding,
            lines=acc.lines,
            events=acc.events,
            continuation=acc.continuation,
            meta=acc.meta,
            rejected=acc.rejected,
            lifecycle=lifecycle.height,
            clock_jumps=jumps.count,
            clock_jump_max_s=jumps.largest_ns / 1e9,
            clock_jump_line=jumps.first_line,
            notes=parsed.notes,
        )
        return summary, lifecycle, parsed.rejects

    def coverage(self, path: str | Path, top: int | None = 20) -> pl.DataFrame:
        """Unclassified message shapes of one trace.

        This decodes every record (the audit itself skips data-path records), so it
        costs a second, fuller read of the file: asked for by reports, not by default.
        """
        parsed = read_trace(path, self.parse_options())
        return unclassified(parsed.events, self.maps, top=top)

    def audit(
        self,
        paths: Iterable[str | Path],
        progress: Callable[[str], None] | None = None,
        *,
        coverage: int = 0,
    ) -> AuditResult:
        """Audit traces; ``coverage`` > 0 also collects that many unclassified shapes each."""
        summaries: list[TraceSummary] = []
        lifecycles: list[pl.DataFrame] = []
        rejects: list[pl.DataFrame] = []
        shapes: list[pl.DataFrame] = []
        for path in paths:
            if progress:
                progress(str(path))
            summary, lifecycle, rejected = self.read(path)
            summaries.append(summary)
            lifecycles.append(lifecycle)
            rejects.append(rejected)
            if coverage and summary.error is None:
                shapes.append(self.coverage(path, top=coverage))
        classified = (
            pl.concat(lifecycles, how="vertical_relaxed")
            if lifecycles
            else pl.DataFrame(schema=LIFECYCLE_SCHEMA)
        )
        attributed, timeline, evaluation = judge(
            classified, self.rules, {s.path: s.lines for s in summaries if s.error is None}
        )
        per_trace = attributed.group_by("trace").agg(
            pl.col("unattributed").sum().alias("unattributed"),
            pl.col("adapter")
            .filter(~pl.col("unattributed"))
            .unique()
            .sort(nulls_last=True)
            .alias("adapters"),
        )
        counts = {row["trace"]: row for row in per_trace.iter_rows(named=True)}
        summaries = [
            _with_counts(s, counts.get(s.path)) if s.error is None else s for s in summaries
        ]
        applied = self.suppressions.apply(evaluation.findings)
        return AuditResult(
            traces=summaries,
            lifecycle=timeline,
            findings=applied.kept,
            not_evaluable=evaluation.not_evaluable,
            unclassified=pl.concat(shapes) if shapes else pl.DataFrame(schema=COVERAGE_SCHEMA),
            rejects=pl.concat(rejects, how="vertical_relaxed")
            if rejects
            else pl.DataFrame(schema=REJECT_SCHEMA),
            rules=self.rules,
            suppressed=applied.suppressed,
            unused_suppressions=applied.unused,
            expired_suppressions=self.suppressions.expired,
        )


def judge(
    classified: pl.DataFrame, rules: RuleSet, last_lines: Mapping[str, int] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, engine.Evaluation]:
    """Attribute classified events to adapters, build the timelines, evaluate the rules.

    Returns the attributed events (with ``unattributed`` flags), the prepared timelines
    the rules ran on, and the evaluation. ``last_lines``: each trace's line count.
    """
    attributed = attribute(classified)
    timeline = engine.prepare(attributed_only(attributed), last_lines)
    return attributed, timeline, engine.evaluate(timeline, rules)


def _with_counts(summary: TraceSummary, row: dict[str, object] | None) -> TraceSummary:
    if row is None:
        return summary
    adapters = tuple(row["adapters"] or ())  # type: ignore[call-overload]
    return replace(summary, unattributed=int(row["unattributed"] or 0), adapters=adapters)  # type: ignore[call-overload]
