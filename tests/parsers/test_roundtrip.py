"""Property tests: rendered events parse back to the same fields; no input crashes a parser."""

from __future__ import annotations

import calendar
import codecs
import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import TraceReadError, read_trace
from parsers.timestamps import FILETIME_EPOCH_OFFSET
from parsers.wpp_text import FUNCTION
from tests.parsers.helpers import check_trace

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_FUNCTION_RE = re.compile(FUNCTION.replace("(?<", "(?P<"))

# Text that fits on one physical line (read_lines splits on "\n"; "\r\n" is one ending).
line_chars = st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",))


def epoch_ns(y, mo, d, h, mi, s) -> int:
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 1_000_000_000


# --------------------------------------------------------------------------- WPP text


@dataclass
class WppEvent:
    cpu: int
    pid: int
    tid: int
    stamp: str
    ts: int
    provider: str
    function: str | None
    message: str


@st.composite
def wpp_stamps(draw) -> tuple[str, int]:
    form = draw(st.sampled_from(["mdy", "mdy2", "ymd/", "ymd-", "filetime"]))
    if form == "filetime":
        ticks = draw(st.integers(FILETIME_EPOCH_OFFSET, FILETIME_EPOCH_OFFSET + 4 * 10**17 // 100))
        return str(ticks), (ticks - FILETIME_EPOCH_OFFSET) * 100
    y = draw(st.integers(2000, 2099) if form == "mdy2" else st.integers(1980, 2200))
    mo, d = draw(st.integers(1, 12)), draw(st.integers(1, 28))
    h, mi, s = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
    digits = draw(st.integers(3, 9))
    frac = draw(st.integers(0, 10**digits - 1))
    f = str(frac).zfill(digits)
    t = f"{h:02d}:{mi:02d}:{s:02d}.{f}"
    text = {
        "mdy": f"{mo:02d}/{d:02d}/{y:04d}-{t}",
        "mdy2": f"{mo:02d}/{d:02d}/{y % 100:02d}-{t}",
        "ymd/": f"{y:04d}/{mo:02d}/{d:02d}-{t}",
        "ymd-": f"{y:04d}-{mo:02d}-{d:02d} {t}",
    }[form]
    return text, epoch_ns(y, mo, d, h, mi, s) + frac * 10 ** (9 - digits)


@st.composite
def wpp_events(draw) -> WppEvent:
    stamp, ts = draw(wpp_stamps())
    function = draw(st.none() | st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True))
    return WppEvent(
        cpu=draw(st.integers(0, 2**16 - 1)),
        pid=draw(st.integers(0, 2**32 - 1)),
        tid=draw(st.integers(0, 2**32 - 1)),
        stamp=stamp,
        ts=ts,
        provider=draw(
            st.text(
                st.characters(blacklist_characters="]\r\n", blacklist_categories=("Cs",)),
                max_size=30,
            )
        ),
        function=function,
        message=draw(st.text(line_chars, max_size=80)),
    )


def render_wpp(ev: WppEvent, line_no: int) -> str:
    body = ev.message if ev.function is None else f"!{ev.function}[{line_no}]!{ev.message}"
    return f"[{ev.cpu}]{ev.pid:04X}.{ev.tid:04X}::{ev.stamp} [{ev.provider}]{body}"


# tracefmt's console report as a paste puts it before the output (the WDK's Example 9):
# every line of it is a meta line.
TRACEFMT_REPORT = [
    "Setting log file to: d:\\tracedrv\\tracedrv.etl",
    "Examining C:\\tools\\default.tmf for message formats,  3 found.",
    "Searching for TMF files on path: d:\\tracedrv\\tmfs",
    "Logfile d:\\tracedrv\\tracedrv.etl:",
    "        OS version              5.1.2600  (Currently running on 5.1.2600)",
    "        Start Time              2005-06-10-14:25:30.827",
    "        BufferSize              8192 B",
    "        Logger Mode Settings    (0) Logfile Mode is not set",
    "06/10/2005-21:25:45.539 ::        1: Filled=     696, Lost=  0 TotalLost= 0",
    "",
    "Processing completed   Buffers: 1, Events: 13, EventsLost: 0 :: Format Errors: 0, Unknowns: 0",
    "Event traces dumped to d:\\tracedrv\\tracedrv1.txt",
    "EventTrace",
]


@SETTINGS
@given(
    events=st.lists(wpp_events(), min_size=1, max_size=12),
    crlf=st.booleans(),
    report=st.booleans(),
)
def test_wpp_text_roundtrip(workdir, events, crlf, report):
    before = TRACEFMT_REPORT if report else []
    lines = before + [render_wpp(ev, len(before) + i + 1) for i, ev in enumerate(events)]
    path = workdir / "roundtrip.csv"  # content decides the format, not the name
    path.write_bytes(("\r\n" if crlf else "\n").join(lines).encode("utf-8"))
    trace = read_trace(path)
    assert trace.format == "wpp-text"
    assert trace.rejects.height == 0
    assert trace.accounting.as_dict() == {
        "lines": len(lines),
        "events": len(events),
        "continuation": 0,
        "meta": len(before),
        "rejected": 0,
    }
    got = trace.events.collect().with_columns(pl.col("ts").dt.epoch("ns"))
    expected = []
    for i, ev in enumerate(events):
        line = len(before) + i + 1
        body = ev.message if ev.function is None else f"!{ev.function}[{line}]!{ev.message}"
        body = body.strip(" \t")  # padding around the component and message is layout
        match = _FUNCTION_RE.match(body)
        expected.append(
            (
                i,
                line,
                ev.ts,
                ev.provider.strip(" \t"),
                match and match.group("func"),
                ev.pid,
                ev.tid,
                ev.cpu,
                body,
            )
        )
    assert (
        got.select("seq", "line", "ts", "provider", "event", "pid", "tid", "cpu", "message").rows()
        == expected
    )


# A function name as MSVC writes it: scopes joined by `::`, some of them quoted pseudo-scopes.
msvc_functions = st.lists(
    st.from_regex(r"~?[A-Za-z_][A-Za-z0-9_]{0,12}(<[A-Za-z0-9_]{1,6}>)?", fullmatch=True)
    | st.just("`anonymous namespace'"),
    min_size=1,
    max_size=3,
).map("::".join)


@SETTINGS
@given(
    records=st.lists(
        st.tuples(
            st.integers(0, 2**32 - 1),
            wpp_stamps().filter(lambda stamp: "/" in stamp[0]),
            msvc_functions,
            st.text(line_chars, max_size=60).filter(lambda m: not m[:1].isspace()),
        ),
        min_size=1,
        max_size=8,
    ),
    timed=st.booleans(),
)
def test_wdflogdump_roundtrip(workdir, records, timed):
    """A !wdflogdump is read with the prefix it declares, its framing lines as meta."""
    prefix = "%7!u!: %4!s! %!FUNC! - " if timed else "%7!u!: %!FUNC! - "
    lines = [
        "0: kd> !wdflogdump contoso -d",
        "Trace searchpath is: ",
        "",
        f"Trace format prefix is: {prefix}",
        f"There are {len(records)} log entries",
        "--- start of log ---",
    ]
    for number, (stamp, _), function, message in records:
        lines.append(f"{number}: {stamp + ' ' if timed else ''}{function} - {message}")
    path = workdir / "ifr.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    trace = read_trace(path)
    assert trace.format == "wpp-text"
    assert trace.accounting.as_dict() == {
        "lines": len(lines),
        "events": len(records),
        "continuation": 0,
        "meta": 6,
        "rejected": 0,
    }
    got = trace.events.collect().with_columns(pl.col("ts").dt.epoch("ns"))
    assert got.select("line", "ts", "event", "message").rows() == [
        (7 + i, ts if timed else None, function, message.rstrip(" \t"))
        for i, (_, (_, ts), function, message) in enumerate(records)
    ]


# --------------------------------------------------------------------------- tracerpt CSV

HEADER = [
    "Event Name",
    "Type",
    "Event ID",
    "Version",
    "Channel",
    "Level",
    "Opcode",
    "Task",
    "Keyword",
    "PID",
    "TID",
    "Processor Number",
    "Instance ID",
    "Parent Instance ID",
    "Activity ID",
    "Related Activity ID",
    "Clock-Time",
    "Kernel(ms)",
    "User(ms)",
    "User Data",
]
NAME = st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,20}(?: [A-Za-z0-9_.-]{1,10})?", fullmatch=True)
# User Data values: padding around them is trimmed by design, so generate trimmed ones.
VALUE = st.text(line_chars, max_size=25).map(str.strip)


@dataclass
class CsvEvent:
    provider: str
    type_: str
    task: str | None
    event_id: int
    level: str
    pid: int
    tid: int
    cpu: int
    ticks: int
    hex_ids: bool
    values: list[str]


@st.composite
def csv_events(draw) -> CsvEvent:
    values = draw(st.lists(VALUE, max_size=6))
    if values and not values[-1]:
        values[-1] = "end"  # a trailing empty value cannot be told from padding columns
    return CsvEvent(
        provider=draw(NAME),
        type_=draw(st.from_regex(r"[A-Za-z]{1,12}", fullmatch=True)),
        task=draw(st.none() | st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)),
        event_id=draw(st.integers(0, 2**16 - 1)),
        level=draw(st.sampled_from(["0", "1", "2", "3", "4", "5", "Information", "Error"])),
        pid=draw(st.integers(0, 2**32 - 1)),
        tid=draw(st.integers(0, 2**32 - 1)),
        cpu=draw(st.integers(0, 2**16 - 1)),
        ticks=draw(st.integers(125_000_000_000_000_000, 160_000_000_000_000_000)),
        hex_ids=draw(st.booleans()),
        values=values,
    )


def _id(value: int, hex_ids: bool) -> str:
    return f"0x{value:08X}" if hex_ids else str(value)


def fixed_fields(ev: CsvEvent, clock: str) -> list[str]:
    return [
        ev.provider,
        ev.type_,
        str(ev.event_id),
        "0",
        "16",
        ev.level,
        "0",
        ev.task or "0",
        "0x8000000000000000",
        _id(ev.pid, ev.hex_ids),
        _id(ev.tid, ev.hex_ids),
        str(ev.cpu),
        "",
        "",
        "{00000000-0000-0000-0000-000000000000}",
        "",
        clock,
        "15",
        "0",
    ]


def render_native(events: list[CsvEvent]) -> str:
    """As tracerpt writes: `, ` separators, strings in double quotes, nothing escaped."""
    out = [", ".join(HEADER)]
    for ev in events:
        user = [f'"{v}"' for v in ev.values]
        out.append(", ".join(fixed_fields(ev, str(ev.ticks)) + user))
    return "\r\n".join(out) + "\r\n"


def render_resaved(events: list[CsvEvent]) -> str:
    """As a data-frame tool re-saves it: Index column, CSV quoting, float clock, padding."""
    width = max(len(ev.values) for ev in events) if events else 0
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["Index", *HEADER])
    for i, ev in enumerate(events):
        user = [f' "{v}"' for v in ev.values]
        writer.writerow(
            [i, *fixed_fields(ev, repr(float(ev.ticks))), *user, *[""] * (width - len(ev.values))]
        )
    return buf.getvalue()


@SETTINGS
@given(
    events=st.lists(csv_events(), min_size=1, max_size=10),
    style=st.sampled_from(["native", "resaved", "unicode"]),
)
def test_tracerpt_csv_roundtrip(workdir, events, style):
    if style == "native":
        events = [
            CsvEvent(**{**ev.__dict__, "values": [v.replace('"', "'") for v in ev.values]})
            for ev in events
        ]
        data = render_native(events).encode("utf-8")
    elif style == "unicode":
        events = [
            CsvEvent(**{**ev.__dict__, "values": [v.replace('"', "'") for v in ev.values]})
            for ev in events
        ]
        data = codecs.BOM_UTF16_LE + render_native(events).encode("utf-16-le", "surrogatepass")
    else:
        data = codecs.BOM_UTF8 + render_resaved(events).encode("utf-8")
    path = workdir / "roundtrip.txt"
    path.write_bytes(data)
    trace = read_trace(path)
    assert trace.format == "tracerpt-csv"
    assert trace.rejects.height == 0, trace.rejects.rows()
    assert trace.accounting.as_dict() == {
        "lines": len(events) + 1,
        "events": len(events),
        "continuation": 0,
        "meta": 1,
        "rejected": 0,
    }
    got = trace.events.collect().with_columns(pl.col("ts").dt.epoch("ns"))
    expected = []
    for i, ev in enumerate(events):
        ticks = ev.ticks if style != "resaved" else int(Decimal(repr(float(ev.ticks))))
        expected.append(
            (
                i,
                i + 2,
                (ticks - FILETIME_EPOCH_OFFSET) * 100,
                ev.provider,
                ev.task or ev.type_,
                ev.event_id,
                ev.level,
                ev.pid,
                ev.tid,
                ev.cpu,
                ", ".join(ev.values),
            )
        )
    assert (
        got.select(
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
        ).rows()
        == expected
    )


# --------------------------------------------------------------------------- robustness

FRAGMENTS = [
    b"[0]0C40.0C3C::09/20/2004-14:41:31.625 [tracedrv]Hello, 1 Hi",
    b"[99999]FFFFFFFF.0::00/00/0000-00:00:00.000 [x]!F[1]!y",
    b"[1]1.2::133127435730482450 [p]",
    b"[1]1.2::\xe2\x80\x8e09/\xe2\x80\x8e20/2004-1:2:3.1234567891",
    b"(WmiTrace) LogDump for Logger Id 0x13",
    b"Total of 2 Messages from 4 Buffers",
    b"Trace format prefix is: ",  # !wdflogdump: the prefix that follows is the file's
    b"%7!u!: %!FUNC! - ",
    b"%4!s! %!LEVEL! %!NOPE! %9",
    b"12: `anonymous namespace'::f - ",
    b"--- start of log ---",
    b"0: kd> ",
    b"Event Name, Type, Event ID, PID, TID, Processor Number, Clock-Time, User Data",
    b"Index,Event Name,PID,PID,Clock-Time",
    b'"Event Name","Clock-Time"',
    b'EventTrace, Header, 0, 0x4, 0x8, 0, 133127435730482450, 1, "x"',
    b'a, "b"" c", 1.3312743573048245e+17, 99999999, -1, 0xZZ',
    b",,,,,,,,,,,,,,,,,,,,,,,,",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\x00",
    b"\xe9\x81\x80",
    b"\r",
    b"\n",
    b"\r\n",
    b" ",
]

fragments = st.lists(
    st.sampled_from(FRAGMENTS) | st.binary(max_size=12) | st.text(max_size=12).map(str.encode),
    max_size=30,
).map(b"".join)


VALID_STARTS = [
    b"",
    b"[0]0C40.0C3C::09/20/2004-14:41:31.625 [tracedrv]Hello\n",
    b"Event Name, Type, Event ID, Level, PID, TID, Processor Number, Clock-Time, User Data\n",
    b"\xef\xbb\xbfIndex, Event Name, Task, Clock-Time, User Data\r\n",
]


@st.composite
def hostile_bytes(draw) -> bytes:
    # A valid first line half of the time, so that detection passes and the parsers
    # themselves meet the garbage.
    start = draw(st.sampled_from(VALID_STARTS))
    data = start + draw(st.binary(max_size=400) | fragments)
    if draw(st.booleans()):
        return data
    # the same shapes again, as a UTF-16 export would hold them
    text = data.decode("utf-8", errors="replace")
    return draw(st.sampled_from([codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b""])) + text.encode(
        draw(st.sampled_from(["utf-16-le", "utf-16-be"]))
    )


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=hostile_bytes(), name=st.sampled_from(["in.txt", "in.csv", "in"]))
def test_arbitrary_bytes_read_or_refused_never_crash(workdir, data, name):
    path = workdir / name
    path.write_bytes(data)
    try:
        trace = read_trace(path)
    except TraceReadError as err:
        assert err.path == str(path)
        return
    check_trace(trace)


@SETTINGS
@given(data=hostile_bytes(), fmt=st.sampled_from(["wpp-text", "tracerpt-csv"]))
def test_arbitrary_bytes_forced_format(workdir, data, fmt):
    path = workdir / "forced"
    path.write_bytes(data)
    try:
        trace = read_trace(path, format=fmt)
    except TraceReadError:
        return
    check_trace(trace)
