from __future__ import annotations

import polars as pl
import pytest

from auditor.eventmap import MapSet, loosen, parse_map
from auditor.problems import ConfigError


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
