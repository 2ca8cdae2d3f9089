"""parsers.registry: detection by content, not by extension; clear errors otherwise."""

from __future__ import annotations

import codecs

import pytest

from parsers import ParseOptions, TraceReadError, formats, read_trace, stream_trace
from parsers.registry import SNIFF_CHARS, SNIFF_LINES, TraceFormat, detect, get, register
from parsers.source import read_lines
from parsers.tracerpt_csv import TracerptCsv
from parsers.wpp_text import WppText

WPP = "[0]0C40.0C3C::09/20/2004-14:41:31.625 [tracedrv]Hello, 1 Hi\n"
CSV = (
    "Event Name, Type, Event ID, Version, Channel, Level, Opcode, Task, Keyword, PID, TID, "
    "Processor Number, Instance ID, Parent Instance ID, Activity ID, Related Activity ID, "
    "Clock-Time, Kernel(ms), User(ms), User Data\n"
    "EventTrace, Header, 0, 2, 0, 0, 0, 0, 0x0, 0x4, 0x8, 0, , , {0}, , "
    "133127435730482450, 15, 0, 65536\n"
)


def test_both_formats_are_registered():
    names = {cls.name for cls in formats()}
    assert {"wpp-text", "tracerpt-csv"} <= names
    assert get("wpp-text") is WppText
    assert get("tracerpt-csv") is TracerptCsv


def test_unknown_format_name_lists_the_known_ones():
    with pytest.raises(
        ValueError,
        match=r"unknown format 'etl'.*perfview-csv.*tracerpt-csv.*wpp-text.*xperf-dumper",
    ):
        get("etl")


def test_registering_a_name_twice_is_an_error():
    class Again(TraceFormat):
        name = "wpp-text"
        description = "dup"
        example = ""

        @classmethod
        def sniff(cls, head):
            return 0.0

        def parse(self, source, options):
            raise NotImplementedError

    with pytest.raises(ValueError, match="registered twice"):
        register(Again)
    assert get("wpp-text") is WppText


@pytest.mark.parametrize("name", ["trace.csv", "trace.txt", "trace.etl", "trace"])
def test_wpp_detected_by_content_whatever_the_extension(write, name):
    trace = read_trace(write(name, WPP))
    assert trace.format == "wpp-text"
    assert trace.events.collect().get_column("message").to_list() == ["Hello, 1 Hi"]


@pytest.mark.parametrize("name", ["trace.txt", "trace.log", "trace.csv", "trace"])
def test_tracerpt_detected_by_content_whatever_the_extension(write, name):
    trace = read_trace(write(name, CSV))
    assert trace.format == "tracerpt-csv"
    assert trace.accounting.events == 1


def test_detection_sees_through_encodings(write):
    data = codecs.BOM_UTF16_LE + CSV.replace("\n", "\r\n").encode("utf-16-le")
    assert detect(read_lines(write("u.txt", data))) is TracerptCsv
    assert detect(read_lines(write("w.csv", codecs.BOM_UTF8 + WPP.encode()))) is WppText


def test_header_after_a_preamble_is_found(write):
    trace = read_trace(write("x.csv", "some tool banner\n\n" + CSV))
    assert trace.format == "tracerpt-csv"
    assert trace.rejects.get_column("line").to_list() == [1]


def test_unrecognised_file_names_file_and_first_nonblank_line(write):
    path = write("notes.csv", "\n   \nhello world, this is not a trace\nmore\n")
    with pytest.raises(TraceReadError) as info:
        read_trace(path)
    err = info.value
    assert err.path == str(path)
    assert err.line == 3
    assert "unrecognised trace format" in err.reason
    assert "tracerpt-csv" in err.reason and "wpp-text" in err.reason
    assert "hello world, this is not a trace" in err.reason
    assert str(err).startswith(f"{path}:3: ")


def test_unrecognised_long_first_line_is_shortened_in_the_message(write):
    path = write("long.txt", "z" * 5000 + "\n")
    with pytest.raises(TraceReadError) as info:
        read_trace(path)
    assert "z" * 120 + "…" in info.value.reason
    assert "z" * 121 not in info.value.reason


def test_label_is_the_name_in_errors(write):
    with pytest.raises(TraceReadError) as info:
        read_trace(write("a.txt", "nothing\n"), label="lab-run-42")
    assert info.value.path == "lab-run-42"


@pytest.mark.parametrize(
    "content",
    [b"", b"\n\n", b"   \r\n\t\n", codecs.BOM_UTF8, codecs.BOM_UTF16_LE],
    ids=["empty", "newlines", "whitespace", "utf8-bom-only", "utf16-bom-only"],
)
def test_empty_input_is_an_error(write, content):
    path = write("empty.txt", content)
    with pytest.raises(TraceReadError) as info:
        read_trace(path)
    assert info.value.path == str(path)
    assert info.value.line is None
    assert "empty input" in info.value.reason


def test_only_the_first_lines_are_sniffed(write):
    path = write("late.txt", "noise\n" * SNIFF_LINES + WPP)
    with pytest.raises(TraceReadError) as info:
        read_trace(path)
    assert info.value.line == 1


def read_both(path, **kwargs):
    """read_trace, and stream_trace in small chunks: the same format and accounting."""
    whole = read_trace(path, **kwargs)
    streamed = stream_trace(path, chunk_lines=7, **kwargs)
    for _ in streamed.pieces():
        pass
    assert (streamed.format, streamed.accounting) == (whole.format, whole.accounting)
    return whole


@pytest.mark.parametrize("blank", ["\n", "   \r\n", "\t\n"])
def test_blank_lines_before_the_first_record_are_meta(write, blank):
    trace = read_both(write("late.txt", blank * 60 + WPP))
    assert trace.format == "wpp-text"
    assert trace.accounting.as_dict() == {
        "lines": 61,
        "events": 1,
        "continuation": 0,
        "meta": 60,
        "rejected": 0,
    }
    csv = read_both(write("late.csv", blank * 60 + CSV))
    assert csv.format == "tracerpt-csv"
    assert (csv.accounting.meta, csv.accounting.events, csv.accounting.rejected) == (61, 1, 0)


def test_blank_lines_do_not_count_towards_the_sniffed_lines(write):
    trace = read_both(write("late.txt", "\n" * 5000 + "noise\n" * (SNIFF_LINES - 1) + WPP))
    assert trace.format == "wpp-text"
    assert trace.accounting.as_dict() == {
        "lines": 5000 + SNIFF_LINES,
        "events": 1,
        "continuation": 0,
        "meta": 5000,
        "rejected": SNIFF_LINES - 1,
    }
    assert trace.rejects.get_column("line").to_list() == list(range(5001, 5000 + SNIFF_LINES))


def test_junk_before_the_first_record_is_rejected_line_by_line(write):
    trace = read_both(write("junk.txt", "mail header: x\n" * 70 + WPP + WPP))
    assert trace.format == "wpp-text"
    assert trace.accounting.as_dict() == {
        "lines": 72,
        "events": 2,
        "continuation": 0,
        "meta": 0,
        "rejected": 70,
    }
    assert trace.rejects.get_column("line").to_list() == list(range(1, 71))


def test_tracerpt_header_far_down_is_found(write):
    trace = read_both(write("far.csv", "banner\n" * 300 + "\n" * 300 + CSV))
    assert trace.format == "tracerpt-csv"
    assert trace.accounting.as_dict() == {
        "lines": 602,
        "events": 1,
        "continuation": 0,
        "meta": 301,
        "rejected": 300,
    }


def test_many_blank_lines_only_is_empty_input(write):
    for path in (write("blank.txt", "\n" * 60), write("blank2.txt", " \r\n" * 5000)):
        with pytest.raises(TraceReadError) as info:
            read_trace(path)
        assert info.value.line is None
        lines = 60 if path.name == "blank.txt" else 5000
        assert info.value.reason == f"empty input: {lines:,} blank lines, nothing to audit"


def test_blank_lines_beyond_the_sniff_bound_are_not_called_empty(write):
    path = write("huge.txt", "\n" * (SNIFF_CHARS + 1) + WPP)
    with pytest.raises(TraceReadError) as info:
        read_trace(path)
    assert info.value.line is None
    assert "empty input" not in info.value.reason
    assert info.value.reason.endswith(f"only blank lines in the first {SNIFF_CHARS:,} lines")
    trace = read_trace(path, format="wpp-text")  # forced, it reads
    assert (trace.accounting.events, trace.accounting.meta) == (1, SNIFF_CHARS + 1)


def test_forced_format_skips_detection(write):
    trace = read_trace(write("late.txt", "noise\n" * SNIFF_LINES + WPP), format="wpp-text")
    assert trace.accounting.as_dict() == {
        "lines": SNIFF_LINES + 1,
        "events": 1,
        "continuation": 0,
        "meta": 0,
        "rejected": SNIFF_LINES,
    }


def test_missing_file(tmp_path):
    with pytest.raises(TraceReadError, match="cannot open"):
        read_trace(tmp_path / "missing.txt")


def test_timestamped_lines_no_format_claims_suggest_a_custom_wpp_prefix(write):
    # tracefmt's output with TRACE_FORMAT_PREFIX=%2!s!: %!FUNC!: %8!04x!.%3!04x!: %4!s!:
    text = "tracedrv_c258: TracedrvDispatchDeviceControl: 0af4.0c64: 07/25/2003-13:55:39.998:  IOCTL = 1\n"
    with pytest.raises(TraceReadError) as err:
        read_trace(write("custom.txt", text * 3))
    assert err.value.reason.endswith(
        "if this is WPP text written with a custom TRACE_FORMAT_PREFIX, give that prefix "
        "(--wpp-prefix)"
    )
    with pytest.raises(TraceReadError) as plain:
        read_trace(write("junk.txt", "no time in this line\n" * 3))
    assert "--wpp-prefix" not in plain.value.reason


def test_lines_naming_a_wpp_level_suggest_a_custom_wpp_prefix(write):
    # tracefmt's output with TRACE_FORMAT_PREFIX=[%9]%3!04x! %!LEVEL! %!FUNC!: (no time),
    # from usbip-win2 issue #20
    text = (
        "[0]0a10 TRACE_LEVEL_VERBOSE vdev_create:ba07eb90 HCI_USB2, VDEV_VPDO\n"
        "[0]0a10 TRACE_LEVEL_INFORMATION plugin_vpdo:Connected to domain.com:16125\n"
    )
    with pytest.raises(TraceReadError) as err:
        read_trace(write("level.txt", text * 2))
    assert err.value.reason.endswith("give that prefix (--wpp-prefix)")
    trace = read_trace(
        write("level.txt", text * 2), ParseOptions(wpp_prefix="[%9]%3!04x! %!LEVEL! %!FUNC!:")
    )
    assert trace.events.collect().select("level", "event").rows()[:2] == [
        ("TRACE_LEVEL_VERBOSE", "vdev_create"),
        ("TRACE_LEVEL_INFORMATION", "plugin_vpdo"),
    ]
