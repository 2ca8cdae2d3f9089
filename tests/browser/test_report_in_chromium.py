"""The HTML report opened in headless Chromium: it loads cleanly, the plots hold what the
audit found, the findings table filters, trace text stays text, a large trace opens fast.

Screenshots and the pages themselves are kept under out/test-artifacts/.
"""

from __future__ import annotations

import json
import os

from auditor.pipeline import Auditor
from auditor.report.html import render_html, write_html
from tests.report.conftest import PAYLOAD, UNNAMED

# A lifecycle line of A1 carries a script tag; so does a data line next to an evidence line.
TRACE = f"""\
[0]0004.0010::06/06/2025-12:00:00.000 [wlan]---> MPInitializeEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:00.100 [wlan]<--- MPInitializeEx Adapter=A1 Status = 0x00000000
[1]0004.0020::06/06/2025-12:00:00.200 [wlan]---> MPInitializeEx Adapter=B2
[1]0004.0020::06/06/2025-12:00:00.300 [wlan]<--- MPInitializeEx Adapter=B2 Status = 0x00000000
[0]0004.0010::06/06/2025-12:00:01.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
[1]0004.0020::06/06/2025-12:00:01.500 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=B2
[0]0004.0010::06/06/2025-12:00:02.000 [wlan]Indicate NDIS_STATUS_DOT11_ASSOCIATION_COMPLETION Adapter=A1 Status = 0x0 {PAYLOAD}
[1]0004.0020::06/06/2025-12:00:02.200 [wlan]Indicate NDIS_STATUS_DOT11_ASSOCIATION_COMPLETION Adapter=B2 Status = 0x0
[1]0004.0020::06/06/2025-12:00:02.500 [wlan]Indicate NDIS_STATUS_DOT11_DISASSOCIATION Adapter=B2
[0]0004.0010::06/06/2025-12:00:03.000 [wlan]---> MPHaltEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.050 [wlan]tx queue flushed <img src=x onerror=alert(2)>
[0]0004.0010::06/06/2025-12:00:03.100 [wlan]<--- MPHaltEx Adapter=A1
[1]0004.0020::06/06/2025-12:00:03.200 [wlan]---> MPHaltEx Adapter=B2
[1]0004.0020::06/06/2025-12:00:03.300 [wlan]Set OID_DOT11_NIC_POWER_STATE: FALSE Adapter=B2
[1]0004.0020::06/06/2025-12:00:03.400 [wlan]<--- MPHaltEx Adapter=B2
[0]0004.0010::06/06/2025-12:00:04.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: FALSE Adapter=A1
[0]0004.0010::06/06/2025-12:00:05.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
"""

# The events of the large-report test's synthetic trace: the 10 million (TRACE_AUDITOR_BROWSER_EVENTS
# overrides it for a quicker local run).
LARGE_EVENTS = int(os.environ.get("TRACE_AUDITOR_BROWSER_EVENTS", "10000000"))
SIZE_BOUND = 16 * 2**20  # bytes: the README's bound for a one-trace report
OPEN_BOUND = 15.0  # seconds from navigation until every plot is drawn

PLOT_SUMMARY = """
return Array.prototype.map.call(document.querySelectorAll('.js-plotly-plot'), function (gd) {
  var findings = 0;
  gd.data.forEach(function (t) {
    if (String(t.legendgroup || '').indexOf('finding:') === 0) findings += t.x.length;
  });
  return {traces: gd.data.length, findings: findings,
          types: gd.data.map(function (t) { return t.type || 'scatter'; })};
});
"""
VISIBLE_FINDINGS = """
return Array.prototype.filter.call(
  document.querySelectorAll('#findings-table tbody.finding'),
  function (b) { return b.offsetParent !== null; }).length;
"""


def severe(browser) -> list[dict]:
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_report_in_headless_chromium(browser, open_report, artifacts, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    traces = []
    for name, text in (("two-adapters.txt", TRACE), ("unnamed.txt", UNNAMED)):
        (tmp_path / name).write_text(text, encoding="utf-8", newline="\n")
        traces.append(tmp_path / name)
    result = Auditor.load().audit(traces)
    per_trace = dict(result.findings.group_by("trace").len().iter_rows())
    assert [per_trace[str(p)] for p in traces] == [3, 1]
    page = artifacts / "report.html"
    write_html(result, page)

    open_report(page, plots=2)
    assert severe(browser) == []

    plots = browser.execute_script(PLOT_SUMMARY)
    assert [p["findings"] for p in plots] == [3, 1]
    # two adapters: 4 states (connected, radio on, NDIS Initializing, halted) x 2 bars,
    # 4 event families, 2 severities; one adapter: 4 state bars, 3 event families (no
    # radio event), 1 severity
    assert [p["traces"] for p in plots] == [8 + 4 + 2, 4 + 3 + 1]

    # the findings table filters: by text, then by adapter
    assert browser.execute_script(VISIBLE_FINDINGS) == 4
    box = browser.find_element(By.ID, "findings-filter")
    box.send_keys("radio-on-before")
    assert browser.execute_script(VISIBLE_FINDINGS) == 1
    assert "1 of 4 findings shown" in browser.find_element(By.ID, "findings-count").text
    box.clear()
    box.send_keys(" ")  # clear() fires no input event; a blank filter matches everything
    assert browser.execute_script(VISIBLE_FINDINGS) == 4
    adapter = browser.find_element(By.CSS_SELECTOR, 'select[data-filter="adapter"]')
    adapter.find_element(By.CSS_SELECTOR, 'option[value="A1"]').click()
    assert browser.execute_script(VISIBLE_FINDINGS) == 3

    # sorting by line puts the end-of-trace and latest lines last
    browser.find_element(By.CSS_SELECTOR, 'th[data-sort="line"]').click()
    lines = browser.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll("
        "'#findings-table tbody.finding'), function (b) { return Number(b.dataset.line); });"
    )
    assert lines == sorted(lines)

    # the script tags are text: no alert ran, and the text is on the page
    assert browser.execute_script("return window.__alerts") == 0
    try:
        browser.switch_to.alert.dismiss()
        raise AssertionError("an alert is open")
    except NoAlertPresentException:
        pass
    body = browser.find_element(By.TAG_NAME, "body").text
    assert PAYLOAD in body
    assert "<img src=x onerror=alert(2)>" in body  # a neighbouring source line, as text
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0

    # clicking a finding zooms its timeline to the evidence window
    window = browser.execute_script(
        """
        var gd = document.querySelectorAll('.js-plotly-plot')[0];
        var t = gd.data.filter(function (d) { return d.legendgroup === 'finding:error'; })[0];
        gd.emit('plotly_click', {points: [{data: t, customdata: t.customdata[0], pointNumber: 0}]});
        return [t.customdata[0], gd.layout.xaxis.range];
        """
    )
    assert window[1] == window[0]
    assert severe(browser) == []

    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(artifacts / "report.png"))
    browser.find_element(By.ID, "timeline-0").screenshot(str(artifacts / "timeline.png"))


def test_a_large_trace_stays_small_and_opens_fast(browser, open_report, artifacts, synthetic):
    from selenium.webdriver.common.by import By

    result = synthetic.synthetic_result(LARGE_EVENTS, trace="large-synthetic.txt")
    page = artifacts / "large-report.html"
    text = render_html(result)
    page.write_text(text, encoding="utf-8")
    size = len(text.encode("utf-8"))
    assert size < SIZE_BOUND

    seconds = open_report(page, plots=1)
    assert severe(browser) == []
    (plot,) = browser.execute_script(PLOT_SUMMARY)
    assert "scattergl" in plot["types"] and "heatmap" in plot["types"]
    browser.save_screenshot(str(artifacts / "large-report.png"))
    browser.find_element(By.ID, "timeline-0").screenshot(str(artifacts / "large-timeline.png"))
    (artifacts / "large-report.json").write_text(
        json.dumps(
            {
                "events": LARGE_EVENTS,
                "findings": result.findings.height,
                "html_bytes": size,
                "open_seconds": round(seconds, 2),
            },
            indent=2,
        )
        + "\n"
    )
    assert seconds < OPEN_BOUND, f"{LARGE_EVENTS:,} events: opened in {seconds:.1f} s"


def test_timeline_png_through_kaleido_or_a_clear_message(tmp_path, monkeypatch):
    """With the png extra (kaleido) a PNG is written by the installed Chromium; without
    it, or without a browser, the message says what to install."""
    import importlib.util

    import pytest

    from auditor.report.timeline import PngUnavailable, timeline_figure, write_png

    (tmp_path / "t.txt").write_text(UNNAMED, encoding="utf-8")
    result = Auditor.load().audit([tmp_path / "t.txt"])
    fig = timeline_figure(result, result.traces[0].path)
    target = tmp_path / "t.png"
    if importlib.util.find_spec("kaleido") is None:
        with pytest.raises(PngUnavailable, match=r"pip install 'trace-auditor\[png\]'"):
            write_png(fig, target)
        return
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-browser"))
    with pytest.raises(PngUnavailable, match="Chrome or Chromium"):
        write_png(fig, target)
    assert not target.exists()
    monkeypatch.delenv("BROWSER_PATH")
    write_png(fig, target)
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
