"""``tracerpt -of CSV`` exports, including files re-saved by spreadsheet or data-frame tools.

The header names the fixed columns (padded with spaces, sometimes behind an extra
index column); the event payload ("User Data") spills into any number of trailing
columns, so rows are ragged and cannot be read as a rectangular CSV. Each row is split
by one linear-time regex built from the header instead.
"""

from __future__ import annotations

import re
from typing import ClassVar

import polars as pl

from parsers.errors import TraceReadError
from parsers.registry import TraceFormat, register
from parsers.schema import REJECT_SCHEMA, truncate_text
from parsers.source import SourceLines
from parsers.timestamps import filetime_to_ts
from parsers.trace import Accounting, ParsedTrace, ParseOptions

# One CSV field: quoted (doubled quotes inside, spaces around) or bare.
FIELD = r'(?:[ \t]*"(?:[^"]|"")*"[ \t]*|[^,]*)'
# Labels may be quoted (`"Event Name","Type",...`: PowerShell Export-Csv quotes every field).
_HEADER_RE = re.compile(r'event name\s*"?\s*,.*clock-time', re.IGNORECASE)

# Columns before User Data that one row regex may span (the regex grows with each).
MAX_FIXED_COLUMNS = 256

# Canonical column <- tracerpt header label.
_COLUMNS = {
    "provider": "event name",
    "type": "type",
    "event_id": "event id",
    "level": "level",
    "opcode": "opcode",
    "task": "task",
    "pid": "pid",
    "tid": "tid",
    "cpu": "processor number",
    "clock": "clock-time",
}


def _unquote(field: pl.Expr) -> pl.Expr:
    """CSV unquoting, then tracerpt's own quotes around string values, then padding."""
    trimmed = field.str.strip_chars(" \t")
    csv_value = (
        pl.when(
            trimmed.str.starts_with('"')
            & trimmed.str.ends_with('"')
            & (trimmed.str.len_chars() >= 2)
        )
        .then(
            trimmed.str.slice(1, trimmed.str.len_chars() - 2).str.replace_all(
                '""', '"', literal=True
            )
        )
        .otherwise(trimmed)
        .str.strip_chars(" \t")
    )
    return (
        pl.when(
            csv_value.str.starts_with('"')
            & csv_value.str.ends_with('"')
            & (csv_value.str.len_chars() >= 2)
        )
        .then(csv_value.str.slice(1, csv_value.str.len_chars() - 2))
        .otherwise(csv_value)
        .str.strip_chars(" \t")
    )


def _integer(field: pl.Expr) -> pl.Expr:
    """Hex (``0x00000F24``) or decimal."""
    hexa = field.str.to_lowercase().str.starts_with("0x")
    return (
        pl.when(hexa)
        .then(field.str.slice(2).str.to_integer(base=16, strict=False))
        .otherwise(field.str.to_integer(base=10, strict=False))
    )


def _name_or_null(field: pl.Expr) -> pl.Expr:
    """Task/Type/Opcode hold a name, or a bare number when the manifest had none."""
    return pl.when(field.str.contains(r"^\s*(?:\d+)?\s*$")).then(None).otherwise(field)


def _row_pattern(header: list[str]) -> str:
    """A regex with one named group per fixed column and ``rest`` for the User Data."""
    user_data = next((i for i, h in enumerate(header) if h == "user data"), len(header))
    wanted = {label: key for key, label in _COLUMNS.items()}
    parts = []
    named: set[str] = set()
    for i, label in enumerate(header[:user_data]):
        key = wanted.get(label)
        # A repeated label names only its first column: a group name may occur once.
        group = f"(?<{key}>{FIELD})" if key and key not in named else FIELD
        if key:
            named.add(key)
        parts.append(group if i == 0 else "," + group)
    return "^" + "".join(parts) + r"(?:,(?<rest>.*))?$"


@register
class TracerptCsv(TraceFormat):
    name: ClassVar[str] = "tracerpt-csv"
    description: ClassVar[str] = "tracerpt -of CSV (ETW events; ragged User Data columns)"
    example: ClassVar[str] = (
        "Microsoft-Windows-NDIS, Info, 10311, 0, 16, 4, 0, 0, 0x8000000000000000, "
        "0x00000004, 0x000000A8, 1, , , {00000000-0000-0000-0000-000000000000}, , "
        "133127435730482450, 15, 0, 0x34"
    )
    extensions: ClassVar[tuple[str, ...]] = (".csv",)

    @classmethod
    def sniff(cls, head: list[str]) -> float:
        for text in head:
            if text and _HEADER_RE.search(text.lstrip("\ufeff")):
                return 1.0
        return 0.0

    def parse(self, source: SourceLines, options: ParseOptions) -> ParsedTrace:
        head = source.head(200)
        header_idx = next((i for i, t in enumerate(head) if t and _HEADER_RE.search(t)), None)
        if header_idx is None:
            raise TraceReadError(
                source.path, None, "no tracerpt CSV header (Event Name, ..., Clock-Time)"
            )
        header_line = header_idx + 1
        header = [h.strip().strip('"').strip().lower() for h in head[header_idx].split(",")]
        missing = [label for label in ("event name", "clock-time") if label not in header]
        if missing:
            raise TraceReadError(source.path, header_line, f"CSV header lacks {', '.join(missing)}")
        fixed = header.index("user data") if "user data" in header else len(header)
        if fixed > MAX_FIXED_COLUMNS:
            raise TraceReadError(
                source.path,
                header_line,
                f"CSV header has {fixed} columns before User Data "
                f"(tracerpt writes about 20; at most {MAX_FIXED_COLUMNS} are read)",
            )
        pattern = _row_pattern(header)

        lines = source.lines.with_columns(
            pl.col("text").str.contains(r"^\s*$").alias("blank"),
            pl.col("text").str.contains(pattern).alias("row"),
        )
        after = pl.col("line") > header_line
        is_event = after & pl.col("row") & ~pl.col("blank")
        lines = lines.with_columns(
            is_event.alias("is_event"),
            (pl.col("blank") | (pl.col("line") == header_line)).alias("is_meta"),
        )
        rejected = (
            lines.filter(~pl.col("is_event") & ~pl.col("is_meta"))
            .select(
                pl.lit(source.path).alias("trace"),
                pl.col("line"),
                pl.when(pl.col("line") < header_line)
                .then(pl.lit("text before the tracerpt CSV header"))
                .otherwise(
                    pl.lit(
                        f"not a tracerpt CSV row: expected at least the {fixed} columns "
                        f"before User Data of the header on line {header_line}"
                    )
                )
                .alias("reason"),
                truncate_text(pl.col("text")).alias("text"),
            )
            .cast(REJECT_SCHEMA)  # type: ignore[arg-type]
        )

        fields = pl.col("text").str.extract_groups(pattern)

        def col(key: str) -> pl.Expr:
            if key in pattern_keys(pattern):
                return _unquote(fields.struct.field(key))
            return pl.lit(None, dtype=pl.String)

        rest = (
            fields.struct.field("rest")
            .fill_null("")
            .str.replace(r"(?:,[ \t]*)+$", "")  # padding columns of shorter rows
        )
        user_values = (
            rest.str.extract_all(r'(?:^|,)(?:[ \t]*"(?:[^"]|"")*"[ \t]*|[^,]*)')
            .list.eval(_unquote(pl.element().str.strip_prefix(",")))
            .list.join(", ")
        )
        clock = col("clock")
        # A re-saved float (`1.3312743573048245e+17`) is read as the exact decimal it
        # spells, not through a float64: that recovers the tick count tracerpt wrote.
        ticks = pl.coalesce(
            clock.str.to_integer(strict=False),
            clock.cast(pl.Decimal(38, 0), strict=False).cast(pl.Int64, strict=False),
        )
        events = (
            lines.lazy()
            .filter(pl.col("is_event"))
            .with_row_index("seq")
            .with_columns(user_values.alias("message"))
        )
        if options.keep is not None:
            events = events.filter(options.keep.necessary(pl.col("message"), has_event_id=True))
        decoded = events.select(
            pl.lit(source.path).alias("trace"),
            pl.col("seq"),
            pl.col("line"),
            filetime_to_ts(ticks).alias("ts"),
            col("provider").alias("provider"),
            pl.coalesce(
                _name_or_null(col("task")), _name_or_null(col("type")), _name_or_null(col("opcode"))
            ).alias("event"),
            _integer(col("event_id")).alias("event_id"),
            pl.when(col("level") == "").then(None).otherwise(col("level")).alias("level"),
            _integer(col("pid")).alias("pid"),
            _integer(col("tid")).alias("tid"),
            _integer(col("cpu")).alias("cpu"),
            pl.col("message"),
        )
        accounting = Accounting(
            lines=lines.height,
            events=int(lines.get_column("is_event").sum()),
            continuation=0,
            meta=int(lines.get_column("is_meta").sum()),
            rejected=rejected.height,
        )
        return ParsedTrace.build(source, self.name, decoded, rejected, accounting)


def pattern_keys(pattern: str) -> set[str]:
    return set(re.findall(r"\(\?<(\w+)>", pattern))
