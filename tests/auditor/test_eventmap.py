from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.eventmap import MapSet, loosen, parse_map
from auditor.problems import ConfigError
from parsers import read_trace


def classify(maps: MapSet, messages: list[str], provider: str = "drv") -> list[tuple]:
    frame = pl.DataFrame(
        {
            "message": messages,
            "provider": [provider] * len(messages),
            "event": [None] * len(messages),
            "event_id": [None] * len(messages),
            "line": list(range(1, len(messages) + 1)),
        },
        schema_overrides={"event": pl.String, "event_id": pl.UInt16},
    )
    out = maps.classify(frame.lazy()).collect()
    return out.select("line", "kind", "value", "adapter").rows()


BUILTIN = MapSet.load()


@pytest.mark.parametrize(
    ("message", "kind", "value", "adapter"),
    [
        ("---> MPInitializeEx", "init.begin", None, None),
        ("MPInitializeEx()====>", "init.begin", None, None),
        ("====> MiniportInitializeEx Adapter=0xFFFF8A0C", "init.begin", None, "0xFFFF8A0C"),
        ("!MiniportInitializeEx[77]!Enter", "init.begin", None, None),
        ("MiniportInitializeEx: Adapter=A1 enter", "init.begin", None, "A1"),
        ("<--- MPInitializeEx Status = 0x00000000", "init.end", "ok", None),
        ("<--- MPInitializeEx returning NDIS_STATUS_SUCCESS", "init.end", "ok", None),
        ("<--- MPInitializeEx Status = 0xC0000001", "init.end", "fail", None),
        ("MiniportInitializeEx exit, NDIS_STATUS_RESOURCES", "init.end", "fail", None),
        ("MPInitializeEx() <====", "init.end", None, None),
        ("---> MPHaltEx", "halt.begin", None, None),
        ("MpHaltEx Enter", "halt.begin", None, None),
        ("Entering MiniportHaltEx", "halt.begin", None, None),
        ("<--- MPHaltEx", "halt.end", None, None),
        ("MPHaltEx() <====", "halt.end", None, None),
        ("!MiniportHaltEx[120]!Exit", "halt.end", None, None),
        ("MpPause()====>", "pause.begin", None, None),
        ("MpPause() <==== ndisStatus=NDIS_STATUS_SUCCESS", "pause.end", None, None),
        ("---> MPRestart Adapter=A2", "restart.begin", None, "A2"),
        ("<--- MPRestart Status = 0x00000000", "restart.end", "ok", None),
        ("<--- MPRestart Status = 0xC000009A", "restart.end", "fail", None),
        ("MiniportRestart exit", "restart.end", None, None),
        ("Set OID_DOT11_NIC_POWER_STATE: FALSE", "radio", "off", None),
        ("OID_DOT11_NIC_POWER_STATE set to TRUE (Adapter=w1)", "radio", "on", "w1"),
        ("Query OID_DOT11_NIC_POWER_STATE = 1", "radio", "on", None),
        ("Set OID_DOT11_NIC_POWER_STATE on port 0 to FALSE", "radio", "off", None),
        ("Set OID_DOT11_NIC_POWER_STATE: TRUE on Adapter=wlan0.", "radio", "on", "wlan0"),
        ("OID_DOT11_NIC_POWER_STATE: off, Adapter: Wi-Fi 2", "radio", "off", "Wi-Fi 2"),
        ('OID_DOT11_NIC_POWER_STATE: FALSE Adapter="Wi-Fi Direct"', "radio", "off", "Wi-Fi Direct"),
        (
            "NDIS_STATUS_DOT11_PHY_STATE_CHANGED PhyId=0 bSoftwarePhyState=FALSE bHardwarePhyState=TRUE",
            "radio",
            "off",
            None,
        ),
        (
            "NDIS_STATUS_DOT11_PHY_STATE_CHANGED PhyId=0 bHardwarePhyState=FALSE",
            "radio.hw",
            "off",
            None,
        ),
        ("Set OID_DOT11_DISCONNECT_REQUEST", "disconnect.request", None, None),
        ("Indicate NDIS_STATUS_DOT11_DISASSOCIATION Reason 0x3", "disassoc", None, None),
        ("NDIS_STATUS_DOT11_CONNECTION_COMPLETION uStatus = 0", "connect.end", "ok", None),
        (
            "NDIS_STATUS_DOT11_CONNECTION_COMPLETION DOT11_CONNECTION_STATUS_CANDIDATE_LIST_EXHAUSTED",
            "connect.end",
            "fail",
            None,
        ),
        ("NDIS_STATUS_DOT11_ASSOCIATION_COMPLETION Status: 0x0", "assoc.end", "ok", None),
        (
            "NDIS_STATUS_DOT11_ASSOCIATION_COMPLETION uStatus = 0x00000005",
            "assoc.end",
            "fail",
            None,
        ),
        ("NDIS_STATUS_DOT11_CONNECTION_START", "connect.start", None, None),
        ("NDIS_STATUS_DOT11_ASSOCIATION_START", "assoc.start", None, None),
        ("Set OID_DOT11_CONNECT_REQUEST", "connect.request", None, None),
        ("FSM Transition from State: Associating to State: Connected", "connect.end", "ok", None),
        ("FSM Transition from State: Disconnecting to State: Disconnected", "disassoc", None, None),
        (
            "Change radio state for interface = Intel(R) Wi-Fi 6 AX201 160MHz : PHY = 1, "
            "software state = off, hardware state = on",
            "radio",
            "off",
            "Intel(R) Wi-Fi 6 AX201 160MHz",
        ),
    ],
)
def test_builtin_map_recognises_driver_shapes(message, kind, value, adapter):
    assert classify(BUILTIN, [message]) == [(1, kind, value, adapter)]


@pytest.mark.parametrize(
    "message",
    [
        "Rx packet len=1514",
        "WdfDeviceInitializeEx done",  # not a miniport handler
        "MPHaltExtra called",
        "OID_DOT11_NIC_POWER_STATE query failed 0xC0000001",
        "MPHaltEx is scheduled",
    ],
)
def test_builtin_map_leaves_other_messages_alone(message):
    assert classify(BUILTIN, [message]) == []


def test_user_map_is_tried_first_and_normalises_values(tmp_path):
    path = tmp_path / "contoso.toml"
    path.write_text(
        """
[map]
name = "contoso"

[[event]]
kind = "radio"
message = 'RF -> (?P<value>ON|OFF) \\(adapter (?P<adapter>\\w+)\\)'
values = { ON = "on", OFF = "off" }

[[event]]
kind = "halt.begin"
message = 'MPHaltEx'
""",
        encoding="utf-8",
    )
    maps = MapSet.load([path])
    assert classify(maps, ["RF -> OFF (adapter wlan0)", "---> MPHaltEx", "<--- MPHaltEx"]) == [
        (1, "radio", "off", "wlan0"),
        (2, "halt.begin", None, None),
        (3, "halt.begin", None, None),  # the user's entry wins over the built-in halt.end
    ]


def test_provider_and_event_id_conditions(tmp_path):
    maps = MapSet(
        (
            parse_map(
                '[[event]]\nkind = "disassoc"\nprovider = "NWiFi"\nmessage = "DisAssoc"\n',
                "m.toml",
            ),
        )
    )
    assert classify(maps, ["DisAssoc: 0x1"], provider="Microsoft-Windows-NWiFi") == [
        (1, "disassoc", None, None)
    ]
    assert classify(maps, ["DisAssoc: 0x1"], provider="other") == []


def test_map_errors_are_all_reported_with_lines():
    text = """[map]
name = "bad"

[[event]]
kind = "halt.being"
message = 'x'

[[event]]
kind = "radio"
message = '(unclosed'

[[event]]
kind = "radio"
value = "maybe"
message = 'radio'
colour = 1
"""
    with pytest.raises(ConfigError) as info:
        parse_map(text, "bad.toml")
    messages = [str(p) for p in info.value.problems]
    assert any(m.startswith("bad.toml:5: unknown kind 'halt.being'") for m in messages)
    assert any(m.startswith("bad.toml:10: invalid regular expression in message") for m in messages)
    assert any(
        m.startswith("bad.toml:14: radio takes values off, on, not 'maybe'") for m in messages
    )
    assert any(m.startswith("bad.toml:16: unknown key 'colour'") for m in messages)


def test_declared_custom_kinds_are_accepted():
    em = parse_map(
        '[map]\nkinds = ["fw.crash"]\n[[event]]\nkind = "fw.crash"\nmessage = "ASSERT"\n', "m"
    )
    assert em.entries[0].kind == "fw.crash"
    assert "fw.crash" in MapSet((em,)).kinds


def test_loosen_only_widens():
    assert loosen(r"^(?P<a>x)[\^^](?<b>y)\A$") == r"(?:x)[\^^](?:y)$"
    texts = pl.Series(["[0]1.2::t [c]MPHaltEx enter", "nothing"])
    pattern = r"^MPHaltEx (?P<value>enter)"
    assert texts.str.contains(loosen(pattern)).to_list() == [True, False]


def test_prefilter_is_a_superset_of_classification():
    messages = [
        "---> MPHaltEx",
        "Rx 1514",
        "Set OID_DOT11_NIC_POWER_STATE: TRUE",
        "FSM Transition from State: A to State: Connected",
    ]
    frame = pl.DataFrame({"m": messages})
    keep = frame.select(BUILTIN.necessary(pl.col("m"), has_event_id=False)).to_series().to_list()
    assert keep == [True, False, True, True]


def _chain_classification(maps: MapSet, events: pl.DataFrame) -> pl.DataFrame:
    """The maps' semantics written plainly: every entry tried on every row, in order."""
    entries = maps.entries
    chain = pl.when(entries[0].condition()).then(pl.lit(0, pl.UInt32))
    for i, entry in enumerate(entries[1:], start=1):
        chain = chain.when(entry.condition()).then(pl.lit(i, pl.UInt32))
    first = events.with_columns(chain.otherwise(None).alias("e")).get_column("e")
    return first.filter(first.is_not_null()).to_frame()


SAMPLES = Path(__file__).resolve().parents[2] / "samples"
_SAMPLE_MESSAGES = sorted(
    {
        m
        for p in SAMPLES.iterdir()
        if p.suffix in (".csv", ".txt")
        for m in read_trace(p).events.collect().get_column("message").drop_nulls()
    }
)


@settings(max_examples=60, deadline=None)
@given(
    picks=st.lists(
        st.tuples(
            st.sampled_from(_SAMPLE_MESSAGES),
            st.sampled_from(_SAMPLE_MESSAGES),
            st.integers(0, 40),
            st.text(max_size=6),
        ),
        min_size=1,
        max_size=30,
    ),
    provider=st.sampled_from(
        ["wlan", "Microsoft-Windows-NDIS", "Microsoft-Windows-WLAN-AutoConfig"]
    ),
    event_id=st.sampled_from([None, 8001, 8003, 10311, 5]),
)
def test_literal_gated_matching_finds_the_first_entry_of_the_plain_chain(picks, provider, event_id):
    """Classification tries an entry only where its literal occurs; spliced and mangled
    real messages must get exactly the entry the ordered chain of every entry gives."""
    messages = [a[:cut] + noise + b[cut // 2 :] for a, b, cut, noise in picks]
    events = pl.DataFrame(
        {
            "provider": [provider] * len(messages),
            "event": [None] * len(messages),
            "event_id": pl.Series([event_id] * len(messages), dtype=pl.UInt16),
            "message": messages,
        }
    )
    expected = _chain_classification(BUILTIN, events)
    kinds = [BUILTIN.entries[i].kind for i in expected.get_column("e")]
    got = BUILTIN.classify(events.lazy()).collect()
    assert got.get_column("kind").to_list() == kinds


def test_an_entry_whose_literal_holds_another_entrys_still_wins_in_order():
    # "MPHaltEx enter" contains "Halt": both entries are candidates for the message, and
    # the first in the map decides, whichever literal ends first in the text.
    em = parse_map(
        """
[map]
name = "nested"

[[event]]
kind = "halt.begin"
message = 'MPHaltEx enter'

[[event]]
kind = "halt.end"
message = 'Halt'
""",
        "nested.toml",
    )
    maps = MapSet((em,))
    assert classify(maps, ["x MPHaltEx enter", "Halt only", "none"]) == [
        (1, "halt.begin", None, None),
        (2, "halt.end", None, None),
    ]


def test_a_big_table_is_classified_in_slices_with_the_same_result(monkeypatch):
    events = pl.concat(
        read_trace(p).events.collect().select("provider", "event", "event_id", "message", "line")
        for p in sorted(SAMPLES.iterdir())
        if p.suffix in (".csv", ".txt")
    )
    whole = BUILTIN.classify(events.lazy()).collect()
    monkeypatch.setattr("auditor.eventmap.CLASSIFY_SLICE_ROWS", 7)
    sliced = BUILTIN.classify(events.lazy()).collect()
    assert whole.height > 50
    assert sliced.equals(whole)


def test_repeated_events_are_classified_once_with_the_row_by_row_result(monkeypatch):
    """Distinct events are classified alone and joined back: the provider, event, id and
    message all tell events apart (nulls included)."""
    events = pl.concat(
        read_trace(p).events.collect().select("provider", "event", "event_id", "message", "line")
        for p in sorted(SAMPLES.iterdir())
        if p.suffix in (".csv", ".txt")
    )
    renamed = events.with_columns(pl.lit("Other-Provider").alias("provider"))
    repeated = pl.concat([events, renamed, events] * 2).with_columns(
        pl.int_range(pl.len()).alias("line")
    )
    distinct = repeated.select("provider", "event", "event_id", "message").unique().height
    assert distinct <= repeated.height * 0.5  # the join is taken
    assert repeated.get_column("event_id").null_count() > 0
    joined = BUILTIN.classify(repeated.lazy()).collect()
    monkeypatch.setattr("auditor.eventmap.DISTINCT_SHARE_TO_JOIN", 0.0)
    row_by_row = BUILTIN.classify(repeated.lazy()).collect()
    assert row_by_row.height > 100
    # Some events classify under their own provider only (NWiFi, AutoConfig ids).
    assert row_by_row.filter(pl.col("provider") == "Other-Provider").height < (
        row_by_row.filter(pl.col("provider") != "Other-Provider").height
    )
    assert joined.equals(row_by_row)


def test_classifying_no_events_gives_the_schema_of_classified_ones():
    """A sink asks for the schema with an empty frame; it must be the one real rows get."""
    maps = MapSet.load()
    empty = read_trace(SAMPLES / "litware-halt-while-associated.wpp.txt").events.collect().head(0)
    some = read_trace(SAMPLES / "litware-halt-while-associated.wpp.txt").events.collect()
    classified = maps.classify(some.lazy()).collect()
    assert classified.height > 0
    assert maps.classify(empty.lazy()).collect_schema() == classified.schema
