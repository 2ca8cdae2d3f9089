"""The public Python API: typed tables, exact findings, check(), timeline zoom, explain().

Expectations come from the samples' hand-written ``*.expected.toml`` files and the pinned
rule semantics, not from the tool's own output.
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import pytest

import auditor
from auditor import api
from parsers import EVENT_SCHEMA
from tests.api.conftest import NORTHWIND, NORTHWIND_MAP, PINNED, PROSEWARE, SAMPLES

# --- the package's public names -----------------------------------------------------------


def test_all_lists_every_public_name() -> None:
    assert len(auditor.__all__) == len(set(auditor.__all__))
    for name in auditor.__all__:
        assert hasattr(auditor, name), name
    public = {
        name
        for name in dir(auditor)
        if not name.startswith("_")
        and not inspect.ismodule(getattr(auditor, name))
        and name not in {"annotations", "importlib", "TYPE_CHECKING", "Any"}
    }
    assert public == set(auditor.__all__) - {"__version__"}
    assert set(api.__all__) <= set(auditor.__all__)


def test_importing_the_package_stays_light() -> None:
    import subprocess
    import sys

    code = "import sys, auditor.cli; print('polars' in sys.modules, 'auditor.api' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_audit_is_the_function_and_the_pipeline_module_is_separate() -> None:
    assert inspect.isfunction(auditor.audit)
    from auditor.pipeline import Auditor, AuditResult  # what the CLI and reports import

    assert Auditor is auditor.Auditor
    assert AuditResult.__name__ == "AuditResult"


# --- load ---------------------------------------------------------------------------------


def test_load_eager_events_have_the_canonical_schema() -> None:
    loaded = auditor.load(PROSEWARE)
    assert isinstance(loaded, auditor.Loaded)
    assert isinstance(loaded.events, pl.DataFrame)
    assert dict(loaded.events.schema) == EVENT_SCHEMA
    assert loaded.events.height == 41  # 42 lines, one of them a continuation
    events, rejects, accounting = loaded
    assert events is loaded.events
    assert rejects.is_empty()
    row = accounting.row(0, named=True)
    assert row["trace"] == str(PROSEWARE)
    assert row["lines"] == row["events"] + row["continuation"] + row["meta"] + row["rejected"]
    assert (row["events"], row["continuation"]) == (41, 1)


def test_load_lazy_is_the_same_data() -> None:
    lazy = auditor.load([PROSEWARE, NORTHWIND], lazy=True)
    assert isinstance(lazy.events, pl.LazyFrame)
    eager = auditor.load([PROSEWARE, NORTHWIND])
    assert lazy.events.collect().equals(eager.events)
    assert lazy.accounting.get_column("trace").to_list() == [str(PROSEWARE), str(NORTHWIND)]


def test_load_expands_directories_and_reports_unreadable_files(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "nested").mkdir(parents=True)
    (run / "b.wpp.txt").write_bytes(PROSEWARE.read_bytes())
    (run / "nested" / "a.txt").write_bytes(NORTHWIND.read_bytes())
    (run / "notes.md").write_text("not a trace", encoding="utf-8")
    loaded = auditor.load(run)
    assert loaded.accounting.get_column("trace").to_list() == [
        str(run / "b.wpp.txt"),
        str(run / "nested" / "a.txt"),
    ]
    assert auditor.load(str(run / "*.txt")).accounting.height == 1  # a glob pattern
    with pytest.raises(auditor.TraceReadError, match=r"missing\.txt"):
        auditor.load(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="time zone"):
        auditor.load(PROSEWARE, tz="Mars/Olympus")


# --- audit and its tables -----------------------------------------------------------------


def test_tables_are_polars_frames(proseware: auditor.Result) -> None:
    for name in ("events", "lifecycle", "findings", "evidence", "rejects", "accounting"):
        assert isinstance(getattr(proseware, name), pl.DataFrame), name
    assert isinstance(proseware.not_evaluable, pl.DataFrame)
    assert proseware.traces == [str(PROSEWARE)]


def test_exact_findings_on_samples(proseware: auditor.Result, northwind: auditor.Result) -> None:
    assert proseware.findings.select("finding", "rule", "severity", "adapter", "line").rows() == [
        (0, "halt-radio-left-on", "error", "wifi0", 36)
    ]
    assert northwind.findings.select("rule", "adapter", "line").rows() == [
        ("halt-without-disconnect", "wlan1", 27),
        ("radio-on-before-initialize", "wlan1", 30),
    ]


def test_lifecycle_hides_engine_internals(proseware: auditor.Result) -> None:
    lifecycle = proseware.lifecycle
    assert not [c for c in lifecycle.columns if c.startswith("__")]
    assert "unattributed" not in lifecycle.columns
    assert {"kind", "value", "adapter", "adapter_inferred"} <= set(lifecycle.columns)
    assert "trace.end" not in lifecycle.get_column("kind").to_list()
    assert lifecycle.height == proseware.accounting.item(0, "lifecycle")
    # the raw result the CLI's reports take is untouched
    assert "__i" in proseware.raw.lifecycle.columns


def test_events_include_the_data_path(proseware: auditor.Result) -> None:
    assert dict(proseware.events.schema) == EVENT_SCHEMA
    assert proseware.events.height == 41
    assert proseware.events.filter(pl.col("message").str.contains("RX: ")).height == 3


def test_evidence_is_one_row_per_evidence_line(
    proseware: auditor.Result, northwind: auditor.Result
) -> None:
    evidence = proseware.evidence
    assert evidence.select("finding", "rule", "line", "kind", "value", "role").rows() == [
        (0, "halt-radio-left-on", 21, "radio", "on", "witness"),
        (0, "halt-radio-left-on", 36, "halt.end", None, "anchor"),
    ]
    total = northwind.findings.select(pl.col("evidence").list.len().sum()).item()
    assert northwind.evidence.height == total
    anchors = northwind.evidence.filter(pl.col("role") == "anchor")
    joined = anchors.join(northwind.findings.select("finding", "line"), on="finding")
    assert (joined.get_column("line") == joined.get_column("line_right")).all()


def test_accounting_has_one_row_per_trace_and_names_unreadable_ones(tmp_path: Path) -> None:
    missing = tmp_path / "gone.txt"
    result = auditor.audit([PROSEWARE, missing], select=PINNED)
    accounting = result.accounting
    assert accounting.get_column("trace").to_list() == [str(PROSEWARE), str(missing)]
    good, bad = accounting.rows(named=True)
    assert good["error"] is None and good["adapters"] == ["wifi0"] and good["lifecycle"] == 21
    assert bad["error"] is not None
    # the readable trace was still audited
    assert result.findings.get_column("rule").to_list() == ["halt-radio-left-on"]


def test_bad_map_raises_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.map.toml"
    bad.write_text('[[event]]\nkind = "no.such.kind"\nmessage = "x"\n', encoding="utf-8")
    with pytest.raises(auditor.ConfigError, match=r"bad\.map\.toml"):
        auditor.audit(PROSEWARE, maps=[bad])


def test_select_and_ignore(northwind: auditor.Result) -> None:
    only = auditor.audit(NORTHWIND, maps=[NORTHWIND_MAP], select=["radio-on-before-initialize"])
    assert only.findings.get_column("rule").to_list() == ["radio-on-before-initialize"]
    rest = auditor.audit(NORTHWIND, maps=[NORTHWIND_MAP], ignore=["radio-on-before-initialize"])
    assert rest.findings.get_column("rule").to_list() == ["halt-without-disconnect"]


# --- check --------------------------------------------------------------------------------

CHECK_COLUMNS = [
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
]


def test_check_the_issue_example(northwind: auditor.Result, proseware: auditor.Result) -> None:
    formula = "since(halt.begin, !init.begin) & radio == 'on'"
    hits = northwind.check(formula)
    assert hits.columns == CHECK_COLUMNS
    assert hits.select("adapter", "line", "kind", "value", "message").rows() == [
        ("wlan1", 30, "radio", "on", "RF -> ON (adapter wlan1)")
    ]
    # evidence: the halt.begin witness of since() and the anchor
    evidence = hits.select("evidence").explode("evidence").unnest("evidence")
    assert evidence.select("line", "role").rows() == [(23, "witness"), (30, "anchor")]
    # proseware's only radio-on after its halt follows MiniportInitializeEx
    empty = proseware.check(formula)
    assert empty.is_empty() and empty.columns == CHECK_COLUMNS


def test_check_with_on_and_defines(proseware: auditor.Result) -> None:
    hits = proseware.check("radio_on", on="halt.end")  # a built-in define
    assert hits.get_column("line").to_list() == [36]
    assert proseware.check("halt.end & radio_on").get_column("line").to_list() == [36]
    mine = proseware.check("was_off & radio == 'on'", defines={"was_off": "once(radio == 'off')"})
    assert mine.get_column("line").to_list() == [21, 41]
    assert proseware.check("radio == 'off' & halted").is_empty()


def test_check_reports_mistakes_as_value_errors(proseware: auditor.Result) -> None:
    with pytest.raises(ValueError, match=r"halt\.bgin"):
        proseware.check("halt.bgin")
    with pytest.raises(ValueError, match="column"):
        proseware.check("since(halt.begin")


def test_check_uses_the_kinds_of_a_custom_map(tmp_path: Path) -> None:
    map_path = tmp_path / "proseware.map.toml"
    map_path.write_text(
        '[map]\nname = "p"\nkinds = ["fw.timeout"]\n\n[[event]]\nkind = "fw.timeout"\n'
        "message = 'firmware command timed out \\((?P<value>0x[0-9A-F]+)\\)'\n",
        encoding="utf-8",
    )
    result = auditor.audit(PROSEWARE, maps=[map_path])
    hits = result.check("halt.end & radio_on & once(fw.timeout, within='5s')")
    evidence = hits.select("evidence").explode("evidence").unnest("evidence")
    assert evidence.select("line", "kind", "value").rows() == [
        (21, "radio", "on"),
        (33, "fw.timeout", "0x00000102"),
        (36, "halt.end", None),
    ]
    with pytest.raises(ValueError, match=r"fw\.timeout"):
        auditor.audit(PROSEWARE).check("fw.timeout")


# --- timeline -----------------------------------------------------------------------------


def test_timeline_zooms_on_the_evidence(proseware: auditor.Result) -> None:
    fig = proseware.timeline(around=0, window="5s")
    assert isinstance(fig, go.Figure)
    # evidence from 14:06:41.700230300 (line 21) to 14:07:32.410017800 (line 36), ± 5 s
    assert tuple(fig.layout.xaxis.range) == (
        "2024-06-03 14:06:36.700230",
        "2024-06-03 14:07:37.410017",
    )
    row = proseware.findings.row(0, named=True)
    same = proseware.timeline(around=row, window=timedelta(milliseconds=500))
    assert tuple(same.layout.xaxis.range) == (
        "2024-06-03 14:06:41.200230",
        "2024-06-03 14:07:32.910017",
    )
    assert proseware.timeline(around=proseware.findings.head(1)).layout.xaxis.range is not None
    assert proseware.timeline().layout.xaxis.range is None


def _tick_text(fig: go.Figure) -> str:
    return " ".join(fig.layout.yaxis.ticktext)


def test_timeline_restricted_to_one_adapter(northwind: auditor.Result) -> None:
    both = _tick_text(northwind.timeline())
    assert "wlan0" in both and "wlan1" in both
    one = northwind.timeline(adapter="wlan1", around=1)
    assert "wlan1" in _tick_text(one) and "wlan0" not in _tick_text(one)
    with pytest.raises(ValueError, match="wlan7"):
        northwind.timeline(adapter="wlan7")


def test_timeline_needs_a_trace_when_there_are_several() -> None:
    result = auditor.audit([PROSEWARE, NORTHWIND], maps=[NORTHWIND_MAP])
    with pytest.raises(ValueError, match="several traces"):
        result.timeline()
    assert isinstance(result.timeline(trace=str(NORTHWIND)), go.Figure)
    assert isinstance(result.timeline(around=0), go.Figure)  # the finding names its trace


# --- explain ------------------------------------------------------------------------------


def test_explain_shows_the_evidence_lines_in_context(proseware: auditor.Result) -> None:
    explanation = proseware.explain(0, context=3)
    assert isinstance(explanation, auditor.Explanation)
    lines = explanation.lines
    assert lines.get_column("line").to_list() == [*range(18, 25), *range(33, 40)]
    roles = dict(lines.filter(pl.col("role").is_not_null()).select("line", "role").rows())
    assert roles == {21: "witness", 36: "anchor"}
    # the wrapped continuation line of the firmware timeout is a neighbour of the anchor
    assert lines.filter(pl.col("line") == 34).item(0, "text").strip().startswith("without radio")
    text = str(explanation)
    assert "→     36" in text and "•     21" in text and "…" in text
    assert proseware.explain(0, context=0).lines.get_column("line").to_list() == [21, 36]


def test_explain_reads_utf16_sources(tmp_path: Path) -> None:
    # tracerpt -en Unicode: the context comes from the file as decoded, not raw bytes
    source = (SAMPLES / "fabrikam-radio-on-while-halted.csv").read_text(encoding="utf-8")
    trace = tmp_path / "fabrikam-utf16.csv"
    trace.write_bytes(source.encode("utf-16"))
    result = auditor.audit(trace)
    lines = result.explain(0, context=1).lines
    assert lines.filter(pl.col("role") == "anchor").get_column("line").to_list() == [24]
    assert lines.get_column("line").to_list() == [18, 19, 20, 21, 23, 24, 25]
    anchor = lines.filter(pl.col("line") == 24).item(0, "text")
    assert "OID_DOT11_NIC_POWER_STATE" in anchor


# --- notebook display ---------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"


def test_repr_html_is_a_compact_summary(northwind: auditor.Result) -> None:
    page = northwind._repr_html_()
    assert "1 trace," in page and "2 findings" in page
    assert "error: 1" in page and "warning: 1" in page
    assert "radio-on-before-initialize" in page
    assert "events" in repr(northwind)


def test_repr_html_escapes_untrusted_text(tmp_path: Path) -> None:
    rules = tmp_path / "probe.rules.toml"
    rules.write_text(
        "[[rule]]\n"
        'id = "xss-probe"\n'
        'severity = "info"\n'
        f'title = "{SCRIPT}"\n'
        f'message = "{SCRIPT} on $adapter"\n'
        'on = "halt.end"\n'
        'when = "radio_on"\n',
        encoding="utf-8",
    )
    trace = tmp_path / "probe<b>.wpp.txt"
    lines = PROSEWARE.read_text(encoding="utf-8").splitlines()
    lines[34] = lines[34].replace("firmware core dump saved", SCRIPT)  # line 35
    trace.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = auditor.audit(trace, rules=[rules], select=["xss-probe"])
    assert result.findings.get_column("message").to_list() == [f"{SCRIPT} on wifi0"]
    page = result._repr_html_()
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "<b>.wpp" not in page
    explained = result.explain(0)._repr_html_()
    assert "<script" not in explained and "&lt;script&gt;alert(1)&lt;/script&gt;" in explained


def test_many_findings_are_cut_in_the_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    result = auditor.audit(SAMPLES, maps=[NORTHWIND_MAP])
    total = result.findings.height
    assert total > 3
    monkeypatch.setattr(api, "HTML_FINDINGS", 3)
    page = result._repr_html_()
    assert page.count("<tr>") == 1 + 3  # header and three findings
    assert f"and {total - 3} more" in page


def test_trace_start_places_relative_exports_as_on_the_command_line() -> None:
    perfview = SAMPLES / "alpineski-radio-on-before-init-perfview.csv"
    start = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    plain = auditor.load(perfview).events.get_column("ts")
    as_text = auditor.load(perfview, trace_start="2026-11-24T10:30:00+01:00").events
    as_datetime = auditor.load(perfview, trace_start=start).events
    assert as_text.equals(as_datetime)
    assert (as_text.get_column("ts") - plain).unique().to_list() == [start - EPOCH]
    result = auditor.audit(perfview, trace_start=start)
    assert result.findings.get_column("ts").min() >= start
    # the fuller second read for investigations is placed the same way
    assert result.events.get_column("ts").equals(as_text.get_column("ts"))


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
