"""The Python API: what an engineer types in a notebook.

It is a thin, typed layer over :class:`auditor.pipeline.Auditor` (the same object the CLI
uses), so a notebook and ``trace-audit audit`` can never disagree about a finding. The
shapes follow polars: functions that read (``load``, ``audit``) and a result whose
tables are plain polars DataFrames, to be filtered, joined and plotted with the tools
the user already knows. Nothing here loops over events; the only Python loops are over
traces, findings and the handful of lines shown around a piece of evidence.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

import polars as pl

from auditor.engine import evaluate
from auditor.inputs import expand_inputs
from auditor.pipeline import Auditor, AuditResult, TraceSummary
from auditor.rulelang.syntax import FormulaError, Node, parse_duration, parse_formula
from auditor.ruleset import Resolver, Rule, RuleSet, Severity
from auditor.vocabulary import Kind
from parsers import EVENT_SCHEMA, REJECT_SCHEMA, ParseOptions, read_trace
from parsers.source import read_lines
from parsers.timestamps import TraceStart, check_timezone, parse_trace_start

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["Explanation", "FindingRef", "Loaded", "PathLike", "Result", "audit", "load"]

PathLike = str | os.PathLike[str]
"""A trace file, a directory searched for traces, or a glob pattern."""

FindingRef = int | Mapping[str, Any] | pl.DataFrame
"""A finding: its index in ``Result.findings`` (its ``finding`` column), a row of that
frame as a dict (``iter_rows(named=True)``), or a one-row slice of it."""

F = TypeVar("F", pl.DataFrame, pl.LazyFrame)

ACCOUNTING_SCHEMA: dict[str, pl.DataType] = {
    "trace": pl.String(),
    "format": pl.String(),
    "encoding": pl.String(),
    "lines": pl.Int64(),
    "events": pl.Int64(),
    "continuation": pl.Int64(),
    "meta": pl.Int64(),
    "rejected": pl.Int64(),
    "lifecycle": pl.Int64(),
    "unattributed": pl.Int64(),
    "adapters": pl.List(pl.String()),
    "error": pl.String(),
    "error_line": pl.Int64(),
}
# What reading alone can tell (load() classifies nothing).
_READ_COLUMNS = (
    "trace",
    "format",
    "encoding",
    "lines",
    "events",
    "continuation",
    "meta",
    "rejected",
)

CONTEXT_SCHEMA: dict[str, pl.DataType] = {
    "trace": pl.String(),
    "line": pl.UInt32(),
    "role": pl.String(),  # "anchor", "witness" or null for a neighbouring line
    "kind": pl.String(),
    "value": pl.String(),
    "text": pl.String(),
}

_UNUSED_SCHEMA: dict[str, pl.DataType] = {
    "suppression": pl.String(),
    "rule": pl.String(),
    "adapter": pl.String(),
    "trace": pl.String(),
    "from": pl.String(),
    "until": pl.String(),
    "expires": pl.String(),
    "reason": pl.String(),
    "expired": pl.Boolean(),
}

HTML_FINDINGS = 10  # findings shown by Result._repr_html_
HTML_TEXT_LIMIT = 160  # characters of a message in the HTML summary


# --- inputs -------------------------------------------------------------------------------


def _accounting(rows: list[dict[str, Any]], columns: Iterable[str]) -> pl.DataFrame:
    schema = {name: ACCOUNTING_SCHEMA[name] for name in columns}
    return pl.DataFrame([{k: row.get(k) for k in schema} for row in rows], schema=schema)


# --- load ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded(Generic[F]):
    """Canonical events of some traces, with what could not be read beside them.

    ``events`` follows the pinned schema (``parsers.schema.EVENT_SCHEMA``); ``rejects``
    holds every line that is not part of an event, with its reason; ``accounting`` has
    one row per trace with the line counts that prove nothing was dropped silently.
    Unpacks as ``events, rejects, accounting = auditor.load(...)``.
    """

    events: F
    rejects: pl.DataFrame
    accounting: pl.DataFrame

    def __iter__(self) -> Iterator[Any]:
        return iter((self.events, self.rejects, self.accounting))


@overload
def load(
    paths: PathLike | Iterable[PathLike],
    *,
    tz: str = ...,
    lazy: Literal[False] = ...,
    trace_start: datetime | str | None = ...,
) -> Loaded[pl.DataFrame]: ...
@overload
def load(
    paths: PathLike | Iterable[PathLike],
    *,
    tz: str = ...,
    lazy: Literal[True],
    trace_start: datetime | str | None = ...,
) -> Loaded[pl.LazyFrame]: ...
def load(
    paths: PathLike | Iterable[PathLike],
    *,
    tz: str = "UTC",
    lazy: bool = False,
    trace_start: datetime | str | None = None,
) -> Loaded[pl.DataFrame] | Loaded[pl.LazyFrame]:
    """Read traces into the canonical events, without classifying them.

    For looking at raw events (every data-path line included), feeding other tools or
    writing one's own polars queries. ``paths`` is a file, a directory (searched for
    trace files) or a glob pattern, or a list of them. ``tz`` is the zone of local
    timestamps (WPP text without ``-utc``). ``lazy=True`` returns the events as a
    LazyFrame so that a filter can run before anything is decoded into a big frame.
    ``trace_start`` places exports whose times count from the trace start (PerfView,
    wpaexporter), as ``--trace-start`` does: an aware datetime, or the same text.
    A file that cannot be read raises :class:`parsers.TraceReadError` naming it: an
    interactive user wants to know at once, unlike a batch.
    """
    zone = check_timezone(tz)
    options = ParseOptions(tz=zone, trace_start=_start(trace_start, zone))
    frames: list[pl.LazyFrame] = []
    rejects: list[pl.DataFrame] = []
    rows: list[dict[str, Any]] = []
    for path in expand_inputs(paths):
        parsed = read_trace(path, options, label=path)
        frames.append(parsed.events)
        rejects.append(parsed.rejects)
        rows.append(
            {
                "trace": parsed.path,
                "format": parsed.format,
                "encoding": parsed.encoding,
                **parsed.accounting.as_dict(),
            }
        )
    events = pl.concat(frames, how="vertical") if frames else pl.LazyFrame(schema=EVENT_SCHEMA)
    rejected = pl.concat(rejects, how="vertical") if rejects else pl.DataFrame(schema=REJECT_SCHEMA)
    accounting = _accounting(rows, _READ_COLUMNS)
    if lazy:
        return Loaded(events, rejected, accounting)
    return Loaded(events.collect(), rejected, accounting)


def _start(value: datetime | str | None, tz: str) -> TraceStart | None:
    return None if value is None else parse_trace_start(value, tz)


# --- audit --------------------------------------------------------------------------------


def audit(
    paths: PathLike | Iterable[PathLike],
    *,
    maps: Iterable[PathLike] = (),
    rules: Iterable[PathLike] = (),
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    tz: str = "UTC",
    suppress: PathLike | Iterable[PathLike] = (),
    trace_start: datetime | str | None = None,
) -> Result:
    """Audit traces against the built-in rules (and ``rules``), classifying with ``maps``.

    The same run as ``trace-audit audit PATHS --map M --rules R --select S --ignore I
    --tz TZ --suppress F``: user maps are tried before the built-in ones,
    ``select``/``ignore`` take rule ids, ``suppress`` names suppressions files (findings
    they accept move from ``Result.findings`` to ``Result.suppressed``). A bad map, rule
    or suppressions file raises :class:`auditor.ConfigError` listing every mistake with
    its file and line; an unreadable trace does not stop the others and shows up in
    ``Result.accounting`` (column ``error``), as in a batch.
    """
    if isinstance(suppress, (str, os.PathLike)):
        suppress = [suppress]
    auditor = Auditor.load(
        map_paths=[os.fspath(p) for p in maps],
        rule_paths=[os.fspath(p) for p in rules],
        select=list(select),
        ignore=list(ignore),
        tz=check_timezone(tz),
        suppress_paths=[os.fspath(p) for p in suppress],
        trace_start=_start(trace_start, tz),
    )
    files = expand_inputs(paths)
    return Result(auditor.audit(files), auditor, files)


class Result:
    """The outcome of :func:`audit`: polars tables, a timeline, explanations, ad-hoc rules.

    Tables are computed on first use and cached. ``raw`` is the underlying
    :class:`auditor.pipeline.AuditResult` that the CLI's reports take (e.g.
    ``auditor.report.html.write_html(result.raw, "report.html")``).
    """

    def __init__(self, raw: AuditResult, auditor: Auditor, paths: list[str]) -> None:
        self.raw = raw
        self._auditor = auditor
        self._paths = paths

    # --- tables ---------------------------------------------------------------------------

    @property
    def rules(self) -> RuleSet:
        """The rules that were evaluated (built-in pack, user files, after select/ignore)."""
        return self.raw.rules

    @property
    def traces(self) -> list[str]:
        """The trace labels, in the order given; findings and tables name traces so."""
        return [t.path for t in self.raw.traces]

    @cached_property
    def events(self) -> pl.DataFrame:
        """Every canonical event of the readable traces (data path included).

        The audit itself only decodes lines some map could classify, so this reads the
        traces again, once, on first use: most investigations never need it.
        """
        frames = [
            read_trace(t.path, self._auditor.parse_options(), label=t.path).events
            for t in self.raw.traces
            if t.error is None
        ]
        if not frames:
            return pl.DataFrame(schema=EVENT_SCHEMA)
        return pl.concat(frames, how="vertical").collect()

    @cached_property
    def lifecycle(self) -> pl.DataFrame:
        """Classified, attributed lifecycle events as the rules saw them.

        Sorted by (trace, adapter, time, source order). The canonical columns plus
        ``kind``, ``value``, ``adapter`` and ``adapter_inferred``; the engine's index
        columns and its synthetic ``trace.end`` rows are left out because they are not
        events of the trace.
        """
        frame = self.raw.lifecycle
        if frame.is_empty():
            return pl.DataFrame(
                schema={
                    **EVENT_SCHEMA,
                    "kind": pl.String(),
                    "value": pl.String(),
                    "adapter": pl.String(),
                    "adapter_inferred": pl.Boolean(),
                }
            )
        keep = [c for c in frame.columns if not c.startswith("__") and c != "unattributed"]
        return frame.filter(pl.col("kind") != Kind.TRACE_END.value).select(keep)

    @cached_property
    def findings(self) -> pl.DataFrame:
        """One row per finding, in report order, numbered by the ``finding`` column.

        The columns of ``auditor.findings.FINDING_SCHEMA`` (``evidence`` is a list of
        structs) after ``finding``, the key that :attr:`evidence` rows refer to.
        """
        return self.raw.findings.with_row_index("finding")

    @cached_property
    def evidence(self) -> pl.DataFrame:
        """One row per evidence line: the finding it proves, then line, ts, kind, value,
        text, role (``anchor`` is the event the rule fired on) and adapter_inferred.

        Flat, so that "which lines prove what" is a filter or a join, not a nested loop.
        """
        return (
            self.findings.select("finding", "rule", "severity", "trace", "adapter", "evidence")
            .explode("evidence")
            .unnest("evidence")
        )

    @property
    def suppressed(self) -> pl.DataFrame:
        """Findings a suppressions file accepted: the columns of :attr:`findings` (without
        ``finding``) plus ``reason`` and ``suppression`` (the entry, as ``file:line``)."""
        return self.raw.suppressed

    @property
    def unused_suppressions(self) -> pl.DataFrame:
        """Suppression entries that matched no finding of this audit, and entries past
        their ``expires`` date (``expired`` true): suppression (file:line), rule, adapter,
        trace, from, until, expires, reason, expired."""
        rows = [{**e.to_dict(), "expired": False} for e in self.raw.unused_suppressions]
        rows += [{**e.to_dict(), "expired": True} for e in self.raw.expired_suppressions]
        return pl.DataFrame(rows, schema=_UNUSED_SCHEMA)

    @property
    def not_evaluable(self) -> pl.DataFrame:
        """Rules that could not be judged for an adapter, with the reason (trace, adapter,
        rule, reason): "no finding" is not "fine" when the trace lacks the events."""
        return self.raw.not_evaluable

    @property
    def rejects(self) -> pl.DataFrame:
        """Lines of the traces that are not part of any event: trace, line, reason, text."""
        return self.raw.rejects

    @cached_property
    def accounting(self) -> pl.DataFrame:
        """One row per trace: format, encoding, line counts, lifecycle events, adapters
        and, for a trace that could not be read, ``error`` / ``error_line``.

        ``lines == events + continuation + meta + rejected`` for every readable trace.
        """
        rows = [_summary_row(t) for t in self.raw.traces]
        return _accounting(rows, ACCOUNTING_SCHEMA)

    # --- lookups --------------------------------------------------------------------------

    def finding(self, ref: FindingRef) -> dict[str, Any]:
        """The finding ``ref`` designates, as a dict (a row of :attr:`findings`)."""
        findings = self.findings
        if isinstance(ref, bool):
            raise TypeError("a finding is an index, a findings row or a one-row DataFrame")
        if isinstance(ref, int):
            if not -findings.height <= ref < findings.height:
                raise IndexError(f"finding {ref} out of range ({findings.height} findings)")
            return findings.row(ref, named=True)
        if isinstance(ref, pl.DataFrame):
            if ref.height != 1:
                raise ValueError(f"expected one finding, got a frame of {ref.height} rows")
            ref = ref.row(0, named=True)
        if not isinstance(ref, Mapping):
            raise TypeError("a finding is an index, a findings row or a one-row DataFrame")
        if ref.get("finding") is not None:
            return findings.row(int(ref["finding"]), named=True)
        # A row from elsewhere (e.g. a filtered raw frame): match its identity columns.
        keys = [k for k in ("rule", "trace", "adapter", "seq") if k in ref]
        if not {"rule", "trace", "seq"} <= set(keys):
            raise ValueError("a finding row needs at least rule, trace and seq (or finding)")
        cond = pl.lit(True)
        for k in keys:
            cond = cond & (pl.col(k).is_null() if ref[k] is None else (pl.col(k) == pl.lit(ref[k])))
        hit = findings.filter(cond)
        if hit.height != 1:
            raise ValueError(f"no single finding matches {dict((k, ref[k]) for k in keys)}")
        return hit.row(0, named=True)

    def _pick_trace(self, trace: str | None, finding: Mapping[str, Any] | None) -> str:
        readable = [t.path for t in self.raw.traces if t.error is None]
        if trace is not None:
            if trace not in self.traces:
                raise ValueError(f"no trace {trace!r} in this result (traces: {self.traces})")
            return trace
        if finding is not None:
            return str(finding["trace"])
        if len(readable) == 1:
            return readable[0]
        raise ValueError(f"several traces: pass trace= one of {readable}")

    # --- views ----------------------------------------------------------------------------

    def timeline(
        self,
        adapter: str | None = None,
        around: FindingRef | None = None,
        window: str | timedelta = "5s",
        *,
        trace: str | None = None,
    ) -> go.Figure:
        """The interactive timeline of one trace (a plotly Figure), as in the HTML report.

        ``adapter`` keeps only that adapter's lane. ``around`` (a finding) zooms the time
        axis to its evidence, from the earliest to the latest evidence line, widened by
        ``window`` on each side ('500ms', '5s', '2m' or a timedelta); the whole trace is
        still there to pan to. ``trace`` is needed only when the result holds several
        traces and ``around`` does not say which.
        """
        from auditor.report.timeline import timeline_figure

        finding = self.finding(around) if around is not None else None
        name = self._pick_trace(trace, finding)
        raw = self.raw
        if adapter is not None:
            lifecycle = raw.lifecycle.filter(pl.col("trace") == name)
            known = lifecycle.get_column("adapter").drop_nulls().unique().sort().to_list()
            if adapter not in known:
                raise ValueError(f"no adapter {adapter!r} in {name} (adapters: {known})")
            raw = replace(
                raw,
                lifecycle=raw.lifecycle.filter(pl.col("adapter") == adapter),
                findings=raw.findings.filter(pl.col("adapter") == adapter),
            )
        fig = timeline_figure(raw, name)
        if finding is not None:
            evidence = self.evidence.filter(pl.col("finding") == finding["finding"])
            span = _evidence_span(evidence, _window_ns(window))
            if span is not None:
                fig.update_xaxes(range=list(span), autorange=False)
        return fig

    def explain(self, finding: FindingRef, context: int = 3) -> Explanation:
        """The evidence of a finding in its source: each evidence line with ``context``
        neighbouring lines of the trace file around it.

        Evidence alone says what the rule saw; the lines around it (the firmware
        timeout, the work item that fired) are usually where the cause is.
        """
        if context < 0:
            raise ValueError("context must be 0 or more lines")
        row = self.finding(finding)
        evidence = self.evidence.filter(pl.col("finding") == row["finding"])
        trace = str(row["trace"])
        wanted = evidence.filter(pl.col("line").is_not_null())
        if wanted.is_empty():
            lines = pl.DataFrame(schema=CONTEXT_SCHEMA)
        else:
            source = read_lines(trace, label=trace).lines  # physical lines, any encoding
            marks = wanted.group_by("line").agg(
                # the anchor wins when one line is both
                pl.col("role").sort().first(),
                pl.col("kind").first(),
                pl.col("value").first(),
            )
            around = (
                wanted.select(
                    pl.int_ranges(
                        (pl.col("line").cast(pl.Int64) - context).clip(1),
                        pl.col("line").cast(pl.Int64) + context + 1,
                    ).alias("line")
                )
                .explode("line")
                .unique()
                .with_columns(pl.col("line").cast(pl.UInt32))
            )
            lines = (
                source.join(around, on="line", how="semi")
                .join(marks, on="line", how="left")
                .sort("line")
                .select(pl.lit(trace).alias("trace"), "line", "role", "kind", "value", "text")
                .cast(CONTEXT_SCHEMA)  # type: ignore[arg-type]
            )
        return Explanation(finding=row, evidence=evidence, lines=lines)

    def check(
        self,
        formula: str,
        *,
        on: str | None = None,
        defines: Mapping[str, str] | None = None,
    ) -> pl.DataFrame:
        """Evaluate an ad-hoc rule over the lifecycle events; return the events where it
        fires, each with its evidence.

        ``formula`` is the rule's ``when`` and also its ``on`` (the events it fires at)
        unless ``on`` is given: ``check("radio == 'on' & halted")`` lists the radio-ons
        while halted. The built-in pack's defines (``connected``, ``halted``,
        ``radio_on``, ``disconnect``) and the kinds of this audit's maps are usable;
        ``defines`` adds names of one's own. A question answered in one line, without
        writing a rule file; when it proves useful it moves to a ``--rules`` file as is.
        Columns: trace, adapter, ts, line, seq, kind, value, message, adapter_inferred,
        evidence (as in :attr:`findings`). A mistake raises ValueError with its column.
        """
        rule = self._adhoc_rule(formula, on, defines or {})
        found = evaluate(self.raw.lifecycle, RuleSet((rule,), self.rules.defines)).findings
        anchors = self.raw.lifecycle.select("trace", "adapter", "seq", "kind", "value", "message")
        if anchors.is_empty():
            anchors = pl.DataFrame(
                schema={
                    "trace": pl.String(),
                    "adapter": pl.String(),
                    "seq": pl.UInt64(),
                    "kind": pl.String(),
                    "value": pl.String(),
                    "message": pl.String(),
                }
            )
        return (
            found.drop("message")
            .join(anchors, on=["trace", "adapter", "seq"], how="left", nulls_equal=True)
            .select(
                "trace",
                "adapter",
                "ts",
                "line",
                "seq",
                "kind",
                "value",
                "message",
                "adapter_inferred",
                "evidence",
            )
        )

    def _adhoc_rule(self, formula: str, on: str | None, defines: Mapping[str, str]) -> Rule:
        def parse(text: str, what: str) -> Node:
            try:
                return parse_formula(text)
            except FormulaError as exc:
                raise ValueError(f"{what} {text!r}: {exc}") from None

        local = {name: parse(text, f"define {name!r}") for name, text in defines.items()}
        resolver = Resolver(
            local, self.rules.defines, self._auditor.maps.kinds, self.rules.machines
        )

        def resolve(text: str, what: str) -> Node:
            try:
                return resolver.resolve(parse(text, what))
            except FormulaError as exc:
                raise ValueError(f"{what} {text!r}: {exc}") from None

        when = resolve(formula, "formula")
        on_text = formula if on is None else on
        return Rule(
            id="check",
            severity=Severity.INFO,
            title=formula,
            source="ad hoc (Result.check)",
            on=when if on is None else resolve(on, "on"),
            when=when,
            on_text=on_text,
            when_text=formula,
            origin="Result.check",
        )

    # --- display --------------------------------------------------------------------------

    def severity_counts(self) -> dict[str, int]:
        """Findings per severity, most severe first (severities with none included)."""
        counts = dict.fromkeys((s.value for s in Severity), 0)
        for severity in self.raw.findings.get_column("severity").to_list():
            counts[severity] = counts.get(severity, 0) + 1
        return counts

    def _summary(self) -> dict[str, int]:
        traces = self.raw.traces
        return {
            "traces": len(traces),
            "failed": sum(t.error is not None for t in traces),
            "events": sum(t.events for t in traces),
            "lifecycle": sum(t.lifecycle for t in traces),
            "rejected": sum(t.rejected for t in traces),
            "findings": self.raw.findings.height,
        }

    def __repr__(self) -> str:
        s = self._summary()
        per = ", ".join(f"{n} {sev}" for sev, n in self.severity_counts().items())
        failed = f" ({s['failed']} unreadable)" if s["failed"] else ""
        return (
            f"<auditor.Result: {_plural(s['traces'], 'trace')}{failed}, {s['events']:,} events, "
            f"{s['lifecycle']:,} lifecycle events, {_plural(s['findings'], 'finding')} ({per})>"
        )

    def _repr_html_(self) -> str:
        """A compact summary and the first findings; every text from a trace is escaped."""
        s = self._summary()
        esc = _esc
        counts = self.severity_counts()
        badges = " ".join(
            f'<span style="{_BADGE}background:{_SEVERITY_COLOURS.get(sev, "#616161")}">'
            f"{esc(sev)}: {n}</span>"
            for sev, n in counts.items()
        )
        failed = (
            f', <span style="color:#d62728">{s["failed"]} unreadable</span>' if s["failed"] else ""
        )
        head = (
            f"<div><b>trace-auditor result</b>: {_plural(s['traces'], 'trace')}{failed}, "
            f"{s['events']:,} events, {s['lifecycle']:,} lifecycle events, "
            f"{s['rejected']:,} rejected lines, {_plural(s['findings'], 'finding')} {badges}</div>"
        )
        shown = self.findings.head(HTML_FINDINGS)
        rows = []
        for f in shown.iter_rows(named=True):
            colour = _SEVERITY_COLOURS.get(f["severity"], "#616161")
            ts = f["ts"].isoformat() if f["ts"] is not None else ""
            rows.append(
                "<tr>"
                f"<td>{f['finding']}</td>"
                f'<td style="color:{colour}"><b>{esc(f["severity"])}</b></td>'
                f"<td><code>{esc(f['rule'])}</code></td>"
                f"<td>{esc(Path(str(f['trace'])).name)}</td>"
                f"<td>{esc(f['adapter'] if f['adapter'] is not None else '-')}</td>"
                f"<td>{esc(f['line'] if f['line'] is not None else '')}</td>"
                f"<td>{esc(ts)}</td>"
                f"<td>{esc(_cut(f['message'] or ''))}</td>"
                "</tr>"
            )
        table = ""
        if rows:
            header = "".join(
                f"<th>{h}</th>"
                for h in ("#", "severity", "rule", "trace", "adapter", "line", "ts", "message")
            )
            more = self.findings.height - shown.height
            table = (
                f'<table style="font-size:90%"><thead><tr>{header}</tr></thead>'
                f"<tbody>{''.join(rows)}</tbody></table>"
                + (f"<div>… and {more} more (<code>result.findings</code>)</div>" if more else "")
            )
        return f'<div class="trace-auditor-result">{head}{table}</div>'


@dataclass(frozen=True)
class Explanation:
    """A finding's evidence in context; prints as text, renders as HTML in a notebook.

    ``lines`` (trace, line, role, kind, value, text) holds the evidence lines with their
    neighbours, in file order; ``role`` is ``anchor`` for the event the rule fired on,
    ``witness`` for the events that made its condition true, null for context.
    ``evidence`` is the finding's rows of :attr:`Result.evidence`.
    """

    finding: dict[str, Any]
    evidence: pl.DataFrame
    lines: pl.DataFrame

    def _title(self) -> str:
        f = self.finding
        adapter = f["adapter"] if f["adapter"] is not None else "-"
        return f"{f['severity']} {f['rule']} · {f['trace']} · adapter {adapter} · line {f['line']}"

    def __str__(self) -> str:
        out = [self._title(), str(self.finding["message"])]
        previous: int | None = None
        for row in self.lines.iter_rows(named=True):
            if previous is not None and row["line"] != previous + 1:
                out.append("   …")
            mark = {"anchor": "→", "witness": "•"}.get(row["role"] or "", " ")
            kind = f"  [{row['kind']}{'=' + row['value'] if row['value'] else ''}]"
            out.append(f"{mark} {row['line']:>6}  {row['text']}{kind if row['role'] else ''}")
            previous = row["line"]
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = []
        previous: int | None = None
        for row in self.lines.iter_rows(named=True):
            if previous is not None and row["line"] != previous + 1:
                rows.append('<tr><td></td><td style="color:#888">…</td><td></td></tr>')
            role = row["role"]
            style = {
                "anchor": "background:#fde0dc;font-weight:bold",
                "witness": "background:#fff3cd",
            }.get(role or "", "color:#555")
            kind = ""
            if role:
                value = f" = {row['value']}" if row["value"] else ""
                kind = f"{_esc(role)}: {_esc(row['kind'])}{_esc(value)}"
            rows.append(
                f'<tr style="{style}"><td style="text-align:right">{row["line"]}</td>'
                f'<td style="text-align:left;white-space:pre-wrap;font-family:monospace">'
                f"{_esc(row['text'])}</td><td>{kind}</td></tr>"
            )
        return (
            f'<div class="trace-auditor-explanation"><div><b>{_esc(self._title())}</b></div>'
            f"<div>{_esc(self.finding['message'])}</div>"
            f'<table style="font-size:90%"><tbody>{"".join(rows)}</tbody></table></div>'
        )


# --- helpers ------------------------------------------------------------------------------

_SEVERITY_COLOURS = {"error": "#d62728", "warning": "#ff7f0e", "info": "#1f77b4"}
_BADGE = "color:white;border-radius:3px;padding:0 4px;margin-left:4px;"
_AXIS_FORMAT = "%Y-%m-%d %H:%M:%S%.6f"  # the timeline's x values: naive UTC


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _cut(text: str, limit: int = HTML_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summary_row(t: TraceSummary) -> dict[str, Any]:
    return {
        "trace": t.path,
        "format": t.format,
        "encoding": t.encoding,
        "lines": t.lines,
        "events": t.events,
        "continuation": t.continuation,
        "meta": t.meta,
        "rejected": t.rejected,
        "lifecycle": t.lifecycle,
        "unattributed": t.unattributed,
        "adapters": [a for a in t.adapters if a is not None],
        "error": t.error,
        "error_line": t.error_line,
    }


def _window_ns(window: str | timedelta) -> int:
    if isinstance(window, timedelta):
        return round(window.total_seconds() * 1e9)
    try:
        return parse_duration(window)
    except FormulaError as exc:
        raise ValueError(str(exc)) from None


def _evidence_span(evidence: pl.DataFrame, window_ns: int) -> tuple[str, str] | None:
    """The x range (timeline axis strings) from the first to the last evidence ± window.

    Computed in polars rather than with Python datetimes, which would drop the
    nanoseconds trace stamps carry.
    """
    stamps = evidence.get_column("ts").drop_nulls()
    if stamps.is_empty():
        return None
    pad = pl.duration(nanoseconds=window_ns)
    lo, hi = (
        pl.DataFrame({"ts": stamps})
        .select(
            (pl.col("ts").min() - pad).dt.strftime(_AXIS_FORMAT),
            (pl.col("ts").max() + pad).dt.strftime(_AXIS_FORMAT).alias("hi"),
        )
        .row(0)
    )
    return str(lo), str(hi)
