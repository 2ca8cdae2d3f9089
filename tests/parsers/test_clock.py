from __future__ import annotations

import json
import subprocess
import sys

import polars as pl

from parsers.clock import clock_jumps
from parsers.schema import TS_DTYPE


def frame(seconds: list[float | None]) -> pl.DataFrame:
    ns = [None if s is None else int(s * 1e9) + 1_700_000_000_000_000_000 for s in seconds]
    return pl.DataFrame(
        {"seq": list(range(len(ns))), "line": [i + 1 for i in range(len(ns))], "ts": ns}
    ).with_columns(pl.col("ts").cast(TS_DTYPE))


def test_small_out_of_order_steps_are_normal():
    assert clock_jumps(frame([0, 0.5, 0.2, 1.0, 0.9])).count == 0


def test_a_large_step_back_is_counted_with_its_first_line():
    jumps = clock_jumps(frame([0, 10, None, 2, 3, 11, 12]), threshold_ns=1_000_000_000)
    assert (jumps.count, jumps.largest_ns, jumps.first_line) == (2, 8_000_000_000, 4)


def test_audit_reports_clock_jumps_in_json(tmp_path):
    trace = tmp_path / "t.txt"
    trace.write_text(
        "[0]0004.0010::06/06/2025-12:00:10.000 [wlan]---> MPHaltEx Adapter=A1\n"
        "[0]0004.0010::06/06/2025-12:00:02.000 [wlan]<--- MPHaltEx Adapter=A1\n",
        encoding="utf-8",
    )
    cmd = [sys.executable, "-m", "auditor.cli", "audit", str(trace), "-f", "json"]
    doc = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=False).stdout)
    entry = doc["traces"][0]
    assert (entry["clock_jumps"], entry["clock_jump_max_s"], entry["clock_jump_line"]) == (
        1,
        8.0,
        2,
    )
    doc = json.loads(
        subprocess.run(
            [*cmd, "--clock-jump", "10s"], capture_output=True, text=True, check=False
        ).stdout
    )
    assert doc["traces"][0]["clock_jumps"] == 0
