"""parsers.timestamps: every WPP timestamp form, exact to the nanosecond, and --tz."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime

import polars as pl
import pytest

from parsers import ParseOptions, read_trace
from parsers.schema import TS_DTYPE
from parsers.timestamps import (
    FILETIME_EPOCH_OFFSET,
    FILETIME_MAX,
    FILETIME_MIN,
    WPP_TS_PATTERN,
    TraceStart,
    filetime_to_ts,
    localize,
    parse_trace_start,
    wpp_timestamp,
)

LRM = "\u200e"
RLM = "\u200f"


def ns(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, frac: int = 0) -> int:
    """Nanoseconds since 1970 UTC for a UTC wall-clock time."""
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 1_000_000_000 + frac


def decode(tokens: list[str], tz: str = "UTC") -> list[int | None]:
    out = pl.DataFrame({"t": tokens}, schema={"t": pl.String}).select(
        wpp_timestamp(pl.col("t"), tz).alias("ts")
    )
    assert out.schema["ts"] == TS_DTYPE
    return out.get_column("ts").dt.epoch("ns").to_list()


def one(token: str, tz: str = "UTC") -> int | None:
    return decode([token], tz)[0]


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("09/20/2004-14:41:31.625", ns(2004, 9, 20, 14, 41, 31, 625_000_000)),
        ("09/20/04-14:41:31.625", ns(2004, 9, 20, 14, 41, 31, 625_000_000)),
        ("2004/09/20-14:41:31.123456789", ns(2004, 9, 20, 14, 41, 31, 123_456_789)),
        ("2004-09-20 14:41:31.125", ns(2004, 9, 20, 14, 41, 31, 125_000_000)),
        ("2004-09-20T14:41:31.5", ns(2004, 9, 20, 14, 41, 31, 500_000_000)),
        ("9/2/2004-4:05:06.007", ns(2004, 9, 2, 4, 5, 6, 7_000_000)),
        ("12/31/2099-23:59:59.999", ns(2099, 12, 31, 23, 59, 59, 999_000_000)),
        ("09/20/2004-14:41:31", ns(2004, 9, 20, 14, 41, 31)),
    ],
)
def test_each_wpp_form(token, expected):
    assert one(token) == expected


@pytest.mark.parametrize("digits", range(3, 10))
@pytest.mark.parametrize("form", ["{y}/{mo}/{d}-{t}", "{mo}/{d}/{y}-{t}", "{y}-{mo}-{d} {t}"])
def test_fractions_of_3_to_9_digits_are_exact_to_the_nanosecond(digits, form):
    frac = "987654321"[:digits]
    token = form.format(y="2023", mo="03", d="07", t=f"08:09:10.{frac}")
    assert one(token) == ns(2023, 3, 7, 8, 9, 10, int(frac.ljust(9, "0")))


def test_raw_filetime_is_2022_11_12_utc_exactly():
    assert one("133127435730482450") == ns(2022, 11, 12, 16, 19, 33, 48_245_000)
    assert one("133127435730482450") == (133127435730482450 - FILETIME_EPOCH_OFFSET) * 100


def test_filetime_epoch_is_1970():
    assert one(str(FILETIME_EPOCH_OFFSET)) == 0


def test_filetime_is_not_shifted_by_tz():
    assert one("133127435730482450", "America/Los_Angeles") == one("133127435730482450")
    assert one("133127435730482450", "Asia/Kolkata") == ns(2022, 11, 12, 16, 19, 33, 48_245_000)


@pytest.mark.parametrize(
    "token",
    [
        "9999999999999999999",  # 19 digits beyond int64
        "999999999999999999",  # 18 digits: year 4769, beyond the ns range
        "100000000000000",  # 15 digits: year 1601, before the ns range
    ],
)
def test_out_of_range_filetime_is_null(token):
    assert one(token) is None


def test_filetime_to_ts_range_bounds():
    ticks = pl.Series(
        "t", [FILETIME_MIN - 1, FILETIME_MIN, FILETIME_MAX, FILETIME_MAX + 1, None], pl.Int64
    )
    out = pl.select(filetime_to_ts(pl.lit(ticks)))
    values = out.to_series().dt.epoch("ns").to_list()
    assert values[0] is None
    assert values[1] == (FILETIME_MIN - FILETIME_EPOCH_OFFSET) * 100
    assert values[2] == (FILETIME_MAX - FILETIME_EPOCH_OFFSET) * 100
    assert values[3] is None
    assert values[4] is None
    assert out.to_series().dtype == TS_DTYPE


def test_debugger_stamp_is_null():
    assert one("00/00/0000-00:00:00.000") is None


@pytest.mark.parametrize(
    "token",
    [
        "02/30/2024-00:00:00.000",
        "13/01/2024-00:00:00.000",
        "01/01/2024-24:00:00.000",
        "not a time",
        "",
    ],
)
def test_impossible_dates_are_null_not_errors(token):
    assert one(token) is None


@pytest.mark.parametrize(
    "token",
    [
        f"{LRM}09/{LRM}20/{LRM}2004-14:41:31.625",
        f"{LRM}09/20/2004-{LRM}14:41:31.625",
        f"09/{RLM}20/2004-14:41:31.625",
        f"{LRM}2004/{LRM}09/{LRM}20-14:41:31.625",
    ],
)
def test_bidi_marks_inside_the_date_are_ignored(token):
    assert one(token) == ns(2004, 9, 20, 14, 41, 31, 625_000_000)


def test_tz_converts_local_wall_clock_to_utc():
    la = "America/Los_Angeles"
    # Summer: PDT = UTC-7; winter: PST = UTC-8.
    assert one("07/04/2024-12:00:00.000", la) == ns(2024, 7, 4, 19)
    assert one("2024-01-15 12:00:00.123456789", la) == ns(2024, 1, 15, 20, 0, 0, 123_456_789)
    assert one("07/04/2024-12:00:00.000", "Europe/Berlin") == ns(2024, 7, 4, 10)


def test_tz_dst_gap_time_does_not_exist_and_is_null():
    # 2024-03-10 02:00 -> 03:00 in Los Angeles: 02:30 never happened there.
    la = "America/Los_Angeles"
    assert decode(
        ["03/10/2024-01:59:59.999", "03/10/2024-02:30:00.000", "03/10/2024-03:00:00.000"], la
    ) == [
        ns(2024, 3, 10, 9, 59, 59, 999_000_000),
        None,
        ns(2024, 3, 10, 10),
    ]


def test_tz_ambiguous_time_takes_the_earlier_instant():
    # 2024-11-03 01:30 happens twice in Los Angeles; the first is PDT (UTC-7).
    assert one("11/03/2024-01:30:00.000", "America/Los_Angeles") == ns(2024, 11, 3, 8, 30)


def test_localize_utc_is_identity():
    naive = pl.lit("2024-01-01 00:00:00").str.strptime(pl.Datetime("ns"))
    for tz in ("UTC", "utc"):
        value = pl.select(localize(naive, tz)).to_series()
        assert value.dtype == TS_DTYPE
        assert value.dt.epoch("ns").to_list() == [ns(2024, 1, 1)]


PATTERN = re.compile(
    "^(?:" + WPP_TS_PATTERN.replace(r"\x{200E}", LRM).replace(r"\x{200F}", RLM) + ")$"
)


@pytest.mark.parametrize(
    "token",
    [
        "09/20/2004-14:41:31.625",
        "09/20/04-14:41:31.625",
        "2004/09/20-14:41:31.123456789",
        "2004-09-20 14:41:31.125",
        "133127435730482450",
        "00/00/0000-00:00:00.000",
        f"{LRM}09/{LRM}20/{LRM}2004-14:41:31.625",
        f"{LRM}2004/{LRM}09/{LRM}20-{LRM}14:41:31.625",
    ],
)
def test_record_pattern_recognises_every_form(token):
    assert PATTERN.match(token)
    # and polars (which runs the real parse) agrees with Python's re here
    assert pl.select(pl.lit(token).str.contains("^(?:" + WPP_TS_PATTERN + ")$")).item()


@pytest.mark.parametrize("token", ["14:41:31.625", "2004-09-20", "12345", "09-20-2004 14:41:31"])
def test_record_pattern_rejects_non_timestamps(token):
    assert not pl.select(pl.lit(token).str.contains("^(?:" + WPP_TS_PATTERN + ")$")).item()


@pytest.mark.parametrize(
    "token",
    [
        "01/01/1600-00:00:00.000",
        "1600/01/01-00:00:00.000",
        "2263-01-01 00:00:00.000",
        "12/31/9999-23:59:59.999",
    ],
)
def test_years_outside_the_nanosecond_range_are_null_not_wrapped(token):
    # polars' own parser wraps such years around (1600 would come back as 2184)
    out = pl.DataFrame({"t": [token]}).select(wpp_timestamp(pl.col("t"), "UTC")).item()
    assert out is None


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2026-11-24T09:30:00.125", "UTC", ns(2026, 11, 24, 9, 30, 0, 125_000_000)),
        ("2026-11-24 10:30", "Europe/Berlin", ns(2026, 11, 24, 9, 30)),
        ("2026-11-24T09:30:00+02:00", "Europe/Berlin", ns(2026, 11, 24, 7, 30)),
        ("2026-11-24T09:30:00Z", "America/New_York", ns(2026, 11, 24, 9, 30)),
        # a FILETIME, as tracerpt prints Clock-Time: every 100 ns tick kept
        ("133127435730482451", "UTC", ns(2022, 11, 12, 16, 19, 33, 48_245_100)),
    ],
)
def test_trace_start_forms(text, tz, expected):
    assert parse_trace_start(text, tz) == TraceStart(expected)


def test_a_filetime_start_places_relative_times_to_the_tick(write):
    # PerfView's Time MSec has 6 decimals (ns); the start's last tick must not be lost.
    text = "Event Name,Time MSec,Process Name,Rest\nContoso-Wifi/Halt/Start,1.000001,System (4),\n"
    trace = read_trace(
        write("t.csv", text), ParseOptions(trace_start=parse_trace_start("133127435730482451"))
    )
    assert trace.events.collect().get_column("ts").dt.epoch("ns").to_list() == [
        ns(2022, 11, 12, 16, 19, 33, 48_245_100) + 1_000_001
    ]
    assert trace.notes == ("relative time from 2022-11-12T16:19:33.048245100Z (--trace-start)",)


@pytest.mark.parametrize("text", ["yesterday", "123", "2026-13-01", ""])
def test_trace_start_refuses_what_it_cannot_read(text):
    with pytest.raises(ValueError, match="trace start"):
        parse_trace_start(text)


def test_trace_start_takes_a_datetime_as_it_is_and_a_naive_one_in_the_zone():
    aware = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert parse_trace_start(aware, "Europe/Berlin") == TraceStart(ns(2026, 11, 24, 9, 30))
    naive = datetime(2026, 11, 24, 10, 30)
    assert parse_trace_start(naive, "Europe/Berlin") == TraceStart(ns(2026, 11, 24, 9, 30))
