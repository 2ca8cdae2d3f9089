"""The command line as a user runs it: a real process, real files, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from parsers import EVENT_SCHEMA

VIOLATING = """\
[0]0004.0010::06/06/2025-12:00:00.000 [wlan]---> MPInitializeEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:00.100 [wlan]<--- MPInitializeEx Adapter=A1 Status = 0x00000000
[1]0004.0020::06/06/2025-12:00:00.500 [wlan]!RxIndicate[88]!Rx NBL len=1514
[0]0004.0010::06/06/2025-12:00:01.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
[0]0004.0010::06/06/2025-12:00:02.000 [wlan]Indicate NDIS_STATUS_DOT11_ASSOCIATION_COMPLETION Adapter=A1 Status = 0x0
[0]0004.0010::06/06/2025-12:00:03.000 [wlan]---> MPHaltEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.100123456 [wlan]<--- MPHaltEx Adapter=A1
"""

WARNING_ONLY = """\
[0]0004.0010::06/06/2025-12:00:00.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
[0]0004.0010::06/06/2025-12:00:01.000 [wlan]Indicate NDIS_STATUS_DOT11_ASSOCIATION_COMPLETION Adapter=A1 Status = 0x0
[0]0004.0010::06/06/2025-12:00:02.000 [wlan]---> MPHaltEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:02.500 [wlan]Set OID_DOT11_NIC_POWER_STATE: FALSE Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.000 [wlan]<--- MPHaltEx Adapter=A1
"""

CLEAN = """\
[0]0004.0010::06/06/2025-12:00:00.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
[0]0004.0010::06/06/2025-12:00:02.000 [wlan]---> MPHaltEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:02.500 [wlan]Set OID_DOT11_NIC_POWER_STATE: FALSE Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.000 [wlan]<--- MPHaltEx Adapter=A1
"""


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.fixture
def traces(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, text in (("violating", VIOLATING), ("warning", WARNING_ONLY), ("clean", CLEAN)):
        path = tmp_path / f"{name}.txt"
        path.write_text(text, encoding="utf-8")
        out[name] = path
    return out


def test_exit_codes_follow_fail_on(traces):
    assert run("audit", traces["violating"]).returncode == 1
    assert run("audit", traces["violating"], "--fail-on", "never").returncode == 0
    assert run("audit", traces["warning"]).returncode == 0
    assert run("audit", traces["warning"], "--fail-on", "warning").returncode == 1
    assert run("audit", traces["clean"], "--fail-on", "info").returncode == 0


def test_json_document_has_the_pinned_fields(traces, tmp_path):
    out = tmp_path / "out.json"
    proc = run("audit", traces["violating"], traces["clean"], "--format", "json", "-o", out)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["version"] == 1
    entries = {Path(t["path"]).name: t for t in doc["traces"]}
    assert entries["violating.txt"]["format"] == "wpp-text"
    assert entries["violating.txt"]["events"] == 7
    assert entries["violating.txt"]["rejected"] == 0
    assert entries["clean.txt"]["not_evaluable"] == []
    found = {(f["rule"], f["adapter"], f["line"]) for f in doc["findings"]}
    assert found == {("halt-radio-left-on", "A1", 7), ("halt-without-disconnect", "A1", 7)}
    radio = next(f for f in doc["findings"] if f["rule"] == "halt-radio-left-on")
    assert radio["severity"] == "error"
    assert radio["ts"] == "2025-06-06T12:00:03.100123456Z"
    assert radio["trace"].endswith("violating.txt")
    assert isinstance(radio["message"], str) and radio["message"]
    assert [(e["line"], e["kind"]) for e in radio["evidence"]] == [(4, "radio"), (7, "halt.end")]
    assert radio["evidence"][0]["text"] == "Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1"
    assert radio["evidence"][0]["ts"] == "2025-06-06T12:00:01Z"
    assert not list(tmp_path.glob(".out.json.tmp*"))


def test_json_to_stdout_is_deterministic(traces):
    first = run("audit", traces["violating"], "-f", "json").stdout
    second = run("audit", traces["violating"], "-f", "json").stdout
    assert first == second and json.loads(first)["findings"]


def test_table_output_shows_findings_and_evidence(traces):
    proc = run("audit", traces["violating"])
    assert "halt-radio-left-on" in proc.stdout
    assert "L4 " in proc.stdout and "OID_DOT11_NIC_POWER_STATE" in proc.stdout
    assert "2 findings (1 error, 1 warning)" in proc.stdout


def test_unreadable_input_is_exit_2_and_does_not_stop_the_others(traces, tmp_path):
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("this is not a trace\n", encoding="utf-8")
    proc = run("audit", garbage, tmp_path / "missing.txt", traces["violating"], "-f", "json")
    assert proc.returncode == 2
    assert f"{garbage}:1: unrecognised trace format" in proc.stderr
    assert "missing.txt: cannot open" in proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert len(doc["findings"]) == 2
    errors = {Path(t["path"]).name: t["error"] for t in doc["traces"]}
    assert errors["garbage.txt"] == {"message": errors["garbage.txt"]["message"], "line": 1}
    assert errors["violating.txt"] is None


def test_bad_map_file_names_file_and_line(traces, tmp_path):
    bad = tmp_path / "bad.map.toml"
    bad.write_text('[[event]]\nkind = "halt.being"\nmessage = "x"\n', encoding="utf-8")
    proc = run("audit", traces["clean"], "--map", bad)
    assert proc.returncode == 2
    assert f"{bad}:2: unknown kind 'halt.being'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_usage_errors_exit_2(traces):
    assert run("audit", traces["clean"], "--tz", "Mars/Olympus").returncode == 2
    assert run("audit", traces["clean"], "--select", "no-such-rule").returncode == 2
    assert run("audit", traces["clean"], "--format", "yaml").returncode == 2


def test_select_ignore_and_user_map_with_tz(traces, tmp_path):
    proc = run("audit", traces["violating"], "--ignore", "halt-radio-left-on", "-f", "json")
    assert {f["rule"] for f in json.loads(proc.stdout)["findings"]} == {"halt-without-disconnect"}
    vendor = tmp_path / "vendor.txt"
    vendor.write_text(
        "[0]0004.0010::06/06/2025-12:00:00.000 [rtw]RF -> ON (adapter wlan0)\n"
        "[0]0004.0010::06/06/2025-12:00:01.000 [rtw]---> MPHaltEx\n"
        "[0]0004.0010::06/06/2025-12:00:02.000 [rtw]<--- MPHaltEx\n",
        encoding="utf-8",
    )
    vendor_map = tmp_path / "rtw.map.toml"
    vendor_map.write_text(
        "[[event]]\nkind = \"radio\"\nmessage = 'RF -> (?P<value>ON|OFF) \\(adapter (?P<adapter>\\w+)\\)'\n"
        'values = { ON = "on", OFF = "off" }\n',
        encoding="utf-8",
    )
    proc = run("audit", vendor, "--map", vendor_map, "--tz", "Europe/Berlin", "-f", "json")
    doc = json.loads(proc.stdout)
    finding = doc["findings"][0]
    assert (finding["rule"], finding["adapter"], finding["line"]) == (
        "halt-radio-left-on",
        "wlan0",
        3,
    )
    assert finding["adapter_inferred"] is True  # the halt lines name no adapter
    assert finding["ts"] == "2025-06-06T10:00:02Z"  # 12:00 in Berlin (CEST) is 10:00 UTC


def test_directory_argument_audits_the_traces_in_it(traces):
    proc = run("audit", traces["clean"].parent, "-f", "json")
    assert len(json.loads(proc.stdout)["traces"]) == 3


def test_parse_writes_canonical_events_and_rejects(tmp_path):
    trace = tmp_path / "t.txt"
    trace.write_text("preamble that is not a record\n" + VIOLATING, encoding="utf-8")
    out = tmp_path / "events.parquet"
    proc = run("parse", trace, "-o", out)
    assert proc.returncode == 0, proc.stderr
    events = pl.read_parquet(out)
    assert events.schema == pl.Schema(EVENT_SCHEMA)
    assert events.height == 7
    assert events.get_column("line").to_list() == list(range(2, 9))
    rejects = pl.read_parquet(tmp_path / "events.rejects.parquet")
    assert rejects.select("line", "text").rows() == [(1, "preamble that is not a record")]
    assert "8 lines = 7 events + 0 continuation + 0 meta + 1 rejected" in proc.stderr.replace(
        ",", ""
    )


def test_parse_lifecycle_writes_what_the_audit_classifies(tmp_path):
    trace = tmp_path / "t.txt"
    trace.write_text("preamble that is not a record\n" + VIOLATING, encoding="utf-8")
    out = tmp_path / "lifecycle.parquet"
    proc = run("parse", trace, "--lifecycle", "-o", out)
    assert proc.returncode == 0, proc.stderr
    events = pl.read_parquet(out)
    assert events.schema == pl.Schema(
        {**EVENT_SCHEMA, "kind": pl.String, "value": pl.String, "adapter": pl.String}
    )
    # the data-path record (line 4) is not lifecycle; the others are, with their kinds
    assert events.select("line", "kind", "value", "adapter").rows() == [
        (2, "init.begin", None, "A1"),
        (3, "init.end", "ok", "A1"),
        (5, "radio", "on", "A1"),
        (6, "assoc.end", "ok", "A1"),
        (7, "halt.begin", None, "A1"),
        (8, "halt.end", None, "A1"),
    ]
    assert events.get_column("seq").to_list() == [0, 1, 3, 4, 5, 6]
    # every line is still accounted for, data path included
    assert "8 lines = 7 events + 0 continuation + 0 meta + 1 rejected" in proc.stderr.replace(
        ",", ""
    )
    assert "wrote 6 lifecycle events" in proc.stderr
    rejects = pl.read_parquet(tmp_path / "lifecycle.rejects.parquet")
    assert rejects.get_column("line").to_list() == [1]


def test_parse_lifecycle_uses_the_given_maps(tmp_path):
    samples = Path(__file__).resolve().parents[2] / "samples"
    trace = samples / "northwind-rf-custom-map.wpp.txt"
    out = tmp_path / "l.arrow"
    without = run("parse", trace, "--lifecycle", "-o", out)
    assert without.returncode == 0, without.stderr
    assert pl.read_ipc(out).height == 0  # its messages are known only to its own map
    with_map = run(
        "parse", trace, "--lifecycle", "--map", samples / "northwind-rf.map.toml", "-o", out
    )
    assert with_map.returncode == 0, with_map.stderr
    assert set(pl.read_ipc(out).get_column("kind")) >= {"halt.begin", "halt.end", "radio"}


def test_parse_map_without_lifecycle_is_a_usage_error(tmp_path):
    trace = tmp_path / "t.txt"
    trace.write_text(CLEAN, encoding="utf-8")
    proc = run("parse", trace, "--map", trace, "-o", tmp_path / "e.parquet")
    assert proc.returncode == 2
    assert "--map classifies events: it needs --lifecycle" in proc.stderr


def test_rules_list_and_explain():
    listing = run("rules", "list").stdout
    for rule_id in ("halt-without-disconnect", "halt-radio-left-on", "radio-on-before-initialize"):
        assert rule_id in listing
    explained = run("rules", "explain", "radio-on-before-initialize")
    assert explained.returncode == 0
    assert "since(radio == 'off' & halted, !init.begin)" in explained.stdout
    assert "Native 802.11 Miniport Driver Halt" in explained.stdout
    assert run("rules", "explain", "nope").returncode == 2


def test_formats_lists_each_format_with_an_example():
    out = run("formats").stdout
    assert "wpp-text" in out and "tracerpt-csv" in out and "e.g. [0]0C40.0C3C::" in out


def test_html_report_and_timeline_command_write_offline_pages(traces, tmp_path):
    report = tmp_path / "out" / "report.html"
    proc = run("audit", traces["violating"], "--html", report, "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr
    page = report.read_text(encoding="utf-8")
    assert "halt-radio-left-on" in page and "Plotly.newPlot" in page
    assert "<script src=" not in page and "<link " not in page
    timeline_page = tmp_path / "timeline.html"
    proc = run("timeline", traces["violating"], "-o", timeline_page)
    assert proc.returncode == 0, proc.stderr
    assert "Plotly.newPlot" in timeline_page.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_custom_wpp_prefix_and_out_of_order_timestamps(tmp_path):
    trace = tmp_path / "custom.txt"
    trace.write_text(
        "0042 06/06/2025-12:00:01.000 [drv] MpHaltEx: ---> MPHaltEx Adapter=A1\n"
        "0043 06/06/2025-12:00:01.100 [drv] MpHaltEx: <--- MPHaltEx Adapter=A1\n"
        # flushed late from another CPU's buffer: earlier in time, later in the file
        "0041 06/06/2025-12:00:00.100 [drv] MpOid: Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1\n",
        encoding="utf-8",
    )
    proc = run("audit", trace, "--wpp-prefix", "%7!u! %4!s! [%1!s!] %!FUNC!: ", "-f", "json")
    assert proc.returncode == 1, proc.stderr
    (finding,) = json.loads(proc.stdout)["findings"]
    assert (finding["rule"], finding["line"]) == ("halt-radio-left-on", 2)
    assert [e["line"] for e in finding["evidence"]] == [3, 2]
    # without the prefix the file is not recognised at all
    assert run("audit", trace).returncode == 2


def test_trace_start_places_a_perfview_export(tmp_path):
    sample = Path(__file__).resolve().parents[2] / "samples"
    perfview = sample / "alpineski-radio-on-before-init-perfview.csv"
    args = ("audit", perfview, "-f", "json", "--fail-on", "never")
    plain = json.loads(run(*args).stdout)
    placed = run(*args, "--trace-start", "2026-11-24 10:30", "--tz", "Europe/Berlin")
    assert placed.returncode == 0, placed.stderr
    doc = json.loads(placed.stdout)
    assert doc["traces"][0]["notes"] == [
        "relative time from 2026-11-24T09:30:00.000000000Z (--trace-start)"
    ]
    assert plain["findings"][0]["ts"].startswith("1970-01-01T00:")
    assert doc["findings"][0]["ts"].startswith("2026-11-24T09:")
    bad = run("parse", perfview, "-o", tmp_path / "e.parquet", "--trace-start", "yesterday")
    assert bad.returncode == 2
    assert "--trace-start: trace start 'yesterday' is neither an ISO 8601 time" in bad.stderr


def test_parse_prints_the_notes_on_each_trace(tmp_path):
    trace = tmp_path / "t.txt"
    trace.write_text(
        "Processing completed   Buffers: 2, Events: 9, EventsLost: 3 :: Format Errors: 0\n"
        + VIOLATING,
        encoding="utf-8",
    )
    proc = run("parse", trace, "-o", tmp_path / "events.parquet")
    assert proc.returncode == 0, proc.stderr
    assert "tracefmt reports 3 events lost on line 1" in " ".join(proc.stderr.split())
