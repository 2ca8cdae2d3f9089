from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest

from auditor.coverage import shape, unclassified
from auditor.eventmap import MapSet
from auditor.pipeline import Auditor
from auditor.report.html import render_html
from parsers import read_trace

TRACE = """\
[0]0004.0010::06/06/2025-12:00:00.000 [wlan]---> MPHaltEx Adapter=A1
[1]0004.0011::06/06/2025-12:00:00.001 [wlan]Rx NBL=FFFF9A8C2E5D0C80 len=1514
[1]0004.0011::06/06/2025-12:00:00.002 [wlan]Rx NBL=FFFF9A8C2E5D0D00 len=60
[1]0004.0011::06/06/2025-12:00:00.003 [wlan]Rx NBL=FFFF9A8C2E5D0E80 len=1500
[0]0004.0010::06/06/2025-12:00:00.004 [wlan]Scan result bssid 94:83:c4:0e:7d:22 rssi -54
[0]0004.0010::06/06/2025-12:00:00.005 [wlan]<script>alert(1)</script> for {6b29fc40-ca47-1067-b31d-00dd010662da}
[0]0004.0010::06/06/2025-12:00:00.006 [wlan]<--- MPHaltEx Adapter=A1
"""


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Rx NBL=FFFF9A8C2E5D0C80 len=1514", "Rx NBL=<hex> len=<n>"),
        ("status 0xC0000001 after 12.5 ms", "status <hex> after <n> ms"),
        ("bssid 94:83:c4:0e:7d:22 rssi -54", "bssid <mac> rssi <n>"),
        ("port {6b29fc40-ca47-1067-b31d-00dd010662da} up", "port <guid> up"),
        ("deadbeef is a word here, face too", "deadbeef is a word here, face too"),
    ],
)
def test_shapes_mask_variable_parts(message, expected):
    assert pl.select(shape(pl.lit(message))).item() == expected


def test_unclassified_is_exactly_what_the_maps_leave(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(TRACE, encoding="utf-8")
    maps = MapSet.load()
    events = read_trace(path).events
    shapes = unclassified(events, maps, top=None)
    classified = maps.classify(events).collect().height
    assert shapes.get_column("count").sum() == events.collect().height - classified == 5
    top = shapes.row(0, named=True)
    assert (top["shape"], top["count"], top["example_line"]) == ("Rx NBL=<hex> len=<n>", 3, 2)
    assert unclassified(events, maps, top=1).height == 1


def test_html_report_lists_unclassified_shapes_escaped(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(TRACE, encoding="utf-8")
    result = Auditor.load().audit([path], coverage=10)
    page = render_html(result)
    assert "Rx NBL=&lt;hex&gt; len=&lt;n&gt;" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(&lt;n&gt;)&lt;/script&gt; for &lt;guid&gt;" in page


def test_maps_coverage_command(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(TRACE, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "auditor.cli", "maps", "coverage", str(path), "--top", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Rx NBL=<hex> len=<n>" in proc.stdout
    assert "MPHaltEx" not in proc.stdout
