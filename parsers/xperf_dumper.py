"""``xperf -i trace.etl -a dumper`` text.

Shape (as xperf writes it)::

    BeginHeader
                 P-Start,  TimeStamp,     Process Name ( PID),  ParentPID, ...
    Contoso-Wifi/MiniportHalt/win:Start,  TimeStamp,     Process Name ( PID),   ThreadID, CPU,
        etw:ActivityId, etw:Related ActivityId, etw:UserSid, etw:SessionId, Message, Adapter
    EndHeader
    OS Version: 10.0.19043, Trace Size: 20736KB, Events Lost: 0, Buffers lost: 0,
        Trace Start: 132675686690347142, Trace Length: 2 sec, PointerSize: 8, Trace Name: x.etl
    FirstReliableEventTimeStamp, 0
    Contoso-Wifi/MiniportHalt/win:Start,  1043211,  "System" (4),  1234,  0, , , , , "---> MPHaltEx", "A1"

One schema line per event type names its columns; each row starts with its event type
and its ``TimeStamp``: microseconds since the trace start. The absolute start is the
``Trace Start:`` FILETIME of the ``OS Version`` header row (a ``TraceStart, <FILETIME>``
row is accepted too).

Decisions:

- A relative time alone is not a timestamp: a file with event rows but no trace start
  (a cut or filtered dump) is refused with a :class:`TraceReadError` naming the first
  row, rather than dated 1601 or 1970.
- Schema lines, ``BeginHeader``/``EndHeader``, the trace header rows (``OS Version``,
  ``FirstReliable...TimeStamp``, ``TraceStart``) and blank lines are meta lines.
- A row whose event type has no schema line is still an event (its payload is everything
  after the timestamp): filtered dumps often drop the header lines of types they keep.
- ``provider`` is the event type's provider (``Provider/Task/Opcode``) or the whole type
  for classic kernel events (``P-Start``, ``CSwitch``); ``event`` is the task, else the
  opcode (``win:`` prefix dropped), else the classic type. ``pid`` comes from the
  ``Process Name ( PID)`` column, ``tid`` from ``ThreadID``, ``cpu`` from ``CPU``,
  ``event_id`` from ``Id`` and ``level`` from ``Level`` where the schema has them.
- ``message`` is the payload: the fields after the leading standard columns
  (TimeStamp, process, thread, CPU, the four ``etw:`` columns), unquoted, joined with
  ``", "``.
"""

from __future__ import annotations

import re
from typing import ClassVar

import polars as pl

from parsers.errors import TraceReadError
from parsers.registry import TraceFormat, register
from parsers.schema import REJECT_SCHEMA, TS_DTYPE, truncate_text
from parsers.source import SourceLines
from parsers.timestamps import (
    FILETIME_EPOCH_OFFSET,
    FILETIME_MAX,
    FILETIME_MIN,
    relative_note,
)
from parsers.trace import Accounting, ParsedTrace, ParseOptions

_BEGIN = r"^\s*BeginHeader[\s,]*$"
_END = r"^\s*EndHeader[\s,]*$"
# A schema line: the event type, then the TimeStamp column label.
_SCHEMA = r"^\s*[^,\t]+?\s*[,\t]\s*TimeStamp\s*(?:[,\t].*)?$"
# Header rows after EndHeader that describe the trace, not an event.
_START_TICKS = r"(?i)\bTrace\s*Start\s*[:,=]\s*(\d{15,19})\b"
_HEADER_ROW = (
    r"(?i)^\s*(?:OS Version\s*:"
    r"|FirstReliable\w*TimeStamp\s*[,\t]"
    r"|Trace\s*Start\s*[:,=]"
    r"|Trace\s*Info\s*[:,]"
    r"|Total\s*#\s*Lost\s*(?:Buffers|Events)\s*:)"
)
# An event row: type, relative time in microseconds (a fraction is accepted), payload.
_ROW = r"^\s*(?<type>[^,\t]*?[^,\t\s])\s*[,\t]\s*(?<us>\d{1,13})(?:\.(?<frac>\d{1,9}))?\s*(?:[,\t](?<rest>.*))?$"
# The same row's head: what the decoder captures once a line is known to be a row.
_ROW_HEAD = r"^\s*(?<type>[^,\t]*?[^,\t\s])\s*[,\t]\s*(?<us>\d{1,13})(?:\.(?<frac>\d{1,9}))?"

# Columns that precede the payload of every event; the payload is what follows them.
STANDARD_COLUMNS = (
    "TimeStamp",
    "Process Name ( PID)",
    "ThreadID",
    "CPU",
    "etw:ActivityId",
    "etw:Related ActivityId",
    "etw:UserSid",
    "etw:SessionId",
)
# Canonical field <- schema column label (the time is always the second field).
_LABELS = {
    "proc": "Process Name ( PID)",
    "tid": "ThreadID",
    "cpu": "CPU",
    "id": "Id",
    "level": "Level",
    "provider_id": "ProviderId",
}

_BEGIN_RE = re.compile(_BEGIN)
_END_RE = re.compile(_END)
_SCHEMA_RE = re.compile(_SCHEMA)
_HEADER_ROW_RE = re.compile(_HEADER_ROW)


def _integer(field: pl.Expr) -> pl.Expr:
    """Hex (``0x1F``) or decimal."""
    hexa = field.str.to_lowercase().str.starts_with("0x")
    return (
        pl.when(hexa)
        .then(field.str.slice(2).str.to_integer(base=16, strict=False))
        .otherwise(field.str.to_integer(base=10, strict=False))
    )


def _unquote(field: pl.Expr) -> pl.Expr:
    """Drop the double quotes xperf puts around strings (it escapes nothing inside)."""
    return field.str.strip_chars(" \t").str.replace(r'^"((?s:.*))"$', "${1}")


def process_id(field: pl.Expr) -> pl.Expr:
    """``"dwm.exe" (900)``, ``Idle (   0)``, ``rustc.exe (10612)`` or a bare number."""
    return pl.coalesce(
        field.str.extract(r"\(\s*(\d{1,10})\s*\)\s*$", 1).str.to_integer(strict=False),
        _integer(field.str.strip_chars(" \t")),
    )


def split_event_type(kind: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """``Provider/Task/Opcode`` to (provider, event); a classic type is both."""
    parts = kind.str.split("/")
    provider = parts.list.first()
    task = parts.list.get(1, null_on_oob=True).str.strip_chars()
    opcode = parts.list.get(2, null_on_oob=True).str.strip_chars().str.strip_prefix("win:")
    has_slash = parts.list.len() > 1
    event = (
        pl.when(~has_slash)
        .then(kind)
        .when(task.fill_null("") != "")
        .then(task)
        .when(opcode.fill_null("") != "")
        .then(opcode)
        .otherwise(None)
    )
    return provider, event


def _schemas(header: pl.DataFrame, sep: str) -> pl.DataFrame:
    """One row per event type: the field index of each known column and of the payload."""
    cols = pl.col("__cols")
    frame = header.select(
        pl.col("text").str.split(sep).list.eval(pl.element().str.strip_chars()).alias("__cols")
    ).with_columns(cols.list.first().alias("type"))

    def index_of(label: str) -> pl.Expr:
        return cols.list.eval((pl.element() == label).arg_true().first()).list.first()

    non_standard = cols.list.eval(
        (~pl.element().is_in(list(STANDARD_COLUMNS))) & (pl.int_range(pl.len()) > 0)
    )
    payload = (
        pl.when(non_standard.list.any())
        .then(non_standard.list.arg_max())
        .otherwise(cols.list.len())
        .cast(pl.Int64)
    )
    return (
        frame.select(
            pl.col("type"),
            *[index_of(label).cast(pl.Int64).alias(f"__i_{key}") for key, label in _LABELS.items()],
            payload.alias("__i_payload"),
        )
        .unique("type", keep="first", maintain_order=True)
        .with_columns(pl.lit(True).alias("__schema"))
    )


@register
class XperfDumper(TraceFormat):
    name: ClassVar[str] = "xperf-dumper"
    description: ClassVar[str] = (
        "xperf -a dumper text (schema lines in BeginHeader/EndHeader; microseconds from "
        "the Trace Start of the OS Version row)"
    )
    example: ClassVar[str] = (
        'Contoso-Wifi/MiniportHalt/win:Start,    1043211,   "System" (4),   1234,   0, , , '
        ', , "---> MPHaltEx", "A1"'
    )
    extensions: ClassVar[tuple[str, ...]] = (".txt", ".dmp", ".csv")

    @classmethod
    def sniff(cls, head: list[str]) -> float:
        texts = [t.lstrip("\ufeff") for t in head if t and t.strip()]
        if not texts:
            return 0.0
        if _BEGIN_RE.match(texts[0]):
            return 1.0
        if any(_END_RE.match(t) for t in texts) and any(_SCHEMA_RE.match(t) for t in texts):
            return 0.95  # the head of the file was cut off, the header's end remains
        if any(_HEADER_ROW_RE.match(t) and re.search(_START_TICKS, t) for t in texts):
            return 0.9  # a dump without its schema lines, still with its trace start
        return 0.0

    def parse(self, source: SourceLines, options: ParseOptions) -> ParsedTrace:
        text = pl.col("text")
        marks = source.lines.select(
            pl.col("line").filter(text.str.contains(_BEGIN)).first().alias("begin"),
            pl.col("line").filter(text.str.contains(_END)).first().alias("end"),
        ).row(0)
        begin, end = marks
        if end is not None and begin is not None and begin > end:
            begin = None  # a stray BeginHeader after the header: not the header's start
        # Lines in [header_from, header_to] are the schema block; rows come after it.
        header_from = begin if begin is not None else (1 if end is not None else None)
        header_to = end if end is not None else (source.count if begin is not None else None)
        line = pl.col("line")
        in_header = (
            (line >= header_from) & (line <= header_to)
            if header_from is not None
            else pl.lit(False)
        )
        before = (line < begin) if begin is not None else pl.lit(False)
        after = (line > header_to) if header_to is not None else pl.lit(True)

        blank = text.str.contains(r"^[\s,]*$")
        lines = source.lines.with_columns(
            blank.alias("blank"),
            (in_header & ~blank & text.str.contains(_SCHEMA)).alias("schema"),
            (after & ~blank & text.str.contains(_HEADER_ROW)).alias("header_row"),
            (after & ~blank & ~text.str.contains(_HEADER_ROW) & text.str.contains(_ROW)).alias(
                "is_event"
            ),
            in_header.alias("in_header"),
        ).with_columns(
            (
                pl.col("blank")
                | pl.col("schema")
                | pl.col("header_row")
                | (line == pl.lit(begin if begin is not None else 0))
                | (line == pl.lit(end if end is not None else 0))
            ).alias("is_meta")
        )
        rejected = (
            lines.filter(~pl.col("is_event") & ~pl.col("is_meta"))
            .select(
                pl.lit(source.path).alias("trace"),
                line,
                pl.when(before)
                .then(pl.lit("text before BeginHeader"))
                .when(pl.col("in_header"))
                .then(
                    pl.lit(
                        "not an event schema line (EVENT TYPE, TimeStamp, ...) inside "
                        "BeginHeader/EndHeader"
                    )
                )
                .otherwise(
                    pl.lit(
                        "not an xperf dumper row: expected EVENT TYPE, TIMESTAMP "
                        "(microseconds), fields"
                    )
                )
                .alias("reason"),
                truncate_text(text).alias("text"),
            )
            .cast(REJECT_SCHEMA)  # type: ignore[arg-type]
        )

        schema_lines = lines.filter(pl.col("schema"))
        # Real dumps separate with commas; a copy through a spreadsheet may use tabs.
        sep = "," if schema_lines.height == 0 or schema_lines.item(0, "text").count(",") else "\t"
        schemas = _schemas(schema_lines, sep)

        n_events = int(lines.get_column("is_event").sum())
        start = (
            lines.filter(pl.col("header_row"))
            .select(text.str.extract(_START_TICKS, 1).str.to_integer(strict=False).drop_nulls())
            .to_series()
        )
        # Room above the start for 10**13 microseconds of relative time (see _ROW).
        latest = FILETIME_MAX - 10**14
        start_ticks = next((t for t in start.to_list() if FILETIME_MIN <= t <= latest), None)
        notes: tuple[str, ...] = ()
        if n_events and start_ticks is None and options.trace_start is None:
            first = lines.filter(pl.col("is_event")).item(0, "line")
            raise TraceReadError(
                source.path,
                first,
                "xperf dumper rows hold microseconds since the trace start, and no "
                "'Trace Start: <FILETIME>' header row (the OS Version line) says when it "
                "started; re-export the whole dump with its header, or give the start "
                "with --trace-start",
            )
        if start_ticks is None and options.trace_start is not None:
            anchor_ns = options.trace_start.ns  # the header's start would win
            notes = (relative_note(options.trace_start),)
        else:
            anchor_ns = ((start_ticks or FILETIME_EPOCH_OFFSET) - FILETIME_EPOCH_OFFSET) * 100

        row = pl.col("__row")
        events = (
            lines.lazy()
            .filter(pl.col("is_event"))
            .with_row_index("seq")
            # The row is known to match _ROW: its head alone gives type and time, so the
            # capture engine never walks the payload.
            .with_columns(text.str.extract_groups(_ROW_HEAD).alias("__row"))
            .with_columns(
                row.struct.field("type").alias("type"),
                text.str.split(sep)
                .list.eval(pl.element().str.strip_chars(" \t"))
                .alias("__fields"),
            )
            .join(schemas.lazy(), on="type", how="left", maintain_order="left")
        )
        fields = pl.col("__fields")

        def field(key: str) -> pl.Expr:
            return fields.list.get(pl.col(f"__i_{key}"), null_on_oob=True)

        # Unknown types: the payload is everything after the type and the time.
        payload_from = pl.when(pl.col("__schema")).then(pl.col("__i_payload")).otherwise(2)
        message = (
            fields.list.slice(payload_from)
            .list.eval(_unquote(pl.element()))
            .list.join(", ")
            .fill_null("")
        )
        events = events.with_columns(message.alias("message"))
        if options.keep is not None:
            events = events.filter(options.keep.necessary(pl.col("message"), has_event_id=True))

        rel_ns = row.struct.field("us").cast(pl.Int64) * 1000 + (
            row.struct.field("frac").fill_null("").str.pad_end(3, "0").str.slice(0, 3)
        ).cast(pl.Int64)
        provider, event = split_event_type(pl.col("type"))
        provider_id = _unquote(field("provider_id"))
        decoded = events.select(
            pl.lit(source.path).alias("trace"),
            pl.col("seq"),
            line,
            pl.from_epoch(pl.lit(anchor_ns, dtype=pl.Int64) + rel_ns, time_unit="ns")
            .dt.replace_time_zone("UTC")
            .cast(TS_DTYPE)
            .alias("ts"),
            pl.when(provider_id.fill_null("") != "")
            .then(provider_id)
            .otherwise(provider)
            .alias("provider"),
            event.alias("event"),
            _integer(field("id")).alias("event_id"),
            pl.when(field("level").fill_null("") == "")
            .then(None)
            .otherwise(field("level"))
            .alias("level"),
            process_id(field("proc")).alias("pid"),
            _integer(field("tid")).alias("tid"),
            _integer(field("cpu")).alias("cpu"),
            pl.col("message"),
        )
        accounting = Accounting(
            lines=lines.height,
            events=n_events,
            continuation=0,
            meta=int(lines.get_column("is_meta").sum()),
            rejected=rejected.height,
        )
        return ParsedTrace.build(source, self.name, decoded, rejected, accounting, notes)
