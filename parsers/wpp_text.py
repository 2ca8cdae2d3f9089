"""WPP text as written by tracefmt, TraceView and ``netsh trace convert``.

Default prefix ``[CPU]PID.TID::TIMESTAMP [COMPONENT]MESSAGE``. A line without a prefix
after the first event continues the previous message (copied logs wrap long lines);
blank lines and the ``!wmitrace.logdump`` preamble and footer are meta lines.

The same code reads a whole file (:meth:`WppText.parse`) or a stream of chunks
(:meth:`WppText.stream`): a chunk's last event and the lines after it wait for the next
chunk, so a message wrapped across a chunk boundary is joined exactly as in one piece.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from parsers.errors import TraceReadError
from parsers.parallel import ordered_map
from parsers.registry import TraceFormat, register, sniff_head
from parsers.schema import REJECT_SCHEMA, conform, truncate_text
from parsers.source import LineStream, SourceLines
from parsers.timestamps import WPP_CLOCK_PATTERN, YEAR, localize, wpp_timestamp
from parsers.trace import Accounting, ParsedTrace, ParseOptions, Piece
from parsers.wpp_prefix import DEFAULT_LAYOUT, Layout, PrefixError, layout_from_prefix

# The `!Function[line]!text` shape many drivers use: the function is the event name.
FUNCTION = r"^!(?<func>[A-Za-z_][\w:~]*)\[\d+\]!"
# tracefmt's line for an event whose TMF it lacks: kept as an event, the GUID its provider.
UNKNOWN = (
    r"^\s*Unknown\(\s*\d+\):\s*GUID=(?<guid>[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12})"
    r"\s*\(No Format Information found\)\.?\s*$"
)
_UNKNOWN_RE = re.compile(UNKNOWN.replace("(?<", "(?P<"))
# The same at the start of a message that may go on with wrapped lines, or follow a prefix.
UNKNOWN_MESSAGE = UNKNOWN.removesuffix(r"\s*$") + r"[ \t\r]*(?:\n|$)"

# tracefmt's closing report: events the session dropped are missing from the output.
_PROCESSING_COMPLETED = (
    r"^\s*Processing completed +Buffers: \d+, Events: \d+, EventsLost: (?<lost>\d{1,19})"
)


META = (
    r"^\s*$"
    r"|^\s*\(WmiTrace\) LogDump for Logger Id"
    r"|^\s*Found Buffers:\s*\d+\s+Messages:\s*\d+"
    r"|^\s*Reading Buffer\s+\d+\s*/\s*\d+\s*$"
    r"|^\s*Total of \d+ Messages from \d+ Buffers"
    # tracefmt's line for the session's header event, first in its output
    r"|^\s*EventTrace\s*$"
    # !wdfkd.wdflogdump (a KMDF driver's in-flight recorder) around its records, and the
    # debugger's prompt when the output is pasted with its command
    r"|^\s*Trace (?:searchpath|format prefix) is:"
    r"|^\s*SetTracePrefix: "
    r"|^\s*Trying to extract TMF information from"
    r"|^\s*Gather log: Please wait"
    r"|^\s*% read so far \.\.\."
    r"|^\s*There are \d+ log entries\s*$"
    r"|^\s*-{2,}\s*(?:start|end) of log\s*-{2,}\s*$"
    r"|^\s*(?:\d+: )?kd> "
    # tracefmt's console report, pasted with the output it wrote (the WDK's "Example 9")
    r"|^\s*Setting (?:log file to: |RealTime mode for )"
    r"|^\s*Getting guids from "
    r"|^\s*Searching for (?:matching PDB to |TMF files on path: )"
    r"|^\s*Current Symbol Search Path = "
    r"|^\s*Extracting TMF files out of found PDB files\s*$"
    r"|^\s*DBGHELP: "
    r"|^\s*tracefmt : \w+ [A-Z]+\d+: "
    r"|^\s*Examining .+ for message formats, +\d+ found\.\s*$"
    r"|^\s*Logfile .+:\s*$"
    # the log's header fields, each value in a column of its own (tabs or 2+ spaces)
    r"|^\s+(?:OS version|Start Time|End Time|Timezone is|BufferSize|Maximum File Size"
    r"|Buffers +Written|ProcessorCount)(?:\t|[ \t]{2,})\S"
    r"|^\s+Logger Mode Settings\s+\("
    r"|^\s*\S+ :: +\d+: Filled= *\d+, Lost= *\d+ TotalLost= *\d+\s*$"
    r"|^\s*Event (?:traces|Summary) dumped to "
    r"|" + _PROCESSING_COMPLETED
)

# !wdfkd.wdflogdump names the prefix its records are written with.
_DECLARES_PREFIX = "Trace format prefix is:"


def lost_events(meta: pl.DataFrame) -> tuple[str, ...]:
    """A note for each tracefmt report of lost events among these meta lines.

    A lifecycle event the session dropped looks exactly like one the driver never
    logged, so findings from such a trace deserve a second look.
    """
    reports = meta.select(
        pl.col("line"), pl.col("text").str.extract(_PROCESSING_COMPLETED, 1).alias("lost")
    ).filter(pl.col("lost").is_not_null() & (pl.col("lost").str.strip_chars_start("0") != ""))
    return tuple(
        f"tracefmt reports {int(lost):,} events lost on line {line}: a missing lifecycle "
        "event may have been dropped by the session, not the driver"
        for line, lost in reports.iter_rows()
    )


def declared_prefix(head: list[str]) -> tuple[int, str] | None:
    """The line number and TRACE_FORMAT_PREFIX a log declares it was written with, if any."""
    for number, text in enumerate(head, start=1):
        stripped = (text or "").lstrip()
        if stripped.startswith(_DECLARES_PREFIX):
            prefix = stripped.removeprefix(_DECLARES_PREFIX).removeprefix(" ").rstrip("\r\n")
            if prefix.strip():
                return number, prefix
    return None


_PREFIX_RE = DEFAULT_LAYOUT.python_prefix()

# The shape nearly every line of a tracefmt log with the default prefix has:
# `[0]0004.01AC::03/14/2025-09:26:53.123 [component]message`, no stray spaces, an ASCII
# component. Such a record is split at its separators (no capturing regex, which costs
# several times as much) and its time read by one strptime; any other record takes the
# general record regex. Both give the same fields for a line of this shape (tests check it).
FAST_SHAPE = (
    r"^\[\d{1,5}\][0-9A-Fa-f]{1,8}\.[0-9A-Fa-f]{1,8}::"
    r"\d{2}/\d{2}/" + YEAR + r"-\d{2}:\d{2}:\d{2}(?:\.\d{1,9})? \[[\x20-\x5C\x5E-\x7E]*\]"
)
_FAST_TS_FORMAT = "%m/%d/%Y-%H:%M:%S%.f"
# What `%!LEVEL!` prints: the name of a TRACE_LEVEL_* constant of evntrace.h.
_LEVEL_NAME = r"\bTRACE_LEVEL_(?:NONE|CRITICAL|FATAL|ERROR|WARNING|INFORMATION|VERBOSE)\b"
# Spaces and tabs around a component name or message (`[Operational ] Spooling job 2. `)
# are layout, not content: a map written for `Operational` or `^Spooling` must match.
_PADDING = " \t"


@register
class WppText(TraceFormat):
    name: ClassVar[str] = "wpp-text"
    description: ClassVar[str] = (
        "WPP text from tracefmt, TraceView, netsh trace convert, !wmitrace.logdump or !wdflogdump"
    )
    example: ClassVar[str] = (
        "[0]0C40.0C3C::09/20/2004-14:41:31.625 [tracedrv]!MPHaltEx[42]!---> MPHaltEx"
    )
    extensions: ClassVar[tuple[str, ...]] = (".txt", ".log", ".wpp")

    @classmethod
    def sniff(cls, head: list[str]) -> float:
        texts = [t for t in head if t and t.strip()]
        if not texts:
            return 0.0
        if declared_prefix(head) is not None:
            return 1.0  # a wdflogdump: it says how its records are written
        hits = sum(1 for t in texts if _PREFIX_RE.match(t) or _UNKNOWN_RE.match(t))
        return 0.0 if hits == 0 else 0.5 + 0.5 * hits / len(texts)

    @classmethod
    def hint(cls, head: list[str]) -> str | None:
        texts = pl.Series([t for t in head if t and t.strip()], dtype=pl.String)
        # A prefix need not hold a time (`[%9]%3!04x! %!LEVEL! %!FUNC!:`), but then it
        # usually holds the level's name.
        wpp_like = texts.str.contains(WPP_CLOCK_PATTERN) | texts.str.contains(_LEVEL_NAME)
        if texts.len() and int(wpp_like.sum()) * 2 >= texts.len():
            return (
                "most lines hold a WPP timestamp or level name: if this is WPP text written "
                "with a custom TRACE_FORMAT_PREFIX, give that prefix (--wpp-prefix)"
            )
        return None

    def parse(self, source: SourceLines, options: ParseOptions) -> ParsedTrace:
        decoder = _Decoder(source.path, sniff_head(source), options)
        events, rejects, accounting, notes = decoder.decode(source.lines, 0)
        return ParsedTrace.build(
            source, self.name, events, rejects, accounting, decoder.notes + notes
        )

    def stream(self, lines: LineStream, options: ParseOptions) -> Iterator[Piece]:
        # Two ordered stages on the worker threads: cutting and decoding each chunk, then
        # the pieces that join neighbouring chunks. Only the bookkeeping between them
        # (which lines wait, where seq continues) runs on this thread.
        decoder = _Decoder(lines.path, sniff_head(lines), options)
        parts = _stitch(ordered_map(decoder.split, lines))
        yield from ordered_map(decoder.finish, parts)


@dataclass(frozen=True)
class _Block:
    """A chunk cut where it cannot depend on its neighbours, the middle decoded.

    ``head``: the lines before the chunk's first event (continuation of the event before
    it, or preamble); ``body``: its events up to the last one, decoded with ``seq``
    counted from 0 within the chunk; ``tail``: the last event and the lines after it,
    which the next chunk may continue. A chunk without an event is all ``head``.
    """

    head: pl.DataFrame
    body: Piece | None
    tail: pl.DataFrame | None


@dataclass(frozen=True)
class _Part:
    """One piece of the output in order: lines still to decode, or a decoded body;
    ``events_before`` is where its ``seq`` starts."""

    events_before: int
    lines: pl.DataFrame | None = None
    body: Piece | None = None


def _stitch(blocks: Iterator[_Block]) -> Iterator[_Part]:
    """Put the blocks back in one sequence: each tail joins the heads after it.

    Lines before the trace's first event (preamble, or a file of junk) depend on nothing
    after them and go out at once; only a record whose text may still continue waits.
    """
    events_before = 0
    carry: pl.DataFrame | None = None  # a tail (one event) and the heads that follow it
    for block in blocks:
        if carry is None:
            if block.head.height:
                yield _Part(events_before, lines=block.head)
        else:
            carry = pl.concat([carry, block.head])
        if block.body is None or block.tail is None:
            continue  # no event in this chunk: a waiting record may continue further
        if carry is not None:
            # The previous tail's record and its continuation, complete now that a
            # record follows them.
            yield _Part(events_before, lines=carry)
            events_before += 1
        yield _Part(events_before, body=block.body)
        events_before += block.body.accounting.events
        carry = block.tail
    yield _Part(events_before, lines=carry if carry is not None else _NO_LINES)


_NO_LINES = pl.DataFrame(schema={"line": pl.UInt32(), "text": pl.String()})


class _Decoder:
    """Classifies and decodes lines. It holds only settings, so worker threads share it."""

    def __init__(self, path: str, head: list[str], options: ParseOptions) -> None:
        prefix, self.notes = options.wpp_prefix, ()
        declared = declared_prefix(head) if prefix is None else None
        try:
            if declared is not None:
                line, prefix = declared
                layout = layout_from_prefix(prefix)
                self.notes = (f"WPP prefix {prefix!r} as the log declares on line {line}",)
            else:
                layout = DEFAULT_LAYOUT if prefix is None else layout_from_prefix(prefix)
        except PrefixError as exc:
            where = f"declared on line {declared[0]}: " if declared else ""
            raise TraceReadError(
                path, declared[0] if declared else None, where + str(exc)
            ) from None
        self.path = path
        self.options = options
        self.layout = layout
        self.keep = (
            options.keep.necessary(pl.col("text"), has_event_id=False)
            if options.keep is not None
            else None
        )
        self.keep_per_line = options.keep is not None and options.keep.judged_per_line(
            has_event_id=False
        )
        # One pass recognises both record shapes; only a prefix that can match nothing
        # (tracefmt -noprefix) needs blank lines excluded separately.
        text = pl.col("text")
        is_event = text.str.contains(f"(?:{layout.prefix})|(?:{UNKNOWN})")
        if re.match(layout.python_prefix(), ""):
            is_event = is_event & ~text.str.contains(r"^\s*$")
        self.is_event = is_event
        self.reason = (
            "not a WPP record: no [CPU]PID.TID::TIMESTAMP prefix before the first event"
            if prefix is None
            else f"not a WPP record: no {prefix!r} prefix before the first event"
        )

    def classify(self, frame: pl.DataFrame, events_before: int) -> pl.DataFrame:
        """Mark event lines and what the pre-filter keeps; ``group`` counts the events."""
        # Both passes in one step so polars runs them on separate cores. The message is a
        # substring of the record, so the maps' pre-filter is sound on the raw line:
        # data-path records stop here, undecoded.
        return frame.with_columns(
            self.is_event.alias("is_event"),
            (self.keep if self.keep is not None else pl.lit(True)).alias("keep"),
        ).with_columns(
            # group = number of events up to and including this line; seq = group - 1
            (pl.col("is_event").cum_sum().cast(pl.UInt64) + events_before).alias("group"),
        )

    def split(self, chunk: pl.DataFrame) -> _Block:
        """Cut a chunk into head, body and tail, decoding the body (no shared state)."""
        lines = self.classify(chunk, 0)
        at = lines.get_column("is_event").arg_true()
        if not at.len():
            return _Block(chunk, None, None)
        first, last = int(at[0]), int(at[-1])
        events, rejects, accounting, notes = self._decode_lines(lines.slice(first, last - first))
        body = Piece(events.collect(), rejects, accounting, notes)
        return _Block(chunk.slice(0, first), body, chunk.slice(last))

    def finish(self, part: _Part) -> Piece:
        """A part as the piece it stands for, ``seq`` counted from ``events_before``."""
        if part.body is not None:
            events = part.body.events.with_columns(pl.col("seq") + part.events_before)
            body = part.body
            return Piece(events, body.rejects, body.accounting, self.notes + body.notes)
        assert part.lines is not None
        events, rejects, accounting, notes = self.decode(part.lines, part.events_before)
        return Piece(events.collect(), rejects, accounting, self.notes + notes)

    def decode(
        self, frame: pl.DataFrame, events_before: int
    ) -> tuple[pl.LazyFrame, pl.DataFrame, Accounting, tuple[str, ...]]:
        """Decode a complete run of lines (no event in it continues past its end)."""
        return self._decode_lines(self.classify(frame, events_before))

    def _decode_lines(
        self, lines: pl.DataFrame
    ) -> tuple[pl.LazyFrame, pl.DataFrame, Accounting, tuple[str, ...]]:
        """Decode classified lines (their ``group`` says where ``seq`` continues), with
        the notes their meta lines call for."""
        other = lines.filter(~pl.col("is_event")).with_columns(
            pl.col("text").str.contains(META).alias("is_meta")
        )
        continuation = other.filter(~pl.col("is_meta") & (pl.col("group") > 0))
        rejected = other.filter(~pl.col("is_meta") & (pl.col("group") == 0))
        is_event, keep, group = pl.col("is_event"), pl.col("keep"), pl.col("group")
        n_events = int(lines.get_column("is_event").sum())
        n_continuation = continuation.height
        # Records the pre-filter turns away go before anything is copied or joined.
        if self.keep is None:
            events = lines.filter(is_event)
        elif self.keep_per_line:
            # A wrapped record is kept when its line or one of its continuation lines
            # passes, and only the kept records' continuation is joined.
            wrapped_kept = continuation.filter(keep).get_column("group")
            events = lines.filter(is_event & (keep | group.is_in(wrapped_kept.implode())))
            continuation = continuation.filter(group.is_in(events.get_column("group").implode()))
        else:
            # One followed by a non-record line may have wrapped text: it waits to be
            # judged on the joined text.
            followed = ~is_event.shift(-1, fill_value=True)
            events = lines.filter(is_event & (keep | followed))
        events = events.select("group", "line", "text", "keep")
        judge_joined = self.keep is not None and not self.keep_per_line

        if continuation.height:
            # Only the few wrapped records are joined to their continuation text, and
            # judged on the joined text; the millions of others are never copied.
            joined = (
                continuation.group_by("group")
                .agg(pl.col("text").sort_by("line").str.join("\n").alias("__cont"))
                .sort("group")
            )
            # Every wrapped record is among the events (groups ascend, one per record).
            at = events.get_column("group").search_sorted(joined.get_column("group"))
            texts = events.get_column("text")
            wrapped = texts.gather(at) + "\n" + joined.get_column("__cont")
            if judge_joined:
                assert self.keep is not None
                kept = pl.DataFrame({"text": wrapped}).select(self.keep).to_series()
                events = events.with_columns(events.get_column("keep").scatter(at, kept))
            events = events.with_columns(texts.scatter(at, wrapped))
        if judge_joined:
            events = events.filter(keep)

        rejects = rejected.select(
            pl.lit(self.path).alias("trace"),
            pl.col("line"),
            pl.lit(self.reason).alias("reason"),
            truncate_text(pl.col("text")).alias("text"),
        ).cast(REJECT_SCHEMA)  # type: ignore[arg-type]
        accounting = Accounting(
            lines=lines.height,
            events=n_events,
            continuation=n_continuation,
            meta=int(other.get_column("is_meta").sum()),
            rejected=rejected.height,
        )
        notes = lost_events(other.filter(pl.col("is_meta")))
        return conform(self._decode_events(events)), rejects, accounting, notes

    def _decode_events(self, events: pl.DataFrame) -> pl.LazyFrame:
        """The canonical columns of event records, in source order."""
        if self.layout is not DEFAULT_LAYOUT or not events.height:
            return self._general(events.lazy())
        fast = events.select(pl.col("text").str.contains(FAST_SHAPE)).to_series()
        n_fast = int(fast.sum())
        if n_fast == events.height:
            return self._fast(events.lazy())
        if n_fast == 0:
            return self._general(events.lazy())
        return pl.concat(
            [self._fast(events.filter(fast).lazy()), self._general(events.filter(~fast).lazy())]
        ).sort("seq")

    def _fast(self, events: pl.LazyFrame) -> pl.LazyFrame:
        # `[0` | `0004.01AC::03/14/2025-09:26:53.123 [component` | message, then the middle
        # part split further: a few literal splits, each one cheap pass.
        parts, middle, head, ids = (pl.col(n) for n in ("__parts", "__middle", "__head", "__ids"))
        message = parts.struct.field("field_2").str.strip_chars(_PADDING)
        return (
            events.with_columns(pl.col("text").str.splitn("]", 3).alias("__parts"))
            .with_columns(parts.struct.field("field_1").str.splitn(" [", 2).alias("__middle"))
            .with_columns(middle.struct.field("field_0").str.splitn("::", 2).alias("__head"))
            .with_columns(head.struct.field("field_0").str.split_exact(".", 1).alias("__ids"))
            .select(
                pl.lit(self.path).alias("trace"),
                (pl.col("group") - 1).alias("seq"),
                pl.col("line"),
                localize(
                    head.struct.field("field_1").str.strptime(
                        pl.Datetime("ns"), _FAST_TS_FORMAT, strict=False
                    ),
                    self.options.tz,
                ).alias("ts"),
                middle.struct.field("field_1").str.strip_chars(_PADDING).alias("provider"),
                message.str.extract(FUNCTION, 1).alias("event"),
                pl.lit(None, dtype=pl.String).alias("level"),
                ids.struct.field("field_0").str.to_integer(base=16, strict=False).alias("pid"),
                ids.struct.field("field_1").str.to_integer(base=16, strict=False).alias("tid"),
                parts.struct.field("field_0")
                .str.slice(1)
                .str.to_integer(strict=False)
                .alias("cpu"),
                message.alias("message"),
            )
        )

    def _general(self, events: pl.LazyFrame) -> pl.LazyFrame:
        layout: Layout = self.layout
        # The record is split once into a struct column; every field reads from it, so no
        # expression below re-runs the record regex.
        fields = pl.col("__record")

        def field(name: str) -> pl.Expr:
            if name in layout.groups:
                return fields.struct.field(name)
            return pl.lit(None, dtype=pl.String)

        message = pl.coalesce(field("message"), pl.col("text")).str.strip_chars(_PADDING)
        event = field("func") if "func" in layout.groups else message.str.extract(FUNCTION, 1)
        provider = field("provider").str.strip_chars(_PADDING)
        return events.with_columns(
            pl.col("text").str.extract_groups(layout.record).alias("__record"),
        ).select(
            pl.lit(self.path).alias("trace"),
            (pl.col("group") - 1).alias("seq"),
            pl.col("line"),
            wpp_timestamp(field("ts"), self.options.tz).alias("ts"),
            pl.coalesce(provider, message.str.extract(UNKNOWN_MESSAGE, 1)).alias("provider"),
            event.alias("event"),
            field("level").alias("level"),
            field("pid").str.to_integer(base=16, strict=False).alias("pid"),
            field("tid").str.to_integer(base=16, strict=False).alias("tid"),
            field("cpu").str.to_integer(strict=False).alias("cpu"),
            message.alias("message"),
        )
