"""Optional built-in maps (``--map builtin:NAME``): the data path, off by default."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from auditor.eventmap import MapSet, optional_maps
from auditor.pipeline import Auditor
from auditor.problems import ConfigError

TRACE = """\
[0]0004.0010::06/06/2025-12:00:00.000 [wlan]!MPRestart[40]!<--- MPRestart Adapter=A1 Status = 0x00000000
[0]0004.0010::06/06/2025-12:00:01.000 [wlan]!MPSendNetBufferLists[318]!Tx NBL 1 NB Adapter=A1
[0]0004.0010::06/06/2025-12:00:02.000 [wlan]---> MPPause Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.000 [wlan]<--- MPPause Adapter=A1 Status = 0x00000000
[1]0000.0000::06/06/2025-12:00:04.000 [wlan]!RxDpc[90]!NdisMIndicateReceiveNetBufferLists 2 NBLs Adapter=A1
"""


def test_datapath_is_optional_and_classifies_ndis_names(tmp_path: Path) -> None:
    assert "datapath" in optional_maps()
    trace = tmp_path / "t.txt"
    trace.write_text(TRACE, encoding="utf-8")
    plain = Auditor.load(select=["datapath-while-not-running"]).audit([trace])
    assert not plain.lifecycle.filter(pl.col("kind").is_in(["send", "receive"])).height
    assert plain.findings.is_empty()
    with_path = Auditor.load(
        map_paths=["builtin:datapath"], select=["datapath-while-not-running"]
    ).audit([trace])
    kinds = with_path.lifecycle.filter(pl.col("kind").is_in(["send", "receive"]))
    assert kinds.select("line", "kind").rows() == [(2, "send"), (5, "receive")]
    # the receive after the pause completed (Paused) breaks the state table; the send in
    # Running does not
    assert with_path.findings.select("rule", "line").rows() == [("datapath-while-not-running", 5)]


def test_unknown_builtin_map_is_a_config_error_naming_the_choices() -> None:
    with pytest.raises(
        ConfigError, match=r"no such built-in map \(optional ones: builtin:datapath"
    ):
        MapSet.load(["builtin:nope"])


def test_cli_accepts_builtin_maps(tmp_path: Path) -> None:
    trace = tmp_path / "t.txt"
    trace.write_text(TRACE, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "auditor.cli", "audit", str(trace), "--map", "builtin:datapath"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1, run.stderr
    assert "datapath-while-not-running" in run.stdout
