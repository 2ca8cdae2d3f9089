"""parsers.wpaexporter_csv: profile-chosen labels, relative and absolute times, rejects."""

from __future__ import annotations

import calendar
import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import (
    ParsedTrace,
    ParseOptions,
    TraceReadError,
    read_trace,
)
from parsers.registry import detect
from parsers.source import read_lines
from parsers.timestamps import RELATIVE_NOTE, parse_trace_start
from tests.parsers.helpers import (
    ALL,
    HOSTILE_SETTINGS,
    check_trace,
    hostile_bytes,
    read_or_refused,
    rows,
)

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
HEADER = "Provider Name,Task Name,Opcode Name,Id,Process,ThreadId,Cpu,Time,Field 1,Field 2,Field 3"
RELATIVE = "wpaexporter-csv"
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def ns(y, mo, d, h=0, mi=0, s=0, frac=0) -> int:
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 1_000_000_000 + frac


def parse(write, text: str | bytes, name: str = "t.csv", **options) -> ParsedTrace:
    trace = read_trace(write(name, text), ParseOptions(**options))
    assert trace.format.startswith("wpaexporter-csv")
    check_trace(trace)
    return trace


def test_generic_events_with_relative_seconds(write):
    text = "\r\n".join(
        [
            HEADER,
            "Contoso-Wifi,MiniportHalt,win:Start,102,System (4),1234,0,12.345678901,---> MPHaltEx Adapter=A1,NdisHaltDeviceDisabled,",
            'Contoso-Wifi,,win:Info,200,"svchost.exe (1,876)",0x10,3,13.5,"Set ""x"", y",,',
            "",
            "Contoso-Wifi,,,7,Idle (0),0,1,0.000000001,a,b,c,d,e",
        ]
    )
    trace = parse(write, text)
    assert trace.format == RELATIVE
    assert trace.notes == (RELATIVE_NOTE,)
    assert trace.accounting.as_dict() == {
        "lines": 5,
        "events": 3,
        "continuation": 0,
        "meta": 2,
        "rejected": 0,
    }
    assert rows(trace, *ALL) == [
        (
            0,
            2,
            12_345_678_901,
            "Contoso-Wifi",
            "MiniportHalt",
            102,
            None,
            4,
            1234,
            0,
            "---> MPHaltEx Adapter=A1, NdisHaltDeviceDisabled",
        ),
        (1, 3, 13_500_000_000, "Contoso-Wifi", "Info", 200, None, 1876, 16, 3, 'Set "x", y'),
        (2, 5, 1, "Contoso-Wifi", None, 7, None, 0, 0, 1, "a, b, c, d, e"),
    ]


def test_quoted_labels_other_order_absolute_times(write):
    text = "\n".join(
        [
            '"Time","Process","Provider Name","Event Name","Message","Level","Field 1"',
            '"2024-05-21 08:40:02.118532","wlan (12)","Contoso-Wifi","Contoso-Wifi/Oid/win:Info","OID_DOT11_NIC_POWER_STATE: TRUE","4","ignored"',
            '"2024-05-21T08:40:02.5Z","wlan (12)","Contoso-Wifi","Contoso-Wifi//win:Stop","","Error","f1"',
            '"2024-05-21T10:40:03.000000001+02:00","wlan (12)","","Other/Task","","","f2"',
        ]
    )
    trace = parse(write, text, tz="Europe/Berlin")
    assert trace.format == "wpaexporter-csv"
    assert trace.notes == ()
    assert rows(trace, "ts", "provider", "event", "level", "pid", "message") == [
        (
            ns(2024, 5, 21, 6, 40, 2, 118_532_000),
            "Contoso-Wifi",
            "Oid",
            "4",
            12,
            "OID_DOT11_NIC_POWER_STATE: TRUE",
        ),
        (ns(2024, 5, 21, 8, 40, 2, 500_000_000), "Contoso-Wifi", "Stop", "Error", 12, "f1"),
        (ns(2024, 5, 21, 8, 40, 3, 1), "Other", "Task", None, 12, "f2"),
    ]


@pytest.mark.parametrize(
    ("label", "value", "expected"),
    [("Time (ms)", "1043.211", 1_043_211_000), ("Time (us)", "17", 17_000), ("Time (ns)", "5", 5)],
)
def test_time_units(write, label, value, expected):
    trace = parse(write, f"Provider Name,{label},Field 1\nP,{value},x\n")
    assert rows(trace, "ts") == [(expected,)]


def test_semicolon_separator_and_decimal_comma(write):
    trace = parse(write, "Provider Name;Task Name;Time;Field 1;Field 2\nP;T;12,5;a;b\n")
    assert rows(trace, "ts", "event", "message") == [(12_500_000_000, "T", "a, b")]


def test_rejects_carry_reasons(write):
    text = "\n".join(
        [
            "exported by wpaexporter",
            HEADER,
            "P,T,O,1,x (1),1,0,1.5,a,b,c",
            "P,T,O,1,x (1),1,0,yesterday,a,b,c",
            "too,few",
        ]
    )
    trace = parse(write, text)
    assert trace.rejects.select("line", "reason").rows() == [
        (1, "text before the wpaexporter CSV header"),
        (4, "the 'time' value is neither a relative time nor an ISO 8601 date"),
        (5, "not a wpaexporter CSV row: expected the 11 columns of the header on line 2"),
    ]
    assert trace.accounting.as_dict() == {
        "lines": 5,
        "events": 1,
        "continuation": 0,
        "meta": 1,
        "rejected": 3,
    }


def test_only_bad_rows_is_a_clear_error(write):
    path = write("bad.csv", f"{HEADER}\nnot,a,row\n")
    with pytest.raises(TraceReadError) as err:
        read_trace(path)
    assert err.value.line == 2


@pytest.mark.parametrize(
    "name",
    [
        "fabrikam-radio-on-while-halted.csv",
        "woodgrove-unicode-clean.csv",
        "adventure-works-halt-cut-off.csv",
        "litware-halt-while-associated.wpp.txt",
        "alpineski-radio-on-before-init-perfview.csv",
        "relecloud-halt-radio-left-on-xperf.txt",
    ],
)
def test_does_not_steal_other_formats(name):
    assert detect(read_lines(SAMPLES / name)).name != "wpaexporter-csv"


def test_real_traces_are_not_taken(real_traces):
    for path in sorted(real_traces.glob("*.*")):
        if path.suffix in {".csv", ".txt"}:
            assert detect(read_lines(path)).name != "wpaexporter-csv"


def test_tracerpt_header_with_provider_name_is_not_taken(write):
    path = write("t.csv", "Event Name, Provider Name, Clock-Time, Time, User Data\n")
    assert detect(read_lines(path)).name != "wpaexporter-csv"


def test_sample_is_detected():
    assert detect(read_lines(SAMPLES / "wideworld-halt-while-connected-wpa.csv")).name == (
        "wpaexporter-csv"
    )


# --------------------------------------------------------------------------- properties

VALUE = st.text(
    st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=20
).map(str.strip)
NAME = st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,15}", fullmatch=True)


@dataclass
class WEvent:
    provider: str
    task: str
    event_id: int
    process: str
    pid: int
    tid: int
    cpu: int
    ns: int
    values: list[str]


@st.composite
def wevents(draw) -> WEvent:
    values = draw(st.lists(VALUE, min_size=3, max_size=3))
    if not values[-1]:
        values[-1] = "end"  # trailing empty fields are padding by design
    return WEvent(
        provider=draw(NAME),
        task=draw(NAME),
        event_id=draw(st.integers(0, 2**16 - 1)),
        process=draw(NAME),
        pid=draw(st.integers(0, 2**32 - 1)),
        tid=draw(st.integers(0, 2**32 - 1)),
        cpu=draw(st.integers(0, 2**16 - 1)),
        ns=draw(st.integers(0, 10**15)),
        values=values,
    )


@SETTINGS
@given(events=st.lists(wevents(), min_size=1, max_size=10), crlf=st.booleans())
def test_roundtrip(workdir, events, crlf):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(HEADER.split(","))
    for ev in events:
        seconds = f"{ev.ns // 10**9}.{ev.ns % 10**9:09d}"
        writer.writerow(
            [
                ev.provider,
                ev.task,
                "win:Info",
                ev.event_id,
                f"{ev.process} ({ev.pid})",
                ev.tid,
                ev.cpu,
                seconds,
                *ev.values,
            ]
        )
    path = workdir / "roundtrip.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    trace = read_trace(path)
    assert trace.format == RELATIVE
    assert trace.notes == (RELATIVE_NOTE,)
    check_trace(trace)
    assert trace.accounting.as_dict() == {
        "lines": len(events) + 1,
        "events": len(events),
        "continuation": 0,
        "meta": 1,
        "rejected": 0,
    }
    assert rows(
        trace, "seq", "line", "ts", "provider", "event", "event_id", "pid", "tid", "cpu", "message"
    ) == [
        (
            i,
            i + 2,
            ev.ns,
            ev.provider,
            ev.task,
            ev.event_id,
            ev.pid,
            ev.tid,
            ev.cpu,
            ", ".join(ev.values),
        )
        for i, ev in enumerate(events)
    ]


FRAGMENTS = [
    HEADER.encode() + b"\n",
    b"P,T,O,1,x (1),1,0,1.5,a,b,c\n",
    b'"a ""b"" c",1,2\n',
    b"P,T,O,1,x (1),1,0,2024-01-01T00:00:00Z,a,b,c\n",
    b"P,T,O,99999999,x (99999999999),-1,0x,99999999999999.9999999999,a\n",
    b";;;;\n",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\x00",
    b"\r\n",
]


@HOSTILE_SETTINGS
@given(data=hostile_bytes(FRAGMENTS), utf16=st.booleans(), forced=st.booleans())
def test_arbitrary_bytes_read_or_refused(workdir, data, utf16, forced):
    read_or_refused(
        workdir / "hostile.csv",
        HEADER.encode() + b"\n" + data,
        utf16=utf16,
        fmt="wpaexporter-csv" if forced else None,
    )


def test_a_given_trace_start_places_relative_times_not_absolute_ones(write):
    text = "\n".join(
        [
            "Provider Name,Task Name,Time,Field 1",
            "Contoso-Wifi,Oid,12.345678901,relative",
            "Contoso-Wifi,Oid,2024-05-21T08:40:02.5Z,absolute",
        ]
    )
    start = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    trace = parse(write, text, trace_start=parse_trace_start(start))
    assert trace.notes == ("relative time from 2026-11-24T09:30:00.000000000Z (--trace-start)",)
    assert rows(trace, "ts", "message") == [
        (ns(2026, 11, 24, 9, 30, 12, 345_678_901), "relative"),
        (ns(2024, 5, 21, 8, 40, 2, 500_000_000), "absolute"),
    ]
