"""Vectorized timestamp decoding shared by the text formats.

All results are ``Datetime("ns", "UTC")``. Local wall-clock forms are interpreted in the
user's ``--tz``; FILETIME values are UTC by definition and never shifted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from parsers.schema import TS_DTYPE

# 100 ns ticks between 1601-01-01 and 1970-01-01.
FILETIME_EPOCH_OFFSET = 116_444_736_000_000_000
# Ticks whose nanosecond value fits in int64 (years 1677..2262): beyond that, no timestamp.
_NS_RANGE_TICKS = (2**63 - 1) // 100
FILETIME_MIN = FILETIME_EPOCH_OFFSET - _NS_RANGE_TICKS
FILETIME_MAX = FILETIME_EPOCH_OFFSET + _NS_RANGE_TICKS

# Bidi marks that copies from Windows viewers put inside dates.
_BIDI = "[\u200e\u200f]"

# Years whose nanoseconds fit in int64 (1678-2261); polars' parser would wrap around
# outside them, so other years are left unconverted and fail to parse (null).
YEAR = r"(?:1679|1[7-9]\d\d|2[01]\d\d|22[0-5]\d|226[01])"
_YEAR = "(" + YEAR + ")"
# Each local form is rewritten to "Y-M-D|h:m:s[.f]" by one replace and parsed once: a
# chain of single passes over the token, with no field-by-field re-extraction.
_TO_ISO = (
    (r"^(\d{1,2})/(\d{1,2})/" + _YEAR + "-", "${3}-${1}-${2}|"),  # MM/DD/YYYY-
    (r"^(\d{1,2})/(\d{1,2})/(\d{2})-", "20${3}-${1}-${2}|"),  # MM/DD/YY-
    ("^" + _YEAR + r"[/-](\d{1,2})[/-](\d{1,2})[-T ]", "${1}-${2}-${3}|"),  # YYYY/MM/DD-, ISO
)
# '|' never occurs in a token, so only a rewritten token can parse.
_PARSED = "%Y-%m-%d|%H:%M:%S%.f"

# Strict enough to tell a timestamp from text, used inside record-detection regexes.
# Bidi marks may precede any date part (`‎09/‎20/‎2004`), in either date order.
_B = r"[\x{200E}\x{200F}]*"
# A date and time of day as tracefmt prints them (no FILETIME): the local forms.
WPP_CLOCK_PATTERN = (
    rf"{_B}(?:\d{{1,2}}/{_B}\d{{1,2}}/{_B}(?:\d{{4}}|\d{{2}})-|\d{{4}}[/-]"
    rf"{_B}\d{{1,2}}[/-]{_B}\d{{1,2}}[-T ])"
    rf"{_B}\d{{1,2}}:\d{{2}}:\d{{2}}(?:\.\d{{1,9}})?"
)
WPP_TS_PATTERN = rf"(?:{WPP_CLOCK_PATTERN}|\d{{15,19}})"


def check_timezone(tz: str) -> str:
    """The zone name if it is a known IANA zone (or UTC); ValueError naming it otherwise."""
    if tz.upper() == "UTC":
        return "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {tz!r} (use an IANA name such as Europe/Berlin)"
        ) from None
    return tz


def filetime_to_ts(ticks: pl.Expr) -> pl.Expr:
    """FILETIME ticks (int) to UTC timestamps; out-of-range ticks become null."""
    ns = (ticks.cast(pl.Int64, strict=False) - FILETIME_EPOCH_OFFSET) * 100
    in_range = ticks.is_between(FILETIME_MIN, FILETIME_MAX)
    return (
        pl.when(in_range)
        .then(pl.from_epoch(ns, time_unit="ns"))
        .otherwise(None)
        .dt.replace_time_zone("UTC")
        .cast(TS_DTYPE)
    )


def localize(naive: pl.Expr, tz: str) -> pl.Expr:
    """Interpret naive wall-clock times in ``tz`` and return them in UTC.

    A time that falls in a DST gap does not exist and becomes null; an ambiguous one
    (the repeated hour) takes the earlier instant, as the export tools do not say.
    """
    if tz.upper() == "UTC":
        return naive.dt.replace_time_zone("UTC").cast(TS_DTYPE)
    return (
        naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .cast(TS_DTYPE)
    )


def wpp_timestamp(token: pl.Expr, tz: str) -> pl.Expr:
    """Decode any WPP timestamp form; null for the kernel-debugger ``00/00/0000`` stamp.

    Forms: ``MM/DD/YYYY-hh:mm:ss.f``, ``MM/DD/YY-...``, ``YYYY/MM/DD-...``,
    ``YYYY-MM-DD hh:mm:ss.f`` (fractions of 1 to 9 digits) and a raw FILETIME.
    """
    clean = token.str.replace_all(_BIDI, "")
    iso = clean
    for pattern, replacement in _TO_ISO:
        iso = iso.str.replace(pattern, replacement)
    local = iso.str.strptime(pl.Datetime("ns"), _PARSED, strict=False)
    is_filetime = clean.str.contains(r"^\d{15,19}$")
    return (
        pl.when(is_filetime)
        .then(filetime_to_ts(clean.cast(pl.Int64, strict=False)))
        .otherwise(localize(local, tz))
    )


# What a trace of relative times (PerfView, wpaexporter) says when nothing anchors it.
RELATIVE_NOTE = "relative time from 1970-01-01T00:00:00Z"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TraceStart:
    """Where the relative times of a trace begin, in nanoseconds since the Unix epoch.

    Not a datetime: a FILETIME start (tracerpt's Clock-Time, xperf's Trace Start) counts
    100 ns ticks, and a datetime would drop the last digit of every time placed from it.
    """

    ns: int

    def __str__(self) -> str:
        seconds, ns = divmod(self.ns, 10**9)
        whole = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{whole}.{ns:09d}Z"


def relative_note(start: TraceStart | None) -> str:
    """What a trace of relative times says about its anchor (``--trace-start`` or none)."""
    return RELATIVE_NOTE if start is None else f"relative time from {start} (--trace-start)"


def parse_trace_start(text: str | datetime, tz: str = "UTC") -> TraceStart:
    """``--trace-start``: an ISO 8601 time (in ``tz`` unless it names its offset) or a
    FILETIME, the 100 ns ticks since 1601 that tracerpt and xperf print; ValueError
    saying what is accepted otherwise. A datetime (the Python API) is taken as it is,
    in ``tz`` if naive."""
    if isinstance(text, datetime):
        return _in_zone(text, tz)
    value = text.strip()
    if value.isdigit():
        ticks = int(value)
        if not FILETIME_EPOCH_OFFSET <= ticks <= FILETIME_EPOCH_OFFSET + 4 * 10**16:
            raise ValueError(f"trace start {text!r}: a FILETIME from 1970 to 2096 is expected")
        return TraceStart((ticks - FILETIME_EPOCH_OFFSET) * 100)
    try:
        when = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise ValueError(
            f"trace start {text!r} is neither an ISO 8601 time "
            "(2026-11-24T09:30:00.125, with or without an offset) nor a FILETIME"
        ) from None
    return _in_zone(when, tz)


def _in_zone(when: datetime, tz: str) -> TraceStart:
    """``when`` as a start; a naive time is read in ``tz``."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC if check_timezone(tz) == "UTC" else ZoneInfo(tz))
    return TraceStart((when - _EPOCH) // timedelta(microseconds=1) * 1000)
