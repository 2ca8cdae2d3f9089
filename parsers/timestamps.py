"""Vectorized timestamp decoding shared by the text formats.

All results are ``Datetime("ns", "UTC")``. Local wall-clock forms are interpreted in the
user's ``--tz``; FILETIME values are UTC by definition and never shifted.
"""

from __future__ import annotations

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

_MDY = (
    r"^(?<mo>\d{1,2})/(?<d>\d{1,2})/(?<y>\d{4}|\d{2})-"
    r"(?<h>\d{1,2}):(?<mi>\d{2}):(?<s>\d{2})(?:\.(?<f>\d{1,9}))?$"
)
_YMD = (
    r"^(?<y>\d{4})[/-](?<mo>\d{1,2})[/-](?<d>\d{1,2})[-T ]"
    r"(?<h>\d{1,2}):(?<mi>\d{2}):(?<s>\d{2})(?:\.(?<f>\d{1,9}))?$"
)

# Strict enough to tell a timestamp from text, used inside record-detection regexes.
# Bidi marks may precede any date part (`‎09/‎20/‎2004`), in either date order.
_B = r"[\x{200E}\x{200F}]*"
WPP_TS_PATTERN = (
    rf"(?:{_B}(?:\d{{1,2}}/{_B}\d{{1,2}}/{_B}(?:\d{{4}}|\d{{2}})-|\d{{4}}[/-]"
    rf"{_B}\d{{1,2}}[/-]{_B}\d{{1,2}}[-T ])"
    rf"{_B}\d{{1,2}}:\d{{2}}:\d{{2}}(?:\.\d{{1,9}})?"
    r"|\d{15,19})"
)


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


def _from_parts(parts: pl.Expr) -> pl.Expr:
    y = parts.struct.field("y")
    year = pl.when(y.str.len_chars() == 2).then(pl.lit("20") + y).otherwise(y)
    text = pl.format(
        "{}-{}-{} {}:{}:{}",
        year,
        parts.struct.field("mo").str.zfill(2),
        parts.struct.field("d").str.zfill(2),
        parts.struct.field("h").str.zfill(2),
        parts.struct.field("mi"),
        parts.struct.field("s"),
    )
    frac_ns = parts.struct.field("f").fill_null("0").str.pad_end(9, "0").cast(pl.Int64)
    base = text.str.strptime(pl.Datetime("ns"), "%Y-%m-%d %H:%M:%S", strict=False)
    return base + pl.duration(nanoseconds=frac_ns)


def wpp_timestamp(token: pl.Expr, tz: str) -> pl.Expr:
    """Decode any WPP timestamp form; null for the kernel-debugger ``00/00/0000`` stamp.

    Forms: ``MM/DD/YYYY-hh:mm:ss.f``, ``MM/DD/YY-...``, ``YYYY/MM/DD-...``,
    ``YYYY-MM-DD hh:mm:ss.f`` (fractions of 1 to 9 digits) and a raw FILETIME.
    """
    clean = token.str.replace_all(_BIDI, "")
    mdy = clean.str.extract_groups(_MDY)
    ymd = clean.str.extract_groups(_YMD)
    local = pl.coalesce(_from_parts(mdy), _from_parts(ymd))
    is_filetime = clean.str.contains(r"^\d{15,19}$")
    return (
        pl.when(is_filetime)
        .then(filetime_to_ts(clean.cast(pl.Int64, strict=False)))
        .otherwise(localize(local, tz))
    )
