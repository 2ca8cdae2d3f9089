"""The timeline: state periods from the rule pack's defines, and the plotly figure."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from auditor.report import timeline
from auditor.report.timeline import (
    PERIOD_SCHEMA,
    SEVERITY_COLOURS,
    UNNAMED_ADAPTER,
    state_periods,
    timeline_figure,
)


def at(clock: str, day: int = 6) -> datetime:
    """A UTC time on 2025-06-<day>, e.g. at("12:00:03.100")."""
    return datetime.fromisoformat(f"2025-06-{day:02d}T{clock}").replace(tzinfo=UTC)


def periods_frame(trace: str, rows: list[tuple[str | None, str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(trace, adapter, state, at(start), at(end)) for adapter, state, start, end in rows],
        schema=PERIOD_SCHEMA,
        orient="row",
    )


def finding_traces(fig):
    return [t for t in fig.data if (t.legendgroup or "").startswith("finding:")]


def state_trace(fig, state: str, adapter_index: int = 0):
    return [t for t in fig.data if t.legendgroup == f"state:{state}"][adapter_index]


# --- state_periods ------------------------------------------------------------------------


def test_state_periods_of_the_demo_trace(demo):
    trace = demo.traces[0].path
    expected = periods_frame(
        trace,
        [
            # connected from the association (line 4) until MiniportHaltEx returned
            ("A1", "connected", "12:00:02", "12:00:03.100"),
            # radio on from line 3 to the radio-off of line 7, and again from line 8 to the
            # end of the trace (which is that same instant)
            ("A1", "radio_on", "12:00:01", "12:00:04"),
            ("A1", "radio_on", "12:00:05", "12:00:05"),
            # halted from the halt's begin (line 5) on: no MiniportInitializeEx follows
            ("A1", "halted", "12:00:03", "12:00:05"),
        ],
    )
    assert_frame_equal(state_periods(demo), expected)


def test_state_periods_per_adapter_and_for_the_implicit_adapter(audit_texts, samples):
    result = audit_texts({"two.txt": samples.two_adapters, "unnamed.txt": samples.unnamed})
    periods = state_periods(result)
    two, unnamed = (t.path for t in result.traces)

    assert_frame_equal(
        periods.filter(pl.col("trace") == two, pl.col("adapter") == "B2"),
        periods_frame(
            two,
            [
                ("B2", "connected", "12:00:02.200", "12:00:02.500"),
                ("B2", "radio_on", "12:00:01.500", "12:00:03.300"),
                ("B2", "halted", "12:00:03.200", "12:00:05"),
            ],
        ),
    )
    # A trace naming no adapter is one timeline with adapter null, and never radio on.
    assert_frame_equal(
        periods.filter(pl.col("trace") == unnamed),
        periods_frame(
            unnamed,
            [
                (None, "connected", "13:00:02", "13:00:03.100"),
                (None, "halted", "13:00:03", "13:00:03.100"),
            ],
        ),
    )


def test_state_periods_of_chosen_defines_and_unknown_names(demo):
    periods = state_periods(demo, defines=("halted",))
    assert periods.get_column("state").to_list() == ["halted"]
    with pytest.raises(KeyError, match="no define named 'sleeping'"):
        state_periods(demo, defines=("halted", "sleeping"))


def test_state_periods_of_an_empty_result(audit_texts, tmp_path):
    result = audit_texts({})
    assert state_periods(result).schema == pl.Schema(PERIOD_SCHEMA)
    assert state_periods(result).is_empty()


# --- the figure ---------------------------------------------------------------------------


def test_one_finding_marker_per_finding_with_rule_and_evidence_in_its_hover(demo):
    fig = timeline_figure(demo, demo.traces[0].path)
    markers = [
        (t.marker.color, x, hover)
        for t in finding_traces(fig)
        for x, hover in zip(t.x, t.hovertext, strict=True)
    ]
    assert len(markers) == demo.findings.height == 3

    for finding in demo.findings.iter_rows(named=True):
        (colour, x, hover) = next(m for m in markers if finding["rule"] in m[2])
        assert colour == SEVERITY_COLOURS[finding["severity"]]
        assert x == finding["ts"].strftime("%Y-%m-%d %H:%M:%S.%f")
        assert finding["message"] in hover.replace("<br>", " ")
        for item in finding["evidence"]:
            assert f"line {item['line']} · " in hover


def test_state_bars_and_event_markers(demo):
    fig = timeline_figure(demo, demo.traces[0].path)

    connected = state_trace(fig, "connected")
    assert list(connected.x) == ["2025-06-06 12:00:02.000000", "2025-06-06 12:00:03.100000", None]
    assert connected.mode == "lines+markers"
    assert connected.line.width >= 10
    radio = state_trace(fig, "radio_on")
    assert list(radio.x) == [
        "2025-06-06 12:00:01.000000",
        "2025-06-06 12:00:04.000000",
        None,
        "2025-06-06 12:00:05.000000",
        "2025-06-06 12:00:05.000000",
        None,
    ]
    # the instant period at the end of the trace still shows, as a square at its start
    sizes = list(radio.marker.size)
    assert sizes[3] > 0 and sizes[0] == 0

    events = [t for t in fig.data if (t.legendgroup or "").startswith("event:")]
    assert sum(len(t.x) for t in events) == 8  # every lifecycle event, not the trace.end row
    symbols = {t.legendgroup: t.marker.symbol for t in events}
    assert len(set(symbols.values())) == len(symbols) == 4  # init, halt, radio, connection
    radio_events = next(t for t in events if t.legendgroup == "event:radio")
    assert radio_events.hovertext[0].startswith("<b>radio</b> = on<br>line 3 · ")
    assert "Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1" in radio_events.hovertext[0]

    assert fig.layout.xaxis.type == "date"
    assert fig.layout.xaxis.rangeslider.visible is True


def test_one_lane_group_per_adapter(audit_texts, samples):
    result = audit_texts({"two.txt": samples.two_adapters, "unnamed.txt": samples.unnamed})
    two, unnamed = (t.path for t in result.traces)

    fig = timeline_figure(result, two)
    ticks = list(fig.layout.yaxis.ticktext)
    assert ticks.count("<b>A1</b>") == ticks.count("<b>B2</b>") == 1
    assert ticks.count("connected") == ticks.count("radio on") == ticks.count("NDIS Halted") == 2
    # one bar trace per state per adapter, each legend entry shown once
    bars = [t for t in fig.data if (t.legendgroup or "").startswith("state:")]
    states = {t.legendgroup for t in bars}
    assert {"state:connected", "state:radio_on", "state:halted"} <= states
    assert len(bars) == 2 * len(states)
    assert sum(bool(t.showlegend) for t in bars) == len(states)
    # B2's bars sit below A1's
    assert max(y for y in state_trace(fig, "halted", 1).y if y is not None) < min(
        y for y in state_trace(fig, "connected", 0).y if y is not None
    )

    fig = timeline_figure(result, unnamed)
    assert f"<b>{UNNAMED_ADAPTER}</b>" in fig.layout.yaxis.ticktext
    (marker,) = finding_traces(fig)
    assert "halt-without-disconnect" in marker.hovertext[0]


def test_findings_at_the_same_instant_keep_separate_markers(demo):
    fig = timeline_figure(demo, demo.traces[0].path)
    at_halt_end = [
        y
        for t in finding_traces(fig)
        for x, y in zip(t.x, t.y, strict=True)
        if x.endswith("12:00:03.100000")
    ]
    assert len(at_halt_end) == 2 and at_halt_end[0] != at_halt_end[1]


def test_trace_text_is_escaped_in_hover_and_labels(audit_texts, samples):
    hostile = samples.demo.replace(
        "Status = 0x0\n", f"Status = 0x0 {samples.payload} <a href=x>y</a> & more\n"
    )
    result = audit_texts({"demo.txt": hostile})
    fig = timeline_figure(result, result.traces[0].path)
    texts = [h for t in fig.data for h in (t.hovertext or ()) if h]
    joined = "\n".join(texts)
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in joined
    assert "&lt;a href=x&gt;y&lt;/a&gt; &amp; more" in joined
    for text in texts:
        assert "<script" not in text and "</script" not in text and "<a " not in text


@pytest.mark.skipif(sys.platform == "win32", reason="'<' and '>' cannot be in a Windows file name")
def test_trace_names_are_escaped(audit_texts, samples):
    result = audit_texts({"<i>evil<b>.txt": samples.demo})
    fig = timeline_figure(result, result.traces[0].path)
    assert fig.layout.title.text.endswith("&lt;i&gt;evil&lt;b&gt;.txt")
    assert "<i>" not in fig.layout.title.text


def test_webgl_above_the_marker_threshold(demo, monkeypatch):
    assert {t.type for t in timeline_figure(demo, demo.traces[0].path).data} == {"scatter"}
    monkeypatch.setattr(timeline, "GL_THRESHOLD", 5)
    assert {t.type for t in timeline_figure(demo, demo.traces[0].path).data} == {"scattergl"}


def test_webgl_and_decimation_for_a_large_trace(audit_texts, monkeypatch):
    lines = []
    for k in range(1300):  # 5200 lifecycle events
        second = k * 4
        stamp = f"06/06/2025-{12 + second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        lines += [
            f"[0]0004.0010::{stamp}.000 [wlan]---> MPInitializeEx Adapter=A1",
            f"[0]0004.0010::{stamp}.100 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1",
            f"[0]0004.0010::{stamp}.200 [wlan]Set OID_DOT11_NIC_POWER_STATE: FALSE Adapter=A1",
            f"[0]0004.0010::{stamp}.300 [wlan]---> MPHaltEx Adapter=A1",
        ]
    result = audit_texts({"big.txt": "\n".join(lines) + "\n"})
    fig = timeline_figure(result, result.traces[0].path)
    events = {t.legendgroup: t for t in fig.data if t.legendgroup.startswith("event:")}
    # init 1300, halt 1300, radio 2600 events: lanes of more than LANE_MARKERS are binned
    assert {g: len(t.x) for g, t in events.items()} == {
        "event:init": timeline.LANE_MARKERS,
        "event:halt": timeline.LANE_MARKERS,
        "event:radio": timeline.LANE_MARKERS,
    }
    assert {t.type for t in fig.data} == {"scattergl"}  # 3000 markers > GL_THRESHOLD
    radio = events["event:radio"]
    assert sum("drawn as this one marker" in h for h in radio.hovertext) > 0
    first = next(h for h in radio.hovertext if "drawn as this one marker" in h)
    assert re.match(r"<i>\d events from 2025-06-06 12:", first)
    # 1300 radio periods (more than BAR_BUDGET), 3.9 s apart while a bar spans 5.2 s of
    # this trace: drawn as one pale bar that says how many periods it stands for
    radio_bars = [t for t in fig.data if t.legendgroup == "state:radio_on"]
    assert [len(t.x) for t in radio_bars] == [0, 3]
    assert radio_bars[1].opacity < 1
    assert "1300 periods close together" in radio_bars[1].hovertext[0]
    monkeypatch.setattr(timeline, "BAR_BUDGET", 2000)
    fig = timeline_figure(result, result.traces[0].path)
    assert len(state_trace(fig, "radio_on").x) == 3 * 1300  # under the budget: every bar


def test_marker_budget_and_density_strip_for_ten_thousand_times_more_events(synthetic):
    result = synthetic.synthetic_result(400_000, adapters=4, cycle=100)
    fig = timeline_figure(result, result.traces[0].path)
    markers = sum(len(t.x) for t in fig.data if t.legendgroup.split(":")[0] in ("event", "finding"))
    assert markers <= timeline.MARKER_BUDGET
    # data path: one heatmap row per adapter, DENSITY_BINS bins, counts add up
    strips = [t for t in fig.data if t.type == "heatmap"]
    assert len(strips) == 4 and all(len(t.x) == timeline.DENSITY_BINS for t in strips)
    data_events = result.lifecycle.filter(pl.col("kind").is_in(["send", "receive"])).height
    assert sum(z or 0 for t in strips for z in t.z[0]) == data_events
    assert "data path" in fig.layout.yaxis.ticktext
    # the hardware radio switch has its own bar row
    assert "radio hw on" in fig.layout.yaxis.ticktext
    assert any(t.legendgroup == "state:radio_hw" for t in fig.data)
    # finding markers stand for all findings: the counts of aggregated markers add up
    found = 0
    for t in finding_traces(fig):
        for hover in t.hovertext:
            m = re.match(r"<i>(\d+) findings from", hover)
            found += int(m.group(1)) if m else 1
    assert found == result.findings.height


def test_close_state_periods_share_a_pale_bar(synthetic, monkeypatch):
    monkeypatch.setattr(timeline, "BAR_BUDGET", 10)
    result = synthetic.synthetic_result(20_000, adapters=1, cycle=100)
    fig = timeline_figure(result, result.traces[0].path)
    bars = [t for t in fig.data if t.legendgroup == "state:connected"]
    pale = [t for t in bars if t.opacity < 1]
    assert pale and all(not t.showlegend for t in pale)
    assert sum(x is not None for t in bars for x in t.x) <= 2 * 11
    assert "periods close together, drawn as one pale bar; held " in pale[0].hovertext[0]


def test_finding_markers_carry_their_evidence_window(demo):
    fig = timeline_figure(demo, demo.traces[0].path)
    windows = [w for t in finding_traces(fig) for w in t.customdata]
    assert len(windows) == 3
    # radio-on-before-initialize: evidence from the halt (12:00:03) to the radio on
    # (12:00:05), padded by a tenth of its width on each side
    assert ["2025-06-06 12:00:02.800000", "2025-06-06 12:00:05.200000"] in [
        list(w) for w in windows
    ]
    for x0, x1 in windows:
        assert x0 < x1


def test_radio_hw_periods(audit_texts):
    text = """\
[0]0004.0010::06/06/2025-12:00:00.000 [wlan]---> MPInitializeEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:01.000 [wlan]Indicate NDIS_STATUS_DOT11_PHY_STATE_CHANGED bHardwarePhyState=TRUE Adapter=A1
[0]0004.0010::06/06/2025-12:00:02.000 [wlan]Indicate NDIS_STATUS_DOT11_PHY_STATE_CHANGED bHardwarePhyState=FALSE Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.000 [wlan]---> MPHaltEx Adapter=A1
"""
    result = audit_texts({"hw.txt": text})
    periods = state_periods(result, ["radio_hw"])
    assert periods.select("state", "start", "end").rows() == [
        ("radio_hw", at("12:00:01"), at("12:00:02"))
    ]
    fig = timeline_figure(result, result.traces[0].path)
    assert "radio hw on" in fig.layout.yaxis.ticktext
    assert "data path" not in fig.layout.yaxis.ticktext  # no send/receive events


def test_png_export_says_what_is_missing(demo, tmp_path, monkeypatch):
    fig = timeline_figure(demo, demo.traces[0].path)
    monkeypatch.setitem(sys.modules, "kaleido", None)  # as if the png extra were not installed
    with pytest.raises(timeline.PngUnavailable, match=r"trace-auditor\[png\]"):
        timeline.write_png(fig, tmp_path / "t.png")
    assert not (tmp_path / "t.png").exists()


def test_a_trace_without_lifecycle_events(audit_texts, write_trace):
    result = audit_texts({"quiet.txt": "[0]0004.0010::06/06/2025-12:00:00.000 [wlan]hello\n"})
    fig = timeline_figure(result, result.traces[0].path)
    assert len(fig.data) == 0
    assert fig.layout.annotations[0].text == "no lifecycle events in this trace"


NDIS_CYCLE = "".join(
    f"[0]0004.0010::06/06/2025-12:00:0{second}.000 [wlan]{text} Adapter=A1\n"
    for second, text in enumerate(
        [
            "---> MPInitializeEx",
            "<--- MPInitializeEx Status = 0x00000000",
            "---> MPRestart",
            "<--- MPRestart Status = 0x00000000",
            "---> MPPause",
            "<--- MPPause",
            "---> MPHaltEx",
            "<--- MPHaltEx",
        ]
    )
)


def test_ndis_state_lanes_follow_the_adapter_state_table(audit_texts):
    result = audit_texts({"ndis.txt": NDIS_CYCLE})
    names = ("ndis_initializing", "ndis_paused", "ndis_restarting", "ndis_running", "ndis_pausing")
    periods = state_periods(result, defines=names)
    got = {
        (row["state"], row["start"].second, row["end"].second)
        for row in periods.iter_rows(named=True)
    }
    assert got == {
        ("ndis_initializing", 0, 1),
        ("ndis_paused", 1, 2),
        ("ndis_restarting", 2, 3),
        ("ndis_running", 3, 4),
        ("ndis_pausing", 4, 5),
        ("ndis_paused", 5, 6),
    }
    ticks = list(timeline_figure(result, result.traces[0].path).layout.yaxis.ticktext)
    assert {"NDIS Running", "NDIS Paused", "NDIS Halted"} <= set(ticks)


def test_paused_and_running_are_not_guessed_without_restart_events(audit_texts, samples):
    result = audit_texts({"two.txt": samples.two_adapters})
    ticks = list(timeline_figure(result, result.traces[0].path).layout.yaxis.ticktext)
    assert "NDIS Paused" not in ticks and "NDIS Running" not in ticks
