"""parsers.perfview_csv: Time MSec, Rest pairs, list separators, rejects, detection."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import (
    ParsedTrace,
    ParseOptions,
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
FORMAT = "perfview-csv"
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def parse(write, text: str | bytes, name: str = "t.csv", **options) -> ParsedTrace:
    trace = read_trace(write(name, text), ParseOptions(**options))
    assert trace.format == FORMAT
    assert trace.notes == (RELATIVE_NOTE,)
    check_trace(trace)
    return trace


def test_english_file_with_quoted_rest(write):
    text = "\r\n".join(
        [
            "Event Name,Time MSec,Process Name,Rest",
            'Contoso-Wifi/MiniportHalt/Start,"1,043.211",System (4),"HasStack=""False"" ThreadID=""1,234"" ProcessorNumber=""2"" Message=""---> MPHaltEx Adapter=A1"" HaltAction=""NdisHaltDeviceDisabled"""',
            'Contoso-Wifi/EventID(12),5.500,Idle (0),ThreadID="7" Text="a, b" N="1"',
            "Microsoft-Windows-Kernel-Power/SystemSleep,0.001,Process(1234),",
        ]
    )
    trace = parse(write, text + "\r\n")
    assert trace.accounting.as_dict() == {
        "lines": 4,
        "events": 3,
        "continuation": 0,
        "meta": 1,
        "rejected": 0,
    }
    assert rows(trace, *ALL) == [
        (
            0,
            2,
            1_043_211_000,
            "Contoso-Wifi",
            "MiniportHalt",
            None,
            None,
            4,
            1234,
            2,
            "Message=---> MPHaltEx Adapter=A1, HaltAction=NdisHaltDeviceDisabled",
        ),
        (1, 3, 5_500_000, "Contoso-Wifi", None, 12, None, 0, 7, None, "Text=a, b, N=1"),
        (
            2,
            4,
            1_000,
            "Microsoft-Windows-Kernel-Power",
            "SystemSleep",
            None,
            None,
            1234,
            None,
            None,
            "",
        ),
    ]


def test_semicolon_locale_with_chosen_columns(write):
    text = "\n".join(
        [
            "Event Name;Time MSec;Process Name;ThreadID;ProcessorNumber;Level;Rest",
            'Contoso-Wifi/Oid/Info;1043,211;"wlan (12)";55;3;Informational;HasStack="True" Message="Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1"',
            "Contoso-Wifi/Oid/Info;12.345,5;wlan (12);56;0;;no pairs here",
        ]
    )
    trace = parse(write, text)
    assert rows(trace, "ts", "provider", "event", "level", "pid", "tid", "cpu", "message") == [
        (
            1_043_211_000,
            "Contoso-Wifi",
            "Oid",
            "Informational",
            12,
            55,
            3,
            "Message=Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1",
        ),
        (12_345_500_000, "Contoso-Wifi", "Oid", None, 12, 56, 0, "no pairs here"),
    ]


def test_rest_not_last(write):
    trace = parse(write, 'Event Name,Rest,Time MSec,Process Name\nP/T,"A=""1""",2.000,x (3)\n')
    assert rows(trace, "ts", "event", "pid", "message") == [(2_000_000, "T", 3, "A=1")]


def test_rejects_carry_reasons(write):
    text = "\n".join(
        [
            "PerfView events export",
            "Event Name,Time MSec,Process Name,Rest",
            'P/T,1.000,x (1),A="1"',
            'P/T,soon,x (1),A="1"',
            "only-one-field",
        ]
    )
    trace = parse(write, text)
    assert trace.rejects.select("line", "reason").rows() == [
        (1, "text before the PerfView CSV header"),
        (4, "the Time MSec value is not a number of milliseconds"),
        (5, "not a PerfView CSV row: expected the 4 columns of the header on line 2"),
    ]
    assert trace.accounting.as_dict() == {
        "lines": 5,
        "events": 1,
        "continuation": 0,
        "meta": 1,
        "rejected": 3,
    }


def test_prefilter_applies_to_the_message(write):
    class Halts:
        def necessary(self, text: pl.Expr, *, has_event_id: bool) -> pl.Expr:
            return text.str.contains("MPHaltEx, Halt")  # spans two pairs

    text = 'Event Name,Time MSec,Process Name,Rest\nP/T,1.000,x (1),M="MPHaltEx" HaltAction="x"\nP/D,2.000,x (1),M="rx"\n'
    trace = read_trace(write("f.csv", text), ParseOptions(keep=Halts()))
    assert rows(trace, "seq", "line", "message") == [(0, 2, "M=MPHaltEx, HaltAction=x")]


@pytest.mark.parametrize(
    "name",
    [
        "fabrikam-radio-on-while-halted.csv",
        "woodgrove-unicode-clean.csv",
        "adventure-works-halt-cut-off.csv",
        "litware-halt-while-associated.wpp.txt",
        "wideworld-halt-while-connected-wpa.csv",
        "relecloud-halt-radio-left-on-xperf.txt",
    ],
)
def test_does_not_steal_other_formats(name):
    assert detect(read_lines(SAMPLES / name)).name != "perfview-csv"


def test_real_traces_are_not_taken(real_traces):
    for path in sorted(real_traces.glob("*.*")):
        if path.suffix in {".csv", ".txt"}:
            assert detect(read_lines(path)).name != "perfview-csv"


def test_sample_is_detected():
    assert detect(read_lines(SAMPLES / "alpineski-radio-on-before-init-perfview.csv")).name == (
        "perfview-csv"
    )


# --------------------------------------------------------------------------- properties

NAME = st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,15}", fullmatch=True)
PAIR_VALUE = st.text(
    st.characters(blacklist_characters='\r\n"', blacklist_categories=("Cs",)), max_size=20
)


@dataclass
class PEvent:
    provider: str
    task: str
    opcode: str
    process: str
    pid: int
    tid: int
    cpu: int
    us: int
    pairs: list[tuple[str, str]]


@st.composite
def pevents(draw) -> PEvent:
    return PEvent(
        provider=draw(NAME),
        task=draw(NAME),
        opcode=draw(st.sampled_from(["Start", "Stop", "Info"])),
        process=draw(NAME),
        pid=draw(st.integers(0, 2**32 - 1)),
        tid=draw(st.integers(0, 2**32 - 1)),
        cpu=draw(st.integers(0, 2**16 - 1)),
        us=draw(st.integers(0, 10**12)),
        pairs=draw(
            st.lists(
                st.tuples(
                    st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,10}", fullmatch=True), PAIR_VALUE
                ).filter(
                    lambda p: (
                        p[0]
                        not in {
                            "HasStack",
                            "ThreadID",
                            "ProcessorNumber",
                            "ActivityID",
                            "RelatedActivityID",
                            "DataLength",
                        }
                    )
                ),
                max_size=4,
            )
        ),
    )


def render(events: list[PEvent], sep: str, group: bool) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\r\n")
    writer.writerow(["Event Name", "Time MSec", "Process Name", "Rest"])
    decimal = "," if sep == ";" else "."
    grouping = "." if sep == ";" else ","
    for ev in events:
        whole, frac = divmod(ev.us, 1000)
        whole_text = f"{whole:,}".replace(",", grouping) if group else str(whole)
        rest = " ".join(
            [f'HasStack="False" ThreadID="{ev.tid:,}" ProcessorNumber="{ev.cpu}"']
            + [f'{k}="{v}"' for k, v in ev.pairs]
        )
        writer.writerow(
            [
                f"{ev.provider}/{ev.task}/{ev.opcode}",
                f"{whole_text}{decimal}{frac:03d}",
                f"{ev.process} ({ev.pid})",
                rest,
            ]
        )
    return buf.getvalue()


@SETTINGS
@given(
    events=st.lists(pevents(), min_size=1, max_size=10),
    sep=st.sampled_from([",", ";", "\t"]),
    group=st.booleans(),
)
def test_roundtrip(workdir, events, sep, group):
    path = workdir / "roundtrip.csv"
    path.write_text(render(events, sep, group), encoding="utf-8")
    trace = read_trace(path)
    assert trace.format == FORMAT
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
        trace, "seq", "line", "ts", "provider", "event", "pid", "tid", "cpu", "message"
    ) == [
        (
            i,
            i + 2,
            ev.us * 1000,
            ev.provider,
            ev.task,
            ev.pid,
            ev.tid,
            ev.cpu,
            ", ".join(f"{k}={v}" for k, v in ev.pairs),
        )
        for i, ev in enumerate(events)
    ]


FRAGMENTS = [
    b"Event Name,Time MSec,Process Name,Rest\n",
    b'P/T,1.000,x (1),A="1"\n',
    b'P/T,"1,0.0,0",x (1),"A=""1"\n',
    b'P/EventID(99999999),99999999999999999.9,x (99999999999),ThreadID="-1"\n',
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
        b"Event Name,Time MSec,Process Name,Rest\n" + data,
        utf16=utf16,
        fmt="perfview-csv" if forced else None,
    )


def test_a_given_trace_start_places_the_relative_times(write):
    text = "Event Name,Time MSec,Process Name,Rest\nContoso-Wifi/Halt/Start,1.500,System (4),\n"
    start = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC)
    trace = read_trace(write("t.csv", text), ParseOptions(trace_start=parse_trace_start(start)))
    assert trace.notes == ("relative time from 2026-11-24T09:30:00.000000000Z (--trace-start)",)
    assert trace.events.collect().get_column("ts").to_list() == [
        start + dt.timedelta(microseconds=1500)
    ]
