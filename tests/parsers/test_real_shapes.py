"""Real public excerpts of each export (tests/parsers/real/, sources in SOURCES.md).

Every line a person would call valid is an event, a continuation or a meta line, never a
reject, and each timestamp is exact to the digit the export printed.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from parsers import ParseOptions, read_trace, stream_trace
from parsers.trace import Accounting

from .helpers import check_trace

REAL = Path(__file__).resolve().parent / "real"


def stamps(path: Path) -> list[str | None]:
    trace = read_trace(path)
    check_trace(trace)
    assert trace.rejects.height == 0, trace.rejects.rows()
    return (
        trace.events.collect()
        .select(pl.col("ts").dt.to_string("%Y-%m-%d %H:%M:%S%.9f"))
        .to_series()
        .to_list()
    )


# Excerpts whose prefix the engineer passes (the log itself does not say it).
PREFIXES = {"tracedrv-tracefmt-custom-prefix.txt": "%2!s!: %!FUNC!: %8!04x!.%3!04x!: %4!s!:"}


@pytest.mark.parametrize("path", sorted(REAL.glob("*.txt")), ids=lambda p: p.name)
def test_streamed_like_read_whole(path):
    options = ParseOptions(wpp_prefix=PREFIXES.get(path.name))
    whole = read_trace(path, options)
    trace = stream_trace(path, options, chunk_lines=3)
    events = pl.concat([p.events for p in trace.pieces()])
    assert events.equals(whole.events.collect())
    assert trace.accounting == whole.accounting
    assert trace.notes == whole.notes  # a wdflogdump's declared prefix, streamed too


def test_netsh_convert_in_a_viewer_with_line_numbers():
    # Source: https://learn.microsoft.com/troubleshoot/windows-client/networking/
    # wireless-network-connectivity-issues-troubleshooting ("An example of a good connection setup")
    path = REAL / "netsh-wlan-autoconfig-tat.txt"
    assert stamps(path) == [
        "2018-09-17 10:22:14.658000000",
        "2018-09-17 10:22:14.667000000",
        "2018-09-17 10:22:14.708000000",
        "2018-09-17 10:22:14.710000000",
        "2018-09-17 10:22:14.879000000",
        "2018-09-17 10:22:14.990000000",
    ]
    events = read_trace(path).events.collect()
    assert events.row(3, named=True) | {"ts": None, "trace": None} == {
        "trace": None,
        "seq": 3,
        "line": 4,
        "ts": None,
        "provider": "Microsoft-Windows-WLAN-AutoConfig",
        "event": None,
        "event_id": None,
        "level": None,
        "pid": 0x0F24,
        "tid": 0x17E0,
        "cpu": 2,
        "message": "FSM Transition from State: Configuring to State: Associating",
    }


def test_netsh_convert_filtered_with_stray_spaces_and_wrapped_messages():
    # Source: the same page ("Enable trace filter for [Microsoft-Windows-NWifi]")
    path = REAL / "netsh-wlan-autoconfig-filtered.txt"
    assert stamps(path) == [
        "2017-08-28 13:24:28.902000000",
        "2017-08-28 13:24:28.960000000",
        "2017-08-28 13:24:28.962000000",
        "2017-08-28 13:24:29.127000000",
        "2017-08-28 13:24:29.549000000",
        "2017-08-28 13:24:29.549000000",
        "2017-08-28 13:24:29.705000000",
        "2017-08-28 13:24:29.705000000",
        "2017-08-28 13:24:29.705000000",
        "2017-08-28 13:24:29.751000000",
        "2017-08-28 13:24:29.751278800",
        "2017-08-28 13:24:29.751340400",
    ]
    trace = read_trace(path)
    assert trace.accounting == Accounting(lines=14, events=12, continuation=2, meta=0, rejected=0)
    events = trace.events.collect()
    assert events.get_column("line").to_list() == [1, *range(3, 13), 13]
    assert events.get_column("message").to_list()[0] == (
        "FSM Transition from State:\nAssociating to State: Authenticating"
    )
    disassoc = events.row(3, named=True)
    assert (disassoc["provider"], disassoc["pid"], disassoc["tid"], disassoc["cpu"]) == (
        "Microsoft-Windows-NWiFi",
        0,
        0,
        0,
    )
    assert disassoc["message"] == "DisAssoc: 0x8A1514B62510 Reason: 0x4"


def test_wmitrace_logdump_of_iddcx():
    # Source: https://learn.microsoft.com/windows-hardware/drivers/display/indirect-display-debugging
    path = REAL / "iddcx-wmitrace-logdump.txt"
    assert stamps(path) == [
        "2020-04-24 09:43:36.894000000",
        "2020-04-24 09:43:36.897000000",
        "2020-04-24 09:43:36.897000000",
        "2020-04-24 09:43:36.897000000",
        "2020-04-24 09:43:36.917000000",
        None,  # Unknown( 76): no time of its own
        "2020-04-24 09:43:36.917000000",
        "2020-04-24 09:43:36.936000000",
        "2020-04-24 09:43:55.341000000",
    ]
    trace = read_trace(path)
    assert trace.accounting == Accounting(lines=12, events=9, continuation=0, meta=3, rejected=0)
    events = trace.events.collect()
    # several bracket groups: the first is the provider, the others stay in the message
    assert events.row(0, named=True)["provider"] == "cx"
    assert events.row(0, named=True)["message"] == "[IddCx]DriverEntry: Enter"
    unknown = events.row(5, named=True)
    assert unknown["provider"] == "ac5ec775-ccdb-3c2c-6150-28b4eacacbc4"
    assert unknown["line"] == 8


def test_xperf_dumper_of_a_pmc_trace():
    # Source: https://github.com/rust-lang/rustc-perf/blob/master/collector/src/etw_parser.rs
    path = REAL / "xperf-dumper-rustc-perf.txt"
    # Trace Start 132675686690347142 (FILETIME) plus each row's microseconds
    assert stamps(path) == [
        "2021-06-07 19:44:29.034714200",
        "2021-06-07 19:44:29.034714200",
        "2021-06-07 19:44:29.291158200",
        "2021-06-07 19:44:29.291158200",
        "2021-06-07 19:44:29.291162200",
        "2021-06-07 19:44:29.291162200",
        "2021-06-07 19:44:29.139457200",
        "2021-06-07 19:44:30.394356200",
    ]
    trace = read_trace(path)
    assert trace.format == "xperf-dumper"
    assert trace.accounting == Accounting(lines=19, events=8, continuation=0, meta=11, rejected=0)
    events = trace.events.collect()
    start = events.row(6, named=True)
    assert (start["provider"], start["pid"], start["line"]) == ("P-Start", 10612, 18)


def test_wdflogdump_with_the_default_ifr_prefix():
    # Source: https://learn.microsoft.com/windows-hardware/drivers/debuggercmds/-acxkd
    # (MicrosoftDocs/windows-driver-docs, "WDF log commands"): the prefix comes from the
    # log's own "Trace format prefix is:" line, and the debugger's framing lines are meta.
    path = REAL / "acx-wdflogdump.txt"
    assert stamps(path) == [None] * 4  # %7!u!: %!FUNC! - : a sequence number, no time
    trace = read_trace(path)
    assert trace.format == "wpp-text"
    assert trace.notes == ("WPP prefix '%7!u!: %!FUNC! - ' as the log declares on line 4",)
    assert trace.accounting == Accounting(lines=13, events=4, continuation=0, meta=9, rejected=0)
    events = trace.events.collect()
    assert events.get_column("line").to_list() == [10, 11, 12, 13]
    assert set(events.get_column("event")) == {"FxPowerIdleMachine::ProcessEventLocked"}
    assert events.get_column("message").to_list()[0] == (
        "WDFDEVICE 0x000049F6BEF1A848 !devobj 0xFFFFB60940DDBDD0 entering power idle state "
        "FxIdleTimerRunning from FxIdleStartTimer"
    )


def test_wdflogdump_with_timestamps_of_seven_digits():
    # Source: an earlier revision of the same page: a prefix that adds %4!s!
    path = REAL / "acx-wdflogdump-timestamps.txt"
    assert stamps(path) == ["2023-09-03 23:43:07.323359400"] * 6
    events = read_trace(path).events.collect()
    assert events.get_column("event").to_list()[:2] == [
        "imp_WdfRegistryOpenKey",
        "FxPowerIdleMachine::ProcessEventLocked",
    ]
    assert events.get_column("message").to_list()[0] == (
        "new WDFKEY object open failed, 0xc0000034(STATUS_OBJECT_NAME_NOT_FOUND)"
    )


def test_wdflogdump_of_a_custom_prefix_with_msvc_function_names():
    # Source: https://github.com/vadimgrn/usbip-win2/issues/52 (a KMDF driver's log dumped
    # in WinDbg, CRLF): functions in an anonymous namespace, a hex dump wrapped under one
    path = REAL / "usbip-wdflogdump-custom-prefix.txt"
    assert stamps(path) == [None] * 7
    trace = read_trace(path)
    assert trace.accounting == Accounting(lines=18, events=7, continuation=1, meta=10, rejected=0)
    events = trace.events.collect()
    first = events.row(0, named=True)
    assert (first["cpu"], first["tid"], first["level"], first["event"]) == (
        0,
        0,
        "TRACE_LEVEL_VERBOSE",
        "`anonymous namespace'::send",
    )
    assert (
        first["message"] == "req b902b898 -> wsk irp 41ff3e10, 48 bytes, 0x00000103(STATUS_PENDING)"
    )
    last = events.row(6, named=True)
    assert last["event"] == "`anonymous namespace'::post_control_transfer"
    assert last["message"] == (
        "bLength 18, 0x00000001(USB_DEVICE_DESCRIPTOR_TYPE)\n"
        "\t0000  12010002 FF47D040 5E04120B 09050102  .....G.@^......."
    )


def test_tracefmt_output_starts_with_the_header_event():
    # Source: https://learn.microsoft.com/windows-hardware/drivers/devtest/tracefmt-output-file
    path = REAL / "tracedrv-tracefmt-output.txt"
    assert stamps(path) == ["2003-10-23 12:27:40.173000000"] * 7
    trace = read_trace(path)
    # the one meta line is `EventTrace`, tracefmt's line for the session header
    assert trace.accounting == Accounting(lines=8, events=7, continuation=0, meta=1, rejected=0)
    first = trace.events.collect().row(0, named=True)
    assert (first["line"], first["pid"], first["tid"], first["provider"], first["message"]) == (
        2,
        0x0888,
        0x0D60,
        "tracedrv",
        "IOCTL = 1",
    )


def test_tracefmt_seq_writes_a_sequence_number_before_the_component():
    # Source: https://learn.microsoft.com/windows-hardware/drivers/devtest/example-4--sequence-numbers
    path = REAL / "tracedrv-tracefmt-seq.txt"
    assert stamps(path) == ["2003-07-25 13:55:39.998000000"] * 3
    events = read_trace(path).events.collect()
    assert events.select("provider", "message").rows() == [
        ("tracedrv", "IOCTL = 1"),
        ("tracedrv", "Hello, 1 Hi"),
        ("tracedrv", "Hello, 2 Hi"),
    ]


def test_tracefmt_output_with_a_custom_prefix():
    # Source: https://learn.microsoft.com/windows-hardware/drivers/devtest/example-7--customizing-the-trace-message-prefix
    path = REAL / "tracedrv-tracefmt-custom-prefix.txt"
    trace = read_trace(path, ParseOptions(wpp_prefix=PREFIXES[path.name]))
    check_trace(trace)
    assert trace.rejects.height == 0
    events = trace.events.collect()
    assert (
        events.select(pl.col("ts").dt.to_string("%Y-%m-%d %H:%M:%S%.9f")).to_series().to_list()
        == ["2003-07-25 13:55:39.998000000"] * 4
    )
    first = events.row(0, named=True)
    assert (first["pid"], first["tid"], first["event"]) == (
        0x0AF4,
        0x0C64,
        "TracedrvDispatchDeviceControl",
    )
    assert events.get_column("message").str.strip_chars().to_list() == [
        "IOCTL = 1",
        "Hello, 1 Hi",
        "Hello, 2 Hi",
        "Hello, 3 Hi",
    ]


def test_tracefmt_console_report_pasted_before_its_output():
    # Source: https://learn.microsoft.com/windows-hardware/drivers/devtest/example-9--creating-a-tmf-file
    # (the console report of `tracefmt ... -v`, then the output file it wrote)
    path = REAL / "tracedrv-tracefmt-console.txt"
    assert (
        stamps(path)
        == ["2005-06-10 14:25:43.968000000"] * 6 + ["2005-06-10 14:25:45.539000000"] * 6
    )
    trace = read_trace(path)
    # 27 lines of report (the per-buffer `Filled=` line among them), `EventTrace`
    assert trace.accounting == Accounting(lines=40, events=12, continuation=0, meta=28, rejected=0)
    assert trace.notes == ()  # "EventsLost: 0"
    first = trace.events.collect().row(0, named=True)
    assert (first["line"], first["provider"], first["message"]) == (29, "tracedrv", "IOCTL = 1")
