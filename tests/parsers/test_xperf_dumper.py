"""parsers.xperf_dumper: schema lines, header rows, relative times, rejects, detection."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl
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
from parsers.timestamps import FILETIME_EPOCH_OFFSET, parse_trace_start
from tests.parsers.helpers import (
    HOSTILE_SETTINGS,
    check_trace,
    hostile_bytes,
    read_or_refused,
    rows,
)

START = 133127435730482450  # 2022-11-12 16:19:33.048245 UTC
START_NS = (START - FILETIME_EPOCH_OFFSET) * 100
STD = "TimeStamp,     Process Name ( PID),   ThreadID, CPU, etw:ActivityId, etw:Related ActivityId, etw:UserSid, etw:SessionId"
HALT = "Contoso-Wifi/MiniportHalt/win:Start"
OID = "Contoso-Wifi/Oid/win:Info"

HEADER = [
    "BeginHeader",
    "                P-Start,  TimeStamp,     Process Name ( PID),  ParentPID,  SessionID,  UniqueKey, UserSid, Command Line",
    f"{HALT},  {STD}, Message, HaltAction",
    f"{OID},  {STD}, Message",
    "   UnknownEvent/Crimson,  TimeStamp,     Process Name ( PID),   ThreadID, CPU,     ProviderId,     Id,   Task, Opcode, Version, Channel, Level,   Keyword, UserDataLength",
    "FirstReliableEventTimeStamp,  TimeStamp",
    "EndHeader",
    f"OS Version: 10.0.19043, Trace Size: 20736KB, Events Lost: 0, Buffers lost: 0, Trace Start: {START}, Trace Length: 2 sec, PointerSize: 8, Trace Name: wifi.etl",
    "FirstReliableEventTimeStamp,          0",
    "FirstReliableCSwitchEventTimeStamp,       6016",
]
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def parse(write, text: str | bytes, name: str = "t.txt", **options) -> ParsedTrace:
    trace = read_trace(write(name, text), ParseOptions(**options))
    assert trace.format == "xperf-dumper"
    check_trace(trace)
    return trace


def test_generic_classic_and_unknown_events(write):
    body = [
        '                P-Start,     104743,        rustc.exe (10612),        480,          1, 0x0000938192a10300, S-1-5-18, "rustc.exe" --crate-name regex',
        f'{HALT},    1043211,   "System" (4),   1234,   2, , , , , "---> MPHaltEx Adapter=A1", NdisHaltDeviceDisabled',
        f'{OID},    1043300.5,   "svchost.exe" (1876),   0x10,   3, , , , , "Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1"',
        "   UnknownEvent/Crimson,    1043400,  Idle (   0),   0,   1, {c1cbcc0f-8890-ecb9-5236-20d1c4d45820}, 12, 0, 0, 0, 0, 4, 0x0, 16",
        "             GroupMasks,          5,   0, 0x00000000",
    ]
    trace = parse(write, "\r\n".join(HEADER + body) + "\r\n")
    assert trace.accounting.as_dict() == {
        "lines": 15,
        "events": 5,
        "continuation": 0,
        "meta": 10,
        "rejected": 0,
    }
    us = 1000
    assert rows(
        trace,
        "seq",
        "line",
        "ts",
        "provider",
        "event",
        "event_id",
        "level",
        "pid",
        "tid",
        "cpu",
        "message",
    ) == [
        (
            0,
            11,
            START_NS + 104743 * us,
            "P-Start",
            "P-Start",
            None,
            None,
            10612,
            None,
            None,
            '480, 1, 0x0000938192a10300, S-1-5-18, "rustc.exe" --crate-name regex',
        ),
        (
            1,
            12,
            START_NS + 1043211 * us,
            "Contoso-Wifi",
            "MiniportHalt",
            None,
            None,
            4,
            1234,
            2,
            "---> MPHaltEx Adapter=A1, NdisHaltDeviceDisabled",
        ),
        (
            2,
            13,
            START_NS + 1043300 * us + 500,
            "Contoso-Wifi",
            "Oid",
            None,
            None,
            1876,
            16,
            3,
            "Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1",
        ),
        (
            3,
            14,
            START_NS + 1043400 * us,
            "{c1cbcc0f-8890-ecb9-5236-20d1c4d45820}",
            "Crimson",
            12,
            "4",
            0,
            0,
            1,
            "{c1cbcc0f-8890-ecb9-5236-20d1c4d45820}, 12, 0, 0, 0, 0, 4, 0x0, 16",
        ),
        (
            4,
            15,
            START_NS + 5 * us,
            "GroupMasks",
            "GroupMasks",
            None,
            None,
            None,
            None,
            None,
            "0, 0x00000000",
        ),
    ]


def test_empty_task_uses_the_opcode():
    from parsers.xperf_dumper import split_event_type

    frame = pl.DataFrame({"t": ["Prov//win:Info", "Prov/Task/win:Stop", "CSwitch", "Prov/"]})
    provider, event = split_event_type(pl.col("t"))
    assert frame.select(provider.alias("p"), event.alias("e")).rows() == [
        ("Prov", "Info"),
        ("Prov", "Task"),
        ("CSwitch", "CSwitch"),
        ("Prov", None),
    ]


def test_tab_separated_copy(write):
    lines = [
        "BeginHeader\t\t\t",
        f"{OID}\tTimeStamp\tProcess Name ( PID)\tThreadID\tCPU\tMessage",
        "EndHeader\t\t\t",
        f"OS Version: 10.0.19043, Trace Start: {START}, Trace Length: 2 sec",
        f"{OID}\t  42\t  System (4)\t 8\t 0\t Set OID_DOT11_CONNECT_REQUEST",
    ]
    trace = parse(write, "\n".join(lines))
    assert rows(trace, "ts", "pid", "tid", "cpu", "message") == [
        (START_NS + 42_000, 4, 8, 0, "Set OID_DOT11_CONNECT_REQUEST")
    ]


def test_rejects_carry_reasons(write):
    lines = [
        "xperf: dumping trace",
        "BeginHeader",
        f"{OID},  {STD}, Message",
        "this is not a schema line",
        "EndHeader",
        f"OS Version: 10.0.19043, Trace Start: {START}, Trace Length: 2 sec",
        f"{OID},  100, System (4), 8, 0, , , , , hello",
        f"{OID},  not-a-time, System (4), 8, 0, , , , , hello",
        "",
    ]
    trace = parse(write, "\n".join(lines) + "\n")
    assert trace.accounting.as_dict() == {
        "lines": 9,
        "events": 1,
        "continuation": 0,
        "meta": 5,
        "rejected": 3,
    }
    assert trace.rejects.select("line", "reason").rows() == [
        (1, "text before BeginHeader"),
        (4, "not an event schema line (EVENT TYPE, TimeStamp, ...) inside BeginHeader/EndHeader"),
        (8, "not an xperf dumper row: expected EVENT TYPE, TIMESTAMP (microseconds), fields"),
    ]


# A dump cut after its schema lines: no OS Version row, so no Trace Start.
HEADERLESS = "\n".join(
    [
        "BeginHeader",
        f"{OID},  {STD}, Message",
        "EndHeader",
        f"{OID},  1500, System (4), 8, 0, , , , , hi",
    ]
)


def test_no_trace_start_is_a_clear_error(write):
    path = write("cut.txt", HEADERLESS)
    with pytest.raises(TraceReadError, match="Trace Start") as err:
        read_trace(path)
    assert err.value.path == str(path)
    assert err.value.line == 4


def test_header_only_dump_has_no_events(write):
    trace = parse(write, "\n".join(HEADER))
    assert trace.accounting.events == 0
    assert trace.accounting.meta == len(HEADER)


def test_prefilter_applies_to_the_message(write):
    class Halts:
        def necessary(self, text: pl.Expr, *, has_event_id: bool) -> pl.Expr:
            return text.str.contains("MPHaltEx, Ndis")  # spans two payload fields

    body = [
        f'{HALT},    1043211,   "System" (4),   1234,   2, , , , , "---> MPHaltEx",   NdisHaltDeviceDisabled',
        f"{OID},    1043300,   System (4),   16,   3, , , , , data path",
    ]
    trace = read_trace(write("f.txt", "\n".join(HEADER + body)), ParseOptions(keep=Halts()))
    assert rows(trace, "seq", "line", "message") == [
        (0, 11, "---> MPHaltEx, NdisHaltDeviceDisabled")
    ]
    assert trace.accounting.events == 2


@pytest.mark.parametrize(
    "name",
    [
        "fabrikam-radio-on-while-halted.csv",
        "woodgrove-unicode-clean.csv",
        "litware-halt-while-associated.wpp.txt",
    ],
)
def test_does_not_steal_other_formats(name):
    source = read_lines(Path(__file__).resolve().parents[2] / "samples" / name)
    assert detect(source).name != "xperf-dumper"


def test_real_traces_are_not_taken(real_traces):
    for path in sorted(real_traces.glob("*.*")):
        if path.suffix in {".csv", ".txt"}:
            assert detect(read_lines(path)).name != "xperf-dumper"


def test_sample_is_detected():
    sample = (
        Path(__file__).resolve().parents[2] / "samples" / "relecloud-halt-radio-left-on-xperf.txt"
    )
    assert detect(read_lines(sample)).name == "xperf-dumper"


# --------------------------------------------------------------------------- properties

line_chars = st.characters(blacklist_characters='\r\n,"\t', blacklist_categories=("Cs",))
VALUE = st.text(line_chars, max_size=20).map(str.strip)
WORD = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,15}", fullmatch=True)


@dataclass
class XEvent:
    provider: str
    task: str
    opcode: str
    us: int
    process: str
    pid: int
    tid: int
    cpu: int
    values: list[str]
    quoted: bool


@st.composite
def xevents(draw) -> XEvent:
    values = draw(st.lists(VALUE, min_size=1, max_size=5))
    return XEvent(
        provider=draw(WORD),
        task=draw(WORD),
        opcode=draw(st.sampled_from(["win:Info", "win:Start", "win:Stop"])),
        us=draw(st.integers(0, 10**12)),
        process=draw(st.from_regex(r"[A-Za-z][A-Za-z0-9_.]{0,12}", fullmatch=True)),
        pid=draw(st.integers(0, 2**32 - 1)),
        tid=draw(st.integers(0, 2**32 - 1)),
        cpu=draw(st.integers(0, 2**16 - 1)),
        values=values,
        quoted=draw(st.booleans()),
    )


def render(events: list[XEvent]) -> str:
    out = ["BeginHeader"]
    seen: dict[str, int] = {}
    for ev in events:
        kind = f"{ev.provider}/{ev.task}/{ev.opcode}"
        if kind not in seen:
            seen[kind] = len(ev.values)
            fields = ", ".join(f"F{i}" for i in range(len(ev.values)))
            out.append(f"{kind},  {STD}, {fields}")
    out += ["EndHeader", f"OS Version: 10.0.22631, Trace Start: {START}, Trace Length: 9 sec"]
    for ev in events:
        kind = f"{ev.provider}/{ev.task}/{ev.opcode}"
        proc = f'"{ev.process}" ({ev.pid})' if ev.quoted else f"{ev.process} ({ev.pid:5d})"
        payload = ", ".join(f'"{v}"' if ev.quoted else v for v in ev.values)
        out.append(f"{kind}, {ev.us:10d}, {proc:>24}, {ev.tid:10d}, {ev.cpu:3d}, , , , , {payload}")
    return "\n".join(out) + "\n"


@SETTINGS
@given(events=st.lists(xevents(), min_size=1, max_size=10))
def test_roundtrip(workdir, events):
    # One schema per event type: events of a repeated type reuse the first one's width.
    widths: dict[str, int] = {}
    for ev in events:
        kind = f"{ev.provider}/{ev.task}/{ev.opcode}"
        widths.setdefault(kind, len(ev.values))
    path = workdir / "roundtrip.txt"
    path.write_text(render(events), encoding="utf-8")
    trace = read_trace(path)
    assert trace.format == "xperf-dumper"
    check_trace(trace)
    n_schema = len(widths)
    assert trace.accounting.as_dict() == {
        "lines": len(events) + n_schema + 3,
        "events": len(events),
        "continuation": 0,
        "meta": n_schema + 3,
        "rejected": 0,
    }
    expected = [
        (
            i,
            n_schema + 4 + i,
            START_NS + ev.us * 1000,
            ev.provider,
            ev.task,
            ev.pid,
            ev.tid,
            ev.cpu,
            ", ".join(ev.values),
        )
        for i, ev in enumerate(events)
    ]
    assert (
        rows(trace, "seq", "line", "ts", "provider", "event", "pid", "tid", "cpu", "message")
        == expected
    )


FRAGMENTS = [
    b"BeginHeader\n",
    b"EndHeader\n",
    b"P-Start,  TimeStamp, Process Name ( PID), ParentPID\n",
    b"OS Version: 10, Trace Start: 133127435730482450, x\n",
    b"Trace Start: 999999999999999999\n",
    b"P-Start, 12, x (1), 2\n",
    b'A/B/C, 99999999999999, "q" (4), 1, 2, , , , , "v"\n',
    b",,,,\n",
    b"\xff\xfe",
    b"\x00",
    b"\r\n",
]


@HOSTILE_SETTINGS
@given(data=hostile_bytes(FRAGMENTS), utf16=st.booleans(), forced=st.booleans())
def test_arbitrary_bytes_read_or_refused(workdir, data, utf16, forced):
    read_or_refused(
        workdir / "hostile.txt",
        b"BeginHeader\n" + data,
        utf16=utf16,
        fmt="xperf-dumper" if forced else None,
    )


def test_example_line_is_a_row():
    from parsers.xperf_dumper import _ROW, XperfDumper

    assert re.match(_ROW.replace("(?<", "(?P<"), XperfDumper.example)


def test_a_dump_without_its_header_is_placed_by_the_given_trace_start(write):
    path = write("cut.txt", HEADERLESS)
    start = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC)
    trace = read_trace(path, ParseOptions(trace_start=parse_trace_start(start)))
    assert trace.notes == ("relative time from 2026-11-24T09:30:00.000000000Z (--trace-start)",)
    ts = trace.events.collect().get_column("ts").to_list()
    assert ts == [start + dt.timedelta(microseconds=1500)]


def test_the_header_start_wins_over_a_given_trace_start(write):
    given = ParseOptions(trace_start=parse_trace_start(dt.datetime(2001, 1, 1, tzinfo=dt.UTC)))
    with_header = read_trace(write("d.txt", "\n".join(HEADER)), given)
    assert with_header.notes == ()
