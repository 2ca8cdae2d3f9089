"""gzip input (bounded), standard input, and .gz traces found in directories."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest

from auditor.inputs import expand_inputs
from parsers import TraceReadError, read_trace
from parsers import source as source_module

TRACE = (
    "[0]0004.0010::06/06/2025-12:00:00.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1\n"
    "[0]0004.0010::06/06/2025-12:00:01.000 [wlan]---> MPHaltEx Adapter=A1\n"
    "[0]0004.0010::06/06/2025-12:00:01.500 [wlan]<--- MPHaltEx Adapter=A1\n"
)


def test_gzip_trace_reads_like_the_plain_one(tmp_path):
    plain = tmp_path / "t.txt"
    plain.write_text(TRACE, encoding="utf-8")
    packed = tmp_path / "t.txt.gz"
    packed.write_bytes(gzip.compress(TRACE.encode("utf-16")))  # UTF-16 inside gzip too
    a, b = read_trace(plain), read_trace(packed)
    assert b.format == "wpp-text" and b.encoding == "utf-16-le"
    assert a.events.collect().drop("trace").equals(b.events.collect().drop("trace"))
    assert b.accounting == a.accounting


def test_truncated_gzip_is_a_clear_error(tmp_path):
    packed = tmp_path / "cut.txt.gz"
    packed.write_bytes(gzip.compress(TRACE.encode() * 50)[:-20])
    with pytest.raises(TraceReadError, match="corrupt or truncated gzip data"):
        read_trace(packed)


def test_gzip_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(source_module, "MAX_COMPRESSION_RATIO", 10)
    bomb = tmp_path / "bomb.txt.gz"
    bomb.write_bytes(gzip.compress(b"A" * (8 * 2**20)))
    with pytest.raises(TraceReadError, match="expands beyond"):
        read_trace(bomb)


def test_directories_include_gzipped_traces(tmp_path):
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress(TRACE.encode()))
    (tmp_path / "notes.md.gz").write_bytes(gzip.compress(b"# notes"))
    assert expand_inputs(tmp_path) == [str(tmp_path / "a.txt.gz")]


def test_standard_input_with_html_report(tmp_path):
    report = tmp_path / "r.html"
    proc = subprocess.run(
        [sys.executable, "-m", "auditor.cli", "audit", "-", "-f", "json", "--html", str(report)],
        input=TRACE.encode(),
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    (finding,) = json.loads(proc.stdout)["findings"]
    assert (finding["trace"], finding["rule"], finding["line"]) == ("-", "halt-radio-left-on", 3)
    assert "Set OID_DOT11_NIC_POWER_STATE: TRUE" in report.read_text(encoding="utf-8")
