"""The HTML report: self-contained, escaped, complete, written atomically."""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from plotly.offline import get_plotlyjs

from auditor.report import atomic
from auditor.report import html as html_report
from auditor.report.html import render_html, write_html

PLOTLY_JS = get_plotlyjs()
DEMO_LINES = """\
[0]0004.0010::06/06/2025-12:00:00.000 [wlan]---> MPInitializeEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:00.100 [wlan]<--- MPInitializeEx Adapter=A1 Status = 0x00000000
[0]0004.0010::06/06/2025-12:00:01.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
[0]0004.0010::06/06/2025-12:00:02.000 [wlan]Indicate NDIS_STATUS_DOT11_ASSOCIATION_COMPLETION Adapter=A1 Status = 0x0
[0]0004.0010::06/06/2025-12:00:03.000 [wlan]---> MPHaltEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.100 [wlan]<--- MPHaltEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:04.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: FALSE Adapter=A1
[0]0004.0010::06/06/2025-12:00:05.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
""".splitlines()  # the demo trace of conftest.py, as the source lines the report shows


class Tables(HTMLParser):
    """Every table of a page as rows of cell texts (entities decoded, as a browser shows them)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._open: list[dict] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        cls = dict(attrs).get("class") or ""
        if tag == "table":
            table = {"class": cls, "rows": []}
            self.tables.append(table)
            self._open.append(table)
        elif tag == "tr" and self._open:
            self._open[-1]["rows"].append({"class": cls, "cells": []})
        elif tag in ("td", "th") and self._open and self._open[-1]["rows"]:
            self._open[-1]["rows"][-1]["cells"].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1]["rows"] and self._open[-1]["rows"][-1]["cells"]:
            self._open[-1]["rows"][-1]["cells"][-1] += data

    def rows(self, header: list[str], cls: str | None = None) -> list[list[str]]:
        """Body rows of the tables whose header row starts with ``header``."""
        out = []
        for table in self.tables:
            cells = [
                [" ".join(c.split()) for c in r["cells"]]
                for r in table["rows"]
                if r["class"] != "evidence"  # the row holding a finding's evidence table
            ]
            if cells and cells[0][: len(header)] == header and cls in (None, table["class"]):
                out.extend(cells[1:])
        return out


def without_plotly(page: str) -> str:
    assert page.count(PLOTLY_JS) == 1
    return page.replace(PLOTLY_JS, "")


def figures(page: str) -> list[dict]:
    """The figure JSON embedded for each timeline, decoded as the browser decodes it."""
    return [
        json.loads(m) for m in re.findall(r"var fig = (\{.*?\});\nPlotly\.newPlot\(", page, re.S)
    ]


def test_one_self_contained_offline_file(demo):
    page = render_html(demo)
    assert page.startswith("<!DOCTYPE html>")
    assert page.count(PLOTLY_JS) == 1  # plotly.js inlined exactly once
    assert page.count(PLOTLY_JS[:300]) == 1
    rest = without_plotly(page)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", rest, re.I)
    assert "<link" not in rest.lower()
    assert "@import" not in rest and "url(" not in rest
    assert "http://" not in rest and "https://" not in rest
    assert rest.count("Plotly.newPlot(") == 1


def test_summary_of_traces_and_findings(audit_texts, samples):
    result = audit_texts({"demo.txt": samples.demo, "unnamed.txt": samples.unnamed})
    tables = Tables(render_html(result))
    demo_path, unnamed = (t.path for t in result.traces)

    traces = tables.rows(["trace", "format", "encoding", "lines", "events", "meta"])
    assert traces == [
        [demo_path, "wpp-text", "utf-8", "8", "8", "0", "0", "0", "8", "0", "A1", "read"],
        [
            unnamed,
            "wpp-text",
            "utf-8",
            "5",
            "5",
            "0",
            "0",
            "0",
            "5",
            "0",
            "(adapter not named)",
            "read",
        ],
    ]
    assert tables.rows(["severity", "findings"]) == [
        ["error", "2"],
        ["warning", "2"],
        ["info", "0"],
    ]
    per_rule = {r[0]: (r[1], r[4], r[5]) for r in tables.rows(["rule", "severity", "title"])}
    assert per_rule == {
        "halt-without-disconnect": ("warning", "2", "0"),
        "halt-radio-left-on": ("error", "1", "1"),
        "radio-on-before-initialize": ("error", "1", "0"),
    }


def test_findings_table_with_evidence_lines(demo):
    tables = Tables(render_html(demo))
    path = demo.traces[0].path
    findings = tables.rows(["rule", "severity", "trace", "adapter", "time (UTC)", "line"])
    assert findings == [
        [
            "halt-radio-left-on",
            "error",
            path,
            "A1",
            "2025-06-06 12:00:03.100000",
            "6",
            "MiniportHaltEx returned with the radio on: the last radio state before it was on",
        ],
        [
            "halt-without-disconnect",
            "warning",
            path,
            "A1",
            "2025-06-06 12:00:03.100000",
            "6",
            "MiniportHaltEx returned while still connected: no disassociation or disconnect "
            "request since the halt began",
        ],
        [
            "radio-on-before-initialize",
            "error",
            path,
            "A1",
            "2025-06-06 12:00:05.000000",
            "8",
            "radio turned on while halted: it was turned off during the halt and "
            "MiniportInitializeEx has not been called since",
        ],
    ]
    evidence = [t for t in tables.tables if t["class"] == "evidence"]
    assert len(evidence) == 3  # one evidence table under each finding
    last = [[" ".join(c.split()) for c in r["cells"]] for r in evidence[2]["rows"][1:]]
    src = DEMO_LINES
    # evidence lines 5, 7 and 8 as source lines, each with 2 neighbours before and after
    # (the file ends at line 8), in line order; neighbours carry only their number and text
    assert last == [
        ["3", "", "", "", src[2]],
        ["4", "", "", "", src[3]],
        ["5", "2025-06-06 12:00:03.000000", "halt.begin", "witness", src[4]],
        ["6", "", "", "", src[5]],
        ["7", "2025-06-06 12:00:04.000000", "radio = off", "witness", src[6]],
        ["8", "2025-06-06 12:00:05.000000", "radio = on", "anchor", src[7]],
    ]


def test_evidence_context_has_gaps_and_falls_back_without_the_file(audit_texts, samples):
    filler = [f"[0]0004.0010::06/06/2025-12:00:02.{k:03d} [wlan]noise {k}" for k in range(10)]
    lines = samples.demo.splitlines()
    text = "\n".join(lines[:4] + filler + lines[4:]) + "\n"  # halt.begin is now line 15
    result = audit_texts({"gaps.txt": text})
    tables = Tables(render_html(result))
    rows = [t for t in tables.tables if t["class"] == "evidence"][2]["rows"][1:]
    numbers = [" ".join(r["cells"][0].split()) for r in rows]
    # the association (line 4) is not evidence here; halt.begin 15, radio off 17, on 18
    assert numbers == ["13", "14", "15", "16", "17", "18"]
    first = next(t for t in tables.tables if t["class"] == "evidence")["rows"][1:]
    assert "⋯" in [" ".join(r["cells"][0].split()) for r in first]  # windows 2-6 and 13-...

    Path(result.traces[0].path).unlink()  # the trace cannot be read again
    tables = Tables(render_html(result))
    rows = [t for t in tables.tables if t["class"] == "evidence"][2]["rows"][1:]
    assert [r["cells"][0].strip() for r in rows] == ["15", "17", "18"]
    assert rows[0]["cells"][4] == "---> MPHaltEx Adapter=A1"  # the event's own text


def test_findings_table_can_be_sorted_and_filtered(audit_texts, samples):
    page = render_html(audit_texts({"two.txt": samples.two_adapters}))
    assert 'id="findings-filter"' in page
    for name in ("rule", "adapter", "severity"):
        assert f'<select data-filter="{name}">' in page
    assert '<option value="A1">A1</option>' in page
    assert page.count('<tbody class="finding" ') == 3
    assert page.count('data-adapter="A1"') == 3
    assert '<th data-sort="line" data-type="num">line</th>' in page
    assert "3 of 3 findings shown" in page


def test_the_table_lists_at_most_max_findings_most_severe_first(monkeypatch):
    findings = pl.DataFrame(
        {"severity": ["warning", "error", "info", "error", "warning"], "k": [0, 1, 2, 3, 4]}
    )
    monkeypatch.setattr(html_report, "MAX_TABLE_FINDINGS", 3)
    shown = html_report._shown_findings(findings)
    assert shown["k"].to_list() == [0, 1, 3]  # both errors and the first warning, in order


def test_summary_totals(demo):
    page = render_html(demo)
    assert re.search(r'id="totals">1 traces · 8 events · 0 rejected lines', page)


def test_hostile_trace_text_is_only_ever_escaped(audit_texts, samples):
    payload = samples.payload
    hostile = f"garbage {payload}\n" + samples.demo.replace(
        "Status = 0x0\n", f"Status = 0x0 {payload} <img src=x onerror=alert(2)>\n"
    )
    result = audit_texts({"demo.txt": hostile})
    page = render_html(result, title=f"audit {payload}")

    for raw in (payload, "<script>alert(1)", "</script><script>", "<img src=x"):
        assert raw not in page
    rest = without_plotly(page)
    # the only script elements are the report's own: plotly.js, its config, one figure
    assert re.findall(r"<script\b[^>]*>", rest, re.I) == [
        '<script type="text/javascript">',
        "<script>",
        "<script>",
    ]
    assert len(re.findall(r"</script", rest, re.I)) == 3
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in rest
    # the figure JSON holds no '<', '>' or '&' at all: they are written as \u003c etc.
    (embedded,) = re.findall(r"var fig = (\{.*?\});\nPlotly\.newPlot\(", page, re.S)
    assert not set("<>&") & set(embedded)
    assert "\\u003cbr\\u003e" in embedded and "\\u0026lt;" in embedded

    # What the reader sees is the text itself: in the title, the evidence, the rejects ...
    tables = Tables(page)
    assert f"<title>audit {payload.replace('<', '&lt;').replace('>', '&gt;')}</title>" in page
    evidence_texts = [
        r["cells"][-1] for t in tables.tables if t["class"] == "evidence" for r in t["rows"]
    ]
    assert any(payload in text for text in evidence_texts)
    assert tables.rows(["line", "reason", "text"])[0][2] == f"garbage {payload}"
    # ... and in the timeline, where plotly gets it escaped once more for its own markup.
    (figure,) = figures(page)
    hovers = "\n".join(h for t in figure["data"] for h in t.get("hovertext", []) if h)
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in hovers
    assert "<script" not in hovers and "<img" not in hovers


def test_script_json_cannot_close_its_script_element():
    text = json.dumps({"message": "</script><script>alert(1)</script><!-- & -->"})
    safe = html_report.script_json(text)
    assert "<" not in safe and ">" not in safe and "&" not in safe
    assert safe == (
        '{"message": "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)'
        '\\u003c/script\\u003e\\u003c!-- \\u0026 --\\u003e"}'
    )
    assert json.loads(safe) == json.loads(text)


def test_timeline_figures_are_embedded_per_trace(audit_texts, samples):
    result = audit_texts({"two.txt": samples.two_adapters, "demo.txt": samples.demo})
    page = render_html(result)
    figs = figures(page)
    assert len(figs) == 2
    assert 'Plotly.newPlot("timeline-0", fig.data, fig.layout, PLOTLY_CONFIG)' in page
    assert 'Plotly.newPlot("timeline-1", fig.data, fig.layout, PLOTLY_CONFIG)' in page
    findings_per_figure = [
        sum(len(t["x"]) for t in f["data"] if t.get("legendgroup", "").startswith("finding:"))
        for f in figs
    ]
    assert findings_per_figure == [3, 3]


def test_not_evaluable_rules_with_their_reasons(audit_texts, samples):
    result = audit_texts({"unnamed.txt": samples.unnamed})
    tables = Tables(render_html(result))
    assert tables.rows(["trace", "adapter", "rule", "reason"]) == [
        [
            result.traces[0].path,
            "(adapter not named)",
            "halt-radio-left-on",
            "no event matching 'radio' for this adapter",
        ]
    ]


def test_a_sample_of_rejected_lines_per_trace(audit_texts, samples):
    junk = "".join(f"junk line {k} <b>\n" for k in range(1, 16))
    result = audit_texts({"junk.txt": junk + samples.demo, "demo.txt": samples.demo})
    page = render_html(result)
    assert "15 rejected lines, the first 10 shown" in page
    rows = Tables(page).rows(["line", "reason", "text"])
    assert [r[0] for r in rows] == [str(k) for k in range(1, 11)]
    assert rows[0][2] == "junk line 1 <b>"
    assert rows[0][1].startswith("not a WPP record")


def test_a_trace_that_could_not_be_read_is_listed_with_its_error(demo, auditor, tmp_path):
    missing = tmp_path / "missing.txt"
    result = auditor.audit([demo.traces[0].path, missing])
    failed = result.traces[1]
    assert failed.error is not None
    page = render_html(result)
    (row,) = [r for r in Tables(page).rows(["trace", "format"]) if r[0] == str(missing)]
    assert row[-1] == f"not read: {failed.error}"
    assert f"Not read: {failed.error}" in page  # in its timeline section too
    assert len(figures(page)) == 1  # and no figure for it
    assert "1 unreadable" in page


def test_an_empty_result_renders(audit_texts):
    page = render_html(audit_texts({}))
    assert "No findings." in page
    assert "Plotly.newPlot(" not in without_plotly(page)


def test_same_result_same_bytes(demo):
    assert render_html(demo) == render_html(demo)


def test_write_html_leaves_no_temporary_file(demo, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "report.html"
    write_html(demo, target)
    assert os.listdir(out) == ["report.html"]
    assert target.read_text(encoding="utf-8") == render_html(demo)
    write_html(demo, str(target))  # overwrite, path as str
    assert os.listdir(out) == ["report.html"]


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_an_interrupted_write_keeps_the_old_report(demo, tmp_path, monkeypatch, failure):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "report.html"
    target.write_text("previous report", encoding="utf-8")

    def fail(*args: object) -> None:
        raise failure

    monkeypatch.setattr(atomic.os, "fsync", fail)
    with pytest.raises(type(failure)):
        write_html(demo, target)
    assert os.listdir(out) == ["report.html"]
    assert Path(target).read_text(encoding="utf-8") == "previous report"
