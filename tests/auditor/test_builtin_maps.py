"""The built-in maps against realistic lines of every form they target, and near misses.

The table is ``tests/auditor/maps/builtin_cases.toml``: each case is one tracerpt row or
one WPP / netsh text record, read by the real parser and classified by the shipped maps.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest

from auditor.eventmap import MapEntry, MapSet, builtin_maps
from auditor.vocabulary import KIND_VALUES, MAPPABLE, Kind
from parsers import ParseOptions, read_trace

HERE = Path(__file__).resolve().parent
CASES = tomllib.loads((HERE / "maps" / "builtin_cases.toml").read_text(encoding="utf-8"))["case"]
# The files (and the entries of 20-wlan-autoconfig.toml after its first three) whose every
# entry must be exercised by a case here; the older entries have their own tests.
TABLE_FILES = ("30-", "40-", "50-", "60-", "70-")
AUTOCONFIG_OLD_ENTRIES = 3

CSV_HEADER = (
    "Event Name,       Type,     Event ID,    Version,    Channel,      Level,     Opcode,"
    "       Task,            Keyword,        PID,        TID,     Processor Number,"
    "  Instance ID,   Parent Instance ID,                              Activity ID,"
    "                      Related Activity ID,           Clock-Time, Kernel(ms),   User(ms),"
    " User Data\n"
    "EventTrace,     Header,            0,          2,          0,          0,          0,"
    "          0, 0x0000000000000000, 0x00000A2C, 0x00000A30,                    0,"
    "             ,                     ,   {00000000-0000-0000-0000-000000000000},"
    "                                         ,   133836712674100000,         15,          0,"
    " 65536, 131082, 22631, 8, 133836712800000000, 156250, 0, 0x00000001, 6, 1, 8, 0, 2496,"
    ' 133836500000000000, 10000000, 133836712674100000, 1, 0, "WiFiSession",'
    ' "C:\\Windows\\Temp\\wifi.etl"\n'
)


@pytest.fixture(scope="module")
def maps() -> MapSet:
    return MapSet.load()


def _events(case: dict, tmp_path: Path) -> pl.DataFrame:
    if case["form"] == "csv":
        path, text, line = tmp_path / "case.csv", CSV_HEADER + case["text"] + "\n", 3
    else:
        path, text, line = tmp_path / "case.txt", case["text"] + "\n", 1
    path.write_text(text, encoding="utf-8")
    parsed = read_trace(path, ParseOptions())
    events = parsed.events.collect()
    assert parsed.rejects.height == 0, parsed.rejects
    found = events.filter(pl.col("line") == line)
    assert found.height == 1, events
    return found


def _first_entry(entries: list[MapEntry], events: pl.DataFrame) -> MapEntry | None:
    hits = events.select([e.condition().alias(str(i)) for i, e in enumerate(entries)]).row(0)
    return next((entries[i] for i, hit in enumerate(hits) if hit), None)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case_classifies_as_expected(case: dict, maps: MapSet, tmp_path: Path) -> None:
    events = _events(case, tmp_path)
    classified = maps.classify(events.lazy()).collect()
    if not case["kind"]:
        assert classified.height == 0, classified.select("kind", "value", "adapter", "message")
        return
    assert classified.height == 1, f"not classified: {events['message'][0]!r}"
    row = classified.row(0, named=True)
    got = (row["kind"], row["value"], row["adapter"])
    assert got == (case["kind"], case.get("value"), case.get("adapter"))


def _table_entries() -> list[MapEntry]:
    out: list[MapEntry] = []
    for m in builtin_maps():
        name = m.path.removeprefix("builtin:")
        if name.startswith(TABLE_FILES):
            out.extend(m.entries)
        elif name == "20-wlan-autoconfig.toml":
            out.extend(m.entries[AUTOCONFIG_OLD_ENTRIES:])
    return out


def test_every_new_entry_has_a_positive_case(maps: MapSet, tmp_path: Path) -> None:
    """Each entry of the provider-family maps is the first match of some case."""
    entries = maps.entries
    used: set[str] = set()
    for case in CASES:
        if case["kind"]:
            entry = _first_entry(entries, _events(case, tmp_path))
            assert entry is not None, case["name"]
            used.add(entry.origin)
    missing = [e.origin for e in _table_entries() if e.origin not in used]
    assert not missing, missing


def test_every_new_entry_has_a_near_miss() -> None:
    """Each case's ``source`` names an entry; every map family has misses besides hits."""
    families = {c["source"].split(":")[0] for c in CASES}
    for family in families:
        kinds = {bool(c["kind"]) for c in CASES if c["source"].startswith(family + ":")}
        assert kinds == {True, False}, family


def test_values_respect_the_vocabulary() -> None:
    """Kinds with a fixed value set only ever get those values; WDI begins carry the task."""
    for entry in MapSet.load().entries:
        assert entry.kind in MAPPABLE, entry.origin
        allowed = KIND_VALUES.get(Kind(entry.kind))
        if allowed is None:
            continue
        for candidate in [entry.value, *entry.values.values()]:
            assert candidate is None or candidate in allowed, entry.origin


def test_builtin_patterns_are_valid_for_rust_and_python() -> None:
    """Polars compiled them when the maps loaded; the oracle port needs Python's re too."""
    for entry in MapSet.load().entries:
        for pattern in (entry.message, entry.provider, entry.event, entry.adapter_pattern):
            if pattern is not None:
                pl.select(pl.lit("").str.contains(pattern))
                re.compile(pattern)


def _naive() -> ModuleType:
    path = HERE.parents[1] / "benchmarks" / "naive_auditor.py"
    name = "_bench_naive_auditor"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_naive_port_has_the_maps_provider_and_event_id_filters() -> None:
    """tests/benchmarks checks kinds, patterns and values; this checks the other filters."""
    naive = _naive()
    entries = MapSet.load().entries
    assert len(entries) == len(naive.ENTRIES)
    for entry, port in zip(entries, naive.ENTRIES, strict=True):
        assert (port.provider.pattern if port.provider else None) == entry.provider, entry.origin
        assert port.event_id == entry.event_id, entry.origin
        assert entry.event is None, "the naive port has no event-name filter"


def _oracle_record(case: dict) -> bool:
    # tracefmt's Unknown(...) lines have no WPP prefix, so they are not records the naive
    # oracle reads: only cases that start with a prefixed record are compared.
    return case["form"] == "wpp" and _naive().RECORD.match(case["text"].split("\n")[0]) is not None


@pytest.mark.parametrize("case", [c for c in CASES if _oracle_record(c)], ids=lambda c: c["name"])
def test_naive_port_agrees_on_wpp_cases(case: dict) -> None:
    """The oracle classifies the single-record WPP cases like the product."""
    naive = _naive()
    lines = case["text"].split("\n")
    head = naive.RECORD.match(lines[0])
    assert head is not None
    message = "\n".join([lines[0][head.end() :], *lines[1:]])
    for prefilter in (False, True):
        found = naive.classify(message, prefilter, head.group("provider"))
        if not case["kind"]:
            assert found is None
        else:
            assert found == (case["kind"], case.get("value"), case.get("adapter"))
