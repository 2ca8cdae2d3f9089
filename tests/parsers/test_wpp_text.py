"""parsers.wpp_text: prefix fields, continuation lines, meta lines, rejects, accounting."""

from __future__ import annotations

import calendar

import polars as pl
import pytest

from parsers import EVENT_SCHEMA, REJECT_SCHEMA, ParseOptions, read_trace
from parsers.trace import Accounting
from parsers.wpp_text import WppText

LINE = "[0]0C40.0C3C::09/20/2004-14:41:31.625 [tracedrv]Hello, 1 Hi"


def ns(y, mo, d, h=0, mi=0, s=0, frac=0) -> int:
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 1_000_000_000 + frac


def parse(write, text: str | bytes, name: str = "t.txt", **options):
    trace = read_trace(write(name, text), ParseOptions(**options))
    assert trace.format == "wpp-text"
    events = trace.events.collect()
    assert dict(events.schema) == EVENT_SCHEMA
    assert dict(trace.rejects.schema) == REJECT_SCHEMA
    assert trace.accounting.balanced, trace.accounting
    assert trace.accounting.events == events.height or options.get("keep") is not None
    return trace, events


def test_default_prefix_fields_exactly(write):
    trace, events = parse(write, LINE + "\n")
    row = events.row(0, named=True)
    assert row == {
        "trace": trace.path,
        "seq": 0,
        "line": 1,
        "ts": row["ts"],
        "provider": "tracedrv",
        "event": None,
        "event_id": None,
        "level": None,
        "pid": 0x0C40,
        "tid": 0x0C3C,
        "cpu": 0,
        "message": "Hello, 1 Hi",
    }
    assert events.get_column("ts").dt.epoch("ns").item() == ns(2004, 9, 20, 14, 41, 31, 625_000_000)


def test_pid_tid_are_hex_in_either_case_and_cpu_decimal(write):
    _, events = parse(write, "[12]ffff.00aB::09/20/2004-14:41:31.625 [x]m\n")
    assert events.select("cpu", "pid", "tid").row(0) == (12, 0xFFFF, 0xAB)


def test_function_bracket_line_shape_names_the_event(write):
    text = (
        "[1]0004.0084::06/06/2025-12:19:03.186 [qc]!EvtDriverDeviceAdd[58]!Enter\n"
        "[1]0004.0084::06/06/2025-12:19:03.187 [qc]---> MPHaltEx\n"
        "[1]0004.0084::06/06/2025-12:19:03.188 [qc]!Class::~Dtor[7]!bye\n"
        "[1]0004.0084::06/06/2025-12:19:03.189 [qc]see !NotAtStart[3]!\n"
    )
    _, events = parse(write, text)
    assert events.get_column("event").to_list() == [
        "EvtDriverDeviceAdd",
        None,
        "Class::~Dtor",
        None,
    ]
    # the message is kept verbatim, function marker included
    assert events.get_column("message").to_list()[0] == "!EvtDriverDeviceAdd[58]!Enter"


def test_multiple_bracket_groups_first_is_provider_rest_stays_in_message(write):
    text = "[2]0C40.0C3C::09/20/2004-14:41:31.627 [Microsoft-Quic][conn][0x1CF25AC46B0] Start\n"
    _, events = parse(write, text)
    assert events.select("provider", "message").row(0) == (
        "Microsoft-Quic",
        "[conn][0x1CF25AC46B0] Start",
    )


def test_provider_name_with_dashes_and_no_provider_at_all(write):
    text = (
        "[0]0C40.0C3C::09/20/2004-14:41:31.625 [Microsoft-Windows-WLAN-AutoConfig]Connected\n"
        "[0]0C40.0C3C::09/20/2004-14:41:31.626 Unknown( 58): GUID=c1cbcc0f-8890-ecb9-5236-"
        "20d1c4d45820 (No Format Information found).\n"
    )
    _, events = parse(write, text)
    # a prefix without a component: the message's GUID names the provider, as it does
    # for an Unknown line without a prefix
    assert events.get_column("provider").to_list() == [
        "Microsoft-Windows-WLAN-AutoConfig",
        "c1cbcc0f-8890-ecb9-5236-20d1c4d45820",
    ]
    assert events.get_column("message").to_list()[1].startswith("Unknown( 58): GUID=")


@pytest.mark.parametrize("prefix", ["", "[1]0004.0054::00/00/0000-00:00:00.000 "])
def test_an_unknown_event_keeps_its_guid_when_a_line_continues_it(write, prefix):
    # The WDK's TMF page shows `...` under such lines; a wrapped line is joined the same way.
    unknown = (
        "Unknown( 11): GUID=37753236-c81f-505e-d40a-128d3bb2b5ff (No Format Information found)."
    )
    trace, events = parse(write, f"{prefix}{unknown}\n{prefix}{unknown}\n...\n")
    assert trace.accounting.continuation == 1
    assert events.get_column("provider").to_list() == ["37753236-c81f-505e-d40a-128d3bb2b5ff"] * 2
    assert events.get_column("message").to_list() == [unknown, unknown + "\n..."]


def test_padding_around_the_component_and_the_message_is_dropped(write):
    # Print Spooler WPP output: `[Operational ]`, a space after `]`, trailing spaces.
    text = (
        "[0]0998.1C14::02/28/20-17:19:47.9250955 [Operational ] Spooling job 2.  \n"
        "[0] 0998.099C::02/28/20-17:17:41.5222537 [SPOOLSV] splctrlh_c65 Control request \n"
        + LINE
        + "\n"
    )
    _, events = parse(write, text)
    assert events.select("provider", "message").rows() == [
        ("Operational", "Spooling job 2."),
        ("SPOOLSV", "splctrlh_c65 Control request"),
        ("tracedrv", "Hello, 1 Hi"),
    ]


def test_tracefmt_reports_of_lost_events_become_notes(write):
    text = (
        "Processing completed   Buffers: 3, Events: 10, EventsLost: 0 :: Format Errors: 0\n"
        + LINE
        + "\n"
        + "Processing completed   Buffers: 9, Events: 80, EventsLost: 1234 :: Format Errors: 0\n"
    )
    trace, _ = parse(write, text)
    assert trace.accounting.meta == 2
    assert trace.notes == (
        "tracefmt reports 1,234 events lost on line 3: a missing lifecycle event may have "
        "been dropped by the session, not the driver",
    )


def test_continuation_lines_join_the_previous_message(write):
    text = (
        LINE + "\n"
        "  wrapped part one\n"
        "part two\n"
        "[1]0C40.0C3C::09/20/2004-14:41:31.626 [tracedrv]next\n"
        "tail of next\n"
    )
    trace, events = parse(write, text)
    assert events.select("seq", "line", "message").rows() == [
        (0, 1, "Hello, 1 Hi\n  wrapped part one\npart two"),
        (1, 4, "next\ntail of next"),
    ]
    assert trace.accounting.as_dict() == {
        "lines": 5,
        "events": 2,
        "continuation": 3,
        "meta": 0,
        "rejected": 0,
    }


def test_many_events_with_continuations_stay_in_source_order(write):
    # Was: the continuation join reordered events (hash join without maintain_order).
    parts = []
    for i in range(300):
        parts.append(f"[{i % 4}]0004.0084::06/06/2025-12:19:03.{i:03d} [c]msg {i}")
        if i % 3 == 0:
            parts.append(f"cont {i}")
    _, events = parse(write, "\n".join(parts) + "\n")
    assert events.get_column("seq").to_list() == list(range(300))
    lines = events.get_column("line").to_list()
    assert lines == sorted(lines)
    assert events.get_column("message").to_list()[3] == "msg 3\ncont 3"
    assert events.get_column("message").to_list()[4] == "msg 4"


def test_text_before_the_first_event_is_rejected_with_a_reason(write):
    text = "garbage header\n\n" + LINE + "\n"
    trace, events = parse(write, text)
    assert events.get_column("line").to_list() == [3]
    assert trace.rejects.rows() == [
        (
            trace.path,
            1,
            "not a WPP record: no [CPU]PID.TID::TIMESTAMP prefix before the first event",
            "garbage header",
        )
    ]
    assert trace.accounting.as_dict() == {
        "lines": 3,
        "events": 1,
        "continuation": 0,
        "meta": 1,
        "rejected": 1,
    }


def test_logdump_preamble_and_footer_are_meta(write):
    text = (
        "(WmiTrace) LogDump for Logger Id 0x13\n"
        "Found Buffers: 5 Messages: 537, sorting entries\n" + LINE + "\n"
        "[1]0C40.0C3C::09/20/2004-14:41:31.626 [tracedrv]second\n"
        "\n"
        "Total of 2 Messages from 4 Buffers\n"
    )
    trace, events = parse(write, text)
    assert trace.rejects.height == 0
    assert events.get_column("message").to_list() == ["Hello, 1 Hi", "second"]
    assert trace.accounting.as_dict() == {
        "lines": 6,
        "events": 2,
        "continuation": 0,
        "meta": 4,
        "rejected": 0,
    }


def test_debugger_stamp_is_an_event_with_null_ts(write):
    text = LINE + "\n[0]0004.0008::00/00/0000-00:00:00.000 [drv]!MPHaltEx[42]!---> MPHaltEx\n"
    trace, events = parse(write, text)
    assert events.height == 2
    assert events.row(1, named=True)["ts"] is None
    assert events.row(1, named=True)["event"] == "MPHaltEx"
    assert trace.accounting.events == 2


def test_bidi_marks_inside_the_date_still_make_an_event(write):
    # Was: the record pattern allowed marks only before the month, so this line was
    # taken for a continuation of the previous message.
    text = LINE + "\n[1]0C40.0C3C::\u200e09/\u200e20/\u200e2004-14:41:31.626 [tracedrv]bidi\n"
    trace, events = parse(write, text)
    assert trace.accounting.continuation == 0
    assert events.get_column("message").to_list() == ["Hello, 1 Hi", "bidi"]
    assert events.get_column("ts").dt.epoch("ns").to_list()[1] == ns(
        2004, 9, 20, 14, 41, 31, 626_000_000
    )


@pytest.mark.parametrize(
    "stamp",
    ["09/20/04-14:41:31.625", "2004/09/20-14:41:31.625000000", "2004-09-20 14:41:31.625"],
)
def test_other_timestamp_forms_in_a_record(write, stamp):
    _, events = parse(write, f"[0]0C40.0C3C::{stamp} [p]m\n")
    assert events.get_column("ts").dt.epoch("ns").to_list() == [
        ns(2004, 9, 20, 14, 41, 31, 625_000_000)
    ]
    assert events.select("provider", "message").row(0) == ("p", "m")


def test_filetime_stamp_in_a_record(write):
    _, events = parse(write, "[0]0C40.0C3C::133127435730482450 [p]m\n", tz="Europe/Berlin")
    assert events.get_column("ts").dt.epoch("ns").item() == ns(2022, 11, 12, 16, 19, 33, 48_245_000)


def test_cpu_number_too_large_for_uint16_is_null_not_a_crash(write):
    # Was: conform's strict cast raised when the events were collected.
    _, events = parse(write, LINE + "\n[70000]0C40.0C3C::09/20/2004-14:41:31.626 [p]big\n")
    assert events.get_column("cpu").to_list() == [0, None]
    assert events.get_column("message").to_list()[1] == "big"


def test_tz_option_converts_local_stamps(write):
    _, events = parse(write, LINE + "\n", tz="America/Los_Angeles")
    assert events.get_column("ts").dt.epoch("ns").item() == ns(2004, 9, 20, 21, 41, 31, 625_000_000)


def test_crlf_and_leading_spaces(write):
    text = "  " + LINE + "\r\n\r\ncontinued\r\n"
    trace, events = parse(write, text)
    assert events.select("line", "provider", "message").rows() == [
        (1, "tracedrv", "Hello, 1 Hi\ncontinued")
    ]
    assert trace.accounting.as_dict() == {
        "lines": 3,
        "events": 1,
        "continuation": 1,
        "meta": 1,
        "rejected": 0,
    }


def test_utf16_wpp_file(write):
    data = "\ufeff" + LINE + "\r\n[1]0C40.0C3C::09/20/2004-14:41:31.626 [tracedrv]é\r\n"
    trace, events = parse(write, data.encode("utf-16-le"))
    assert trace.encoding == "utf-16-le"
    assert events.get_column("message").to_list() == ["Hello, 1 Hi", "é"]


class KeepContaining:
    def __init__(self, word: str, *, per_line: bool = False) -> None:
        self.word = word
        self.per_line = per_line
        self.calls: list[bool] = []

    def necessary(self, text: pl.Expr, *, has_event_id: bool) -> pl.Expr:
        self.calls.append(has_event_id)
        return text.str.contains(self.word, literal=True)

    def judged_per_line(self, *, has_event_id: bool) -> bool:
        return self.per_line


@pytest.mark.parametrize("per_line", [False, True])
def test_keep_filter_drops_events_but_keeps_seq_line_and_accounting(write, per_line):
    text = (
        LINE + "\n"
        "[0]0C40.0C3C::09/20/2004-14:41:31.626 [d]noise\n"
        "noise wrapped\n"
        "[0]0C40.0C3C::09/20/2004-14:41:31.627 [d]start\n"
        "MPHaltEx wrapped\n"
        "and more\n"
    )
    keep = KeepContaining("MPHaltEx", per_line=per_line)
    trace, events = parse(write, text, keep=keep)
    assert keep.calls == [False]
    assert events.select("seq", "line", "message").rows() == [
        (2, 4, "start\nMPHaltEx wrapped\nand more")
    ]
    # every line is still accounted for, the dropped record's wrapped line too
    assert (trace.accounting.events, trace.accounting.continuation) == (3, 3)


def test_sniff_scores():
    assert WppText.sniff([LINE, LINE]) == 1.0
    assert WppText.sniff(["(WmiTrace) LogDump for Logger Id 0x13", LINE]) == 0.75
    assert WppText.sniff(["Event Name, Type, Clock-Time"]) == 0.0
    assert WppText.sniff(["", "  "]) == 0.0


def test_real_qcwcn8930_trace(real_traces):
    trace = read_trace(real_traces / "qcwcn8930-wpp.txt")
    assert trace.format == "wpp-text"
    assert trace.rejects.height == 0
    assert trace.accounting.as_dict() == {
        "lines": 75,
        "events": 75,
        "continuation": 0,
        "meta": 0,
        "rejected": 0,
    }
    events = trace.events.collect()
    assert dict(events.schema) == EVENT_SCHEMA
    assert events.height == 75
    assert events.get_column("seq").to_list() == list(range(75))
    assert events.get_column("line").to_list() == list(range(1, 76))
    ts = events.get_column("ts").dt.epoch("ns")
    assert ts[0] == ns(2025, 6, 6, 12, 19, 3, 186_000_000)
    assert ts[-1] == ns(2025, 6, 6, 12, 19, 22, 302_000_000)
    assert ts.is_sorted()
    assert ts.null_count() == 0
    first = events.row(0, named=True)
    assert (first["cpu"], first["pid"], first["tid"]) == (1, 0x0004, 0x0084)
    assert (first["provider"], first["event"], first["message"]) == (
        "qcwcn8930_guid01",
        "EvtDriverDeviceAdd",
        "!EvtDriverDeviceAdd[58]!Enter",
    )
    last = events.row(74, named=True)
    assert (last["tid"], last["event"], last["message"]) == (
        0x0178,
        "sub_40E3C4",
        "!sub_40E3C4[135]!switch value=8",
    )
    assert events.get_column("event").null_count() == 0
    assert set(events.get_column("provider")) <= {f"qcwcn8930_guid{i:02d}" for i in range(1, 10)}


def test_a_hex_word_opens_a_message_when_no_component_follows(write):
    # `tracefmt -seq` puts 8 hex digits before the component; without a component they
    # are the message's own first word.
    text = (
        "[0]0AF4.0C64::07/25/2003-13:55:39.998 deadbeef no component\n"
        "[0]0AF4.0C64::07/25/2003-13:55:39.998 63966c89 [tracedrv]Hello\n"
        "[0]0AF4.0C64::07/25/2003-13:55:39.998 [tracedrv]63966c89 [x]y\n"
    )
    _, events = parse(write, text)
    assert events.select("provider", "message").rows() == [
        (None, "deadbeef no component"),
        ("tracedrv", "Hello"),
        ("tracedrv", "63966c89 [x]y"),
    ]


def test_wmitrace_logdump_progress_lines_are_meta(write):
    # !wmitrace.logdump may print one "Reading Buffer" line per buffer before the records.
    text = (
        "(WmiTrace) LogDump for Logger Id 0x21\n"
        "Reading Buffer   1 /   2\n"
        "Reading Buffer   2 /   2\n"
        "Found Buffers: 2 Messages: 1, sorting entries\n"
        "[0]0AB4.0AF4::  131804496926295220 [Microsoft-Windows-Shell-NotificationCenter/"
        'ActionCenterButtonStateOnLaunching/]{"messageState": 0}\n'
        "Total of 1 Messages from 2 Buffers\n"
    )
    trace, events = parse(write, text)
    assert trace.accounting.as_dict() == {
        "lines": 6,
        "events": 1,
        "continuation": 0,
        "meta": 5,
        "rejected": 0,
    }
    assert events.get_column("message").to_list() == ['{"messageState": 0}']


def test_tracefmt_console_report_is_meta_but_a_wrapped_field_dump_is_not(write):
    # The report as another service's docs print it (one leading space, `(null)` path,
    # `Not set (...)`), then a record whose wrapped lines look like report fields but
    # lack the report's column layout: they stay with their record.
    text = (
        "Setting log file to: D:\\Trace\\dtctrace.log\n"
        "Examining D:\\Trace\\msdtctr.mof for message formats,  8 found.\n"
        "Searching for TMF files on path: (null)\n"
        "Logfile D:\\Trace\\dtctrace.log:\n"
        " OS version    10.0.14393  (Currently running on 6.2.9200)\n"
        " Start Time    2026-11-24-10:00:00.000\n"
        "\tTimezone is\t@tzres.dll,-932 (Bias is 0mins)\n"
        " Buffers  Written      Not set (Logger may not have been stopped).\n"
        " Logger Mode Settings (11000002) ( circular paged\n"
        " ProcessorCount         1\n"
        "Processing completed   Buffers: 1, Events: 3, EventsLost: 0 :: Format Errors: 0\n"
        + LINE
        + "\n"
        + " Start Time: 5\n"
        + "  BufferSize=4096\n"
    )
    trace, events = parse(write, text)
    assert trace.accounting == Accounting(lines=14, events=1, continuation=2, meta=11, rejected=0)
    assert events.get_column("message").to_list() == [
        "Hello, 1 Hi\n Start Time: 5\n  BufferSize=4096"
    ]
    assert trace.notes == ()


def test_a_lost_count_too_long_for_a_number_is_read_in_part(write):
    # Hostile input must not reach int() with thousands of digits.
    text = "Processing completed   Buffers: 1, Events: 1, EventsLost: " + "9" * 5000 + "\n" + LINE
    trace, _ = parse(write, text)
    assert trace.notes == (
        "tracefmt reports 9,999,999,999,999,999,999 events lost on line 1: a missing "
        "lifecycle event may have been dropped by the session, not the driver",
    )
