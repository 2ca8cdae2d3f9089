"""parsers.tracerpt_csv: header variants, ragged User Data, quoting, Clock-Time, rejects."""

from __future__ import annotations

import calendar
import codecs

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from auditor.prefilter import field_piece
from parsers import EVENT_SCHEMA, REJECT_SCHEMA, ParseOptions, TraceReadError, read_trace
from parsers.timestamps import FILETIME_EPOCH_OFFSET
from parsers.tracerpt_csv import MAX_FIXED_COLUMNS, TracerptCsv, _Decoder

HEADER = (
    "Event Name, Type, Event ID, Version, Channel, Level, Opcode, Task, Keyword, PID, TID, "
    "Processor Number, Instance ID, Parent Instance ID, Activity ID, Related Activity ID, "
    "Clock-Time, Kernel(ms), User(ms), User Data"
)
GUID0 = "{00000000-0000-0000-0000-000000000000}"
TICKS = 133127435730482450
TS_NS = (TICKS - FILETIME_EPOCH_OFFSET) * 100


def ns(y, mo, d, h=0, mi=0, s=0, frac=0) -> int:
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 1_000_000_000 + frac


def row(
    provider="Microsoft-Windows-NDIS",
    type_="Info",
    event_id="10311",
    level="4",
    task="0",
    pid="0x00000004",
    tid="0x000000A8",
    cpu="1",
    clock=str(TICKS),
    user=(),
) -> str:
    fixed = [
        provider,
        type_,
        event_id,
        "0",
        "16",
        level,
        "0",
        task,
        "0x8000000000000000",
        pid,
        tid,
        cpu,
        "",
        "",
        GUID0,
        "",
        clock,
        "15",
        "0",
    ]
    return ", ".join([*fixed, *user])


HEADER_ROW = row(
    "EventTrace",
    "Header",
    "0",
    "0",
    "0",
    "0x00000F24",
    "0x00001234",
    "0",
    user=["65536", "131082", '"PktMon"'],
)


def parse(write, text: str | bytes, name: str = "t.csv", **options):
    trace = read_trace(write(name, text), ParseOptions(**options))
    assert trace.format == "tracerpt-csv"
    events = trace.events.collect()
    assert dict(events.schema) == EVENT_SCHEMA
    assert dict(trace.rejects.schema) == REJECT_SCHEMA
    assert trace.accounting.balanced, trace.accounting
    assert trace.accounting.continuation == 0
    if options.get("keep") is None:
        assert trace.accounting.events == events.height
    return trace, events


def test_fields_of_a_plain_row(write):
    text = "\n".join([HEADER, HEADER_ROW, row(task="MiniportHalt", user=["0x34", '"wlan0"'])])
    trace, events = parse(write, text + "\n")
    ev = events.row(1, named=True)
    assert ev == {
        "trace": trace.path,
        "seq": 1,
        "line": 3,
        "ts": ev["ts"],
        "provider": "Microsoft-Windows-NDIS",
        "event": "MiniportHalt",
        "event_id": 10311,
        "level": "4",
        "pid": 4,
        "tid": 0xA8,
        "cpu": 1,
        "message": "0x34, wlan0",
    }
    assert events.get_column("ts").dt.epoch("ns").to_list() == [TS_NS, TS_NS]
    assert ns(2022, 11, 12, 16, 19, 33, 48_245_000) == TS_NS


def test_eventtrace_header_row_is_an_event(write):
    trace, events = parse(write, f"{HEADER}\n{HEADER_ROW}\n")
    assert trace.accounting.as_dict() == {
        "lines": 2,
        "events": 1,
        "continuation": 0,
        "meta": 1,
        "rejected": 0,
    }
    ev = events.row(0, named=True)
    assert (ev["seq"], ev["line"], ev["provider"], ev["event"], ev["event_id"]) == (
        0,
        2,
        "EventTrace",
        "Header",
        0,
    )
    assert (ev["pid"], ev["tid"], ev["cpu"]) == (0xF24, 0x1234, 0)
    assert ev["message"] == "65536, 131082, PktMon"


def test_event_name_falls_back_from_task_to_type(write):
    text = "\n".join(
        [
            HEADER,
            row(task="MiniportHalt", type_="Start"),
            row(task="0", type_="Stop"),
            row(task="", type_="5"),
        ]
    )
    _, events = parse(write, text)
    assert events.get_column("event").to_list() == ["MiniportHalt", "Stop", None]


@pytest.mark.parametrize(
    ("pid", "tid", "expected"),
    [
        ("0x00000F24", "0x000000a8", (0xF24, 0xA8)),
        ("3876", "168", (3876, 168)),
        ("0X10", "  16  ", (16, 16)),
        ("0xFFFFFFFF", "0", (0xFFFFFFFF, 0)),
    ],
)
def test_hex_and_decimal_pid_tid(write, pid, tid, expected):
    _, events = parse(write, f"{HEADER}\n{row(pid=pid, tid=tid)}\n")
    assert events.select("pid", "tid").row(0) == expected


def test_values_too_large_for_their_type_are_null_not_a_crash(write):
    # Was: conform's strict cast raised on collect (event id > 65535, pid > 2**32).
    text = f"{HEADER}\n{row(event_id='70000', pid='0x1FFFFFFFF', cpu='65536', user=['x'])}\n"
    _, events = parse(write, text)
    assert events.select("event_id", "pid", "cpu", "message").row(0) == (None, None, None, "x")


@pytest.mark.parametrize(
    "header",
    [
        HEADER,
        "Index, " + HEADER,
        ",".join(f'"{h.strip()}"' for h in HEADER.split(",")),
        ",".join(h.strip() for h in HEADER.split(",")),
        ",".join(f"   {h.strip()}" for h in HEADER.split(",")),
        HEADER.upper(),
    ],
    ids=["windows", "index-column", "quoted-labels", "unpadded", "space-padded", "uppercase"],
)
def test_header_variants(write, header):
    prefix = "7, " if header.startswith("Index") else ""
    line = row(task="Halt", user=["1", '"two"'])
    text = f"{header}\n{prefix}{line}\n"
    trace, events = parse(write, text)
    assert trace.rejects.height == 0
    assert events.select("provider", "event", "event_id", "pid", "message").row(0) == (
        "Microsoft-Windows-NDIS",
        "Halt",
        10311,
        4,
        "1, two",
    )
    assert events.get_column("ts").dt.epoch("ns").item() == TS_NS


def test_header_without_user_data_label_takes_every_extra_column_as_user_data(write):
    header = HEADER.removesuffix(", User Data")
    _, events = parse(write, f"{header}\n{row(user=['a', 'b'])}\n")
    assert events.get_column("message").item() == "a, b"


def test_space_padding_around_values_is_removed(write):
    line = ",".join(f"   {v}   " for v in row(user=["42", '"x y"']).split(", "))
    _, events = parse(write, f"{HEADER}\n{line}\n")
    assert events.select("provider", "event_id", "level", "pid", "message").row(0) == (
        "Microsoft-Windows-NDIS",
        10311,
        "4",
        4,
        "42, x y",
    )


def test_ragged_user_data_joined_and_padding_columns_dropped(write):
    text = "\n".join(
        [
            HEADER,
            row(user=["1"]),
            row(user=["1", "2", "3", "4", "5"]),
            row(user=["1", "", "3", "", "", ""]),  # empty inner values kept, padding dropped
            row(),  # no User Data at all
        ]
    )
    trace, events = parse(write, text + "\n")
    assert trace.rejects.height == 0
    assert events.get_column("message").to_list() == ["1", "1, 2, 3, 4, 5", "1, , 3", ""]


def test_tracerpt_quoted_strings_are_unquoted(write):
    line = row(user=['"PktMon"', ' "C:\\Windows\\a, b.etl"', "7"])
    text = f"{HEADER}\n{line}\n"
    _, events = parse(write, text)
    assert events.get_column("message").item() == "PktMon, C:\\Windows\\a, b.etl, 7"


def test_doubled_quotes_of_a_resaved_file(write):
    # A data-frame tool re-saves tracerpt's ` "PktMon"` as the CSV field `" ""PktMon"""`.
    user = ['" ""PktMon"""', '"say ""hi"" twice"', '" """""', '"a, b"']
    _, events = parse(write, f"{HEADER}\n{row(user=user)}\n")
    assert events.get_column("message").item() == 'PktMon, say "hi" twice, , a, b'


@pytest.mark.parametrize(
    ("clock", "ticks"),
    [
        ("133127435730482450", 133127435730482450),
        # The exact decimal the text spells, not the nearest float64 (...482448).
        ("1.3312743573048245e+17", 133127435730482450),
        ("1.331274360724723e+17", 133127436072472300),
        ("1.3312743573048245E17", 133127435730482450),
        ("133127435730482450.0", 133127435730482450),
    ],
)
def test_clock_time_integer_and_float(write, clock, ticks):
    _, events = parse(write, f"{HEADER}\n{row(clock=clock)}\n")
    assert events.get_column("ts").dt.epoch("ns").item() == (ticks - FILETIME_EPOCH_OFFSET) * 100


@pytest.mark.parametrize("clock", ["", "garbage", "99999999999999999999", "-5", "1e30"])
def test_unusable_clock_time_gives_null_ts(write, clock):
    _, events = parse(write, f"{HEADER}\n{row(clock=clock)}\n")
    assert events.get_column("ts").to_list() == [None]


def test_clock_time_ignores_tz(write):
    _, events = parse(write, f"{HEADER}\n{row()}\n", tz="America/Los_Angeles")
    assert events.get_column("ts").dt.epoch("ns").item() == TS_NS


def test_row_with_too_few_columns_is_rejected_with_its_line_number(write):
    text = "\n".join([HEADER, HEADER_ROW, "Microsoft-Windows-NDIS, Info, 10311, 0", row()])
    trace, events = parse(write, text + "\n")
    assert events.get_column("line").to_list() == [2, 4]
    assert events.get_column("seq").to_list() == [0, 1]
    assert trace.rejects.rows() == [
        (
            trace.path,
            3,
            "not a tracerpt CSV row: expected at least the 19 columns before User Data "
            "of the header on line 1",
            "Microsoft-Windows-NDIS, Info, 10311, 0",
        )
    ]
    assert trace.accounting.as_dict() == {
        "lines": 4,
        "events": 2,
        "continuation": 0,
        "meta": 1,
        "rejected": 1,
    }


def test_text_before_header_rejected_and_blank_lines_meta(write):
    text = f"tracerpt output\n{HEADER}\n\n{HEADER_ROW}\n   \n"
    trace, events = parse(write, text)
    assert trace.rejects.select("line", "reason").rows() == [
        (1, "text before the tracerpt CSV header")
    ]
    assert events.get_column("line").to_list() == [4]
    assert trace.accounting.as_dict() == {
        "lines": 5,
        "events": 1,
        "continuation": 0,
        "meta": 3,
        "rejected": 1,
    }


def test_long_rejected_text_is_truncated(write):
    junk = "x" * 1000
    trace, _ = parse(write, f"{HEADER}\n{HEADER_ROW}\n{junk}\n")
    (text,) = trace.rejects.get_column("text").to_list()
    assert text == "x" * 200 + "…"


def test_unicode_export_utf16_le_with_bom(write):
    line = row(user=['"Café"'])
    text = f"{HEADER}\r\n{HEADER_ROW}\r\n{line}\r\n"
    trace, events = parse(write, codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert trace.encoding == "utf-16-le"
    assert trace.rejects.height == 0
    assert events.get_column("message").to_list() == ["65536, 131082, PktMon", "Café"]
    assert events.get_column("line").to_list() == [2, 3]


def test_duplicate_header_labels_do_not_break_the_row_regex(write):
    # Was: two `(?<pid>...)` groups, a regex error from polars.
    text = "Event Name, PID, PID, Clock-Time\nx, 1, 2, 133127435730482450\n"
    _, events = parse(write, text)
    assert events.select("provider", "pid").row(0) == ("x", 1)
    assert events.get_column("ts").dt.epoch("ns").item() == TS_NS


def test_absurdly_wide_header_is_a_trace_read_error(write):
    # Was: the row regex exceeded polars' size limit (a ComputeError, not a clear error).
    labels = ",".join(f"c{i}" for i in range(MAX_FIXED_COLUMNS + 1))
    path = write("wide.csv", f"Event Name,{labels},Clock-Time\nx\n")
    with pytest.raises(TraceReadError) as info:
        read_trace(path)
    assert info.value.path == str(path)
    assert info.value.line == 1
    assert "columns before User Data" in info.value.reason


def test_header_missing_clock_time_label(write):
    path = write("bad.csv", "Event Name, PID, Clock-Timer\nx, 1, 2\n")
    with pytest.raises(TraceReadError) as info:
        read_trace(path, format="tracerpt-csv")
    assert info.value.line == 1
    assert "clock-time" in info.value.reason


def test_forced_format_without_header_names_the_file(write):
    path = write("none.csv", "a, b\n")
    with pytest.raises(TraceReadError, match="no tracerpt CSV header"):
        read_trace(path, format="tracerpt-csv")


class KeepContaining:
    """Keep messages holding ``word``; on raw User Data, as the event maps do, its
    :func:`field_piece`."""

    def __init__(self, word: str) -> None:
        self.word = word
        self.calls: list[bool] = []
        self.field_calls = 0

    def necessary(self, text: pl.Expr, *, has_event_id: bool) -> pl.Expr:
        self.calls.append(has_event_id)
        return text.str.contains(self.word, literal=True)

    def necessary_in_fields(self, fields: pl.Expr, *, has_event_id: bool) -> pl.Expr | None:
        piece = field_piece(self.word)
        if piece is None:
            return None
        self.field_calls += 1
        return fields.str.contains(piece, literal=True)


def test_keep_filter_keeps_seq_and_accounting(write):
    text = "\n".join([HEADER, HEADER_ROW, row(user=["noise"]), row(user=['"RadioOff"'])])
    keep = KeepContaining("RadioOff")
    trace, events = parse(write, text, keep=keep)
    assert keep.calls == [True]
    assert events.select("seq", "line", "message").rows() == [(2, 4, "RadioOff")]
    assert trace.accounting.events == 3


def test_keep_filter_judges_raw_user_data_only(write):
    """Rows are dropped on their User Data before they are decoded, so a provider name
    holding the word keeps nothing; a comma inside a quoted provider moves the cut one
    column early, which can only keep more. seq counts every event."""
    text = "\n".join(
        [
            HEADER,
            row(provider="RadioOff-Provider", user=['"noise"']),
            row(provider='"Contoso, Inc"', user=['"Radio"', '"Off"']),
            row(user=['"quiet"']),
            row(provider='"Contoso, Inc"', user=['"RadioOff now"']),
            row(user=['"Radio""Off"']),
            row(user=['"RadioOff"']),
        ]
    )
    keep = KeepContaining("RadioOff")
    trace, events = parse(write, text, keep=keep)
    assert keep.field_calls == 1
    assert events.select("seq", "line", "provider", "message").rows() == [
        (3, 5, "Contoso, Inc", "RadioOff now"),
        (5, 7, "Microsoft-Windows-NDIS", "RadioOff"),
    ]
    assert trace.accounting.events == 6
    assert trace.accounting.lines == 7


def test_rows_failing_the_prefilter_are_dropped_before_decoding():
    """The speed of `parse --lifecycle` rests on this: rows whose User Data lacks the
    word never reach the decoder, yet count as events; short rows are left to it."""
    lines = [HEADER, row(user=['"noise"']), row(user=['"RadioOff"']), "too, short", row()]
    chunk = pl.DataFrame({"line": range(1, len(lines) + 1), "text": lines}).cast(
        {"line": pl.UInt32}
    )
    decoder = _Decoder("t.csv", lines, ParseOptions(keep=KeepContaining("RadioOff")))
    kept, skipped = decoder.skip_unwanted(chunk)
    assert skipped == 1  # "noise"; a row without a User Data column is left to decoding
    assert kept.get_column("line").to_list() == [1, 3, 4, 5]
    assert kept.get_column("__skipped").to_list() == [0, 1, 1, 1]  # dropped before each


def _chunk(lines: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"line": range(1, len(lines) + 1), "text": lines}).cast({"line": pl.UInt32})


def test_rows_of_the_usual_widths_are_judged_without_a_split(monkeypatch):
    """tracerpt pads its columns, so the User Data of most rows starts at one distance
    from the first comma; those rows are judged without being split. Rows with a longer
    column, a wide character before the cut, too few commas, a quoted comma or an empty
    User Data are split and judged as before, and every row gets the same verdict."""
    lines = [
        HEADER,
        *[row(user=['"noise"', str(i)]) for i in range(12)],
        row(task="LongerThanUsual", user=['"RadioOff"']),  # cut moves: split, kept
        row(task="LongerThanUsual", user=['"noise"']),  # split, dropped
        row(provider="Wï-Fi", user=['"noise"']),  # a wide character before the cut
        row(provider='"Contoso, Inc"', user=['"RadioOff"']),  # a comma in a quoted column
        row(user=['"RadioOff"', "1"]),
        row(user=[]) + ",",  # an empty User Data after the last comma
        "too, short",
    ]
    decoder = _Decoder("t.csv", lines, ParseOptions(keep=KeepContaining("RadioOff")))
    assert decoder.usual_width(_chunk(lines)) is not None
    split_rows: list[int] = []
    by_split = _Decoder._marked_by_split

    def spy(self, frame, condition):
        split_rows.extend(frame.get_column("line").to_list())
        return by_split(self, frame, condition)

    monkeypatch.setattr(_Decoder, "_marked_by_split", spy)
    kept, skipped = decoder.skip_unwanted(_chunk(lines))
    assert split_rows == [1, 14, 15, 16, 17, 20]  # the header, the odd rows, the short one
    monkeypatch.setattr(_Decoder, "usual_width", lambda self, chunk: None)
    every_row_split, skipped_by_split = decoder.skip_unwanted(_chunk(lines))
    assert skipped == skipped_by_split == 15
    assert kept.get_column("line").to_list() == [1, 14, 17, 18, 20]
    assert kept.select("line", "text", "__skipped").equals(
        every_row_split.select("line", "text", "__skipped")
    )


_ODD_TEXT = st.text(alphabet='aRé,"O ', max_size=6)


@settings(max_examples=200, deadline=None)
@given(
    odd=st.lists(
        st.tuples(_ODD_TEXT, _ODD_TEXT, st.lists(_ODD_TEXT, max_size=3)), min_size=1, max_size=5
    ),
    pick=st.integers(min_value=0),
)
def test_a_cut_proven_at_any_distance_gives_the_split_verdict(odd, pick):
    """The proof holds whatever distance is tried: a cut at any comma of any row, with
    quotes, commas and wide characters in the fixed columns, drops exactly the rows the
    split drops."""
    lines = [HEADER, row(user=['"RadioOff"']), row(user=['"noise"'])]
    lines += [row(provider=p, task=t, user=u) for p, t, u in odd]
    chunk = _chunk(lines)
    decoder = _Decoder("t.csv", lines, ParseOptions(keep=KeepContaining("RadioOff")))
    condition = KeepContaining("RadioOff").necessary_in_fields(
        pl.col("__user_data"), has_event_id=True
    )
    # every distance from a row's first comma to one of its commas, in bytes
    distances = sorted(
        {
            at - text.encode().index(b",")
            for text in lines
            for at, byte in enumerate(text.encode())
            if byte == ord(",")
        }
    )
    width = distances[pick % len(distances)]
    laid_out = decoder._skips_laid_out(chunk, condition, width)
    split = decoder._marked_by_split(chunk, condition).get_column("__skip").fill_null(False)
    assert laid_out.to_list() == split.to_list()


def test_rows_of_no_usual_width_are_all_split():
    """A re-saved file has no padding: its rows agree on no width, and the pre-filter
    splits every row, as it always did."""
    lines = [HEADER] + [
        row(provider=p, type_=t, user=['"noise"'])
        for p, t in [("A", "Info"), ("A", "Start"), ("A", "DC_Stop"), ("A", "Extension")] * 2
    ]
    decoder = _Decoder("t.csv", lines, ParseOptions(keep=KeepContaining("RadioOff")))
    assert decoder.usual_width(_chunk(lines)) is None
    kept, skipped = decoder.skip_unwanted(_chunk(lines))
    assert skipped == 8
    assert kept.get_column("line").to_list() == [1]


_VALUE_TEXT = st.text(alphabet='aRO, "\t', max_size=8)


@st.composite
def _user_value(draw) -> str:
    """One User Data value as some exporter may write it: bare, quoted, padded."""
    text = draw(_VALUE_TEXT)
    if draw(st.booleans()):
        return draw(st.sampled_from(["", " ", "\t"])) + '"' + text.replace('"', '""') + '"'
    return text.replace('"', "")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    users=st.lists(st.lists(_user_value(), max_size=4), min_size=1, max_size=6),
    quoted_provider=st.lists(st.booleans(), min_size=6, max_size=6),
    word=st.one_of(
        st.sampled_from(["a, a", 'a", "a', "O,R", '"R']),
        st.text(alphabet='aRO, "', min_size=1, max_size=5),
    ),
)
@example(users=[['"a"', ' "a"']], quoted_provider=[False] * 6, word="a, a")
@example(users=[['"a""a"']], quoted_provider=[True] * 6, word='a"a')
def test_keep_on_raw_user_data_never_loses_a_matching_message(write, users, quoted_provider, word):
    """Whatever the quoting, padding and commas, the pre-filter on raw User Data keeps
    every row whose decoded message holds the word, with the seq and line it would have."""
    rows = [
        row(provider='"Contoso, Inc"' if quoted else "Contoso", user=values)
        for values, quoted in zip(users, quoted_provider, strict=False)
    ]
    path = write("t.csv", "\n".join([HEADER, *rows]))
    everything = read_trace(path).events.collect()
    keep = KeepContaining(word)
    trace = read_trace(path, ParseOptions(keep=keep))
    kept = trace.events.collect()
    expected = everything.filter(pl.col("message").str.contains(word, literal=True))
    assert kept.equals(expected)
    assert trace.accounting.events == everything.height


def test_sniff():
    assert TracerptCsv.sniff([HEADER]) == 1.0
    assert TracerptCsv.sniff(["\ufeffIndex," + HEADER]) == 1.0
    assert TracerptCsv.sniff(["junk", "  " + HEADER.lower()]) == 1.0
    assert TracerptCsv.sniff(["[0]0C40.0C3C::09/20/2004-14:41:31.625 [x]Event Name, Clock"]) == 0.0


def test_real_pktmon_resaved_trace(real_traces):
    trace = read_trace(real_traces / "pktmon-tracerpt-resaved.csv")
    assert trace.format == "tracerpt-csv"
    assert trace.encoding == "utf-8-sig"
    assert trace.rejects.height == 0
    assert trace.accounting.as_dict() == {
        "lines": 850,
        "events": 849,
        "continuation": 0,
        "meta": 1,
        "rejected": 0,
    }
    events = trace.events.collect()
    assert events.height == 849
    assert events.get_column("seq").to_list() == list(range(849))
    assert events.get_column("line").to_list() == list(range(2, 851))
    assert events.get_column("ts").null_count() == 0
    assert events.get_column("provider").null_count() == 0
    first = events.row(0, named=True)
    assert (first["provider"], first["event"], first["pid"], first["tid"], first["cpu"]) == (
        "EventTrace",
        "Header",
        13856,
        1640,
        0,
    )
    # 1.3312743573048245e+17 read exactly: the FILETIME tracerpt wrote.
    assert events.get_column("ts").dt.epoch("ns")[0] == TS_NS
    assert first["message"].endswith(", PktMon, C:\\Windows\\system32\\PktMon.etl")
    third = events.row(2, named=True)
    assert (third["provider"], third["event_id"], third["level"]) == (
        "Microsoft-Windows-PktMon",
        20,
        "4",
    )
    assert third["message"] == "158, HTTP Protocol, http.sys, HTTP"
    last = events.row(848, named=True)
    assert last["message"] == "1, Upper, 1, Rx, 0, 0, Tx, 0, 0"
    assert (
        events.get_column("ts").dt.epoch("ns")[-1]
        == (133127436072472300 - FILETIME_EPOCH_OFFSET) * 100
    )
    assert set(events.get_column("provider")) == {"EventTrace", "Microsoft-Windows-PktMon"}


def test_every_field_quoted_as_powershell_export_csv_writes(write):
    # Was: the header `"Event Name","Type",...` was not recognised at all.
    header = ",".join(f'"{h.strip()}"' for h in HEADER.split(","))
    fields = [*row(task="Halt", pid="0x00000F24").split(", "), "1", 'a, "b"']
    line = ",".join('"' + f.replace('"', '""') + '"' for f in fields)
    trace, events = parse(write, f"{header}\n{line}\n")
    assert trace.rejects.height == 0
    assert events.select("provider", "event", "event_id", "pid", "message").row(0) == (
        "Microsoft-Windows-NDIS",
        "Halt",
        10311,
        0xF24,
        '1, a, "b"',
    )
    assert events.get_column("ts").dt.epoch("ns").item() == TS_NS


def test_user_data_as_the_first_column_makes_every_line_user_data(write):
    # No fixed column before User Data: each line is all User Data, empty values in place.
    trace = read_trace(write("ud.csv", "User Data, Event Name, Clock-Time\n,x\n\nx, P\n"))
    assert trace.accounting.as_dict() == {
        "lines": 4,
        "events": 2,
        "continuation": 0,
        "meta": 2,
        "rejected": 0,
    }
    events = trace.events.collect()
    assert events.select("line", "message").rows() == [(2, ", x"), (4, "x, P")]


def test_one_fixed_column_keeps_blank_lines_as_meta(write):
    text = 'Event Name, User Data, Clock-Time\n\n   \nP, 1, 133685475410203110\n"Q", "x"\nR\n'
    trace = read_trace(write("one.csv", text))
    assert trace.accounting.as_dict() == {
        "lines": 6,
        "events": 3,
        "continuation": 0,
        "meta": 3,
        "rejected": 0,
    }
    events = trace.events.collect()
    assert events.select("line", "provider", "message").rows() == [
        (4, "P", "1, 133685475410203110"),
        (5, "Q", "x"),
        (6, "R", ""),
    ]
