"""The HTML report: one self-contained, offline file a driver engineer can open anywhere.

plotly.js is inlined once; there is no reference to a CDN, a font service or any other
network resource. Everything that comes from a trace or a rule file is untrusted:
text in the page goes through :func:`html.escape`, and each figure's JSON is embedded
with ``<``, ``>`` and ``&`` written as ``\\u003c``, ``\\u003e`` and ``\\u0026``, so no
message can close the ``<script>`` element it sits in. Output is deterministic: the
same result renders to the same bytes.

Size is bounded whatever the trace size: each timeline is decimated (see
:mod:`auditor.report.timeline`), the findings table lists at most
:data:`MAX_TABLE_FINDINGS` findings (errors first; the summary counts them all), each
evidence line comes with at most :data:`CONTEXT_BEFORE` + :data:`CONTEXT_AFTER`
neighbouring source lines, every text is cut to :data:`TEXT_LIMIT` characters, and
rejected lines are a sample of :data:`REJECT_SAMPLE` per trace.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl
from plotly.offline import get_plotlyjs

from auditor.report.atomic import write_text_atomic
from auditor.report.timeline import SEVERITY_COLOURS, SEVERITY_ORDER, timeline_figure
from parsers import TraceReadError
from parsers.source import read_lines

if TYPE_CHECKING:
    from auditor.pipeline import AuditResult, TraceSummary

DEFAULT_TITLE = "trace-auditor report"
REJECT_SAMPLE = 10
TEXT_LIMIT = 400
MAX_TABLE_FINDINGS = 1000  # findings listed in the table (all are counted in the summary)
CONTEXT_BEFORE = 2  # source lines shown before each evidence line
CONTEXT_AFTER = 2  # and after it
END_OF_TRACE_LINE = 2**32  # sort key of findings anchored at the end of the trace
UNNAMED_ADAPTER = "(adapter not named)"
PLOTLY_CONFIG = {
    "responsive": True,
    "displaylogo": False,
    "typesetMath": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}

CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-alt: #f6f8fa;
        --error: #d62728; --warning: #e07000; --info: #1f77b4; }
* { box-sizing: border-box; }
body { margin: 0; padding: 0 2rem 3rem; color: var(--fg); background: #fff; line-height: 1.45;
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
             sans-serif; }
header { border-bottom: 1px solid var(--line); padding: 1.2rem 0 0.8rem; margin-bottom: 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 0.3rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.6rem; padding-bottom: 0.25rem;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 1rem; margin: 1.4rem 0 0.4rem; word-break: break-all; }
nav a { margin-right: 1rem; }
a { color: #0969da; text-decoration: none; }
a:hover { text-decoration: underline; }
.muted { color: var(--muted); }
.headline { font-size: 1.05rem; margin: 0.3rem 0; }
table { border-collapse: collapse; margin: 0.4rem 0 1rem; width: auto; max-width: 100%; }
th, td { border: 1px solid var(--line); padding: 0.3rem 0.55rem; text-align: left;
         vertical-align: top; }
th { background: var(--bg-alt); font-weight: 600; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.time, td.nowrap { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.path { word-break: break-all; }
tr.failed td { background: #fff0f0; }
code, .mono, pre { font-family: ui-monospace, SFMono-Regular, Consolas, "Liberation Mono",
                   Menlo, monospace; font-size: 12.5px; }
.sev { display: inline-block; padding: 0 0.45rem; border-radius: 0.6rem; color: #fff;
       font-size: 12px; font-weight: 600; }
.sev-error { background: var(--error); }
.sev-warning { background: var(--warning); }
.sev-info { background: var(--info); }
.sev-other { background: #616161; }
.tag { display: inline-block; padding: 0 0.35rem; border: 1px solid var(--line);
       border-radius: 0.3rem; font-size: 11px; color: var(--muted); margin-left: 0.3rem; }
table.findings { width: 100%; }
table.findings tbody.finding > tr.main td { border-top: 2px solid var(--line); }
table.findings tr.evidence > td { background: var(--bg-alt); padding: 0.2rem 0.55rem 0.5rem 2rem; }
table.evidence { margin: 0.2rem 0; width: 100%; table-layout: fixed; }
table.evidence th, table.evidence td { border: none; border-bottom: 1px solid var(--line);
                                       padding: 0.15rem 0.5rem; background: transparent; }
table.evidence td.text { font-family: ui-monospace, SFMono-Regular, Consolas, "Liberation Mono",
                                       Menlo, monospace; font-size: 12.5px; word-break: break-all; }
tr.anchor td { font-weight: 600; }
.error-text { color: var(--error); }
.timeline { width: 100%; min-height: 200px; }
section.trace { margin-bottom: 2rem; }
footer { margin-top: 3rem; color: var(--muted); font-size: 12px; }
[hidden] { display: none !important; }
details.suppressed > summary { cursor: pointer; color: var(--muted); }
.controls { display: flex; flex-wrap: wrap; gap: 0.4rem 1rem; align-items: center;
            margin: 0.4rem 0; }
.controls label { color: var(--muted); }
.controls select, .controls input { font: inherit; padding: 0.1rem 0.3rem; }
.controls input { width: 18em; }
table.findings th[data-sort] { cursor: pointer; user-select: none; }
table.findings th[data-sort]::after { content: " \\2195"; color: var(--muted); }
table.findings th[aria-sort="ascending"]::after { content: " \\2191"; color: var(--fg); }
table.findings th[aria-sort="descending"]::after { content: " \\2193"; color: var(--fg); }
table.evidence tr.context td { color: var(--muted); }
table.evidence tr.gap td { color: var(--muted); text-align: center; }
"""

# The page's own script: sorting and filtering the findings table, and zooming a
# timeline to a finding's evidence when its marker is clicked. It reads only
# textContent and data attributes (never innerHTML), so trace text stays text.
SCRIPT = """
function zoomOnFindingClick(gd) {
  gd.on("plotly_click", function (ev) {
    var p = ev && ev.points && ev.points[0];
    if (!p || !p.data || String(p.data.legendgroup || "").indexOf("finding:") !== 0) return;
    var w = p.customdata || (p.data.customdata && p.data.customdata[p.pointNumber]);
    if (w) Plotly.relayout(gd, {"xaxis.range": [w[0], w[1]], "xaxis.autorange": false});
  });
  return gd;
}
document.addEventListener("DOMContentLoaded", function () {
  var table = document.getElementById("findings-table");
  if (!table) return;
  var bodies = Array.prototype.slice.call(table.tBodies);
  var selects = Array.prototype.slice.call(document.querySelectorAll("#findings-controls select"));
  var text = document.getElementById("findings-filter");
  var count = document.getElementById("findings-count");
  function apply() {
    var q = text.value.trim().toLowerCase();
    var shown = 0;
    bodies.forEach(function (b) {
      var ok = selects.every(function (s) { return s.value === "" || b.dataset[s.dataset.filter] === s.value; });
      if (ok && q) ok = b.textContent.toLowerCase().indexOf(q) >= 0;
      b.hidden = !ok;
      if (ok) shown += 1;
    });
    count.textContent = shown + " of " + bodies.length + " findings shown";
  }
  selects.forEach(function (s) { s.addEventListener("change", apply); });
  text.addEventListener("input", apply);
  var headers = Array.prototype.slice.call(table.tHead.querySelectorAll("th[data-sort]"));
  headers.forEach(function (th) {
    th.addEventListener("click", function () {
      var key = th.dataset.sort, numeric = th.dataset.type === "num";
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      bodies.sort(function (a, b) {
        var x = a.dataset[key], y = b.dataset[key];
        if (numeric) { x = Number(x); y = Number(y); }
        return (x < y ? -1 : x > y ? 1 : 0) * dir || a.dataset.order - b.dataset.order;
      });
      bodies.forEach(function (b) { table.appendChild(b); });
    });
  });
  apply();
});
"""


def _e(value: object) -> str:
    """Escape untrusted text for HTML element content and attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def _cut(text: str | None, limit: int = TEXT_LIMIT) -> str:
    if text is None:
        return ""
    return text if len(text) <= limit else text[:limit] + "…"


def _time(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _adapter(adapter: str | None, inferred: bool | None = False) -> str:
    if adapter is None:
        text = f'<span class="muted">{_e(UNNAMED_ADAPTER)}</span>'
    else:
        text = f"<code>{_e(adapter)}</code>"
    if inferred:
        text += (
            '<span class="tag" title="adapter inferred from the trace or thread">inferred</span>'
        )
    return text


def _severity(severity: str | None) -> str:
    cls = f"sev-{severity}" if severity in SEVERITY_COLOURS else "sev-other"
    return f'<span class="sev {cls}">{_e(severity)}</span>'


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _table(headers: Sequence[str], rows: Iterable[str], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def script_json(value: str) -> str:
    """JSON text made safe to sit inside a ``<script>`` element.

    ``<``, ``>`` and ``&`` only ever occur inside JSON strings, where ``\\u003c`` and
    friends decode to the same characters, so the data is unchanged while no
    ``</script>``, ``<!--`` or ``<script`` can appear in the page source.
    """
    return value.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


# --- sections ---------------------------------------------------------------------------


def _anchors(traces: Sequence[TraceSummary]) -> dict[str, str]:
    return {t.path: f"trace-{k}" for k, t in enumerate(traces)}


def _headline(result: AuditResult) -> str:
    findings = result.findings
    counts = dict(findings.group_by("severity").len().iter_rows()) if findings.height else {}
    parts = [_e(_plural(counts.get(s, 0), s, s if s == "info" else None)) for s in SEVERITY_ORDER]
    failed = len(result.failed)
    unreadable = f", <span class='error-text'>{failed} unreadable</span>" if failed else ""
    events = sum(t.events for t in result.traces)
    rejected = sum(t.rejected for t in result.traces)
    return (
        f'<p class="headline"><strong>{_e(_plural(findings.height, "finding"))}</strong>'
        f" ({', '.join(parts)}) in {_e(_plural(len(result.traces), 'trace'))}{unreadable}"
        f" · {_e(_plural(len(result.rules.rules), 'rule'))} evaluated"
        + (
            f' · <a href="#suppressed">{result.suppressed.height:,} suppressed</a>'
            if result.suppressed.height
            else ""
        )
        + "</p>"
        f'<p class="muted" id="totals">{len(result.traces):,} traces · {events:,} events · '
        f"{rejected:,} rejected lines · {result.not_evaluable.height:,} rules not evaluable "
        "for an adapter</p>"
    )


def _traces_table(result: AuditResult, anchors: dict[str, str]) -> str:
    rows = []
    for t in result.traces:
        if t.error is not None:
            where = f" at line {t.error_line}" if t.error_line is not None else ""
            status = f'<span class="error-text">not read{_e(where)}: {_e(t.error)}</span>'
        else:
            status = "read"
        adapters = ", ".join(_adapter(a) for a in t.adapters) or '<span class="muted">—</span>'
        numbers = (
            t.lines,
            t.events,
            t.meta,
            t.continuation,
            t.rejected,
            t.lifecycle,
            t.unattributed,
        )
        cells = "".join(f'<td class="num">{n}</td>' for n in numbers)
        rows.append(
            f'<tr class="{"failed" if t.error is not None else ""}">'
            f'<td class="path"><a href="#{anchors[t.path]}">{_e(t.path)}</a></td>'
            f"<td>{_e(t.format or '—')}</td><td>{_e(t.encoding or '—')}</td>{cells}"
            f"<td>{adapters}</td><td>{status}</td></tr>"
        )
    headers = [
        "trace",
        "format",
        "encoding",
        "lines",
        "events",
        "meta",
        "continuation",
        "rejected",
        "lifecycle events",
        "unattributed",
        "adapters",
        "status",
    ]
    if not rows:
        return '<p class="muted">No trace was given.</p>'
    return _table(headers, rows) + (
        '<p class="muted">Every line of a trace is an event, a continuation of one, a meta '
        "line or a rejected line. Unclassified message shapes are not listed: the audit "
        "drops lines no map can match before decoding them, which is what keeps it fast.</p>"
    )


def _rules_table(result: AuditResult) -> str:
    findings = result.findings
    per_rule = dict(findings.group_by("rule").len().iter_rows()) if findings.height else {}
    missing = result.not_evaluable
    per_rule_ne = dict(missing.group_by("rule").len().iter_rows()) if missing.height else {}
    per_sev = dict(findings.group_by("severity").len().iter_rows()) if findings.height else {}
    sev_rows = [
        f"<tr><td>{_severity(s)}</td><td class='num'>{per_sev.get(s, 0)}</td></tr>"
        for s in [*SEVERITY_ORDER, *sorted(set(per_sev) - set(SEVERITY_ORDER))]
    ]
    rule_rows = []
    known = set()
    for rule in result.rules.rules:
        known.add(rule.id)
        rule_rows.append(
            f"<tr><td><code>{_e(rule.id)}</code></td><td>{_severity(rule.severity.value)}</td>"
            f"<td>{_e(rule.title)}</td><td>{_e(rule.source)}</td>"
            f"<td class='num'>{per_rule.get(rule.id, 0)}</td>"
            f"<td class='num'>{per_rule_ne.get(rule.id, 0)}</td></tr>"
        )
    # findings of rules this rule set does not hold (results merged from other runs)
    for rule_id in sorted(set(per_rule) - known):
        rule_rows.append(
            f"<tr><td><code>{_e(rule_id)}</code></td><td></td><td></td><td></td>"
            f"<td class='num'>{per_rule[rule_id]}</td>"
            f"<td class='num'>{per_rule_ne.get(rule_id, 0)}</td></tr>"
        )
    return (
        "<h3>Findings per severity</h3>"
        + _table(["severity", "findings"], sev_rows)
        + "<h3>Findings per rule</h3>"
        + _table(["rule", "severity", "title", "source", "findings", "not evaluable"], rule_rows)
    )


def _shown_findings(findings: pl.DataFrame) -> pl.DataFrame:
    """The findings the table lists: all, or the MAX_TABLE_FINDINGS most severe (in
    their report order)."""
    if findings.height <= MAX_TABLE_FINDINGS:
        return findings
    rank = {s: k for k, s in enumerate(SEVERITY_ORDER)}
    return (
        findings.with_row_index("__order")
        .sort(
            pl.col("severity").replace_strict(rank, default=len(rank), return_dtype=pl.Int64),
            "__order",
        )
        .head(MAX_TABLE_FINDINGS)
        .sort("__order")
        .drop("__order")
    )


SourceContext = dict[int, str]


def source_context(
    path: str, lines: Iterable[int], before: int = CONTEXT_BEFORE, after: int = CONTEXT_AFTER
) -> SourceContext | None:
    """The source lines around each of ``lines`` (1-based), read again from ``path``.

    Only the wanted lines are kept (a polars filter on the line numbers); ``None`` when
    the file cannot be read any more (moved, deleted, unreadable): the report then shows
    the evidence without its neighbours.
    """
    wanted = sorted({n for line in lines for n in range(line - before, line + after + 1) if n > 0})
    if not wanted:
        return {}
    try:
        source = read_lines(path)
    except (TraceReadError, OSError):
        return None
    kept = source.lines.filter(pl.col("line").is_in(wanted))
    return dict(zip(kept["line"].to_list(), kept["text"].to_list(), strict=True))


def _contexts(result: AuditResult, shown: pl.DataFrame) -> dict[str, SourceContext | None]:
    """Neighbouring source lines of the shown findings' evidence, per trace."""
    if shown.is_empty():
        return {}
    wanted = (
        shown.select("trace", pl.col("evidence").list.eval(pl.element().struct.field("line")))
        .explode("evidence")
        .drop_nulls()
        .unique()
        .group_by("trace", maintain_order=True)
        .agg(pl.col("evidence").sort())
    )
    readable = {t.path for t in result.traces if t.error is None}
    return {
        trace: source_context(trace, lines) if trace in readable else None
        for trace, lines in wanted.iter_rows()
    }


def _evidence(
    evidence: list[dict[str, Any]] | None,
    context: SourceContext | None,
    before: int = CONTEXT_BEFORE,
    after: int = CONTEXT_AFTER,
) -> str:
    """The evidence as source lines: each evidence line with its neighbours, in line order.

    Without ``context`` (the source could not be read again) each evidence item is one
    row with the event's text, as the audit recorded it.
    """
    if not evidence:
        return '<span class="muted">no evidence recorded</span>'

    def item_row(item: dict[str, Any], text: str | None) -> str:
        kind = item.get("kind")
        value = item.get("value")
        what = _e(kind) + (f" = {_e(value)}" if value is not None else "")
        if kind == "trace.end":
            line = "end of trace"
            shown = '<span class="muted">(end of trace)</span>'
        else:
            line = "—" if item.get("line") is None else str(item["line"])
            shown = _e(_cut(text if text is not None else item.get("text")))
        role = item.get("role") or ""
        if item.get("adapter_inferred"):
            role += " (adapter inferred)"
        return (
            f'<tr class="{"anchor" if item.get("role") == "anchor" else "witness"}">'
            f'<td class="num">{_e(line)}</td><td class="time">{_e(_time(item.get("ts")))}</td>'
            f"<td><code>{what}</code></td><td>{_e(role)}</td>"
            f'<td class="text">{shown}</td></tr>'
        )

    rows: list[str] = []
    if context is None:
        rows = [item_row(item, None) for item in evidence]
    else:
        numbered = sorted(
            (item for item in evidence if item.get("line") is not None),
            key=lambda item: item["line"],
        )
        by_line: dict[int, list[dict[str, Any]]] = {}
        for item in numbered:
            by_line.setdefault(item["line"], []).append(item)
        listing = sorted(
            {
                n
                for line in by_line
                for n in range(line - before, line + after + 1)
                if n in context or n in by_line
            }
        )
        previous = None
        for n in listing:
            if previous is not None and n > previous + 1:
                rows.append('<tr class="gap"><td colspan="5">⋯</td></tr>')
            previous = n
            if n in by_line:
                rows.extend(item_row(item, context.get(n)) for item in by_line[n])
            else:
                rows.append(
                    f'<tr class="context"><td class="num">{n}</td><td></td><td></td><td></td>'
                    f'<td class="text">{_e(_cut(context[n]))}</td></tr>'
                )
        rows.extend(item_row(item, None) for item in evidence if item.get("line") is None)
    head = "".join(f"<th>{h}</th>" for h in ("line", "time (UTC)", "kind", "role", "source"))
    cols = "".join(f'<col style="width:{w}">' for w in ("6em", "17em", "15em", "9em", "auto"))
    return (
        f'<table class="evidence"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _options(name: str, values: Iterable[str]) -> str:
    options = "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in values)
    return (
        f'<label>{_e(name)} <select data-filter="{_e(name)}">'
        f'<option value="">all</option>{options}</select></label>'
    )


def _findings_table(result: AuditResult, anchors: dict[str, str]) -> str:
    findings = result.findings
    if findings.is_empty():
        return '<p class="muted">No findings.</p>'
    shown = _shown_findings(findings)
    contexts = _contexts(result, shown)
    rank = {s: k for k, s in enumerate(SEVERITY_ORDER)}
    bodies = []
    for order, f in enumerate(shown.iter_rows(named=True)):  # one row per finding
        anchor = anchors.get(f["trace"])
        trace = _e(f["trace"])
        if anchor:
            trace = f'<a href="#{anchor}">{trace}</a>'
        line = "end of trace" if f["line"] is None else str(f["line"])
        data = {
            "order": order,
            "rule": f["rule"],
            "severity": f["severity"],
            "rank": rank.get(f["severity"], len(rank)),
            "trace": f["trace"],
            "adapter": UNNAMED_ADAPTER if f["adapter"] is None else f["adapter"],
            "ts": "" if f["ts"] is None else f["ts"].isoformat(),
            "line": END_OF_TRACE_LINE if f["line"] is None else f["line"],
            "message": f["message"],
        }
        attrs = " ".join(f'data-{k}="{_e(v)}"' for k, v in data.items())
        context = contexts.get(f["trace"])
        bodies.append(
            f'<tbody class="finding" {attrs}>'
            f'<tr class="main"><td class="nowrap"><code>{_e(f["rule"])}</code></td>'
            f"<td>{_severity(f['severity'])}</td>"
            f'<td class="path">{trace}</td>'
            f"<td>{_adapter(f['adapter'], f.get('adapter_inferred'))}</td>"
            f'<td class="time">{_e(_time(f["ts"]))}</td>'
            f'<td class="num">{_e(line)}</td>'
            f"<td>{_e(f['message'])}</td></tr>"
            f'<tr class="evidence"><td colspan="7">{_evidence(f["evidence"], context)}</td></tr>'
            "</tbody>"
        )
    columns = (
        ("rule", "rule", ""),
        ("severity", "rank", "num"),
        ("trace", "trace", ""),
        ("adapter", "adapter", ""),
        ("time (UTC)", "ts", ""),
        ("line", "line", "num"),
        ("message", "message", ""),
    )
    head = "".join(
        f'<th data-sort="{key}"' + (f' data-type="{kind}"' if kind else "") + f">{label}</th>"
        for label, key, kind in columns
    )
    severities = set(shown["severity"].to_list())
    controls = (
        '<div class="controls" id="findings-controls">'
        + _options("rule", sorted(set(shown["rule"].to_list())))
        + _options(
            "adapter",
            sorted({UNNAMED_ADAPTER if a is None else a for a in shown["adapter"].to_list()}),
        )
        + _options(
            "severity",
            [s for s in SEVERITY_ORDER if s in severities]
            + sorted(severities - set(SEVERITY_ORDER)),
        )
        + '<label>text <input type="search" id="findings-filter" '
        'placeholder="filter by any text, e.g. a line" aria-label="filter findings"></label>'
        f'<span id="findings-count" class="muted">{shown.height} of {shown.height} findings shown'
        "</span></div>"
    )
    note = ""
    if shown.height < findings.height:
        note = (
            f'<p class="muted">The table lists {shown.height:,} of the {findings.height:,} '
            "findings (the most severe first); the summary above counts them all, and "
            "<code>--format json</code> or <code>csv</code> lists every one.</p>"
        )
    legend = (
        '<p class="muted">Click a column heading to sort. Under each finding: its evidence '
        f"as source lines, with {CONTEXT_BEFORE} lines before and {CONTEXT_AFTER} after each "
        "(read again from the trace file; where it cannot be read, the evidence alone).</p>"
    )
    return (
        note
        + legend
        + controls
        + f'<table class="findings" id="findings-table"><thead><tr>{head}</tr></thead>'
        + "".join(bodies)
        + "</table>"
    )


def _suppressed_section(result: AuditResult) -> str:
    """Findings a suppressions file accepted, and its entries that matched nothing.

    Collapsed (``<details>``): accepted findings are kept for the record, not for
    attention. Listed without source context, at most MAX_TABLE_FINDINGS of them.
    """
    suppressed = result.suppressed
    unused = result.unused_suppressions
    expired = result.expired_suppressions
    if suppressed.is_empty() and not unused and not expired:
        return ""
    parts = []
    if suppressed.height:
        shown = suppressed.head(MAX_TABLE_FINDINGS)
        rows = [
            f"<tr><td class='nowrap'><code>{_e(f['rule'])}</code></td>"
            f"<td>{_severity(f['severity'])}</td><td class='path'>{_e(f['trace'])}</td>"
            f"<td>{_adapter(f['adapter'], f['adapter_inferred'])}</td>"
            f"<td class='time'>{_e(_time(f['ts']))}</td>"
            f"<td class='num'>{_e('end of trace' if f['line'] is None else f['line'])}</td>"
            f"<td>{_e(f['message'])}</td><td>{_e(f['reason'])}</td>"
            f"<td class='path'><code>{_e(f['suppression'])}</code></td></tr>"
            for f in shown.iter_rows(named=True)
        ]
        more = (
            f'<p class="muted">The first {shown.height:,} of {suppressed.height:,} are listed; '
            "<code>--format json</code> lists every one.</p>"
            if shown.height < suppressed.height
            else ""
        )
        parts.append(
            more
            + _table(
                [
                    "rule",
                    "severity",
                    "trace",
                    "adapter",
                    "time (UTC)",
                    "line",
                    "message",
                    "reason",
                    "suppressed by",
                ],
                rows,
                "suppressed",
            )
        )
    for title, entries in (
        ("Suppressions that matched no finding", unused),
        ("Expired suppressions (no longer applied)", expired),
    ):
        if not entries:
            continue
        rows = [
            f"<tr><td class='path'><code>{_e(e.origin)}</code></td>"
            f"<td><code>{_e(e.rule)}</code></td><td>{_e(e.adapter or '')}</td>"
            f"<td class='path'>{_e(e.trace or '')}</td>"
            f"<td>{_e(e.to_dict()['from'] or '')}</td><td>{_e(e.to_dict()['until'] or '')}</td>"
            f"<td>{_e(e.expires.isoformat() if e.expires else '')}</td><td>{_e(e.reason)}</td></tr>"
            for e in entries
        ]
        parts.append(
            f"<h3>{_e(title)} ({len(entries)})</h3>"
            + _table(
                ["entry", "rule", "adapter", "trace", "from", "until", "expires", "reason"], rows
            )
        )
    n = suppressed.height
    return (
        '\n<h2 id="suppressed">Suppressed</h2>\n<details class="suppressed">'
        f"<summary>{_e(_plural(n, 'suppressed finding'))}"
        + (f", {_e(_plural(len(unused), 'unused entry', 'unused entries'))}" if unused else "")
        + (f", {_e(_plural(len(expired), 'expired entry', 'expired entries'))}" if expired else "")
        + " (accepted in a suppressions file; not counted above)</summary>"
        + "".join(parts)
        + "</details>\n"
    )


def _not_evaluable_table(result: AuditResult) -> str:
    missing = result.not_evaluable
    if missing.is_empty():
        return '<p class="muted">Every rule could be evaluated for every adapter.</p>'
    rows = [
        f'<tr><td class="path">{_e(m["trace"])}</td><td>{_adapter(m["adapter"])}</td>'
        f"<td><code>{_e(m['rule'])}</code></td><td>{_e(m['reason'])}</td></tr>"
        for m in missing.iter_rows(named=True)
    ]
    return _table(["trace", "adapter", "rule", "reason"], rows)


def _rejects_section(result: AuditResult) -> str:
    rejects = result.rejects
    if rejects.is_empty():
        return '<p class="muted">No rejected lines: every input line was read.</p>'
    totals = dict(rejects.group_by("trace").len().iter_rows())
    sample = (
        rejects.sort(["trace", "line"], nulls_last=True)
        .group_by("trace", maintain_order=True)
        .head(REJECT_SAMPLE)
    )
    order = [t.path for t in result.traces if t.path in totals]
    order += sorted(set(totals) - set(order))
    parts = []
    for trace in order:
        rows = [
            f'<tr><td class="num">{_e("—" if r["line"] is None else r["line"])}</td>'
            f"<td>{_e(r['reason'])}</td>"
            f'<td class="mono path">{_e(_cut(r["text"]))}</td></tr>'
            for r in sample.filter(pl.col("trace") == trace).iter_rows(named=True)
        ]
        total = totals[trace]
        shown = min(total, REJECT_SAMPLE)
        parts.append(
            f"<h3>{_e(trace)}</h3>"
            f'<p class="muted">{_e(_plural(total, "rejected line"))}'
            f"{f', the first {shown} shown' if total > shown else ''}</p>"
            + _table(["line", "reason", "text"], rows)
        )
    return "".join(parts)


def _unclassified_section(result: AuditResult) -> str:
    """The message shapes no map classified: where a map author starts for a new driver."""
    shapes = result.unclassified
    if shapes.is_empty():
        return (
            '<p class="muted">Not collected for this report (the audit skips data-path '
            "lines undecoded; <code>trace-audit maps coverage</code> lists them).</p>"
        )
    parts = []
    for trace in dict.fromkeys(shapes.get_column("trace").to_list()):
        rows = [
            f'<tr><td class="num">{_e(r["count"])}</td><td>{_e(r["provider"] or "")}</td>'
            f'<td class="mono path">{_e(_cut(r["shape"]))}</td>'
            f'<td class="num">{_e(r["example_line"])}</td></tr>'
            for r in shapes.filter(pl.col("trace") == trace).iter_rows(named=True)
        ]
        parts.append(
            f"<h3>{_e(trace)}</h3>"
            + _table(["count", "provider", "message shape (numbers masked)", "first line"], rows)
        )
    return "".join(parts)


def _timelines(result: AuditResult, anchors: dict[str, str]) -> str:
    parts = []
    for k, t in enumerate(result.traces):
        header = f'<section class="trace" id="{anchors[t.path]}"><h3>{_e(t.path)}</h3>'
        if t.error is not None:
            where = f" at line {t.error_line}" if t.error_line is not None else ""
            parts.append(
                header + f'<p class="error-text">Not read{_e(where)}: {_e(t.error)}</p></section>'
            )
            continue
        figure = timeline_figure(result, t.path)
        figure.update_layout(title=None)  # the section heading names the trace
        plot_id = f"timeline-{k}"
        parts.append(
            header
            + f'<div class="timeline" id="{plot_id}"></div>\n'
            + "<script>(function () {\n"
            + f"var fig = {script_json(figure.to_json())};\n"
            + f'Plotly.newPlot("{plot_id}", fig.data, fig.layout, PLOTLY_CONFIG)'
            + ".then(zoomOnFindingClick);\n"
            + "})();</script></section>\n"
        )
    if not parts:
        return '<p class="muted">No trace was given.</p>'
    return "".join(parts)


def render_html(result: AuditResult, *, title: str = DEFAULT_TITLE) -> str:
    """The whole report as one self-contained HTML document."""
    anchors = _anchors(result.traces)
    try:
        from auditor import __version__ as version
    except ImportError:  # pragma: no cover - the package always has one
        version = ""
    config = script_json(json.dumps(PLOTLY_CONFIG, sort_keys=True))
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n",
            '<script type="text/javascript">',
            get_plotlyjs(),
            "</script>\n",
            f"<script>var PLOTLY_CONFIG = {config};\n{SCRIPT}</script>\n",
            "</head>\n<body>\n<header>\n",
            f"<h1>{_e(title)}</h1>\n",
            _headline(result),
            '<nav><a href="#summary">Summary</a><a href="#findings">Findings</a>'
            '<a href="#not-evaluable">Not evaluable</a><a href="#rejected">Rejected lines</a><a href="#unclassified">Unclassified</a>'
            '<a href="#timelines">Timelines</a></nav>\n',
            '<p class="muted">All times are UTC.</p>\n</header>\n<main>\n',
            '<h2 id="summary">Summary</h2>\n<h3>Traces</h3>\n',
            _traces_table(result, anchors),
            "\n",
            _rules_table(result),
            '\n<h2 id="findings">Findings</h2>\n',
            _findings_table(result, anchors),
            _suppressed_section(result),
            '\n<h2 id="not-evaluable">Rules not evaluable</h2>\n',
            _not_evaluable_table(result),
            '\n<h2 id="rejected">Rejected lines</h2>\n',
            _rejects_section(result),
            '\n<h2 id="unclassified">Most frequent unclassified messages</h2>\n',
            _unclassified_section(result),
            '\n<h2 id="timelines">Timelines</h2>\n',
            '<p class="muted">Drag to zoom, use the range slider below each timeline, '
            "double-click to reset; hover a bar, event or finding for details, click a "
            "finding to zoom to its evidence. Busy lanes are decimated: a marker may stand "
            "for several events (its hover says so), close state periods share a bar, and "
            "data-path events are counted per time bin.</p>\n",
            _timelines(result, anchors),
            "</main>\n",
            f"<footer>trace-auditor {_e(version)}</footer>\n</body>\n</html>\n",
        ]
    )


def write_html(
    result: AuditResult, path: str | os.PathLike[str], *, title: str = DEFAULT_TITLE
) -> None:
    """Write the report atomically (see :mod:`auditor.report.atomic`)."""
    write_text_atomic(path, render_html(result, title=title))
