"""index.html: the batch at a glance, one self-contained offline page.

Per-rule and per-adapter counts, the traces worst first with links to their reports,
the baseline's new / fixed findings, and a plotly chart of findings per rule across
the traces. plotly.js is inlined once; every text that comes from a trace, a file name
or a rule file is escaped (``html.escape``; figure JSON through ``script_json``).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence

import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs

from auditor.report.html import CSS, script_json
from auditor.ruleset import RuleSet

UNNAMED_ADAPTER = "(adapter not named)"
LIST_LIMIT = 500  # rows of the new / fixed finding lists
SEVERITIES = ("error", "warning", "info")
PLOTLY_CONFIG = {"responsive": True, "displaylogo": False}


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _table(headers: Sequence[str], rows: Iterable[str]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(rows)
    if not body:
        return '<p class="muted">None.</p>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _num(n: object) -> str:
    return f'<td class="num">{_e(n)}</td>'


def _sev(severity: str | None) -> str:
    cls = f"sev-{severity}" if severity in SEVERITIES else "sev-other"
    return f'<span class="sev {cls}">{_e(severity)}</span>'


def _rules_table(findings: pl.DataFrame, rules: RuleSet, changes: pl.DataFrame | None) -> str:
    per_rule = {
        r["rule"]: r
        for r in findings.group_by("rule")
        .agg(pl.len().alias("findings"), pl.col("trace").n_unique().alias("traces"))
        .iter_rows(named=True)
    }
    new = (
        dict(changes.filter(pl.col("change") == "new").group_by("rule").len().iter_rows())
        if changes is not None and changes.height
        else {}
    )
    known = [r.id for r in rules.rules]
    extra = sorted(set(per_rule) - set(known))
    rows = []
    titles = {r.id: (r.severity.value, r.title) for r in rules.rules}
    for rule_id in known + extra:
        severity, title = titles.get(rule_id, (None, ""))
        row = per_rule.get(rule_id, {"findings": 0, "traces": 0})
        cells = (
            f"<td><code>{_e(rule_id)}</code></td><td>{_sev(severity)}</td><td>{_e(title)}</td>"
            + _num(row["findings"])
            + _num(row["traces"])
        )
        if changes is not None:
            cells += _num(new.get(rule_id, 0))
        rows.append(f"<tr>{cells}</tr>")
    headers = ["rule", "severity", "title", "findings", "traces"]
    if changes is not None:
        headers.append("new")
    return _table(headers, rows)


def _adapters_table(findings: pl.DataFrame) -> str:
    if findings.is_empty():
        return '<p class="muted">No findings.</p>'
    frame = (
        findings.group_by("adapter")
        .agg(
            pl.len().alias("findings"),
            pl.col("trace").n_unique().alias("traces"),
            *[(pl.col("severity") == s).sum().alias(s) for s in SEVERITIES],
        )
        .sort(["findings", "adapter"], descending=[True, False], nulls_last=True)
    )
    rows = []
    for r in frame.iter_rows(named=True):
        name = (
            f"<code>{_e(r['adapter'])}</code>"
            if r["adapter"] is not None
            else f'<span class="muted">{_e(UNNAMED_ADAPTER)}</span>'
        )
        rows.append(
            f"<tr><td>{name}</td>"
            + "".join(_num(r[k]) for k in ("findings", "traces", *SEVERITIES))
            + "</tr>"
        )
    return _table(["adapter", "findings", "traces", *SEVERITIES], rows)


def worst_first(traces: pl.DataFrame) -> pl.DataFrame:
    """Failed traces first, then by error, warning, info findings, then by name."""
    return (
        traces.with_columns((pl.col("status") != "ok").alias("_failed"))
        .sort(
            ["_failed", "errors", "warnings", "infos", "trace"],
            descending=[True, True, True, True, False],
        )
        .drop("_failed")
    )


def _traces_table(traces: pl.DataFrame) -> str:
    rows = []
    for r in worst_first(traces).iter_rows(named=True):
        name = _e(r["trace"])
        link = f'<a href="{_e(r["report"])}">{name}</a>' if r["report"] else name
        status = r["status"]
        error = ""
        if r["error"]:
            where = f" (line {r['error_line']})" if r["error_line"] is not None else ""
            error = f"{_e(r['error'])}{_e(where)}"
        cls = ' class="failed"' if status != "ok" else ""
        adapters = ", ".join(a if a is not None else "—" for a in (r["adapters"] or []))
        rows.append(
            f"<tr{cls}><td class='path'>{link}</td><td>{_e(status)}"
            + ('<span class="tag">cached</span>' if r["cached"] else "")
            + "</td>"
            + "".join(_num(r[k]) for k in ("findings", "errors", "warnings", "infos"))
            + _num(f"{r['events']:,}")
            + _num(f"{r['rejected']:,}")
            + f"<td>{_e(adapters)}</td><td>{error}</td></tr>"
        )
    return _table(
        ["trace", "status", "findings", *SEVERITIES, "events", "rejected", "adapters", "error"],
        rows,
    )


def _changes_section(changes: pl.DataFrame | None, baseline: str | None) -> str:
    if changes is None:
        return ""
    parts = [
        '<h2 id="baseline">Compared with the baseline</h2>',
        f'<p class="muted">Baseline: <code>{_e(baseline)}</code>. Findings match on trace, '
        "rule, adapter and time since the trace's first lifecycle event.</p>",
    ]
    for change in ("new", "fixed"):
        subset = changes.filter(pl.col("change") == change)
        rows = [
            f"<tr><td class='path'>{_e(r['trace'])}</td><td><code>{_e(r['rule'])}</code></td>"
            f"<td>{_sev(r['severity'])}</td><td>{_e(r['adapter'] or UNNAMED_ADAPTER)}</td>"
            + _num("—" if r["rel_s"] is None else f"{r['rel_s']:.0f} s")
            + _num(r["line"] if change == "new" else r["baseline_line"])
            + f"<td>{_e(r['message'])}</td></tr>"
            for r in subset.head(LIST_LIMIT).iter_rows(named=True)
        ]
        more = (
            f'<p class="muted">The first {LIST_LIMIT} of {subset.height} shown; all are in '
            "baseline.parquet.</p>"
            if subset.height > LIST_LIMIT
            else ""
        )
        parts.append(f"<h3>{_e(change.capitalize())} findings ({subset.height})</h3>")
        parts.append(
            _table(["trace", "rule", "severity", "adapter", "after", "line", "message"], rows)
            + more
        )
    return "\n".join(parts)


def _chart(findings: pl.DataFrame, traces: pl.DataFrame, rules: RuleSet) -> str:
    if findings.is_empty():
        return '<p class="muted">No findings to chart.</p>'
    order = [
        t for t in worst_first(traces).filter(pl.col("findings") > 0).get_column("trace").to_list()
    ]
    counts = findings.group_by("trace", "rule").len()
    known = [r.id for r in rules.rules]
    rule_ids = known + sorted(set(counts.get_column("rule").to_list()) - set(known))
    figure = go.Figure()
    for rule_id in rule_ids:
        per = dict(counts.filter(pl.col("rule") == rule_id).select("trace", "len").iter_rows())
        if not per:
            continue
        figure.add_trace(go.Bar(name=rule_id, x=order, y=[per.get(t, 0) for t in order]))
    figure.update_layout(
        barmode="stack",
        title=None,
        xaxis={
            "title": "trace (worst first)",
            "type": "category",
            "showticklabels": len(order) <= 60,
        },
        yaxis={"title": "findings"},
        legend={"title": "rule"},
        margin={"l": 50, "r": 20, "t": 20, "b": 40},
        height=420,
        template="plotly_white",
    )
    return (
        '<div id="per-rule-chart" class="timeline"></div>\n<script>(function () {\n'
        f"var fig = {script_json(figure.to_json())};\n"
        'Plotly.newPlot("per-rule-chart", fig.data, fig.layout, '
        f"{script_json(json.dumps(PLOTLY_CONFIG, sort_keys=True))});\n"
        "})();</script>\n"
    )


def render_index(
    *,
    traces: pl.DataFrame,
    findings: pl.DataFrame,
    rules: RuleSet,
    summary: dict[str, object],
    changes: pl.DataFrame | None = None,
    baseline: str | None = None,
    title: str = "trace-auditor batch",
) -> str:
    from auditor import __version__

    by_sev = summary.get("by_severity", {})
    assert isinstance(by_sev, dict)
    headline = (
        f"<strong>{_e(summary['findings'])} findings</strong> ("
        + ", ".join(f"{_e(by_sev.get(s, 0))} {s}" for s in SEVERITIES)
        + f") in {_e(summary['traces'])} traces: {_e(summary['ok'])} audited, "
        f"<span class='error-text'>{_e(summary['failed'])} failed</span>"
    )
    suppressed = summary.get("suppressed") or 0
    if suppressed:
        headline += f"; {_e(suppressed)} suppressed (suppressed.parquet)"
    unused = summary.get("unused_suppressions") or []
    if isinstance(unused, list) and unused:
        headline += f"; <span class='error-text'>{_e(len(unused))} unused suppression(s)</span>"
    base = summary.get("baseline")
    if isinstance(base, dict):
        headline += (
            f"; against the baseline: <strong>{_e(base['new'])} new</strong>, "
            f"{_e(base['fixed'])} fixed, {_e(base['persisting'])} persisting"
        )
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n",
            '<script type="text/javascript">',
            get_plotlyjs(),
            "</script>\n</head>\n<body>\n<header>\n",
            f"<h1>{_e(title)}</h1>\n<p class='headline'>{headline}</p>\n",
            '<nav><a href="#rules">Rules</a><a href="#adapters">Adapters</a>'
            '<a href="#chart">Chart</a>'
            + ('<a href="#baseline">Baseline</a>' if changes is not None else "")
            + '<a href="#traces">Traces</a></nav>\n',
            "</header>\n<main>\n",
            '<h2 id="rules">Findings per rule</h2>\n',
            _rules_table(findings, rules, changes),
            '\n<h2 id="adapters">Findings per adapter</h2>\n',
            _adapters_table(findings),
            '\n<h2 id="chart">Findings per rule across the traces</h2>\n',
            _chart(findings, traces, rules),
            _changes_section(changes, baseline),
            '\n<h2 id="traces">Traces, worst first</h2>\n',
            '<p class="muted">Each name links to the trace\'s own report '
            "(timeline, findings with evidence, rejected lines).</p>\n",
            _traces_table(traces),
            "\n</main>\n",
            f"<footer>trace-auditor {_e(__version__)}</footer>\n</body>\n</html>\n",
        ]
    )
