"""Custom TRACE_FORMAT_PREFIX layouts, -noprefix, tracefmt's Unknown lines, viewer columns."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from parsers import ParseOptions, TraceReadError, read_trace
from parsers.wpp_prefix import DEFAULT_LAYOUT, DEFAULT_PREFIX, PrefixError, layout_from_prefix


def parse(tmp_path, text: str, prefix: str | None = None, name: str = "t.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    trace = read_trace(path, ParseOptions(wpp_prefix=prefix))
    return trace, trace.events.collect()


def test_default_prefix_string_is_the_forgiving_default_layout():
    assert layout_from_prefix(DEFAULT_PREFIX) is DEFAULT_LAYOUT


def test_custom_prefix_with_file_line_function_level_and_sequence(tmp_path):
    prefix = "%7!u! %4!s! %9!d!:%8!x!.%3!x! [%1!s!] %2!s! %!FUNC! %!LEVEL!: "
    text = (
        "000042 06/06/2025-12:00:01.250 1:0004.0A1C [contoso] hal_c412 MpHaltEx TRACE_LEVEL_INFORMATION: ---> MPHaltEx Adapter=A1\n"
        "000043 06/06/2025-12:00:01.300 0:0004.0A1C [contoso] hal_c598 MpHaltEx TRACE_LEVEL_ERROR: <--- MPHaltEx Adapter=A1\n"
    )
    trace, events = parse(tmp_path, text, prefix)
    assert trace.accounting.events == 2 and trace.accounting.rejected == 0
    row = events.row(0, named=True)
    assert (row["cpu"], row["pid"], row["tid"]) == (1, 4, 0xA1C)
    assert (row["provider"], row["event"], row["level"]) == (
        "contoso",
        "MpHaltEx",
        "TRACE_LEVEL_INFORMATION",
    )
    assert row["message"] == "---> MPHaltEx Adapter=A1"
    assert row["ts"] == dt.datetime(2025, 6, 6, 12, 0, 1, 250000, tzinfo=dt.UTC)


def test_noprefix_makes_every_non_blank_line_an_event_without_time(tmp_path):
    trace, events = parse(tmp_path, "---> MPHaltEx\n\n<--- MPHaltEx\n", prefix="")
    assert trace.accounting.as_dict() == {
        "lines": 3,
        "events": 2,
        "continuation": 0,
        "meta": 1,
        "rejected": 0,
    }
    assert events.select("line", "message").rows() == [(1, "---> MPHaltEx"), (3, "<--- MPHaltEx")]
    assert events.get_column("ts").null_count() == 2


def test_lines_before_the_first_custom_record_are_rejected_with_the_prefix_named(tmp_path):
    trace, _ = parse(
        tmp_path, "garbage\n[x] 06/06/2025-12:00:00.000 hello\n", prefix="[%1!s!] %4!s! "
    )
    assert trace.rejects.select("line").to_series().to_list() == [1]
    assert "'[%1!s!] %4!s! '" in trace.rejects.get_column("reason")[0]


def test_unknown_specifier_is_a_clear_error(tmp_path):
    with pytest.raises(PrefixError, match=r"unknown specifier %!COLOUR!"):
        layout_from_prefix("%!COLOUR! %4!s!")
    with pytest.raises(TraceReadError, match="unknown specifier"):
        parse(tmp_path, "x\n", prefix="%!COLOUR!")


def test_unknown_format_lines_are_events_with_the_guid_as_provider(tmp_path):
    text = (
        "[0]0004.0010::06/06/2025-12:00:00.000 [wlan]---> MPHaltEx\n"
        "Unknown( 58): GUID=c1cbcc0f-8890-ecb9-5236-20d1c4d45820 (No Format Information found).\n"
        "[0]0004.0010::06/06/2025-12:00:00.200 [wlan]<--- MPHaltEx\n"
    )
    trace, events = parse(tmp_path, text)
    assert trace.accounting.events == 3 and trace.accounting.continuation == 0
    unknown = events.filter(pl.col("line") == 2).row(0, named=True)
    assert unknown["provider"] == "c1cbcc0f-8890-ecb9-5236-20d1c4d45820"
    assert unknown["ts"] is None
    assert unknown["message"].startswith("Unknown( 58): GUID=")


def test_a_file_of_unknown_lines_is_still_recognised_as_wpp(tmp_path):
    line = (
        "Unknown( 12): GUID=c1cbcc0f-8890-ecb9-5236-20d1c4d45820 (No Format Information found).\n"
    )
    trace, events = parse(tmp_path, line * 3, name="x.log")
    assert trace.format == "wpp-text" and events.height == 3


def test_viewer_line_number_column_before_the_prefix(tmp_path):
    text = (
        "   17\t[1]0004.0084::06/06/2025-12:19:03.186 [qc]!EvtDriverDeviceAdd[58]!Enter\n"
        "   18  [1]0004.0084::06/06/2025-12:19:03.187 [qc]!EvtDriverDeviceAdd[60]!Exit\n"
    )
    trace, events = parse(tmp_path, text)
    assert trace.accounting.events == 2
    assert events.get_column("event").to_list() == ["EvtDriverDeviceAdd"] * 2
    assert events.get_column("cpu").to_list() == [1, 1]


def test_a_file_with_no_record_in_the_forced_layout_is_one_clear_error(tmp_path):
    with pytest.raises(TraceReadError) as info:
        parse(tmp_path, "\nnot a record\nnor this\n", prefix="[%1!s!] %4!s! ")
    assert info.value.line == 2
    assert (
        "no wpp-text record in the file" in info.value.reason
        and "not a record" in info.value.reason
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("DriverEntry", "loaded"),
        ("`anonymous namespace'::send", "req 1"),  # MSVC's name for a file-local function
        ("CAdapter::~CAdapter", "gone"),
        ("Queue<Rx>::Drain", "3 left"),
        ("Fx::A::B", ":leading colon kept"),  # the first single ':' ends the name
    ],
)
def test_function_names_as_msvc_spells_them(tmp_path, name, message):
    _, events = parse(tmp_path, f"[1]0a1c {name}:{message}\n", "[%9]%3!04x! %!FUNC!:")
    assert events.select("event", "message").rows() == [(name, message)]


def test_a_log_that_declares_its_prefix_is_read_with_it(tmp_path):
    text = (
        "Trace format prefix is: %7!u!: %!FUNC! - \n"
        "--- start of log ---\n"
        "12: FxPkgPnp::Dispose - WDFDEVICE 0x1 gone\n"
        "---- end of log ----\n"
    )
    trace, events = parse(tmp_path, text)
    assert events.select("line", "event", "message").rows() == [
        (3, "FxPkgPnp::Dispose", "WDFDEVICE 0x1 gone")
    ]
    assert trace.accounting.meta == 3  # the end-of-log line is not wrapped text
    assert trace.notes == ("WPP prefix '%7!u!: %!FUNC! - ' as the log declares on line 1",)
    # A prefix the engineer passes wins over the declared one.
    trace, events = parse(tmp_path, "Trace format prefix is: %7!u!: %!FUNC! - \n7 x\n", "%7!u! ")
    assert events.select("line", "message").rows() == [(2, "x")]
    assert trace.notes == ()


def test_a_declared_prefix_that_cannot_be_read_is_an_error_naming_its_line(tmp_path):
    with pytest.raises(TraceReadError, match=r"declared on line 2: unknown specifier %!NOPE!"):
        parse(tmp_path, "--- start of log ---\nTrace format prefix is: %!NOPE! \n1 x\n")


def test_component_and_subcomponent_specifiers(tmp_path):
    _, events = parse(tmp_path, "[wifi][power] radio off\n", "[%!COMPNAME!][%!SUBCOMP!] ")
    assert events.select("provider", "message").rows() == [("wifi", "radio off")]


@pytest.mark.parametrize(
    ("prefix", "error"),
    [
        ("a" * 100_000, "100,000 characters long; at most 256"),
        (" ".join(["%4!s!"] * 42), "its pattern is too large"),  # 42 timestamp patterns
    ],
)
def test_prefixes_too_big_to_read_are_refused(prefix, error):
    with pytest.raises(PrefixError, match=error):
        layout_from_prefix(prefix)


def test_a_hostile_declared_prefix_is_a_clear_error_not_a_crash(tmp_path):
    text = "Trace format prefix is: " + "%!FUNC! " * 50_000 + "\n1: F - x\n"
    with pytest.raises(TraceReadError, match=r"declared on line 1: the WPP prefix is 400,000"):
        parse(tmp_path, text)
