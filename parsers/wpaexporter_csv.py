"""``wpaexporter`` CSV: one table of a WPA profile (typically Generic Events) per file.

Line 1 holds the column labels the profile chose, e.g.::

    Provider Name,Task Name,Opcode Name,Id,Process,ThreadId,Cpu,Time,Field 1,Field 2,Field 3

Labels may be quoted, padded or in another order; the columns that are not there are
null. Detection needs a provider column and a time column, and leaves alone the CSVs of
the other formats (tracerpt: ``Event Name`` + ``Clock-Time``; PerfView: ``Time MSec``).

Decisions:

- ``provider`` <- Provider Name; ``event`` <- Task Name, else Opcode Name, else Event
  Name; ``event_id`` <- Id; ``pid`` <- the number in Process (``name (1234)``) or a PID
  column; ``tid`` <- ThreadId; ``cpu`` <- Cpu; ``level`` <- Level.
- ``message`` <- a non-empty Message column, else Field 1..N (unquoted, trailing empty
  fields dropped) joined with ``", "``. Fields beyond the header's width (an unquoted
  separator in a value) are kept at the end of the message.
- Time: an absolute ISO 8601 date (``2024-05-21 08:40:02.118532``, ``T``, ``Z`` or an
  offset accepted; without a zone it is local time in ``--tz``), or a number: WPA's
  relative time, in seconds unless the label names a unit (``Time (ms)``, ``(us)``,
  ``(ns)``). A relative time has no date: it is anchored at 1970-01-01T00:00:00Z (the
  Unix epoch) and the trace's format reads ``wpaexporter-csv (relative time ...)``.
  Durations and orderings, which is all the rules use, stay exact.
- The separator is the one the header uses (``,``, ``;`` or tab); with ``;`` the decimal
  mark is ``,`` (the locales that use ``;`` as list separator use ``,`` for decimals).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from parsers.errors import TraceReadError
from parsers.registry import TraceFormat, register, sniff_head
from parsers.schema import REJECT_SCHEMA, TS_DTYPE, truncate_text
from parsers.source import SourceLines
from parsers.timestamps import RELATIVE_NOTE, TraceStart, localize, relative_note
from parsers.trace import Accounting, ParsedTrace, ParseOptions

MAX_COLUMNS = 256

# ---------------------------------------------------------------------------- CSV helpers
# Shared with parsers.perfview_csv: delimited rows split by one linear-time regex.


@dataclass(frozen=True)
class CsvHeader:
    """A delimited export's header line: where it is, how it splits, which role is where."""

    line: int
    sep: str
    labels: list[str]
    decimal_mark: str
    roles: dict[str, int]


def read_header(
    path: str,
    header: str,
    line: int,
    role_names: dict[str, set[str] | frozenset[str] | tuple[str, ...]],
) -> CsvHeader:
    """Split a header, bound its width and find each role's column (first match wins)."""
    sep = separator_of(header)
    labels = header_labels(header, sep)
    if len(labels) > MAX_COLUMNS:
        raise TraceReadError(
            path, line, f"CSV header has {len(labels)} columns (at most {MAX_COLUMNS} are read)"
        )
    roles: dict[str, int] = {}
    for role, names in role_names.items():
        found = next((i for i, label in enumerate(labels) if label in names), None)
        if found is not None:
            roles[role] = found
    # ';' is the list separator of locales whose decimal mark is ','
    return CsvHeader(line, sep, labels, "," if sep == ";" else ".", roles)


def separator_of(header: str) -> str:
    """The list separator a header uses: the most frequent of ``,``, ``;`` and tab."""
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=lambda sep: (counts[sep], sep == ","))


def header_labels(header: str, sep: str) -> list[str]:
    """Labels, unquoted, lower case, padding and a BOM removed."""
    return [
        label.strip().strip('"').strip().lower() for label in header.lstrip("\ufeff").split(sep)
    ]


def field_pattern(sep: str) -> str:
    s = re.escape(sep)
    return rf'(?:[ \t]*"(?:[^"]|"")*"[ \t]*|[^{s}]*)'


def row_pattern(n_columns: int, sep: str, *, last_takes_rest: bool = False) -> str:
    """One group ``c<i>`` per column; ``extra`` holds fields beyond the header's width.

    With ``last_takes_rest`` the last column takes the rest of the line, separators and
    all (PerfView's unquoted ``Rest``).
    """
    field = field_pattern(sep)
    s = re.escape(sep)
    groups = [f"(?<c{i}>{field})" for i in range(n_columns)]
    if last_takes_rest:
        groups[-1] = f"(?<c{n_columns - 1}>.*)"
        return "^" + s.join(groups) + "$"
    return "^" + s.join(groups) + rf"(?:{s}(?<extra>.*))?$"


def unquote(field: pl.Expr) -> pl.Expr:
    """CSV unquoting (doubled quotes inside) and padding removed.

    A chain of single passes, so that the input expression is evaluated once: a bare
    field holds no doubled quotes in valid CSV, so undoubling every field is exact.
    """
    return (
        field.str.strip_chars(" \t")
        .str.replace(r'^"((?s:.*))"$', "${1}")
        .str.replace_all('""', '"', literal=True)
        .str.strip_chars(" \t")
    )


def integer(field: pl.Expr) -> pl.Expr:
    """Hex (``0x1F``) or decimal, with digit grouping (``5,678``) tolerated."""
    clean = field.str.strip_chars(" \t").str.replace_all(r"[,.'\s\u00a0\u202f](\d{3})", "$1")
    return pl.coalesce(
        clean.str.to_integer(base=10, strict=False),
        clean.str.extract(r"^0[xX]([0-9A-Fa-f]{1,16})$", 1).str.to_integer(base=16, strict=False),
    )


def process_id(field: pl.Expr) -> pl.Expr:
    """``name (1234)``, ``"dwm.exe" (900)``, ``Idle (   0)`` or a bare number."""
    return pl.coalesce(
        integer(field.str.extract(r"\(\s*(\d[\d,.'\u00a0\u202f]{0,16})\s*\)\s*$", 1)),
        integer(field),
    )


def decimal_ns(value: pl.Expr, decimal_mark: str, exponent: int) -> pl.Expr:
    """A decimal number of 10**-``exponent``-second units (``12.345``) to integer ns.

    Exact: the digits are read as text, never through a float. Grouping marks (the
    other of ``.``/``,``, spaces, apostrophes) are dropped.
    """
    grouping = "," if decimal_mark == "." else "."
    clean = value.str.strip_chars(" \t").str.replace_all(
        "[" + re.escape(grouping) + r"'\s\u00a0\u202f]", ""
    )
    parts = clean.str.extract_groups(
        r"^(?<int>\d{1,12})(?:" + re.escape(decimal_mark) + r"(?<frac>\d*))?$"
    )
    whole = parts.struct.field("int").cast(pl.Int64, strict=False)
    frac = (
        parts.struct.field("frac").fill_null("").str.slice(0, exponent).str.pad_end(exponent, "0")
    )
    frac_ns = frac.cast(pl.Int64, strict=False) if exponent else pl.lit(0, dtype=pl.Int64)
    return whole * 10**exponent + frac_ns


NUMBER_SHAPE = r"^\s*\d[\d\s'\u00a0\u202f,.]*\s*$"
ISO_SHAPE = (
    r"^\s*\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,9})?"
    r"\s*(?:Z|[+-]\d{2}:?\d{2})?\s*$"
)


def iso_ts(value: pl.Expr, tz: str) -> pl.Expr:
    """ISO 8601 date and time; with ``Z``/offset it is absolute, else local in ``tz``."""
    parts = value.str.strip_chars().str.extract_groups(
        r"^(?<dt>\d{4}-\d{1,2}-\d{1,2})[T ](?<tm>\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,9})?)"
        r"\s*(?<zone>Z|(?<sign>[+-])(?<hh>\d{2}):?(?<mm>\d{2}))?$"
    )
    naive = pl.concat_str(
        [parts.struct.field("dt"), pl.lit(" "), parts.struct.field("tm").str.replace(",", ".")]
    ).str.strptime(pl.Datetime("ns"), "%Y-%m-%d %H:%M:%S%.f", strict=False)
    offset_min = parts.struct.field("hh").cast(pl.Int64, strict=False) * 60 + parts.struct.field(
        "mm"
    ).cast(pl.Int64, strict=False)
    sign = pl.when(parts.struct.field("sign") == "-").then(-1).otherwise(1)
    zoned = (
        naive.dt.replace_time_zone("UTC")
        - pl.duration(minutes=offset_min.fill_null(0) * sign, time_unit="ns")
    ).cast(TS_DTYPE)
    return (
        pl.when(parts.struct.field("zone").is_not_null()).then(zoned).otherwise(localize(naive, tz))
    )


def relative_ts(ns: pl.Expr, start: TraceStart | None = None) -> pl.Expr:
    """A time relative to the trace start: ``start`` when the engineer gave it
    (``--trace-start``), else the Unix epoch (UTC)."""
    if start is not None:
        ns = ns + pl.lit(start.ns, dtype=pl.Int64)
    return pl.from_epoch(ns, time_unit="ns").dt.replace_time_zone("UTC").cast(TS_DTYPE)


def split_event_name(name: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """``Provider/Task/Opcode`` to (provider, event): the task, else the opcode."""
    parts = name.str.split("/")
    task = parts.list.get(1, null_on_oob=True).str.strip_chars()
    opcode = parts.list.get(2, null_on_oob=True).str.strip_chars().str.strip_prefix("win:")
    event = (
        pl.when(task.fill_null("") != "")
        .then(task)
        .when(opcode.fill_null("") != "")
        .then(opcode)
        .otherwise(None)
    )
    return parts.list.first(), event


def null_if_empty(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.fill_null("") == "").then(None).otherwise(expr)


# ---------------------------------------------------------------------------- the format

_TIME_LABEL = re.compile(
    r"^(?:time|timestamp|time ?stamp|event time|datetime|date time)"
    r"(?:\s*\((?P<unit>s|sec|ms|msec|us|µs|usec|ns)\))?$"
)
_UNIT_EXPONENT = {None: 9, "s": 9, "sec": 9, "ms": 6, "msec": 6, "us": 3, "µs": 3, "usec": 3}
_FIELD_LABEL = re.compile(r"^field\s*(\d{1,4})$")

_ROLES = {
    "provider": ("provider name", "provider"),
    "task": ("task name", "task"),
    "opcode": ("opcode name", "opcode"),
    "event_name": ("event name",),
    "id": ("id", "event id", "eventid"),
    "level": ("level",),
    "process": ("process", "process name"),
    "pid": ("pid", "process id", "processid"),
    "tid": ("threadid", "thread id", "tid", "thread"),
    "cpu": ("cpu", "processor", "processor number"),
    "message": ("message",),
}


def _is_header(labels: list[str]) -> bool:
    has_provider = any(label in _ROLES["provider"] for label in labels)
    has_time = any(_TIME_LABEL.match(label) for label in labels)
    foreign = "clock-time" in labels or "time msec" in labels
    return has_provider and has_time and not foreign


def _header_index(head: list[str]) -> int | None:
    for i, text in enumerate(head):
        if text and text.strip() and _is_header(header_labels(text, separator_of(text))):
            return i
    return None


@register
class WpaExporterCsv(TraceFormat):
    name: ClassVar[str] = "wpaexporter-csv"
    description: ClassVar[str] = (
        "wpaexporter CSV of a generic events table (labels chosen by the profile; "
        f"relative times anchored at the Unix epoch: {RELATIVE_NOTE})"
    )
    example: ClassVar[str] = (
        "Contoso-Wifi,MiniportHalt,win:Start,102,System (4),1234,0,"
        '12.345678900,"---> MPHaltEx Adapter=A1",'
    )
    extensions: ClassVar[tuple[str, ...]] = (".csv",)

    @classmethod
    def sniff(cls, head: list[str]) -> float:
        return 0.95 if _header_index(head) is not None else 0.0

    def parse(self, source: SourceLines, options: ParseOptions) -> ParsedTrace:
        head = sniff_head(source)
        idx = _header_index(head)
        if idx is None:
            raise TraceReadError(
                source.path, None, "no wpaexporter CSV header (Provider Name, ..., Time, ...)"
            )
        header = read_header(source.path, head[idx], idx + 1, _ROLES)
        header_line, sep, labels = header.line, header.sep, header.labels
        decimal_mark, roles = header.decimal_mark, header.roles
        time_idx, time_match = next(
            (i, m) for i, label in enumerate(labels) if (m := _TIME_LABEL.match(label))
        )
        unit = time_match.group("unit")
        exponent = 0 if unit == "ns" else _UNIT_EXPONENT[unit]
        field_cols = sorted(
            (
                (int(m.group(1)), i)
                for i, label in enumerate(labels)
                if (m := _FIELD_LABEL.match(label))
            ),
        )
        pattern = row_pattern(len(labels), sep)

        text = pl.col("text")
        # One regex pass finds the rows and their time field; the checks read the column.
        lines = (
            source.lines.with_columns(
                text.str.contains(r"^[\s,;\t]*$").alias("blank"),
                text.str.extract(pattern, time_idx + 1).alias("__time"),
            )
            .with_columns(
                pl.col("__time").is_not_null().alias("row"),
                unquote(pl.col("__time")).alias("__time"),
            )
            .with_columns(
                pl.col("__time").str.contains(NUMBER_SHAPE).fill_null(False).alias("relative"),
                pl.col("__time").str.contains(ISO_SHAPE).fill_null(False).alias("absolute"),
            )
        )
        after = pl.col("line") > header_line
        lines = lines.with_columns(
            (
                after & pl.col("row") & (pl.col("relative") | pl.col("absolute")) & ~pl.col("blank")
            ).alias("is_event"),
            (pl.col("blank") | (pl.col("line") == header_line)).alias("is_meta"),
        )
        time_label = labels[time_idx]
        rejected = (
            lines.filter(~pl.col("is_event") & ~pl.col("is_meta"))
            .select(
                pl.lit(source.path).alias("trace"),
                pl.col("line"),
                pl.when(pl.col("line") < header_line)
                .then(pl.lit("text before the wpaexporter CSV header"))
                .when(pl.col("row"))
                .then(
                    pl.lit(
                        f"the {time_label!r} value is neither a relative time nor an ISO 8601 date"
                    )
                )
                .otherwise(
                    pl.lit(
                        f"not a wpaexporter CSV row: expected the {len(labels)} columns "
                        f"of the header on line {header_line}"
                    )
                )
                .alias("reason"),
                truncate_text(text).alias("text"),
            )
            .cast(REJECT_SCHEMA)  # type: ignore[arg-type]
        )
        events_frame = lines.filter(pl.col("is_event"))
        relative = bool(events_frame.get_column("relative").any())

        fields = pl.col("__row")

        def col(role: str) -> pl.Expr:
            if role not in roles:
                return pl.lit(None, dtype=pl.String)
            return unquote(fields.struct.field(f"c{roles[role]}"))

        payload = [unquote(fields.struct.field(f"c{i}")) for _, i in field_cols]
        extra = (
            fields.struct.field("extra")
            .str.split(sep)
            .list.eval(unquote(pl.element()))
            .fill_null(pl.lit([], dtype=pl.List(pl.String)))
        )
        values = pl.concat_list([*payload, extra]) if payload else extra
        # Rows of events with fewer fields leave the last Field columns empty.
        joined = values.list.join(", ").str.replace(r"(?:, )+$", "")
        message = pl.when(col("message").fill_null("") != "").then(col("message")).otherwise(joined)
        events = (
            events_frame.lazy()
            .with_row_index("seq")
            .with_columns(text.str.extract_groups(pattern).alias("__row"))
            .with_columns(message.fill_null("").alias("message"))
        )
        if options.keep is not None:
            events = events.filter(
                options.keep.necessary(pl.col("message"), has_event_id="id" in roles)
            )
        raw_time = pl.col("__time")
        relative_time = relative_ts(
            decimal_ns(raw_time, decimal_mark, exponent), options.trace_start
        )
        absolute_time = iso_ts(raw_time, options.tz)
        if not bool(events_frame.get_column("absolute").any()):
            ts = relative_time  # the usual case: one decoder, not two
        elif not relative:
            ts = absolute_time
        else:
            ts = pl.when(pl.col("relative")).then(relative_time).otherwise(absolute_time)
        name_provider, name_event = split_event_name(col("event_name"))
        decoded = events.select(
            pl.lit(source.path).alias("trace"),
            pl.col("seq"),
            pl.col("line"),
            ts.alias("ts"),
            pl.coalesce(null_if_empty(col("provider")), null_if_empty(name_provider)).alias(
                "provider"
            ),
            pl.coalesce(
                null_if_empty(col("task")),
                null_if_empty(col("opcode").str.strip_prefix("win:")),
                name_event,
                null_if_empty(col("event_name")),
            ).alias("event"),
            integer(col("id")).alias("event_id"),
            null_if_empty(col("level")).alias("level"),
            pl.coalesce(integer(col("pid")), process_id(col("process"))).alias("pid"),
            integer(col("tid")).alias("tid"),
            integer(col("cpu")).alias("cpu"),
            pl.col("message"),
        )
        accounting = Accounting(
            lines=lines.height,
            events=events_frame.height,
            continuation=0,
            meta=int(lines.get_column("is_meta").sum()),
            rejected=rejected.height,
        )
        notes = (relative_note(options.trace_start),) if relative else ()
        return ParsedTrace.build(source, self.name, decoded, rejected, accounting, notes)
