"""Streamed parsing (trace-audit parse) gives exactly what the whole-file reader gives.

Tiny chunk sizes put chunk boundaries everywhere: inside runs of continuation lines,
between an event and its wrapped text, before the first event. The fast decoding paths
(WPP default prefix, tracerpt rows without quotes in the fixed columns) are checked
against the general record regexes they stand in for.
"""

from __future__ import annotations

import codecs
import contextlib
import random
from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from parsers import (
    ParseOptions,
    StreamRestart,
    TraceReadError,
    read_trace,
    stream_trace,
)
from parsers.schema import EVENT_SCHEMA, REJECT_SCHEMA
from parsers.sink import write_events
from parsers.source import read_lines, stream_lines
from parsers.tracerpt_csv import _Decoder as CsvDecoder
from parsers.wpp_text import FAST_SHAPE
from parsers.wpp_text import _Decoder as WppDecoder

from .helpers import HOSTILE_SETTINGS

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SAMPLE_TRACES = sorted(
    p for p in SAMPLES.iterdir() if p.is_file() and not p.name.endswith((".toml", ".json"))
)


def streamed(path: Path, chunk_lines: int, **kwargs) -> tuple:
    trace = stream_trace(path, chunk_lines=chunk_lines, **kwargs)
    pieces = list(trace.pieces())
    events = pl.concat([p.events for p in pieces]) if pieces else pl.DataFrame(schema=EVENT_SCHEMA)
    return trace, events


def assert_same(path: Path, chunk_lines: int, **kwargs) -> None:
    options = kwargs.pop("options", None)
    whole = read_trace(path, options, **kwargs)
    trace, events = streamed(path, chunk_lines, options=options, **kwargs)
    assert dict(events.schema) == EVENT_SCHEMA
    assert events.equals(whole.events.collect()), path
    assert trace.rejects.equals(whole.rejects)
    assert dict(trace.rejects.schema) == REJECT_SCHEMA
    assert trace.accounting == whole.accounting
    assert (trace.format, trace.encoding, trace.notes) == (
        whole.format,
        whole.encoding,
        whole.notes,
    )


@pytest.mark.parametrize("chunk_lines", [1, 2, 3, 7, 100_000])
@pytest.mark.parametrize("path", SAMPLE_TRACES, ids=lambda p: p.name)
def test_every_sample_streams_to_the_same_events(path, chunk_lines):
    assert_same(path, chunk_lines)


@pytest.mark.parametrize("chunk_lines", [7, 50])
def test_real_traces_stream_to_the_same_events(real_traces, chunk_lines):
    for path in sorted(real_traces.glob("*.*")):
        if path.suffix in (".txt", ".csv"):
            assert_same(path, chunk_lines)


WPP = "[{cpu}]0004.{tid:04X}::03/14/2025-09:26:{s:02d}.{ms:03d} [drv]!Fn[{n}]!message {n}"


def wpp_trace(rng: random.Random, n: int) -> str:
    """Records of many shapes, wrapped messages, meta lines and leading garbage."""
    out = ["(WmiTrace) LogDump for Logger Id 0x13", "garbage before the first record", ""]
    for i in range(n):
        shape = rng.randrange(8)
        if shape == 0:
            out.append(f"[1]0004.0084::\u200e03/\u200e14/2025-09:26:00.{i % 1000:03d} [d]bidi {i}")
        elif shape == 1:
            out.append(f"[0]0C40.0C3C::2025-03-14 09:26:00.{i:07d} [Microsoft-Quic][conn] x{i}")
        elif shape == 2:
            out.append(
                "[0]0C40.0C3C::133127435730482450 Unknown( 58): GUID=c1cbcc0f-8890-ecb9-5236-"
                "20d1c4d45820 (No Format Information found)."
            )
        elif shape == 3:
            out.append(f"[{i % 12}]0004.0084::00/00/0000-00:00:00.000 [kd]debugger {i}")
        else:
            out.append(
                WPP.format(cpu=i % 16, tid=i % 0x10000, s=i % 60, ms=i % 1000, n=i)
                + ("" if i % 5 else " [bracket] tail ]")
            )
        for k in range(rng.choice((0, 0, 0, 1, 2, 5))):
            out.append(rng.choice(("", "  wrapped part", f"more {i}.{k}", "\t")))
    out.append("Total of 2 Messages from 4 Buffers")
    return "\n".join(out) + rng.choice(("\n", "", "\r\n"))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("chunk_lines", [1, 2, 5, 11])
def test_generated_wpp_with_wrapped_messages_at_every_boundary(write, seed, chunk_lines):
    rng = random.Random(seed)
    path = write(f"g{seed}.txt", wpp_trace(rng, 40))
    tz = "America/Los_Angeles" if seed % 2 else "UTC"
    assert_same(path, chunk_lines, options=ParseOptions(tz=tz))


class KeepMatching:
    """A pre-filter that keeps records matching ``pattern`` (a RecordFilter); ``per_line``:
    whether it says wrapped records may be judged line by line."""

    def __init__(self, pattern: str, *, per_line: bool = False) -> None:
        self.pattern = pattern
        self.per_line = per_line

    def necessary(self, text: pl.Expr, *, has_event_id: bool) -> pl.Expr:
        return text.str.contains(self.pattern)

    def judged_per_line(self, *, has_event_id: bool) -> bool:
        return self.per_line


@pytest.mark.parametrize("per_line", [False, True])
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("chunk_lines", [1, 2, 5, 11])
def test_prefiltered_stream_keeps_what_the_whole_file_keeps(write, seed, chunk_lines, per_line):
    # "part" occurs only in wrapped text: those records are kept only once joined, which
    # at a chunk boundary happens after the chunk holding the record was decoded.
    rng = random.Random(seed)
    path = write(f"k{seed}.txt", wpp_trace(rng, 60))
    options = ParseOptions(keep=KeepMatching("part|7", per_line=per_line))
    assert_same(path, chunk_lines, options=options)
    whole = read_trace(path, options).events.collect()
    everything = read_trace(path).events.collect()
    assert 0 < whole.height < everything.height
    assert whole.get_column("message").str.contains("part").any()
    # Judged line by line or on the joined text, the same records are kept, whole.
    other = ParseOptions(keep=KeepMatching("part|7", per_line=not per_line))
    assert whole.equals(read_trace(path, other).events.collect())


def test_continuation_run_longer_than_a_chunk_joins_to_its_event(write):
    text = WPP.format(cpu=0, tid=1, s=1, ms=1, n=1) + "\n" + "".join(f"c{i}\n" for i in range(9))
    text += WPP.format(cpu=0, tid=1, s=1, ms=2, n=2) + "\n"
    path = write("long.txt", text)
    for chunk_lines in (1, 2, 4):
        _, events = streamed(path, chunk_lines)
        assert events.get_column("message").to_list()[0] == "!Fn[1]!message 1\n" + "\n".join(
            f"c{i}" for i in range(9)
        )
        assert events.get_column("line").to_list() == [1, 11]
        assert_same(path, chunk_lines)


def test_custom_prefix_streams_too(write):
    prefix = "%2!s!: %!FUNC! %!LEVEL! "
    text = "".join(f"drv.c({i}): MPHaltEx TRACE_LEVEL_INFO step {i}\nwrapped\n" for i in range(9))
    path = write("custom.txt", text)
    for chunk_lines in (1, 3):
        assert_same(path, chunk_lines, options=ParseOptions(wpp_prefix=prefix))


def test_streamed_lone_cr_and_crlf_lines(write):
    line = WPP.format(cpu=0, tid=1, s=1, ms=1, n=1)
    data = (line + "\r" + line + "\r\n" + "wrapped\r" + line + "\n" + line + "\r").encode()
    path = write("cr.txt", data)
    for chunk_lines in (1, 2, 100):
        frames = list(stream_lines(path, chunk_lines=chunk_lines))
        assert pl.concat(frames).equals(read_lines(path).lines)
        assert pl.concat(frames).get_column("line").to_list() == [1, 2, 3, 4, 5]
        assert_same(path, chunk_lines)


CSV_HEADER = (
    "Event Name,       Type,     Event ID,    Version,    Channel,      Level,     Opcode,"
    "       Task,            Keyword,        PID,        TID,     Processor Number,  "
    "Instance ID,   Parent Instance ID,                              Activity ID,          "
    "            Related Activity ID,           Clock-Time, Kernel(ms),   User(ms), User Data"
)
_FIXED = (
    "{provider},       Info,          {eid},          0,          0,          4,       Info,"
    "   {task}, 0x8000000000000000, {pid}, 0x000001A8,                    {cpu},             ,"
    "                     ,   {{00000000-0000-0000-0000-000000000000}},                    "
    "                     ,   {clock},          0,          0"
)
USER_DATA = [
    ', "---> MPInitializeEx", "Adapter=FBK0", "PCI\\VEN_1D6A&DEV_5A41"',
    ", 5, 6, 7",
    ', "RoamingAggressiveness", 3',
    ', " spaced , comma ", x',
    ', " ""quoted"" ", 1',
    ",,, ",
    "",
    ', "", "a"b',
    ", \t plain \t,  two  ",
    ', "unterminated',
]


def csv_row(rng: random.Random, i: int) -> str:
    provider = rng.choice(("Fabrikam-Wifi", '"Quoted, Provider"', "  Spaced  "))
    fixed = _FIXED.format(
        provider=provider,
        eid=rng.choice(("100", "0x64", "")),
        task=rng.choice(("Registry", "0", "")),
        pid=rng.choice(("0x00000004", "4", "")),
        cpu=i % 64,
        clock=rng.choice((str(133685475410203110 + i), f"1.336854754102031{i % 10}e+17", "x")),
    )
    return fixed + rng.choice(USER_DATA)


def csv_trace(rng: random.Random, n: int) -> str:
    rows = ["preamble line", CSV_HEADER]
    for i in range(n):
        rows.append(csv_row(rng, i) if rng.random() > 0.05 else rng.choice(("", "bad,row")))
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("chunk_lines", [1, 2, 5])
def test_generated_tracerpt_csv_streams_to_the_same_events(write, seed, chunk_lines):
    path = write(f"g{seed}.csv", csv_trace(random.Random(seed), 40))
    assert_same(path, chunk_lines)


def test_file_of_rejected_lines_is_one_error_when_streamed(write):
    path = write("bad.txt", "[0]0C40.0C3C::09/20/2004-14:41:31.625 [x]ok\n")
    path.write_text("no record here\n" * 50 + "nor here\n", encoding="utf-8")
    with pytest.raises(TraceReadError) as whole:
        read_trace(path, format="wpp-text")
    with pytest.raises(TraceReadError) as stream:
        list(stream_trace(path, format="wpp-text", chunk_lines=3).pieces())
    assert str(stream.value) == str(whole.value)
    assert stream.value.line == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_late_invalid_byte_restarts_as_ansi_code_page(write, monkeypatch, workers):
    # polars finds the bad byte only when it reaches it, after handing out earlier lines
    # (with one decode worker; with more, chunks are read ahead and it may come first)
    monkeypatch.setattr("parsers.parallel.decode_workers", lambda: workers)
    line = WPP.format(cpu=0, tid=1, s=1, ms=1, n=1)
    data = (line + " café\n").encode() * 300_000
    data += b"[0]0004.0001::03/14/2025-09:26:01.001 [d]\xe9\n"
    path = write("late.txt", data)
    trace = stream_trace(path, chunk_lines=50_000)
    if workers == 1:
        with pytest.raises(StreamRestart):
            list(trace.pieces())
    else:
        with contextlib.suppress(StreamRestart):
            list(trace.pieces())
    events = pl.concat([p.events for p in trace.pieces()])
    assert events.height == 300_001
    assert events.get_column("message")[0].endswith(" cafÃ©")
    whole = read_trace(path)
    assert whole.encoding == "cp1252" == trace.encoding
    assert events.equals(whole.events.collect())


def test_write_events_matches_read_trace_for_several_traces(write, tmp_path):
    paths = [
        write("a.txt", wpp_trace(random.Random(1), 30)),
        write("b.csv", csv_trace(random.Random(2), 30)),
        write("bad.txt", b"nothing\n"),
        write(
            "c.txt",
            (WPP.format(cpu=0, tid=1, s=1, ms=1, n=1) + " caf\u00e9\n").encode() * 3 + b"\xff\n",
        ),
    ]
    expected = pl.concat([read_trace(p).events.collect() for p in paths if p.name != "bad.txt"])
    failures = []
    for ipc, name in ((False, "out.parquet"), (True, "out.arrow")):
        traces = [stream_trace(p, chunk_lines=4) for p in paths]
        out = tmp_path / name
        written = write_events(traces, out, ipc=ipc, failed=failures.append)
        got = pl.read_ipc(out) if ipc else pl.read_parquet(out)
        assert got.equals(expected)
        assert written.events == expected.height
        assert written.failed == 1
    assert [f.path for f in failures] == [str(paths[2])] * 2


def test_write_events_reports_progress_through_each_trace(write, tmp_path):
    paths = [
        write("a.txt", wpp_trace(random.Random(1), 30)),
        write("b.csv", csv_trace(random.Random(2), 30)),
    ]
    heard: list[tuple[str, int]] = []
    traces = [stream_trace(p, chunk_lines=4) for p in paths]
    write_events(traces, tmp_path / "out.parquet", progress=lambda t, n: heard.append((t.path, n)))
    for trace in traces:
        counts = [n for path, n in heard if path == trace.path]
        assert len(counts) > 3  # one report per chunk, not one per trace
        assert counts == sorted(counts) and counts[-1] <= trace.accounting.lines
        assert counts[-1] > trace.accounting.lines - 4  # at most the last chunk unheard


# --- the fast paths against the general record regexes ------------------------------------
def _wpp_both(lines: list[str], tz: str = "UTC") -> tuple[pl.DataFrame, pl.DataFrame]:
    decoder = WppDecoder("t", [], ParseOptions(tz=tz))
    frame = pl.DataFrame(
        {
            "group": pl.Series(range(1, len(lines) + 1), dtype=pl.UInt64),
            "line": pl.Series(range(1, len(lines) + 1), dtype=pl.UInt32),
            "text": lines,
        }
    ).lazy()
    return decoder._fast(frame).collect(), decoder._general(frame).collect()


_hex = st.text("0123456789abcdefABCDEF", min_size=1, max_size=8)
_component = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="]"))
_message = st.text(st.characters(exclude_characters="\n\r"), max_size=40)


@HOSTILE_SETTINGS
@given(
    cpu=st.integers(0, 99999),
    pid=_hex,
    tid=_hex,
    month=st.integers(0, 19),
    day=st.integers(0, 39),
    year=st.sampled_from([1679, 1700, 1999, 2025, 2261]),
    hms=st.tuples(st.integers(0, 29), st.integers(0, 69), st.integers(0, 69)),
    frac=st.text("0123456789", max_size=9),
    component=_component,
    message=_message,
    tz=st.sampled_from(["UTC", "America/Los_Angeles"]),
)
def test_wpp_fast_path_equals_the_record_regex(
    cpu, pid, tid, month, day, year, hms, frac, component, message, tz
):
    stamp = f"{month:02d}/{day:02d}/{year}-{hms[0]:02d}:{hms[1]:02d}:{hms[2]:02d}"
    stamp += f".{frac}" if frac else ""
    line = f"[{cpu}]{pid}.{tid}::{stamp} [{component}]{message}"
    assert pl.select(pl.lit(line).str.contains(FAST_SHAPE)).item()
    fast, general = _wpp_both([line], tz)
    assert fast.equals(general), (fast.row(0), general.row(0))


def test_wpp_fast_shape_turns_away_what_it_cannot_split():
    for line in (
        "[0]0004.0001::03/14/2025-09:26:01.001  [d]two spaces",
        "[0]0004.0001::03/14/2300-09:26:01.001 [d]year out of range",
        "[0]0004.0001::3/14/2025-09:26:01.001 [d]one-digit month",
        "[0]0004.0001::03/14/2025-09:26:01.0010000000 [d]ten digits",
        "[0]0004.0001::03/14/2025-09:26:01.001 [d\u00e9]non-ASCII component",
        "[0]0004.0001::03/14/2025-09:26:01.001 no component",
        " [0]0004.0001::03/14/2025-09:26:01.001 [d]leading space",
    ):
        assert not pl.select(pl.lit(line).str.contains(FAST_SHAPE)).item(), line


def _csv_both(rows: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows (those the row regex accepts) by the dispatching decoder and by the regex."""
    decoder = CsvDecoder("t", [CSV_HEADER], ParseOptions())
    frame = pl.DataFrame(
        {
            "seq": pl.Series(range(len(rows)), dtype=pl.UInt64),
            "line": pl.Series(range(2, len(rows) + 2), dtype=pl.UInt32),
            "text": rows,
        }
    ).filter(pl.col("text").str.contains(decoder.pattern))
    return (decoder._decode(frame).collect(), decoder._general(frame.lazy()).collect())


def _n_split_exactly(rows: list[str]) -> int:
    decoder = CsvDecoder("t", [CSV_HEADER], ParseOptions())
    text = pl.col("text")
    return (
        pl.DataFrame({"text": rows})
        .select(decoder.splits_exactly(text, decoder.split(text)).sum())
        .item()
    )


_value = st.one_of(
    st.text(st.sampled_from(' \tab,"x'), max_size=8),
    st.text(st.sampled_from(" \tab,x"), max_size=6).map(lambda t: f'"{t}"'),
    st.text(st.sampled_from(" \tabx"), max_size=6).map(lambda t: f' "{t}" '),
)


@HOSTILE_SETTINGS
@given(
    values=st.lists(_value, max_size=6),
    fixed=st.lists(st.text(st.sampled_from(" \t0x1Fa"), max_size=5), min_size=20, max_size=20),
)
@example(values=["", "a"], fixed=[""] * 20)
@example(values=["", "", "a", ""], fixed=[" "] * 20)
@example(values=[' ""', "a", '"" '], fixed=["\t"] * 20)
def test_tracerpt_plain_path_equals_the_row_regex(values, fixed):
    row = ",".join(fixed[:19]) + (("," + ",".join(values)) if values else "")
    assert _n_split_exactly([row]) == 1
    plain, general = _csv_both([row])
    assert plain.equals(general), (row, plain.rows(), general.rows())


_near_tidy = st.text(st.sampled_from("ab \t"), max_size=5)


@HOSTILE_SETTINGS
@given(
    values=st.lists(
        st.tuples(st.sampled_from(["", " ", "  ", "\t"]), _near_tidy, st.booleans()), max_size=5
    ),
    clock=st.sampled_from(["133685475410203110", "1.3368547541020311e+17", "", "x", "+5"]),
    ids=st.sampled_from(["0x00000004", "4", "", "0X1f", "x"]),
)
@example(values=[(" ", "a", True), (" ", "1", False)], clock="133685475410203110", ids="0x4")
def test_tracerpt_tidy_user_data_equals_the_row_regex(values, clock, ids):
    # tracerpt's own shape (`, "text", 1`) and every near miss: padding, empty values, tabs
    user_data = "".join(f",{lead}" + (f'"{v}"' if quoted else v) for lead, v, quoted in values)
    fixed = [""] * 9 + [ids, ids, ids] + [""] * 4 + [clock, "", ""]
    rows = [",".join(fixed) + user_data, ",".join(fixed) + ", plain, 1"]
    assert _n_split_exactly(rows) == 2
    plain, general = _csv_both(rows)
    assert plain.equals(general), (rows, plain.rows(), general.rows())


@pytest.mark.parametrize(
    ("user_data", "message"),
    [
        (",,a", ", a"),  # an empty first value keeps its place
        (",a,,b", "a, , b"),
        (', "" , a', ", a"),
        (",,,a,,", ", , a"),  # trailing empty columns are tracerpt's padding: dropped
        (",,", ""),
    ],
)
def test_tracerpt_empty_user_data_values_are_kept_in_place(write, user_data, message):
    # design.md: the message is the User Data columns joined with ", ", each in its place.
    row = ",".join([""] * 16 + ["133685475410203110", "", ""]) + user_data
    plain, general = _csv_both([row])
    assert plain.get_column("message").to_list() == [message]
    assert general.get_column("message").to_list() == [message]
    trace = read_trace(write("t.csv", CSV_HEADER + "\n" + row + "\n"))
    assert trace.events.collect().get_column("message").to_list() == [message]


def test_tracerpt_plain_path_on_the_generated_rows():
    rng = random.Random(7)
    rows = [csv_row(rng, i) for i in range(400)]
    plain, general = _csv_both(rows)
    assert _n_split_exactly(rows) > 100
    assert plain.equals(general)


def test_utf16_and_bom_inputs_stream_to_the_same_events(write):
    text = wpp_trace(random.Random(3), 20)
    for name, data in (
        ("u16.txt", codecs.BOM_UTF16_LE + text.encode("utf-16-le")),
        ("bom.txt", codecs.BOM_UTF8 + text.encode()),
    ):
        assert_same(write(name, data), 3)


_LABELS = [
    "Event Name",
    "Type",
    "Event ID",
    "Level",
    "Opcode",
    "Task",
    "PID",
    "TID",
    "Processor Number",
    "Clock-Time",
    "Version",
    "Kernel(ms)",
]
_VALUES = [
    "",
    " ",
    "\t",
    "0x1F",
    "0X1f",
    "0x",
    "12",
    "-5",
    "+5",
    "x",
    "Info",
    '"q"',
    '" q "',
    '"a,b"',
    '""',
    '"',
    "133685475410203110",
    "1.3368547541020311e+17",
    "99999999999",
]


@pytest.mark.parametrize("seed", range(60))
def test_tracerpt_fast_paths_equal_the_row_regex_for_any_header_layout(seed):
    # Any order and subset of the labels, User Data anywhere or absent, ragged rows.
    rng = random.Random(seed)
    labels = rng.sample(_LABELS, rng.randint(2, len(_LABELS)))
    labels = [lab for lab in labels if lab not in ("Event Name", "Clock-Time")]
    labels = ["Event Name", *labels, "Clock-Time"]
    at = rng.randint(0, len(labels))
    if seed % 5:
        labels = [*labels[:at], "User Data", *labels[at:]]
    decoder = CsvDecoder("t", [", ".join(labels)], ParseOptions())
    rows = [
        ",".join(rng.choice(_VALUES) for _ in range(rng.randint(0, len(labels) + 4)))
        for _ in range(200)
    ]
    frame = pl.DataFrame(
        {
            "seq": pl.Series(range(len(rows)), dtype=pl.UInt64),
            "line": pl.Series(range(2, len(rows) + 2), dtype=pl.UInt32),
            "text": rows,
        }
    ).filter(pl.col("text").str.contains(decoder.pattern))
    fast = decoder._decode(frame).collect()
    general = decoder._general(frame.lazy()).collect()
    assert fast.equals(general), (labels, fast.rows(), general.rows())


def test_read_streams_only_files_big_enough_to_gain(write, monkeypatch):
    import parsers

    path = write("small.txt", wpp_trace(random.Random(5), 30))
    whole = read_trace(path)
    calls: list[object] = []

    def recording_read_trace(*args, **kwargs):
        calls.append(args[0])
        return read_trace(*args, **kwargs)

    monkeypatch.setattr(parsers, "read_trace", recording_read_trace)
    small = stream_trace(path).read()
    assert calls == [path]  # a small file is read whole
    monkeypatch.setattr(parsers, "STREAM_MIN_BYTES", 0)
    streamed = stream_trace(path, chunk_lines=4).read()
    assert calls == [path]  # streamed, chunk by chunk
    for got in (small, streamed):
        assert got.events.collect().equals(whole.events.collect())
        assert got.accounting == whole.accounting


def test_a_streamed_input_without_a_record_in_its_first_lines_stops_there(write):
    # A record follows the junk, but reading stops once 10,000 lines held none of them.
    junk = "".join(f"no record here {i}\n" for i in range(12_000))
    path = write("junk.txt", junk + WPP.format(cpu=0, tid=1, s=1, ms=1, n=1) + "\n")
    with pytest.raises(TraceReadError) as stopped:
        list(stream_trace(path, format="wpp-text", chunk_lines=1_000).pieces())
    assert stopped.value.line == 1
    assert "no wpp-text record in the first 10,000 lines" in str(stopped.value)


def test_a_report_of_lost_events_is_noted_when_streamed(tmp_path):
    line = "[0]0338.0E40::06/10/2005-14:25:43.968 [tracedrv]IOCTL = 1\n"
    report = "Processing completed   Buffers: 9, Events: 80, EventsLost: 12 :: Format Errors: 0\n"
    path = tmp_path / "t.txt"
    path.write_text(line * 5 + report + line * 5, encoding="utf-8")
    trace = stream_trace(path, chunk_lines=4)
    assert sum(p.events.height for p in trace.pieces()) == 10
    assert trace.notes == (
        "tracefmt reports 12 events lost on line 6: a missing lifecycle event may have been "
        "dropped by the session, not the driver",
    )
