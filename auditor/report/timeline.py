"""The interactive timeline of one trace: state periods, lifecycle events and findings.

One lane group per adapter (top to bottom: the adapter's name, its findings, its
lifecycle events, its data-path density strip when the trace has ``send``/``receive``
events, then one bar row per state). State periods come from evaluating the rule pack's
defines (``connected``, ``radio_on``, ``halted``) with the rule engine, so the bars show
exactly what the rules saw; the hardware radio switch (``radio.hw``) gets its own bar
row when the trace reports it. Everything is computed with polars expressions over the
prepared lifecycle frame; Python only loops over adapters, states and severities.

The figure's size is bounded whatever the trace size (see :data:`MARKER_BUDGET`):

- lifecycle events and findings: at most ``lane_cap`` markers per lane (one lane per
  adapter and kind family, or adapter and severity), where ``lane_cap`` is
  :data:`LANE_MARKERS` or less so that a trace never draws more than
  :data:`MARKER_BUDGET` markers; a fuller lane is cut into ``lane_cap`` equal time bins
  and each bin is drawn as one marker (its first event) whose hover says how many
  events it stands for;
- state bars: at most :data:`BAR_BUDGET` bars per state lane; where there are more,
  periods separated by less than 1/BAR_BUDGET of the trace's span are drawn as one bar;
- data path (``send``/``receive``): never one marker per event, a strip of
  :data:`DENSITY_BINS` binned counts per adapter.

Markers are drawn with WebGL (``Scattergl``) when more than :data:`GL_THRESHOLD` of them
remain after decimation.

Text that comes from a trace or a rule file is untrusted: plotly interprets a subset of
HTML in hover text, tick labels and titles, so all of it goes through :func:`escape`
(vectorised as :func:`_escape_expr`) before it reaches the figure.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go
import polars as pl

from auditor.engine import GROUP, Compiler
from auditor.report.atomic import atomic_path
from auditor.rulelang.syntax import parse_formula
from auditor.ruleset import Resolver
from auditor.vocabulary import Kind

if TYPE_CHECKING:
    from auditor.pipeline import AuditResult

UNNAMED_ADAPTER = "(adapter not named)"
STATES: tuple[str, ...] = ("connected", "radio_on", "halted")
# Bars the timeline draws beyond the rule pack's defines, when the trace has the kind.
EXTRA_STATES: dict[str, tuple[str, str]] = {
    # name: (formula, the kind that must occur in the trace)
    "radio_hw": ("since(radio.hw == 'on', !(radio.hw == 'off'))", Kind.RADIO_HW.value),
    # The NDIS adapter states of "Adapter States of a Miniport Driver". Paused and Running
    # are only drawn when the trace shows restarts: without MiniportRestart events a
    # running adapter would be drawn as paused.
    "ndis_initializing": ("since(init.begin, !(init.end | halt.begin))", Kind.INIT_BEGIN.value),
    "ndis_paused": (
        "since(init.end == 'ok' | pause.end | restart.end == 'fail', "
        "!(restart.begin | halt.begin | shutdown.begin))",
        Kind.RESTART_END.value,
    ),
    "ndis_restarting": ("since(restart.begin, !restart.end)", Kind.RESTART_BEGIN.value),
    "ndis_running": (
        "since(restart.end == 'ok', !(pause.begin | halt.begin | shutdown.begin))",
        Kind.RESTART_END.value,
    ),
    "ndis_pausing": ("since(pause.begin, !pause.end)", Kind.PAUSE_BEGIN.value),
}
TIMELINE_STATES: tuple[str, ...] = (
    "connected",
    "radio_on",
    "radio_hw",
    "ndis_initializing",
    "ndis_paused",
    "ndis_restarting",
    "ndis_running",
    "ndis_pausing",
    "halted",
)
STATE_LABELS = {
    "radio_on": "radio on",
    "radio_hw": "radio hw on",
    "ndis_initializing": "NDIS Initializing",
    "ndis_paused": "NDIS Paused",
    "ndis_restarting": "NDIS Restarting",
    "ndis_running": "NDIS Running",
    "ndis_pausing": "NDIS Pausing",
    "halted": "NDIS Halted",
}
STATE_COLOURS = {
    "connected": "#2e7d32",
    "radio_on": "#7b1fa2",
    "radio_hw": "#c2185b",
    "ndis_initializing": "#f9a825",
    "ndis_paused": "#8d6e63",
    "ndis_restarting": "#ffb300",
    "ndis_running": "#1565c0",
    "ndis_pausing": "#6d4c41",
    "halted": "#546e7a",
}
DATA_KINDS: tuple[str, ...] = (Kind.SEND.value, Kind.RECEIVE.value)
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

# Size bounds (see the module docstring); the README's "Reports" paragraph states them.
MARKER_BUDGET = 6000  # markers per trace (events and findings), whatever the trace size
LANE_MARKERS = 1000  # markers per lane at most
MIN_LANE_MARKERS = 50  # per lane at least, however many adapters share the budget
BAR_BUDGET = 1000  # bars per state lane
DENSITY_BINS = 400  # data-path bins per adapter
# Above this many markers (after decimation) the figure uses WebGL traces (Scattergl).
GL_THRESHOLD = 2000
BAR_WIDTH = 14
MESSAGE_LIMIT = 240
EVIDENCE_TEXT_LIMIT = 200
EVIDENCE_HOVER_ITEMS = 6  # evidence items listed in a finding's hover
WINDOW_PAD_NS = 100_000_000  # a finding's zoom window: its evidence, padded by >= 100 ms
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
    return STATE_LABELS.get(state, state.replace("_", " "))


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
    Each state is one lazy pass (no unpivot), so ten million rows stay ten million.
    """
    if not formulas or not _is_prepared(frame):
        return pl.DataFrame(schema=PERIOD_SCHEMA)
    compiler = Compiler("tl")
    time = _time(frame)
    states = [
        compiler.expr(formula).alias(f"__state{k}") for k, formula in enumerate(formulas.values())
    ]
    work = compiler.stage(frame.lazy()).select(
        "trace",
        "adapter",
        time.alias("__t"),
        pl.coalesce(time.shift(-1).over(GROUP), time).alias("__next"),
        *states,
    )
    parts = [
        work.select("trace", "adapter", "__t", "__next", pl.col(f"__state{k}").alias("__on"))
        .with_columns(pl.col("__on").rle_id().over(GROUP).alias("__run"))
        .filter(pl.col("__on"))
        .group_by([*GROUP, "__run"])
        .agg(pl.col("__t").min().alias("start"), pl.col("__next").max().alias("end"))
        .with_columns(pl.lit(name).alias("state"), pl.lit(k, pl.Int64).alias("__order"))
        for k, name in enumerate(formulas)
    ]
    return (
        pl.concat(parts)
        .sort(["trace", "adapter", "__order", "start"], nulls_last=False)
        .select(list(PERIOD_SCHEMA))
        .cast(PERIOD_SCHEMA)  # type: ignore[arg-type]
        .collect()
    )


def _formulas(
    result: AuditResult, defines: Iterable[str], *, strict: bool, frame: pl.DataFrame | None = None
) -> dict[str, Any]:
    """Formulas of the named defines, in order; the timeline's own extra states where the
    rule pack has no define of that name (and, given ``frame``, only if its kind occurs)."""
    known = result.rules.defines
    names = list(dict.fromkeys(defines))
    out: dict[str, Any] = {}
    missing = []
    for name in names:
        if name in known:
            out[name] = known[name]
        elif name in EXTRA_STATES:
            formula, kind = EXTRA_STATES[name]
            if frame is None or (frame.height and (frame["kind"] == kind).any()):
                kinds = frozenset(k.value for k in Kind)
                out[name] = Resolver({}, known, kinds).resolve(parse_formula(formula))
        else:
            missing.append(name)
    if missing and strict:
        raise KeyError(
            f"no define named {', '.join(map(repr, missing))} in the rule pack "
            f"(known: {', '.join(sorted([*known, *EXTRA_STATES]))})"
        )
    return out


def state_periods(result: AuditResult, defines: Sequence[str] = STATES) -> pl.DataFrame:
    """Periods where each named define held: columns trace, adapter, state, start, end.

    ``state`` is the define's name (or ``radio_hw``, the hardware radio switch, which
    the timeline adds). Sorted by trace, adapter (the implicit adapter, null, first),
    the order of ``defines``, start. Raises ``KeyError`` for a name the rule pack does
    not define.
    """
    return _periods(result.lifecycle, _formulas(result, defines, strict=True))


def _merge_periods(periods: pl.DataFrame, span_ns: int, budget: int | None = None) -> pl.DataFrame:
    """At most about ``budget`` bars per (adapter, state): in a fuller lane, periods closer
    than span/budget are drawn as one bar (column ``__merged``: how many it stands for)."""
    budget = budget or BAR_BUDGET
    lane = ["adapter", "state"]
    gap = (pl.col("start") - pl.col("end").shift(1).over(lane)).dt.total_nanoseconds()
    threshold = max(span_ns // budget, 1)
    new_bar = (pl.len().over(lane) <= budget) | gap.is_null() | (gap > threshold)
    return (
        periods.with_columns(new_bar.cast(pl.Int64).cum_sum().over(lane).alias("__bar"))
        .group_by([*lane, "__bar"], maintain_order=True)
        .agg(
            pl.col("start").min(),
            pl.col("end").max(),
            pl.len().alias("__merged"),
            (pl.col("end") - pl.col("start")).dt.total_nanoseconds().sum().alias("__held"),
        )
        .drop("__bar")
    )


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
    listed = (
        pl.col("evidence")
        .list.head(EVIDENCE_HOVER_ITEMS)
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
    more = pl.col("evidence").list.len() - EVIDENCE_HOVER_ITEMS
    return listed + pl.when(more > 0).then(
        pl.lit("<br>… ") + more.cast(pl.String) + pl.lit(" more in the report")
    ).otherwise(pl.lit(""))


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
        pl.lit("<br><i>click to zoom to the evidence</i>"),
    )


def _aggregate_note(noun: str) -> pl.Expr:
    """The first line of a marker's hover when it stands for several events or findings."""
    return (
        pl.when(pl.col("__n") > 1)
        .then(
            pl.concat_str(
                pl.lit("<i>"),
                pl.col("__n").cast(pl.String),
                pl.lit(f" {noun} from "),
                _fmt_time(pl.col("__t")),
                pl.lit(" to "),
                _fmt_time(pl.col("__t_last")),
                pl.lit(" drawn as this one marker; the first of them:</i><br>"),
            )
        )
        .otherwise(pl.lit(""))
    )


def _lane_cap(lanes: int) -> int:
    """Markers per lane so that a trace stays within MARKER_BUDGET."""
    if lanes == 0:
        return LANE_MARKERS
    return max(MIN_LANE_MARKERS, min(LANE_MARKERS, MARKER_BUDGET // lanes))


def _decimate(
    rows: pl.DataFrame, lane: list[str], t0: int, span_ns: int, cap: int, extra: list[pl.Expr]
) -> pl.DataFrame:
    """At most ``cap`` rows per lane: a fuller lane is cut into ``cap`` equal time bins of
    the trace's span and keeps the first row of each, with ``__n`` (rows it stands for),
    ``__t_last`` (the time of the bin's last row) and the ``extra`` aggregations."""
    ns = pl.col("__t").cast(pl.Int64).fill_null(t0) - t0
    bin_of = (ns * cap // span_ns).clip(0, cap - 1)
    own = pl.int_range(pl.len()).over(lane) + cap  # a small lane: one bin per row
    return (
        rows.sort([*lane, "__t", "seq"], nulls_last=False)
        .with_columns(pl.when(pl.len().over(lane) > cap).then(bin_of).otherwise(own).alias("__bin"))
        .group_by([*lane, "__bin"], maintain_order=True)
        .agg(
            pl.all().exclude("__bin", *[e.meta.output_name() for e in extra]).first(),
            pl.len().alias("__n"),
            pl.col("__t").last().alias("__t_last"),
            *extra,
        )
        .drop("__bin")
    )


def _window() -> list[pl.Expr]:
    """Each finding's zoom window: its time and its evidence's, padded (ns since epoch)."""
    ev_ts = pl.col("evidence").list.eval(pl.element().struct.field("ts").cast(pl.Int64))
    t = pl.col("__t").cast(pl.Int64)
    lo = pl.min_horizontal(t, ev_ts.list.min())
    hi = pl.max_horizontal(t, ev_ts.list.max())
    pad = pl.max_horizontal((hi - lo) // 10, pl.lit(WINDOW_PAD_NS))
    return [(lo - pad).alias("__w0"), (hi + pad).alias("__w1")]


def _ns_to_x(expr: pl.Expr) -> pl.Expr:
    return _fmt_time(expr.cast(pl.Datetime("ns", "UTC")), TIME_FORMAT)


# Rows of an adapter's lane group, as offsets below its top (the row with its name).
# The findings row is taller: findings of different rules at the same instant (one
# halt.end often breaks two rules) are spread over it so that each keeps its own hover.
NAME_ROW = 0.0
FINDINGS_ROW = 1.35
FINDINGS_SPREAD = 0.4
EVENTS_ROW = 2.7
DATA_ROW = 3.7  # the data-path density strip, when the trace has data-path events
LANE_GAP = 1.2


def _first_state_row(has_data: bool) -> float:
    return DATA_ROW + (1.0 if has_data else 0.0)


def _lanes(
    adapters: list[str | None], n_states: int, has_data: bool = False
) -> tuple[dict[str | None, float], float]:
    """Top y of each adapter's lane group and the group stride (in row units)."""
    stride = _first_state_row(has_data) + max(n_states - 1, 0) + LANE_GAP
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


def _adapter_is(adapter: str | None) -> pl.Expr:
    return pl.col("adapter").is_null() if adapter is None else pl.col("adapter") == adapter


def _density_traces(
    data: pl.DataFrame,
    adapters: list[str | None],
    base: dict[str | None, float],
    t0: int,
    span_ns: int,
) -> list[go.Heatmap]:
    """One heatmap row per adapter: data-path events counted in DENSITY_BINS time bins."""
    bins = DENSITY_BINS
    ns = pl.col("__t").cast(pl.Int64).fill_null(t0) - t0
    counts = (
        data.group_by("adapter", (ns * bins // span_ns).clip(0, bins - 1).alias("__bin"))
        .agg(
            (pl.col("kind") == Kind.SEND.value).sum().alias("send"),
            (pl.col("kind") == Kind.RECEIVE.value).sum().alias("receive"),
        )
        .with_columns((pl.col("send") + pl.col("receive")).alias("total"))
    )
    grid = pl.DataFrame({"__bin": pl.int_range(0, bins, eager=True)}).with_columns(
        (pl.lit(t0) + pl.col("__bin") * span_ns // bins).alias("__b0"),
        (pl.lit(t0) + (pl.col("__bin") + 1) * span_ns // bins).alias("__b1"),
    )
    grid = grid.with_columns(
        _ns_to_x((pl.col("__b0") + pl.col("__b1")) // 2).alias("__x"),
        _fmt_time(pl.col("__b0").cast(pl.Datetime("ns", "UTC"))).alias("__from"),
        _fmt_time(pl.col("__b1").cast(pl.Datetime("ns", "UTC"))).alias("__to"),
    )
    x = grid["__x"].to_list()
    zmax = max(int(counts["total"].max() or 1), 1)  # type: ignore[arg-type]
    out = []
    for n, adapter in enumerate(adapters):
        rows = grid.join(
            counts.filter(_adapter_is(adapter)).drop("adapter"), on="__bin", how="left"
        ).with_columns(
            pl.when(pl.col("total") > 0)
            .then(
                pl.concat_str(
                    pl.lit(f"<b>data path</b> · {escape(adapter_label(adapter))}<br>"),
                    pl.col("__from"),
                    pl.lit(" to<br>"),
                    pl.col("__to"),
                    pl.lit(" UTC<br>send "),
                    pl.col("send").cast(pl.String),
                    pl.lit(" · receive "),
                    pl.col("receive").cast(pl.String),
                )
            )
            .otherwise(pl.lit(""))
            .alias("__hover"),
            pl.when(pl.col("total") > 0).then(pl.col("total")).alias("total"),
        )
        out.append(
            go.Heatmap(
                x=x,
                y=[base[adapter] - DATA_ROW],
                z=[rows["total"].to_list()],
                hovertext=[rows["__hover"].to_list()],
                hoverinfo="text",
                hoverongaps=False,
                zmin=0,
                zmax=zmax,
                colorscale=[[0.0, "#bbdefb"], [1.0, "#0d47a1"]],
                showscale=False,
                name="data path (send / receive per time bin)",
                legendgroup="datapath",
                showlegend=n == 0,
            )
        )
    return out


def timeline_figure(result: AuditResult, trace: str) -> go.Figure:
    """The timeline of one trace (``trace`` as in ``TraceSummary.path``)."""
    lifecycle = result.lifecycle
    frame = (
        lifecycle.filter(pl.col("trace") == trace) if _is_prepared(lifecycle) else pl.DataFrame()
    )
    if frame.is_empty():
        return _empty_figure(trace, "no lifecycle events in this trace")

    formulas = _formulas(result, TIMELINE_STATES, strict=False, frame=frame)
    periods = _periods(frame, formulas)
    frame = frame.with_columns(_time(frame).alias("__t"))
    bounds = frame.select(
        pl.col("__t").cast(pl.Int64).min().alias("t0"),
        pl.col("__t").cast(pl.Int64).max().alias("t1"),
    ).row(0, named=True)
    t0 = bounds["t0"] or 0
    span_ns = max((bounds["t1"] or 0) - t0, 1)
    periods = _merge_periods(periods, span_ns)
    adapters: list[str | None] = (
        frame.select(pl.col("adapter").unique().sort(nulls_last=False)).to_series().to_list()
    )
    is_data = pl.col("kind").is_in(DATA_KINDS)
    data = frame.filter(is_data).select("adapter", "kind", "__t")
    has_data = data.height > 0
    first_state = _first_state_row(has_data)
    base, stride = _lanes(adapters, len(formulas), has_data)
    lane_frame = pl.DataFrame(
        {"adapter": adapters, "__base": [base[a] for a in adapters]},
        schema={"adapter": pl.String(), "__base": pl.Float64()},
    )

    events = frame.filter(~is_data & (pl.col("kind") != Kind.TRACE_END.value)).with_columns(
        _family().alias("__family")
    )
    times = frame.select("adapter", "seq", "__t")
    findings = result.findings.filter(pl.col("trace") == trace)
    offsets = _rule_offsets(result, findings["rule"].unique().to_list())
    findings = findings.join(times, on=["adapter", "seq"], how="left", nulls_equal=True)
    findings = findings.with_columns(pl.coalesce("ts", "__t").alias("__t")).with_columns(_window())

    lanes = (events.select("adapter", "__family").n_unique() if events.height else 0) + (
        findings.select("adapter", "severity").n_unique() if findings.height else 0
    )
    cap = _lane_cap(lanes)
    events = (
        _decimate(events, ["adapter", "__family"], t0, span_ns, cap, [])
        .join(lane_frame, on="adapter", how="left", nulls_equal=True)
        .with_columns(
            _fmt_time(pl.col("__t"), TIME_FORMAT).alias("__x"),
            (pl.col("__base") - EVENTS_ROW).alias("__y"),
            (_aggregate_note("events") + _event_hover()).alias("__hover"),
        )
    )
    findings = (
        _decimate(
            findings,
            ["adapter", "severity"],
            t0,
            span_ns,
            cap,
            [pl.col("__w0").min().alias("__w0"), pl.col("__w1").max().alias("__w1")],
        )
        .join(lane_frame, on="adapter", how="left", nulls_equal=True)
        .with_columns(
            _fmt_time(pl.col("__t"), TIME_FORMAT).alias("__x"),
            (
                pl.col("__base")
                - FINDINGS_ROW
                + pl.col("rule").replace_strict(offsets, return_dtype=pl.Float64)
            ).alias("__y"),
            (_aggregate_note("findings") + _finding_hover()).alias("__hover"),
            _ns_to_x(pl.col("__w0")).alias("__x0"),
            _ns_to_x(pl.col("__w1")).alias("__x1"),
        )
    )
    markers = events.height + findings.height
    scatter = go.Scattergl if markers > GL_THRESHOLD else go.Scatter

    data_traces: list[Any] = []
    # State bars: one trace per state per adapter, segments separated by None.
    for k, state in enumerate(formulas):
        colour = STATE_COLOURS.get(state, OTHER_STATE_COLOURS[k % len(OTHER_STATE_COLOURS)])
        for n, adapter in enumerate(adapters):
            rows = periods.filter((pl.col("state") == state) & _adapter_is(adapter)).with_columns(
                _fmt_time(pl.col("start"), TIME_FORMAT).alias("__xs"),
                _fmt_time(pl.col("end"), TIME_FORMAT).alias("__xe"),
                pl.concat_str(
                    pl.lit(f"<b>{escape(state_label(state))}</b> · "),
                    pl.lit(escape(adapter_label(adapter))),
                    pl.when(pl.col("__merged") > 1)
                    .then(
                        pl.lit("<br><i>")
                        + pl.col("__merged").cast(pl.String)
                        + pl.lit(" periods close together, drawn as one pale bar; held ")
                        + (
                            100
                            * pl.col("__held")
                            / (pl.col("end") - pl.col("start")).dt.total_nanoseconds().clip(1)
                        )
                        .round(1)
                        .cast(pl.String)
                        + pl.lit("% of it</i>")
                    )
                    .otherwise(pl.lit("")),
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
            y = base[adapter] - first_state - k
            # Bars standing for several close periods are drawn pale, in a trace of their own.
            for dense in (False, True):
                part = rows.filter((pl.col("__merged") > 1) == dense)
                if dense and part.is_empty():
                    continue
                xs = _with_gaps(part["__xs"].to_list(), part["__xe"].to_list())
                hover = _with_gaps(part["__hover"].to_list(), part["__hover"].to_list())
                # A period that starts and ends at the same instant (typically at the end
                # of the trace) has no length: show it as a square at its start.
                sizes = [
                    size
                    for instant in part["__instant"].to_list()
                    for size in ((BAR_WIDTH if instant else 0), 0, 0)
                ]
                data_traces.append(
                    scatter(
                        x=xs,
                        y=[None if x is None else y for x in xs],
                        mode="lines+markers",
                        line={"color": colour, "width": BAR_WIDTH},
                        marker={"size": sizes, "color": colour, "symbol": "square"},
                        opacity=0.45 if dense else 1.0,
                        hovertext=hover,
                        hoverinfo="text",
                        name=state_label(state),
                        legendgroup=f"state:{state}",
                        showlegend=n == 0 and not dense,
                        connectgaps=False,
                    )
                )

    # Data path: a density strip per adapter, never a marker per event.
    if has_data:
        data_traces.extend(_density_traces(data, adapters, base, t0, span_ns))

    # Lifecycle events: one trace per kind family, all adapters.
    for family, name, symbol, colour in FAMILIES:
        rows = events.filter(pl.col("__family") == family)
        if rows.is_empty():
            continue
        data_traces.append(
            scatter(
                x=rows["__x"].to_list(),
                y=rows["__y"].to_list(),
                mode="markers",
                marker={
                    "symbol": symbol,
                    "size": rows.select(pl.when(pl.col("__n") > 1).then(13).otherwise(10))
                    .to_series()
                    .to_list(),
                    "color": colour,
                    "line": {"width": 1, "color": "#ffffff"},
                },
                hovertext=rows["__hover"].to_list(),
                hoverinfo="text",
                name=name,
                legendgroup=f"event:{family}",
            )
        )

    # Findings: one trace per severity, large markers; customdata holds the zoom window
    # (the page's click handler sets the x range to it).
    for severity in [*SEVERITY_ORDER, *sorted(set(findings["severity"]) - set(SEVERITY_ORDER))]:
        rows = findings.filter(pl.col("severity") == severity)
        if rows.is_empty():
            continue
        data_traces.append(
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
                customdata=[list(w) for w in zip(rows["__x0"], rows["__x1"], strict=True)],
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
            *([(DATA_ROW, "data path")] if has_data else []),
            *[(first_state + k, state_label(s)) for k, s in enumerate(formulas)],
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
    fig = go.Figure(data=data_traces)
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


# --- static export -----------------------------------------------------------------------

PNG_WIDTH = 1600


class PngUnavailable(RuntimeError):
    """PNG export cannot run here (no kaleido, or no browser for it); the message says why."""


def write_png(figure: go.Figure, path: str | os.PathLike[str], *, width: int = PNG_WIDTH) -> None:
    """Write ``figure`` as a PNG through kaleido, which drives a local Chrome or Chromium.

    Raises :class:`PngUnavailable` with what to install when kaleido or a browser is
    missing. The file is written atomically (no half-written PNG is left behind).
    """
    try:
        import kaleido  # noqa: F401
    except ImportError:
        raise PngUnavailable(
            "PNG export needs kaleido: pip install 'trace-auditor[png]' "
            "(and a Chrome or Chromium browser)"
        ) from None
    height = int(figure.layout.height or 600)
    try:
        with atomic_path(path) as tmp:
            figure.write_image(str(tmp), format="png", width=width, height=height)
    except (RuntimeError, OSError, ValueError) as exc:
        cause = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise PngUnavailable(
            "PNG export needs a Chrome or Chromium browser that kaleido can start "
            "(Debian/Ubuntu: apt-get install chromium; or set BROWSER_PATH to the "
            f"browser's executable): {cause}"
        ) from exc
