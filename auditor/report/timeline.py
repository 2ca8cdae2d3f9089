"""The interactive timeline of one trace: state periods, lifecycle events and findings.

One lane group per adapter (top to bottom: the adapter's name, its findings, its
lifecycle events, then one bar row per state). State periods come from evaluating the
rule pack's defines (``connected``, ``radio_on``, ``halted``) with the rule engine, so
the bars show exactly what the rules saw. Everything is computed with polars
expressions over the prepared lifecycle frame; Python only loops over adapters, states
and severities.

Text that comes from a trace or a rule file is untrusted: plotly interprets a subset of
HTML in hover text, tick labels and titles, so all of it goes through :func:`escape`
(vectorised as :func:`_escape_expr`) before it reaches the figure.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go
import polars as pl

from auditor.engine import GROUP, Compiler
from auditor.vocabulary import Kind

if TYPE_CHECKING:
    from auditor.audit import AuditResult

UNNAMED_ADAPTER = "(adapter not named)"
STATES: tuple[str, ...] = ("connected", "radio_on", "halted")
STATE_COLOURS = {"connected": "#2e7d32", "radio_on": "#7b1fa2", "halted": "#546e7a"}
OTHER_STATE_COLOURS = ("#00838f", "#8d6e63", "#c2185b", "#5d4037")
SEVERITY_COLOURS = {"error": "#d62728", "warning": "#ff7f0e", "info": "#1f77b4"}
SEVERITY_ORDER = ("error", "warning", "info")

# Kind families drawn as marker symbols: (family, legend name, symbol, colour).
FAMILIES: tuple[tuple[str, str, str, str], ...] = (
    ("init", "init / restart / reset", "triangle-up", "#00897b"),
    ("halt", "halt / pause / shutdown / removal", "triangle-down", "#37474f"),
    ("radio", "radio", "diamond", "#7b1fa2"),
    ("connection", "connection", "circle", "#2e7d32"),
    ("other", "other", "square", "#9e9e9e"),
)
_FAMILY_OF_PREFIX = {
    "init": "init",
    "restart": "init",
    "reset": "init",
    "halt": "halt",
    "pause": "halt",
    "shutdown": "halt",
    "surprise-removal": "halt",
    "radio": "radio",
    "connect": "connection",
    "assoc": "connection",
    "disconnect": "connection",
    "disassoc": "connection",
}

# Above this many markers in one trace the figure uses WebGL traces (Scattergl).
GL_THRESHOLD = 5000
BAR_WIDTH = 14
MESSAGE_LIMIT = 240
EVIDENCE_TEXT_LIMIT = 200
WRAP = 100  # characters per hover line
TIME_FORMAT = "%Y-%m-%d %H:%M:%S%.6f"  # naive UTC: plotly.js ignores offsets
HOVER_TIME_FORMAT = "%Y-%m-%d %H:%M:%S%.6f"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'

PERIOD_SCHEMA: dict[str, pl.DataType] = {
    "trace": pl.String(),
    "adapter": pl.String(),
    "state": pl.String(),
    "start": pl.Datetime("ns", "UTC"),
    "end": pl.Datetime("ns", "UTC"),
}


def escape(text: object) -> str:
    """Escape untrusted text for plotly (and HTML): ``&``, ``<`` and ``>``.

    Quotes are left alone: plotly's text renderer decodes ``&amp;``, ``&lt;``, ``&gt;``
    and numeric entities but shows ``&quot;`` literally, and without ``<`` no tag (and
    so no attribute) can start.
    """
    return html.escape(str(text), quote=False)


def _escape_expr(expr: pl.Expr) -> pl.Expr:
    """:func:`escape` as a vectorised polars expression."""
    return expr.str.replace_many(["&", "<", ">"], ["&amp;", "&lt;", "&gt;"])


def _truncate(expr: pl.Expr, limit: int) -> pl.Expr:
    return (
        pl.when(expr.str.len_chars() > limit).then(expr.str.slice(0, limit) + "…").otherwise(expr)
    )


def _hover_text(expr: pl.Expr, limit: int, indent: str = "") -> pl.Expr:
    """Untrusted text for a hover label: cut to ``limit``, wrapped, escaped.

    Plotly does not wrap hover labels, so a long trace line would make a box wider
    than the page. Line breaks are inserted before escaping (so no entity is split)
    and turned into ``<br>`` after it.
    """
    wrapped = (
        _truncate(expr.fill_null(""), limit)
        .str.replace_all(r"\r?\n", " ")
        # at the last space within WRAP characters, else after WRAP characters
        .str.replace_all(f"(.{{1,{WRAP}}})(?:\\s+|$)|(.{{{WRAP}}})", "${1}${2}\n")
        .str.strip_chars_end("\n")
    )
    return pl.lit(indent) + _escape_expr(wrapped).str.replace_all(
        "\n", "<br>" + indent, literal=True
    )


def adapter_label(adapter: str | None) -> str:
    """Display name of an adapter; ``None`` is the trace's single implicit adapter."""
    return UNNAMED_ADAPTER if adapter is None else adapter


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def state_label(state: str) -> str:
    return state.replace("_", " ")


def _time(frame: pl.DataFrame) -> pl.Expr:
    """Event time for drawing: the engine's sort key, so debugger-stamped events keep a slot."""
    if "__tsk" in frame.columns:
        return pl.coalesce(pl.col("ts"), pl.col("__tsk").cast(pl.Datetime("ns", "UTC")))
    return pl.col("ts")


def _is_prepared(frame: pl.DataFrame) -> bool:
    return frame.height > 0 and {"__i", "__g0", "__tsk", "kind", "trace", "adapter"} <= set(
        frame.columns
    )


# --- state periods -----------------------------------------------------------------------


def _periods(frame: pl.DataFrame, formulas: dict[str, Any]) -> pl.DataFrame:
    """Runs of consecutive true rows of each formula, per (trace, adapter).

    A period lasts from the time of its first row to the time of the row after its
    last one; a period still open at the end of the trace ends at the ``trace.end`` row.
    """
    if not formulas or not _is_prepared(frame):
        return pl.DataFrame(schema=PERIOD_SCHEMA)
    compiler = Compiler("tl")
    names = list(formulas)
    columns = {f"__state{k}": name for k, name in enumerate(names)}
    time = _time(frame)
    work = frame.select(
        "trace",
        "adapter",
        time.alias("__t"),
        time.shift(-1).over(GROUP).alias("__next"),
        *[compiler.expr(formulas[name]).alias(col) for col, name in columns.items()],
    )
    long = work.unpivot(
        index=["trace", "adapter", "__t", "__next"],
        on=list(columns),
        variable_name="__state",
        value_name="__on",
    )
    runs = (
        long.with_columns(
            pl.col("__on").rle_id().over(["trace", "adapter", "__state"]).alias("__run"),
            pl.coalesce("__next", "__t").alias("__next"),
        )
        .filter(pl.col("__on"))
        .group_by(["trace", "adapter", "__state", "__run"])
        .agg(pl.col("__t").min().alias("start"), pl.col("__next").max().alias("end"))
    )
    order = {col: k for k, col in enumerate(columns)}
    return (
        runs.with_columns(
            pl.col("__state").replace_strict(order, return_dtype=pl.Int64).alias("__order"),
            pl.col("__state").replace_strict(columns, return_dtype=pl.String).alias("state"),
        )
        .sort(["trace", "adapter", "__order", "start"], nulls_last=False)
        .select(list(PERIOD_SCHEMA))
        .cast(PERIOD_SCHEMA)  # type: ignore[arg-type]
    )


def _formulas(result: AuditResult, defines: Iterable[str], *, strict: bool) -> dict[str, Any]:
    known = result.rules.defines
    names = list(dict.fromkeys(defines))
    missing = [n for n in names if n not in known]
    if missing and strict:
        raise KeyError(
            f"no define named {', '.join(map(repr, missing))} in the rule pack "
            f"(known: {', '.join(sorted(known))})"
        )
    return {n: known[n] for n in names if n in known}


def state_periods(result: AuditResult, defines: Sequence[str] = STATES) -> pl.DataFrame:
    """Periods where each named define held: columns trace, adapter, state, start, end.

    ``state`` is the define's name. Sorted by trace, adapter (the implicit adapter,
    null, first), the order of ``defines``, start. Raises ``KeyError`` for a name the
    rule pack does not define.
    """
    return _periods(result.lifecycle, _formulas(result, defines, strict=True))


# --- the figure -------------------------------------------------------------------------


def _family() -> pl.Expr:
    prefix = pl.col("kind").str.split(".").list.first()
    return prefix.replace_strict(_FAMILY_OF_PREFIX, default="other", return_dtype=pl.String)


def _fmt_time(expr: pl.Expr, fmt: str = HOVER_TIME_FORMAT) -> pl.Expr:
    return expr.dt.strftime(fmt)


def _event_hover() -> pl.Expr:
    value = pl.when(pl.col("value").is_not_null()).then(
        pl.lit(" = ") + _escape_expr(pl.col("value"))
    )
    inferred = pl.when(pl.col("adapter_inferred").fill_null(False)).then(
        pl.lit(" (adapter inferred)")
    )
    return pl.concat_str(
        pl.lit("<b>"),
        _escape_expr(pl.col("kind")),
        pl.lit("</b>"),
        value.fill_null(""),
        pl.lit("<br>line "),
        pl.col("line").cast(pl.String).fill_null("-"),
        pl.lit(" · "),
        _fmt_time(pl.col("ts")).fill_null("(no timestamp)"),
        pl.lit(" UTC<br>adapter "),
        _escape_expr(pl.col("adapter").fill_null(UNNAMED_ADAPTER)),
        inferred.fill_null(""),
        pl.lit("<br>"),
        _hover_text(pl.col("message"), MESSAGE_LIMIT),
    )


def _evidence_hover() -> pl.Expr:
    item = pl.element().struct
    value = pl.when(item.field("value").is_not_null()).then(
        pl.lit("=") + _escape_expr(item.field("value"))
    )
    line = (
        pl.when(item.field("kind") == Kind.TRACE_END.value)
        .then(pl.lit("end of trace"))
        .otherwise(pl.lit("line ") + item.field("line").cast(pl.String).fill_null("-"))
    )
    text = _hover_text(item.field("text"), EVIDENCE_TEXT_LIMIT, indent="&nbsp;&nbsp;&nbsp;")
    return (
        pl.col("evidence")
        .list.eval(
            pl.concat_str(
                pl.lit("• "),
                line,
                pl.lit(" · "),
                _fmt_time(item.field("ts")).fill_null("(no timestamp)"),
                pl.lit(" · "),
                _escape_expr(item.field("kind").fill_null("")),
                value.fill_null(""),
                pl.lit(" ("),
                item.field("role").fill_null(""),
                pl.lit(")<br>"),
                text,
            )
        )
        .list.join("<br>")
    )


def _finding_hover() -> pl.Expr:
    return pl.concat_str(
        pl.lit("<b>"),
        _escape_expr(pl.col("rule")),
        pl.lit("</b> · "),
        _escape_expr(pl.col("severity")),
        pl.lit("<br>"),
        _hover_text(pl.col("message"), MESSAGE_LIMIT),
        pl.lit("<br>at line "),
        pl.col("line").cast(pl.String).fill_null("- (end of trace)"),
        pl.lit(" · "),
        _fmt_time(pl.col("ts")).fill_null("(no timestamp)"),
        pl.lit(" UTC<br>evidence:<br>"),
        _evidence_hover().fill_null(""),
    )


# Rows of an adapter's lane group, as offsets below its top (the row with its name).
# The findings row is taller: findings of different rules at the same instant (one
# halt.end often breaks two rules) are spread over it so that each keeps its own hover.
NAME_ROW = 0.0
FINDINGS_ROW = 1.35
FINDINGS_SPREAD = 0.4
EVENTS_ROW = 2.7
FIRST_STATE_ROW = 3.7
LANE_GAP = 1.2


def _lanes(adapters: list[str | None], n_states: int) -> tuple[dict[str | None, float], float]:
    """Top y of each adapter's lane group and the group stride (in row units)."""
    stride = FIRST_STATE_ROW + max(n_states - 1, 0) + LANE_GAP
    return {a: -k * stride for k, a in enumerate(adapters)}, stride


def _rule_offsets(result: AuditResult, rules: Iterable[str]) -> dict[str, float]:
    """A fixed place in the findings row for each rule, in rule pack order."""
    order = [r.id for r in result.rules.rules]
    order += sorted(set(rules) - set(order))
    if len(order) <= 1:
        return dict.fromkeys(order, 0.0)
    step = 2 * FINDINGS_SPREAD / (len(order) - 1)
    return {rule: FINDINGS_SPREAD - k * step for k, rule in enumerate(order)}


def _empty_figure(trace: str, note: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title={"text": escape(trace), "font": {"size": 13}},
        height=220,
        font={"family": FONT},
        template="plotly_white",
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": escape(note),
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": 14, "color": "#555"},
            }
        ],
    )
    return fig


def _with_gaps(starts: list[Any], ends: list[Any]) -> list[Any]:
    out: list[Any] = []
    for s, e in zip(starts, ends, strict=True):  # one entry per period, not per event
        out.extend((s, e, None))
    return out


def timeline_figure(result: AuditResult, trace: str) -> go.Figure:
    """The timeline of one trace (``trace`` as in ``TraceSummary.path``)."""
    lifecycle = result.lifecycle
    frame = (
        lifecycle.filter(pl.col("trace") == trace) if _is_prepared(lifecycle) else pl.DataFrame()
    )
    if frame.is_empty():
        return _empty_figure(trace, "no lifecycle events in this trace")

    formulas = _formulas(result, STATES, strict=False)
    periods = _periods(frame, formulas)
    adapters: list[str | None] = (
        frame.select(pl.col("adapter").unique().sort(nulls_last=False)).to_series().to_list()
    )
    base, stride = _lanes(adapters, len(formulas))
    lane_frame = pl.DataFrame(
        {"adapter": adapters, "__base": [base[a] for a in adapters]},
        schema={"adapter": pl.String(), "__base": pl.Float64()},
    )

    events = (
        frame.filter(pl.col("kind") != Kind.TRACE_END.value)
        .with_columns(
            _time(frame).alias("__t"),
            _family().alias("__family"),
            _event_hover().alias("__hover"),
        )
        .join(lane_frame, on="adapter", how="left", nulls_equal=True)
        .with_columns(
            _fmt_time(pl.col("__t"), TIME_FORMAT).alias("__x"),
            (pl.col("__base") - EVENTS_ROW).alias("__y"),
        )
    )
    times = frame.select("adapter", "seq", _time(frame).alias("__t"))
    findings = result.findings.filter(pl.col("trace") == trace)
    offsets = _rule_offsets(result, findings["rule"].unique().to_list())
    findings = (
        findings.join(times, on=["adapter", "seq"], how="left", nulls_equal=True)
        .join(lane_frame, on="adapter", how="left", nulls_equal=True)
        .with_columns(
            _fmt_time(pl.coalesce("ts", "__t"), TIME_FORMAT).alias("__x"),
            (
                pl.col("__base")
                - FINDINGS_ROW
                + pl.col("rule").replace_strict(offsets, return_dtype=pl.Float64)
            ).alias("__y"),
            _finding_hover().alias("__hover"),
        )
    )
    markers = events.height + findings.height
    scatter = go.Scattergl if markers > GL_THRESHOLD else go.Scatter

    data: list[Any] = []
    # State bars: one trace per state per adapter, segments separated by None.
    for k, state in enumerate(formulas):
        colour = STATE_COLOURS.get(state, OTHER_STATE_COLOURS[k % len(OTHER_STATE_COLOURS)])
        for n, adapter in enumerate(adapters):
            rows = periods.filter(
                (pl.col("state") == state)
                & (pl.col("adapter").is_null() if adapter is None else pl.col("adapter") == adapter)
            ).with_columns(
                _fmt_time(pl.col("start"), TIME_FORMAT).alias("__xs"),
                _fmt_time(pl.col("end"), TIME_FORMAT).alias("__xe"),
                pl.concat_str(
                    pl.lit(f"<b>{escape(state_label(state))}</b> · "),
                    pl.lit(escape(adapter_label(adapter))),
                    pl.lit("<br>from "),
                    _fmt_time(pl.col("start")),
                    pl.lit("<br>to "),
                    _fmt_time(pl.col("end")),
                    pl.lit(" UTC<br>"),
                    ((pl.col("end") - pl.col("start")).dt.total_microseconds() / 1e6)
                    .round(6)
                    .cast(pl.String),
                    pl.lit(" s"),
                ).alias("__hover"),
                (pl.col("end") == pl.col("start")).alias("__instant"),
            )
            y = base[adapter] - FIRST_STATE_ROW - k
            xs = _with_gaps(rows["__xs"].to_list(), rows["__xe"].to_list())
            hover = _with_gaps(rows["__hover"].to_list(), rows["__hover"].to_list())
            # A period that starts and ends at the same instant (typically at the end of
            # the trace) has no length: show it as a square at its start.
            sizes = [
                size
                for instant in rows["__instant"].to_list()
                for size in ((BAR_WIDTH if instant else 0), 0, 0)
            ]
            data.append(
                scatter(
                    x=xs,
                    y=[None if x is None else y for x in xs],
                    mode="lines+markers",
                    line={"color": colour, "width": BAR_WIDTH},
                    marker={"size": sizes, "color": colour, "symbol": "square"},
                    hovertext=hover,
                    hoverinfo="text",
                    name=state_label(state),
                    legendgroup=f"state:{state}",
                    showlegend=n == 0,
                    connectgaps=False,
                )
            )

    # Lifecycle events: one trace per kind family, all adapters.
    for family, name, symbol, colour in FAMILIES:
        rows = events.filter(pl.col("__family") == family)
        if rows.is_empty():
            continue
        data.append(
            scatter(
                x=rows["__x"].to_list(),
                y=rows["__y"].to_list(),
                mode="markers",
                marker={
                    "symbol": symbol,
                    "size": 10,
                    "color": colour,
                    "line": {"width": 1, "color": "#ffffff"},
                },
                hovertext=rows["__hover"].to_list(),
                hoverinfo="text",
                name=name,
                legendgroup=f"event:{family}",
            )
        )

    # Findings: one trace per severity, large markers.
    for severity in [*SEVERITY_ORDER, *sorted(set(findings["severity"]) - set(SEVERITY_ORDER))]:
        rows = findings.filter(pl.col("severity") == severity)
        if rows.is_empty():
            continue
        data.append(
            scatter(
                x=rows["__x"].to_list(),
                y=rows["__y"].to_list(),
                mode="markers",
                marker={
                    "symbol": "star",
                    "size": 18,
                    "color": SEVERITY_COLOURS.get(severity, "#616161"),
                    "line": {"width": 1, "color": "#ffffff"},
                },
                hovertext=rows["__hover"].to_list(),
                hoverinfo="text",
                name=f"{escape(severity)} finding",
                legendgroup=f"finding:{escape(severity)}",
            )
        )

    tickvals: list[float] = []
    ticktext: list[str] = []
    shapes: list[dict[str, Any]] = []
    for n, adapter in enumerate(adapters):
        top = base[adapter]
        rows_of_lane = [
            (NAME_ROW, f"<b>{escape(_short(adapter_label(adapter)))}</b>"),
            (FINDINGS_ROW, "findings"),
            (EVENTS_ROW, "events"),
            *[(FIRST_STATE_ROW + k, state_label(s)) for k, s in enumerate(formulas)],
        ]
        for row, label in rows_of_lane:
            tickvals.append(top - row)
            ticktext.append(label)
        shapes.append(
            {
                "type": "rect",
                "xref": "paper",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": top + 0.5,
                "y1": top - rows_of_lane[-1][0] - 0.6,
                "fillcolor": "rgba(38, 50, 56, 0.045)" if n % 2 == 0 else "rgba(0, 0, 0, 0)",
                "line": {"width": 0},
                "layer": "below",
            }
        )
    bottom = base[adapters[-1]] - rows_of_lane[-1][0] - 0.6
    fig = go.Figure(data=data)
    fig.update_layout(
        title={"text": escape(trace), "font": {"size": 13}, "x": 0.01},
        template="plotly_white",
        font={"family": FONT, "size": 12},
        height=int(max(150 + 24 * stride * len(adapters), 400)),
        margin={"l": 150, "r": 20, "t": 50, "b": 40},
        hovermode="closest",
        hoverlabel={"align": "left", "font": {"family": FONT, "size": 12}},
        legend={
            "orientation": "v",
            "yanchor": "top",
            "y": 1,
            "x": 1.01,
            "font": {"size": 11},
            "tracegroupgap": 2,
        },
        shapes=shapes,
        xaxis={
            "type": "date",
            "title": {"text": "time (UTC)"},
            "rangeslider": {"visible": True, "thickness": 0.06},
            "showgrid": True,
        },
        yaxis={
            "tickmode": "array",
            "tickvals": tickvals,
            "ticktext": ticktext,
            "range": [bottom, 0.6],
            "fixedrange": True,
            "automargin": True,
            "showgrid": False,
            "zeroline": False,
        },
    )
    return fig
