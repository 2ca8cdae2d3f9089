"""PerfView events CSV (the Events view saved as CSV).

Shape::

    Event Name,Time MSec,Process Name,Rest
    Contoso-Wifi/MiniportHalt/Start,1043.211,System (4),"HasStack=""False"" ThreadID=""1,234"" ..."

``Time MSec`` is milliseconds since the trace start (3 decimals); the columns the user
chose stand between ``Process Name`` and ``Rest``; ``Rest`` holds the remaining payload
as ``name="value"`` pairs. The separator is the culture's list separator (``;`` in many
locales, then with a decimal comma), read from the header. UTF-8.

Decisions:

- PerfView writes no absolute time: every time is anchored at 1970-01-01T00:00:00Z (the
  Unix epoch) plus ``Time MSec``, and the trace's format reads
  ``perfview-csv (relative time from 1970-01-01T00:00:00Z)`` so no report passes it off
  as a wall-clock date. Durations and orderings, all the rules use, are exact.
- ``provider``/``event`` from ``Event Name`` (``Provider/Task/Opcode``: the task, else the
  opcode; ``Provider/EventID(12)`` gives ``event_id`` 12); ``pid`` from the number in
  ``Process Name``; ``tid``/``cpu`` from chosen ThreadID/ProcessorNumber columns, else
  from the ``ThreadID``/``ProcessorNumber`` pairs of Rest (digit grouping removed).
- ``message``: the Rest pairs other than PerfView's own (HasStack, ThreadID,
  ProcessorNumber, ActivityID, RelatedActivityID, DataLength), as ``name=value`` joined
  with ``", "``; a Rest without pairs is kept as it is.
"""

from __future__ import annotations

from typing import ClassVar

import polars as pl

from parsers.errors import TraceReadError
from parsers.registry import TraceFormat, register, sniff_head
from parsers.schema import REJECT_SCHEMA, truncate_text
from parsers.source import SourceLines
from parsers.timestamps import RELATIVE_NOTE, relative_note
from parsers.trace import Accounting, ParsedTrace, ParseOptions
from parsers.wpaexporter_csv import (
    NUMBER_SHAPE,
    decimal_ns,
    header_labels,
    integer,
    null_if_empty,
    process_id,
    read_header,
    relative_ts,
    row_pattern,
    separator_of,
    split_event_name,
    unquote,
)

# Pairs PerfView adds to every event: they are columns of the event, not its payload.
OWN_PAIRS = (
    "HasStack",
    "ThreadID",
    "ProcessorNumber",
    "ActivityID",
    "RelatedActivityID",
    "DataLength",
)
PAIR = r'[^\s="]+="[^"]*"'

_ROLES = {
    "event_name": ("event name",),
    "time": ("time msec",),
    "process": ("process name", "process"),
    "pid": ("processid", "process id", "pid"),
    "tid": ("threadid", "thread id", "tid"),
    "cpu": ("processornumber", "processor number", "cpu"),
    "id": ("id", "event id", "eventid"),
    "level": ("level",),
    "rest": ("rest",),
}


def _is_header(labels: list[str]) -> bool:
    return "event name" in labels and "time msec" in labels


def _header_index(head: list[str]) -> int | None:
    for i, text in enumerate(head):
        if text and text.strip() and _is_header(header_labels(text, separator_of(text))):
            return i
    return None


def _pair_value(pairs: pl.Expr, name: str) -> pl.Expr:
    return pairs.str.extract(r"(?:^|\s)" + name + r'="([^"]*)"', 1)


@register
class PerfViewCsv(TraceFormat):
    name: ClassVar[str] = "perfview-csv"
    description: ClassVar[str] = (
        "PerfView events CSV (Time MSec relative to the trace start, "
        f'anchored at the Unix epoch: {RELATIVE_NOTE}; Rest name="value" pairs)'
    )
    example: ClassVar[str] = (
        'Contoso-Wifi/MiniportHalt/Start,1043.211,System (4),"ThreadID=""1,234"" '
        'Message=""---> MPHaltEx Adapter=A1"""'
    )
    extensions: ClassVar[tuple[str, ...]] = (".csv",)

    @classmethod
    def sniff(cls, head: list[str]) -> float:
        return 1.0 if _header_index(head) is not None else 0.0

    def parse(self, source: SourceLines, options: ParseOptions) -> ParsedTrace:
        head = sniff_head(source)
        idx = _header_index(head)
        if idx is None:
            raise TraceReadError(
                source.path, None, "no PerfView CSV header (Event Name, Time MSec, ...)"
            )
        header = read_header(source.path, head[idx], idx + 1, _ROLES)
        header_line, sep, labels = header.line, header.sep, header.labels
        decimal_mark, roles = header.decimal_mark, header.roles
        rest_last = roles.get("rest") == len(labels) - 1
        pattern = row_pattern(len(labels), sep, last_takes_rest=rest_last)

        text = pl.col("text")
        # One regex pass finds the rows and their time field; the checks read the column.
        lines = (
            source.lines.with_columns(
                text.str.contains(r"^[\s,;\t]*$").alias("blank"),
                text.str.extract(pattern, roles["time"] + 1).alias("__time"),
            )
            .with_columns(
                pl.col("__time").is_not_null().alias("row"),
                unquote(pl.col("__time")).alias("__time"),
            )
            .with_columns(
                pl.col("__time").str.contains(NUMBER_SHAPE).fill_null(False).alias("time_ok")
            )
        )
        after = pl.col("line") > header_line
        lines = lines.with_columns(
            (after & pl.col("row") & pl.col("time_ok") & ~pl.col("blank")).alias("is_event"),
            (pl.col("blank") | (pl.col("line") == header_line)).alias("is_meta"),
        )
        rejected = (
            lines.filter(~pl.col("is_event") & ~pl.col("is_meta"))
            .select(
                pl.lit(source.path).alias("trace"),
                pl.col("line"),
                pl.when(pl.col("line") < header_line)
                .then(pl.lit("text before the PerfView CSV header"))
                .when(pl.col("row"))
                .then(pl.lit("the Time MSec value is not a number of milliseconds"))
                .otherwise(
                    pl.lit(
                        f"not a PerfView CSV row: expected the {len(labels)} columns of "
                        f"the header on line {header_line}"
                    )
                )
                .alias("reason"),
                truncate_text(text).alias("text"),
            )
            .cast(REJECT_SCHEMA)  # type: ignore[arg-type]
        )
        events_frame = lines.filter(pl.col("is_event"))

        fields = pl.col("__row")

        def col(role: str) -> pl.Expr:
            if role not in roles:
                return pl.lit(None, dtype=pl.String)
            return unquote(fields.struct.field(f"c{roles[role]}"))

        rest = col("rest").fill_null("")
        pairs = rest.str.extract_all(PAIR)
        own = "|".join(OWN_PAIRS)
        payload = pairs.list.eval(
            pl.element()
            .filter(~pl.element().str.contains(f"^(?:{own})="))
            .str.replace(r'^([^=]*)="(.*)"$', "${1}=${2}")
        ).list.join(", ")
        message = pl.when(pairs.list.len() > 0).then(payload).otherwise(rest.str.strip_chars())
        events = (
            events_frame.lazy()
            .with_row_index("seq")
            .with_columns(text.str.extract_groups(pattern).alias("__row"))
            .with_columns(message.fill_null("").alias("message"))
        )
        if options.keep is not None:
            events = events.filter(options.keep.necessary(pl.col("message"), has_event_id=True))

        name = col("event_name")
        provider, event = split_event_name(name)
        name_id = name.str.extract(r"(?i)/EventID\(\s*(\d{1,10})\s*\)", 1)
        event = pl.when(name_id.is_not_null()).then(None).otherwise(event)
        ts = relative_ts(decimal_ns(pl.col("__time"), decimal_mark, 6), options.trace_start)
        decoded = events.select(
            pl.lit(source.path).alias("trace"),
            pl.col("seq"),
            pl.col("line"),
            ts.alias("ts"),
            null_if_empty(provider).alias("provider"),
            event.alias("event"),
            pl.coalesce(integer(col("id")), integer(name_id)).alias("event_id"),
            null_if_empty(col("level")).alias("level"),
            pl.coalesce(integer(col("pid")), process_id(col("process"))).alias("pid"),
            pl.coalesce(integer(col("tid")), integer(_pair_value(rest, "ThreadID"))).alias("tid"),
            pl.coalesce(integer(col("cpu")), integer(_pair_value(rest, "ProcessorNumber"))).alias(
                "cpu"
            ),
            pl.col("message"),
        )
        accounting = Accounting(
            lines=lines.height,
            events=events_frame.height,
            continuation=0,
            meta=int(lines.get_column("is_meta").sum()),
            rejected=rejected.height,
        )
        notes = (relative_note(options.trace_start),)
        return ParsedTrace.build(source, self.name, decoded, rejected, accounting, notes)
