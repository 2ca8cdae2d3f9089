from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.eventmap import MapSet, parse_map
from auditor.prefilter import escape_literal, field_piece, required_literals


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("MPHaltEx enter", {"MPHaltEx enter"}),
        ("abc(?i:defgh)", {"abc"}),
        ("(?i)abcdef", None),
        ("foo|barbaz", {"foo", "barbaz"}),
        ("foo|b", None),  # one branch has no usable literal: no literal can be required
        ("x?abcd", {"abcd"}),
        ("(?:abc)+z", {"abc"}),
        ("(?:abc)*z", None),
        (r"\bOID_(?P<value>ON|OFF)\b.{0,9}Adapter", {"Adapter"}),
        (r"(?<adapter>\w+) RF -> ON", {" RF -> ON"}),
        (r"\x{200E}abc", None),  # Rust-only syntax: keep the full pattern
    ],
)
def test_required_literals(pattern, expected):
    found = required_literals(pattern)
    assert (set(found) if found else None) == expected


pieces = st.sampled_from(
    [
        "abc",
        "abd",
        "xyz",
        "a",
        "b",
        r"\d",
        r"\s",
        ".",
        "(?:abc|xyzw)",
        "(?i:abc)",
        "(?:ab)?",
        "(?:cd)+",
        "[ab]",
        "^",
        r"\b",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(pieces, min_size=1, max_size=6), st.text(alphabet="abcdxyzwABC 1", max_size=30))
def test_a_match_always_contains_one_of_the_literals(parts, text):
    pattern = "".join(parts)
    found = required_literals(pattern)
    if found and re.search(pattern, text):
        assert any(lit in text for lit in found), (pattern, text, found)


def test_escaped_literals_match_themselves_in_polars():
    weird = ["a.b*c", "(x)[y]{z}", "p|q^r$", "dash-and#hash", "tab\there"]
    frame = pl.DataFrame({"t": [*weird, "ab"]})
    out = frame.select(pl.col("t").str.contains("|".join(escape_literal(w) for w in weird)))
    assert out.to_series().to_list() == [True] * len(weird) + [False]


def test_every_builtin_entry_has_a_literal_prefilter():
    # a new built-in entry without one would silently slow every audit down
    missing = [
        e.origin for e in MapSet.load().entries if e.message and not required_literals(e.message)
    ]
    assert missing == []


def test_builtin_literals_keep_few_data_path_lines(tmp_path):
    """A weak literal ('vent', 'uffer') would let most data-path lines through to the map
    patterns and slow every audit: on a generated trace, the lines the pre-filter keeps
    but no map classifies stay a small share."""
    from parsers import ParseOptions, read_trace

    root = Path(__file__).resolve().parents[2]
    trace = tmp_path / "g.txt"
    subprocess.run(
        [sys.executable, str(root / "benchmarks" / "generate.py"), "--events", "40000", str(trace)],
        check=True,
        capture_output=True,
    )
    maps = MapSet.load()
    parsed = read_trace(trace, ParseOptions(keep=maps))
    kept = parsed.events.collect()
    classified = maps.classify(kept.lazy()).collect()
    assert classified.height > 100
    assert kept.height - classified.height < 0.15 * 40000, (kept.height, classified.height)


SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.mark.parametrize(
    "path",
    sorted(p for p in SAMPLES.iterdir() if p.is_file() and p.suffix not in (".toml", ".json")),
    ids=lambda p: p.name,
)
def test_streamed_audit_read_keeps_what_the_whole_file_read_keeps(path, monkeypatch):
    """The audit reads big traces streamed, pre-filtered by the maps; small chunks put
    boundaries everywhere, and the kept events and the accounting must not move."""
    from parsers import ParseOptions, read_trace, stream_trace

    monkeypatch.setattr("parsers.STREAM_MIN_BYTES", 0)  # stream even these small samples

    options = ParseOptions(keep=MapSet.load())
    whole = read_trace(path, options)
    streamed = stream_trace(path, options, chunk_lines=3).read()
    assert streamed.events.collect().equals(whole.events.collect())
    assert streamed.accounting == whole.accounting
    assert streamed.rejects.equals(whole.rejects)
    assert (streamed.format, streamed.encoding, streamed.notes) == (
        whole.format,
        whole.encoding,
        whole.notes,
    )


@pytest.mark.parametrize(
    "path", sorted(p for p in SAMPLES.iterdir() if p.suffix == ".csv"), ids=lambda p: p.name
)
def test_prefiltered_csv_traces_lose_no_lifecycle_event(path):
    """CSV formats pre-filter decoded messages (has_event_id): every event the maps
    classify in the whole trace is still there after the pre-filter."""
    from parsers import ParseOptions, read_trace

    maps = MapSet.load()
    everything = maps.classify(read_trace(path).events).collect()
    kept = maps.classify(read_trace(path, ParseOptions(keep=maps)).events).collect()
    assert everything.height > 0
    assert kept.equals(everything)


@pytest.mark.parametrize(
    ("literal", "piece"),
    [
        ("MPInitializeEx", "MPInitializeEx"),
        ("}, ", "}"),  # the `, ` may be the join between two values
        ('Radio", "Off state', "Off state"),  # the longest part left by the cuts
        (" padded\t", "padded"),  # padding around a value is stripped
        (", ", None),
        ('"', None),
    ],
)
def test_field_piece(literal, piece):
    assert field_piece(literal) == piece


def _one_entry(message: str, **extra: str) -> MapSet:
    lines = ["[[event]]", 'kind = "halt.begin"', f"message = '{message}'"]
    lines += [f"{key} = '{value}'" for key, value in extra.items()]
    return MapSet((parse_map("\n".join(lines) + "\n", "m.toml"),))


def test_necessary_in_fields_finds_the_cut_literal_in_raw_values():
    maps = _one_entry("MPHaltEx, done")  # literal 'MPHaltEx, done' -> longest piece 'MPHaltEx'
    raw = pl.DataFrame({"t": [' "MPHaltEx", "done"', ' "MPHalt", "done"', ""]})
    condition = maps.necessary_in_fields(pl.col("t"), has_event_id=True)
    assert condition is not None
    assert raw.select(condition).to_series().to_list() == [True, False, False]


def test_necessary_in_fields_is_unknown_when_an_entry_has_no_literal():
    # case-insensitive: no literal can be required, so only a decoded message can tell
    assert _one_entry("(?i)halt").necessary_in_fields(pl.col("t"), has_event_id=True) is None


def test_builtin_maps_can_prefilter_raw_csv_values():
    """Without it every tracerpt row would be decoded before the maps could drop it."""
    condition = MapSet.load().necessary_in_fields(pl.col("t"), has_event_id=True)
    assert condition is not None
    raw = pl.DataFrame({"t": [' "---> MPInitializeEx", "Adapter=A1"', ' "Tx NBL=0x1", 4']})
    assert raw.select(condition).to_series().to_list() == [True, False]


@pytest.mark.parametrize(
    ("message", "per_line"),
    [
        ("MPHaltEx", True),  # a literal lies within one line of a wrapped record
        (r"MPHalt\nEx", False),  # a literal spanning a line break needs the joined text
        ("(?i)halt", False),  # a loosened pattern (\s, .*) may span lines
    ],
)
def test_judged_per_line_only_for_literals_without_a_line_break(message, per_line):
    assert _one_entry(message).judged_per_line(has_event_id=False) is per_line


def test_builtin_maps_judge_wrapped_records_per_line():
    """Otherwise every wrapped WPP record would be joined before the pre-filter judged it."""
    assert MapSet.load().judged_per_line(has_event_id=False)
