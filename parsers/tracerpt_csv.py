"""``tracerpt -of CSV`` exports, including files re-saved by spreadsheet or data-frame tools.

The header names the fixed columns (padded with spaces, sometimes behind an extra
index column); the event payload ("User Data") spills into any number of trailing
columns, so rows are ragged and cannot be read as a rectangular CSV. Each row is split
by one linear-time regex built from the header instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import ClassVar

import polars as pl

from parsers.errors import TraceReadError
from parsers.parallel import ordered_map
from parsers.registry import TraceFormat, register, sniff_head
from parsers.schema import REJECT_SCHEMA, conform, truncate_text
from parsers.source import LineStream, SourceLines
from parsers.timestamps import filetime_to_ts
from parsers.trace import Accounting, ParsedTrace, ParseOptions, Piece

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


def _integer(field: pl.Expr, form: str | None = None) -> pl.Expr:
    """Hex (``0x00000F24``) or decimal; ``form`` when the whole column is known to be one."""
    if form == "hex":
        return field.str.slice(2).str.to_integer(base=16, strict=False)
    if form == "decimal":
        return field.str.to_integer(base=10, strict=False)
    hexa = field.str.starts_with("0x") | field.str.starts_with("0X")
    return (
        pl.when(hexa)
        .then(field.str.slice(2).str.to_integer(base=16, strict=False))
        .otherwise(field.str.to_integer(base=10, strict=False))
    )


def _ticks(clock: pl.Expr, form: str | None = None) -> pl.Expr:
    """Clock-Time as FILETIME ticks: an integer, or a re-saved float read as the exact
    decimal it spells (`1.3312743573048245e+17`), not through a float64: that recovers
    the tick count tracerpt wrote."""
    as_integer = clock.str.to_integer(strict=False)
    if form == "integer":
        return as_integer
    return pl.coalesce(
        as_integer, clock.cast(pl.Decimal(38, 0), strict=False).cast(pl.Int64, strict=False)
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
    if not parts:
        return r"^(?<rest>.*)$"  # User Data first: every line is all User Data
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
        decoder = _Decoder(source.path, sniff_head(source), options)
        events, rejects, accounting = decoder.feed(source.lines, 0)
        return ParsedTrace.build(source, self.name, events, rejects, accounting)

    def stream(self, lines: LineStream, options: ParseOptions) -> Iterator[Piece]:
        # Rows are independent: chunks are decoded on the worker threads with ``seq``
        # counted from 0, and renumbered here, in order.
        decoder = _Decoder(lines.path, sniff_head(lines), options)
        events_before = 0
        for piece in ordered_map(decoder.piece, lines):
            yield Piece(
                piece.events.with_columns(pl.col("seq") + events_before),
                piece.rejects,
                piece.accounting,
            )
            events_before += piece.accounting.events


# A row whose fixed columns hold no quote splits at its first commas exactly as the row
# regex would, so it is found and split by one literal ``splitn`` (no regex at all); only
# rows with a quote in the fixed columns take the row regex. The User Data of a split row
# is turned into the message by the cheapest of three equivalent means: tracerpt's own
# tidy shape (values after ", ", none empty or padded) needs only its quotes removed;
# simple quoted values (no comma or quote inside) two replaces; anything else the general
# list of values. All give the fields of the row regex (tests check it).
_SIMPLE_VALUE = r'(?:"[^",]*"|[^,"]*)'
_TIDY_TEXT = r'[^", \t](?:[^",]*[^", \t])?'
TIDY_USER_DATA = rf'^(?: (?:"{_TIDY_TEXT}"|{_TIDY_TEXT})(?:, (?:"{_TIDY_TEXT}"|{_TIDY_TEXT}))*)?$'
SIMPLE_USER_DATA = rf"^(?:[ \t]*{_SIMPLE_VALUE}[ \t]*(?:,[ \t]*{_SIMPLE_VALUE}[ \t]*)*)?$"
_SPLIT = "__split"
_SKIP = "__skip"
_SKIPPED = "__skipped"
_USER_DATA = "__user_data"
_COMMA = "__comma"
_PREFIX = "__prefix"
_LAID_OUT = "__laid_out"

# Event rows of a chunk split to learn where its User Data usually starts (see
# _Decoder.usual_width); three in four of them must agree.
LAYOUT_SAMPLE_ROWS = 64


class _Decoder:
    """The header, found once; then any run of lines decoded. It holds only settings,
    so worker threads share it."""

    def __init__(self, path: str, head: list[str], options: ParseOptions) -> None:
        header_idx = next((i for i, t in enumerate(head) if t and _HEADER_RE.search(t)), None)
        if header_idx is None:
            raise TraceReadError(path, None, "no tracerpt CSV header (Event Name, ..., Clock-Time)")
        header_line = header_idx + 1
        header = [h.strip().strip('"').strip().lower() for h in head[header_idx].split(",")]
        missing = [label for label in ("event name", "clock-time") if label not in header]
        if missing:
            raise TraceReadError(path, header_line, f"CSV header lacks {', '.join(missing)}")
        fixed = header.index("user data") if "user data" in header else len(header)
        if fixed > MAX_FIXED_COLUMNS:
            raise TraceReadError(
                path,
                header_line,
                f"CSV header has {fixed} columns before User Data "
                f"(tracerpt writes about 20; at most {MAX_FIXED_COLUMNS} are read)",
            )
        self.path = path
        self.options = options
        self.header_line = header_line
        self.fixed = fixed
        self.pattern = _row_pattern(header)
        self.keys = pattern_keys(self.pattern)
        # column index of each canonical key (first occurrence, as in the row regex)
        self.index: dict[str, int] = {}
        wanted = {label: key for key, label in _COLUMNS.items()}
        for i, label in enumerate(header[:fixed]):
            key = wanted.get(label)
            if key and key not in self.index:
                self.index[key] = i

    def split(self, text: pl.Expr) -> pl.Expr:
        """The fixed columns and the User Data (``field_{fixed}``) of a row, split at commas."""
        return text.str.splitn(",", self.fixed + 1)

    def splits_exactly(self, text: pl.Expr, split: pl.Expr) -> pl.Expr:
        """Whether the literal split is the row regex's: all fixed columns, none quoted."""
        if self.fixed == 0:
            return pl.lit(False)  # User Data first: the row regex takes the whole line
        rest = split.struct.field(f"field_{self.fixed}").fill_null("")
        complete = split.struct.field(f"field_{self.fixed - 1}").is_not_null()
        # No quote before the User Data: the first quote (a byte offset, found at memchr
        # speed) is where the User Data starts or later. Counting every quote costs more.
        first_quote = text.str.find('"', literal=True)
        user_data_at = text.str.len_bytes() - rest.str.len_bytes()
        return complete & (first_quote.is_null() | (first_quote >= user_data_at))

    def skip_unwanted(self, chunk: pl.DataFrame) -> tuple[pl.DataFrame, int]:
        """Drop the event rows whose User Data fails the pre-filter, before anything else.

        The User Data alone is judged: the maps' literals also occur in provider names
        and the keyword column, which would keep most rows. It is what follows the
        row's first commas, one per fixed column; a comma inside a quoted fixed column
        only moves that cut earlier, so the text judged is the User Data and perhaps
        more, never less. A row with that many commas is a row (the row regex matches
        it), hence an event. Where the chunk's rows share tracerpt's padded layout, the
        cut is proven without a split (:meth:`_skips_laid_out`). Returns the rows left,
        with their split (``_SPLIT``) when every row was split, how many events were
        dropped before each (``_SKIPPED``, so ``seq`` counts every event), and how many
        were dropped in all.
        """
        keep = self.options.keep
        condition = None
        if keep is not None and self.fixed > 0:
            condition = keep.necessary_in_fields(pl.col(_USER_DATA), has_event_id=True)
        if condition is None:
            return chunk.with_columns(pl.lit(0, pl.UInt32).alias(_SKIPPED)), 0
        width = self.usual_width(chunk)
        if width is not None:
            skip = self._skips_laid_out(chunk, condition, width)
            skipped = int(skip.sum())
            if not skipped:
                return chunk.with_columns(pl.lit(0, pl.UInt32).alias(_SKIPPED)), 0
            kept = chunk.with_columns(skip.cast(pl.UInt32).cum_sum().alias(_SKIPPED)).filter(~skip)
            return kept.select("line", "text", _SKIPPED), skipped
        marked = self._marked_by_split(chunk, condition)
        skip = marked.get_column(_SKIP)
        skipped = int(skip.sum())
        if not skipped:
            # Nothing to drop (a chunk of lifecycle events, or of rows too short to have
            # User Data): the split is kept for decoding, not made twice.
            return marked.select("line", "text", _SPLIT, pl.lit(0, pl.UInt32).alias(_SKIPPED)), 0
        # The split goes on with the rows kept, its fields filtered as plain columns: a
        # struct column filters several times slower than its fields, and slower than
        # splitting the kept rows again.
        fields = [f"field_{i}" for i in range(self.fixed + 1)]
        kept = (
            marked.unnest(_SPLIT)
            .with_columns(skip.cast(pl.UInt32).cum_sum().alias(_SKIPPED))
            .filter(~skip)
            .select("line", "text", pl.struct(fields).alias(_SPLIT), _SKIPPED)
        )
        return kept, skipped

    def _marked_by_split(self, lines: pl.DataFrame, condition: pl.Expr) -> pl.DataFrame:
        """The lines with their split (``_SPLIT``) and whether each is dropped (``_SKIP``)."""
        rest = pl.col(_SPLIT).struct.field(f"field_{self.fixed}")
        after = pl.col("line") > self.header_line
        return (
            lines.with_columns(self.split(pl.col("text")).alias(_SPLIT))
            .with_columns(rest.alias(_USER_DATA))
            .with_columns((after & pl.col(_USER_DATA).is_not_null() & ~condition).alias(_SKIP))
            .drop(_USER_DATA)
        )

    def usual_width(self, chunk: pl.DataFrame) -> int | None:
        """How many bytes after a row's first comma its last fixed comma usually lies,
        or None when the chunk's rows do not agree.

        tracerpt pads every column but the first to the width of its header, so in its
        own output the User Data starts at one distance from the first comma in nearly
        every row: learnt here from a few rows split in full. Re-saved files, with no
        padding, agree on none and are split as before.
        """
        sample = chunk.filter(pl.col("line") > self.header_line).head(LAYOUT_SAMPLE_ROWS)
        text = pl.col("text")
        rest = self.split(text).struct.field(f"field_{self.fixed}")
        last_comma = text.str.len_bytes() - rest.str.len_bytes() - 1
        widths = (
            sample.select((last_comma - text.str.find(",", literal=True)).alias("width"))
            .get_column("width")
            .drop_nulls()
        )
        if widths.is_empty():
            return None
        width, rows = widths.value_counts(sort=True).row(0)
        return int(width) if rows * 4 >= sample.height * 3 else None

    def _skips_laid_out(self, chunk: pl.DataFrame, condition: pl.Expr, width: int) -> pl.Series:
        """Whether each line is dropped, its User Data cut at the usual distance from its
        first comma wherever that is proven right; only the other lines are split.

        Proof without a split: the text up to the cut holds exactly one comma per fixed
        column and ends with one, so that comma is the one the split would cut at, and
        the text after it is the split's User Data. Counting commas up to the cut costs
        a third of a 20-way split, and only the rows kept are split afterwards. A row
        with a longer column, a wide character or too few commas fails the proof and is
        judged on its split.
        """
        text = pl.col("text")
        after = pl.col("line") > self.header_line
        marked = (
            chunk.with_columns((text.str.find(",", literal=True) + width).alias(_COMMA))
            .with_columns(
                text.str.slice(0, pl.col(_COMMA) + 1).alias(_PREFIX),
                text.str.slice(pl.col(_COMMA) + 1).alias(_USER_DATA),
            )
            .with_columns(
                (
                    (pl.col(_PREFIX).str.count_matches(",", literal=True) == self.fixed)
                    & pl.col(_PREFIX).str.ends_with(",")
                )
                .fill_null(False)
                .alias(_LAID_OUT)
            )
            .select(
                _LAID_OUT, (after & pl.col(_LAID_OUT) & ~condition).fill_null(False).alias(_SKIP)
            )
        )
        laid_out = marked.get_column(_LAID_OUT)
        skip = marked.get_column(_SKIP)
        if laid_out.all():
            return skip
        others = self._marked_by_split(chunk.filter(~laid_out), condition)
        return skip.scatter(laid_out.not_().arg_true(), others.get_column(_SKIP).fill_null(False))

    def piece(self, chunk: pl.DataFrame) -> Piece:
        """A chunk decoded, ``seq`` counted from 0 (no shared state: runs on any thread)."""
        events, rejects, accounting = self.feed(chunk, 0)
        return Piece(events.collect(), rejects, accounting)

    def feed(
        self, chunk: pl.DataFrame, events_before: int
    ) -> tuple[pl.LazyFrame, pl.DataFrame, Accounting]:
        header_line, fixed = self.header_line, self.fixed
        text = pl.col("text")
        lines, skipped = self.skip_unwanted(chunk)
        if _SPLIT not in lines.columns:
            lines = lines.with_columns(self.split(text).alias(_SPLIT))
        lines = lines.with_columns(self.splits_exactly(text, pl.col(_SPLIT)).alias("plain"))
        # The row regex and the blank test run only on the lines the literal split cannot
        # judge: a line split into all its fixed columns has commas, so it is not blank.
        row = lines.get_column("plain")
        blank = pl.repeat(False, lines.height, eager=True) if fixed > 1 else None
        others = row.not_()
        if others.any() or blank is None:
            at = others.arg_true()
            judged = lines.filter(others).select(
                text.str.contains(self.pattern).alias("row"),
                text.str.contains(r"^\s*$").alias("blank"),
            )
            row = row.scatter(at, judged.get_column("row"))
            if blank is None:
                blank = lines.select(text.str.contains(r"^\s*$").alias("blank")).to_series()
            else:
                blank = blank.scatter(at, judged.get_column("blank"))
        lines = lines.with_columns(row.alias("row"), blank.alias("blank"))
        after = pl.col("line") > header_line
        is_event = after & pl.col("row") & ~pl.col("blank")
        lines = lines.with_columns(
            is_event.alias("is_event"),
            (pl.col("blank") | (pl.col("line") == header_line)).alias("is_meta"),
        )
        rejected = (
            lines.filter(~pl.col("is_event") & ~pl.col("is_meta"))
            .select(
                pl.lit(self.path).alias("trace"),
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
        all_events = lines.get_column("is_event").all()
        events = (
            (lines if all_events else lines.filter(pl.col("is_event")))
            .select("line", "text", _SPLIT, "plain", _SKIPPED)
            .with_row_index("seq", offset=events_before)
            .with_columns(pl.col("seq").cast(pl.UInt64) + pl.col(_SKIPPED))
            .drop(_SKIPPED)
        )
        n_events = events.height + skipped
        accounting = Accounting(
            lines=lines.height + skipped,
            events=n_events,
            continuation=0,
            meta=int(lines.get_column("is_meta").sum()),
            rejected=rejected.height,
        )
        return conform(self._decode(events)), rejected, accounting

    def _decode(self, events: pl.DataFrame) -> pl.LazyFrame:
        """Events (``seq``, ``line``, ``text``) to canonical columns, by the cheapest path."""
        if _SPLIT not in events.columns:
            text = pl.col("text")
            events = events.with_columns(self.split(text).alias(_SPLIT))
            events = events.with_columns(self.splits_exactly(text, pl.col(_SPLIT)).alias("plain"))
        if not events.height:
            return self._general(events.lazy())
        plain = events.get_column("plain")
        n_plain = int(plain.sum())
        if n_plain == events.height:
            return self._plain(events)
        if n_plain == 0:
            return self._general(events.lazy())
        return pl.concat(
            [self._plain(events.filter(plain)), self._general(events.filter(~plain).lazy())]
        ).sort("seq")

    def _select(
        self,
        events: pl.LazyFrame,
        col: Callable[[str], pl.Expr],
        message: pl.Expr,
        forms: dict[str, str] | None = None,
    ) -> pl.LazyFrame:
        """The canonical columns; ``forms`` says which columns are known to be all ``hex``,
        all ``decimal`` (integers) or ``integer`` (Clock-Time): each is converted once."""
        forms = forms or {}
        events = events.with_columns(message.alias("message"))
        if self.options.keep is not None:
            events = events.filter(
                self.options.keep.necessary(pl.col("message"), has_event_id=True)
            )
        return events.select(
            pl.lit(self.path).alias("trace"),
            pl.col("seq"),
            pl.col("line"),
            filetime_to_ts(_ticks(col("clock"), forms.get("clock"))).alias("ts"),
            col("provider").alias("provider"),
            pl.coalesce(
                _name_or_null(col("task")), _name_or_null(col("type")), _name_or_null(col("opcode"))
            ).alias("event"),
            _integer(col("event_id"), forms.get("event_id")).alias("event_id"),
            pl.when(col("level") == "").then(None).otherwise(col("level")).alias("level"),
            _integer(col("pid"), forms.get("pid")).alias("pid"),
            _integer(col("tid"), forms.get("tid")).alias("tid"),
            _integer(col("cpu"), forms.get("cpu")).alias("cpu"),
            pl.col("message"),
        )

    def _general(self, events: pl.LazyFrame) -> pl.LazyFrame:
        fields = pl.col("text").str.extract_groups(self.pattern)

        def col(key: str) -> pl.Expr:
            if key in self.keys:
                return _unquote(fields.struct.field(key))
            return pl.lit(None, dtype=pl.String)

        rest = fields.struct.field("rest").fill_null("")
        return self._select(events, col, _user_values(rest))

    def _plain(self, events: pl.DataFrame) -> pl.LazyFrame:
        """Rows the literal split cuts exactly (``plain``): no regex on the fixed columns."""
        split = pl.col(_SPLIT)
        stripped = [
            split.struct.field(f"field_{i}").str.strip_chars(" \t").alias(f"__{key}")
            for key, i in self.index.items()
        ]
        rest = split.struct.field(f"field_{self.fixed}").fill_null("")
        fields = events.select(
            "seq",
            "line",
            *stripped,
            rest.alias("__rest"),
            rest.str.contains(TIDY_USER_DATA).alias("__tidy"),
        )
        forms = _forms(fields, {key: f"__{key}" for key in self.index})

        def col(key: str) -> pl.Expr:
            return pl.col(f"__{key}") if key in self.index else pl.lit(None, dtype=pl.String)

        rest = pl.col("__rest")
        # tracerpt's own shape: ` "a", 1, "b c"` -> `a, 1, b c`
        tidy = rest.str.strip_prefix(" ").str.replace_all('"', "", literal=True)
        is_tidy = fields.get_column("__tidy")
        if is_tidy.all():
            return self._select(fields.lazy(), col, tidy, forms)
        simple = (
            rest.str.replace(r"(?:,[ \t]*)+$", "")
            .str.replace_all(r"[ \t]*,[ \t]*", ", ")
            .str.strip_chars(" \t")
            .str.replace_all(r'"[ \t]*([^"]*?)[ \t]*"', "${1}")
        )
        is_simple = ~is_tidy & fields.select(rest.str.contains(SIMPLE_USER_DATA)).to_series()
        groups = [
            (is_tidy, tidy),
            (is_simple, simple),
            (~is_tidy & ~is_simple, _user_values(rest)),
        ]
        # Each expression runs only on its own rows; the pieces go back into source order.
        parts = [
            fields.filter(mask).with_columns(message.alias("__message"))
            for mask, message in groups
            if mask.any()
        ]
        fields = pl.concat(parts).sort("seq") if len(parts) > 1 else parts[0]
        return self._select(fields.lazy(), col, pl.col("__message"), forms)


def _forms(fields: pl.DataFrame, columns: dict[str, str]) -> dict[str, str]:
    """Which representation each integer column of this chunk uses, if only one."""
    checks = []
    for key in ("event_id", "pid", "tid", "cpu"):
        if key in columns:
            field = pl.col(columns[key])
            hexa = field.str.starts_with("0x") | field.str.starts_with("0X")
            checks += [hexa.all().alias(f"{key}:hex"), (~hexa).all().alias(f"{key}:decimal")]
    if "clock" in columns:
        clock = pl.col(columns["clock"])
        # Digits only (no `.`, exponent or sign): the integer FILETIME tracerpt writes.
        checks.append(clock.str.contains(r"^[0-9]*$").all().alias("clock:integer"))
    if not checks or not fields.height:
        return {}
    found = fields.select(checks).row(0, named=True)
    return {name.split(":")[0]: name.split(":")[1] for name, ok in found.items() if ok}


def _user_values(rest: pl.Expr) -> pl.Expr:
    """The User Data columns, each unquoted, joined with ``, `` (padding columns dropped)."""
    # Each value is matched with the comma before it (one put in front of the first), so
    # an empty first value cannot hide the rest behind an empty match.
    values = pl.lit(",") + rest.str.replace(r"(?:,[ \t]*)+$", "")  # drop padding columns
    return (
        values.str.extract_all(r',(?:[ \t]*"(?:[^"]|"")*"[ \t]*|[^,]*)')
        .list.eval(_unquote(pl.element().str.strip_prefix(",")))
        .list.join(", ")
    )


def pattern_keys(pattern: str) -> set[str]:
    return set(re.findall(r"\(\?<(\w+)>", pattern))
