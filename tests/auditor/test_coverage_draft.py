"""`maps coverage --emit-map`: a draft map that loads and classifies what it came from."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import polars as pl
import pytest

from auditor.eventmap import MapSet, load_map
from auditor.mapdraft import draft_map, draft_pattern, guess_kind
from auditor.pipeline import Auditor
from parsers import ParseOptions, read_trace

# A new driver's messages, none of which a built-in map knows.
TRACE = """\
[0]0004.0010::06/06/2025-12:00:00.000 [wlx]WlxHwInit: enter, Adapter=wl0
[0]0004.0010::06/06/2025-12:00:00.010 [wlx]WlxHwInit: exit, Adapter=wl0, result Success
[0]0004.0010::06/06/2025-12:00:00.020 [wlx]WlxRf: radio state OFF (Adapter=wl0)
[0]0004.0010::06/06/2025-12:00:00.030 [wlx]WlxRf: radio state ON (Adapter=wl0)
[1]0004.0014::06/06/2025-12:00:00.040 [wlx]WlxTxPath: sent 3 frames, 1514 bytes
[1]0004.0014::06/06/2025-12:00:00.041 [wlx]WlxTxPath: sent 1 frames, 60 bytes
[1]0004.0014::06/06/2025-12:00:00.050 [wlx]WlxCal: temperature 41 C, it's 'fine'
[0]0004.0010::06/06/2025-12:00:00.060 [wlx]WlxHwHalt: enter, Adapter=wl0
[0]0004.0010::06/06/2025-12:00:00.070 [wlx]WlxHwHalt: exit, Adapter=wl0
[0]0004.0010::06/06/2025-12:00:00.080 [wlx]WlxAssoc: association with 94:83:c4:0e:7d:22
"""

EXPECTED = {  # line -> (kind, value, adapter) once the draft map is used
    1: ("init.begin", None, "wl0"),
    2: ("init.end", "ok", "wl0"),
    3: ("radio", "off", "wl0"),
    4: ("radio", "on", "wl0"),
    5: ("send", None, None),
    6: ("send", None, None),
    8: ("halt.begin", None, "wl0"),
    9: ("halt.end", None, "wl0"),
}


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "wlx.txt"
    path.write_text(TRACE, encoding="utf-8")
    return path


def _draft(trace: Path, tmp_path: Path) -> Path:
    shapes = Auditor.load().coverage(trace, top=50)
    out = tmp_path / "wlx.map.toml"
    out.write_text(draft_map(shapes, "wlx"), encoding="utf-8")
    return out


def test_draft_loads_and_classifies_the_lines_it_came_from(trace: Path, tmp_path: Path) -> None:
    draft = load_map(_draft(trace, tmp_path))
    assert draft.name == "wlx"
    events = read_trace(trace, ParseOptions()).events
    classified = MapSet((draft,)).classify(events).collect().sort("line")
    got = {
        row["line"]: (row["kind"], row["value"], row["adapter"])
        for row in classified.iter_rows(named=True)
    }
    assert got == EXPECTED


def test_undecided_shapes_are_commented_out_with_count_and_example(
    trace: Path, tmp_path: Path
) -> None:
    text = _draft(trace, tmp_path).read_text(encoding="utf-8")
    doc = tomllib.loads(text)
    assert len(doc["event"]) == 7  # the two "sent" lines share one shape
    # the calibration line and the association of unknown direction are left to the user
    assert "# guess: no lifecycle keyword" in text
    assert "# [[event]]" in text and '# kind = "?"' in text
    assert "# 1 x, e.g. " in text and "WlxCal: temperature 41 C, it's 'fine'" in text
    assert "# 2 x, e.g. " in text  # the send shape counts both lines
    assert "mentions association, but is it its start or its end?" in text


def test_the_user_map_plus_builtins_now_covers_the_trace(trace: Path, tmp_path: Path) -> None:
    draft = _draft(trace, tmp_path)
    left = Auditor.load(map_paths=[draft]).coverage(trace, top=None)
    assert sorted(left["example_line"].to_list()) == [7, 10]


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("---> WlxHalt", "halt.begin"),
        ("WlxHalt() <====", "halt.end"),
        ("MiniportPause enter", "pause.begin"),
        ("N62CHandleMiniportRestart done", "restart.end"),
        ("DoDot11Reset started", "reset.begin"),
        ("RF kill switch: radio off", "radio"),
        ("Indicate disassociation, reason 3", "disassoc"),
        ("Host requested disconnect", "disconnect.request"),
        ("Connection completed, status 0", "connect.end"),
        ("Connect request for SSID x", "connect.request"),
        ("LwTxSend: NBL 1", "send"),
        ("LwRxDpc: 3 frames", "receive"),
        ("12 events lost by the logger", "trace.lost"),
        ("Surprise removal of the device", "surprise-removal"),
        ("FSM Transition from State: Disconnected to State: Associating", None),
        ("MiniportHalt", None),  # neither begin nor end
        ("temperature 41 C", None),
    ],
)
def test_kind_guesses(message: str, kind: str | None) -> None:
    assert guess_kind(message).kind == kind


def test_patterns_are_anchored_and_mask_variable_parts() -> None:
    pattern, values = draft_pattern("Rx <n> frames on Interface <guid>", "receive")
    assert pattern.startswith("^") and pattern.endswith("$")
    assert "(?P<adapter>" in pattern and values == {}
    assert pl.select(
        pl.lit("Rx 12 frames on Interface {6b29fc40-ca47-1067-b31d-00dd010662da}").str.contains(
            pattern
        )
    ).item()
    # a word after "interface" without a separator is not taken for a name
    pattern, _ = draft_pattern("Interface departure notification", None)
    assert "(?P<adapter>" not in pattern


def test_cli_emit_map(trace: Path, tmp_path: Path) -> None:
    out = tmp_path / "drafted.map.toml"
    run = subprocess.run(
        [sys.executable, "-m", "auditor.cli", "maps", "coverage", str(trace), "--emit-map", out],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert f"{out}: draft map, 7 entries with a guessed kind, 2 to decide" in " ".join(
        run.stderr.split()
    )
    assert load_map(out).name == "drafted"
