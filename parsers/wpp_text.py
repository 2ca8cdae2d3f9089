"""WPP text as written by tracefmt, TraceView and ``netsh trace convert``.

Default prefix ``[CPU]PID.TID::TIMESTAMP [COMPONENT]MESSAGE``. A line without a prefix
after the first event continues the previous message (copied logs wrap long lines);
blank lines and the ``!wmitrace.logdump`` preamble and footer are meta lines.
"""

from __future__ import annotations

import re
from typing import ClassVar

import polars as pl

from parsers.errors import TraceReadError
from parsers.registry import TraceFormat, register
from parsers.schema import REJECT_SCHEMA, truncate_text
from parsers.source import SourceLines
from parsers.timestamps import wpp_timestamp
from parsers.trace import Accounting, ParsedTrace, ParseOptions
from parsers.wpp_prefix import DEFAULT_LAYOUT, PrefixError, layout_from_prefix

# The `!Function[line]!text` shape many drivers use: the function is the event name.
FUNCTION = r"^!(?<func>[A-Za-z_][\w:~]*)\[\d+\]!"
# tracefmt's line for an event whose TMF it lacks: kept as an event, the GUID its provider.
UNKNOWN = (
    r"^\s*Unknown\(\s*\d+\):\s*GUID=(?<guid>[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12})"
    r"\s*\(No Format Information found\)\.?\s*$"
)
_UNKNOWN_RE = re.compile(UNKNOWN.replace("(?<", "(?P<"))

META = (
    r"^\s*$"
    r"|^\s*\(WmiTrace\) LogDump for Logger Id"
    r"|^\s*Found Buffers:\s*\d+\s+Messages:\s*\d+"
    r"|^\s*Total of \d+ Messages from \d+ Buffers"
)

_PREFIX_RE = DEFAULT_LAYOUT.python_prefix()


@register
class WppText(TraceFormat):
    name: ClassVar[str] = "wpp-text"
    description: ClassVar[str] = "WPP text from tracefmt, TraceView or netsh trace convert"
    example: ClassVar[str] = (
        "[0]0C40.0C3C::09/20/2004-14:41:31.625 [tracedrv]!MPHaltEx[42]!---> MPHaltEx"
    )
    extensions: ClassVar[tuple[str, ...]] = (".txt", ".log", ".wpp")

    @classmethod
    def sniff(cls, head: list[str]) -> float:
        texts = [t for t in head if t and t.strip()]
        if not texts:
            return 0.0
        hits = sum(1 for t in texts if _PREFIX_RE.match(t) or _UNKNOWN_RE.match(t))
        return 0.0 if hits == 0 else 0.5 + 0.5 * hits / len(texts)

    def parse(self, source: SourceLines, options: ParseOptions) -> ParsedTrace:
        try:
            layout = (
                DEFAULT_LAYOUT
                if options.wpp_prefix is None
                else layout_from_prefix(options.wpp_prefix)
            )
        except PrefixError as exc:
            raise TraceReadError(source.path, None, str(exc)) from None
        keep = (
            options.keep.necessary(pl.col("text"), has_event_id=False)
            if options.keep is not None
            else pl.lit(True)
        )
        # Both whole-file passes in one step so polars runs them on separate cores. The
        # message is a substring of the record, so the maps' pre-filter is sound on the
        # raw line: data-path records stop here, undecoded.
        text = pl.col("text")
        # One pass recognises both record shapes; only a prefix that can match nothing
        # (tracefmt -noprefix) needs blank lines excluded separately.
        is_event = text.str.contains(f"(?:{layout.prefix})|(?:{UNKNOWN})")
        if re.match(layout.python_prefix(), ""):
            is_event = is_event & ~text.str.contains(r"^\s*$")
        lines = source.lines.with_columns(
            is_event.alias("is_event"), keep.alias("keep")
        ).with_columns(
            # group = number of events up to and including this line; seq = group - 1
            pl.col("is_event").cum_sum().cast(pl.UInt64).alias("group"),
        )
        other = lines.filter(~pl.col("is_event")).with_columns(
            pl.col("text").str.contains(META).alias("is_meta")
        )
        continuation = other.filter(~pl.col("is_meta") & (pl.col("group") > 0))
        rejected = other.filter(~pl.col("is_meta") & (pl.col("group") == 0))

        events = lines.lazy().filter(pl.col("is_event"))
        if continuation.height:
            joined = continuation.group_by("group").agg(
                pl.col("text").sort_by("line").str.join("\n").alias("__cont")
            )
            wrapped_groups = joined.get_column("group").implode()
            # Only the few wrapped records are joined to their continuation text, and
            # judged on the joined text; the millions of others are never copied.
            plain = events.filter(pl.col("keep") & ~pl.col("group").is_in(wrapped_groups))
            wrapped = (
                events.filter(pl.col("group").is_in(wrapped_groups))
                .join(joined.lazy(), on="group", how="inner")
                .with_columns((pl.col("text") + "\n" + pl.col("__cont")).alias("text"))
                .drop("__cont")
                .filter(keep)
            )
            events = pl.concat([plain, wrapped]).sort("group")
        else:
            events = events.filter(pl.col("keep"))

        # The record is split once into a struct column; every field reads from it, so no
        # expression below re-runs the record regex.
        fields = pl.col("__record")

        def field(name: str) -> pl.Expr:
            if name in layout.groups:
                return fields.struct.field(name)
            return pl.lit(None, dtype=pl.String)

        message = pl.coalesce(field("message"), pl.col("text"))
        event = field("func") if "func" in layout.groups else message.str.extract(FUNCTION, 1)
        decoded = events.with_columns(
            pl.col("text").str.extract_groups(layout.record).alias("__record"),
            pl.col("text").str.extract(UNKNOWN, 1).alias("__guid"),
        ).select(
            pl.lit(source.path).alias("trace"),
            (pl.col("group") - 1).alias("seq"),
            pl.col("line"),
            wpp_timestamp(field("ts"), options.tz).alias("ts"),
            pl.coalesce(field("provider"), pl.col("__guid")).alias("provider"),
            event.alias("event"),
            field("level").alias("level"),
            field("pid").str.to_integer(base=16, strict=False).alias("pid"),
            field("tid").str.to_integer(base=16, strict=False).alias("tid"),
            field("cpu").str.to_integer(strict=False).alias("cpu"),
            message.alias("message"),
        )
        rejects = rejected.select(
            pl.lit(source.path).alias("trace"),
            pl.col("line"),
            pl.lit(
                "not a WPP record: no [CPU]PID.TID::TIMESTAMP prefix before the first event"
                if options.wpp_prefix is None
                else f"not a WPP record: no {options.wpp_prefix!r} prefix before the first event"
            ).alias("reason"),
            truncate_text(pl.col("text")).alias("text"),
        ).cast(REJECT_SCHEMA)  # type: ignore[arg-type]
        n_events = int(lines.get_column("is_event").sum())
        accounting = Accounting(
            lines=lines.height,
            events=n_events,
            continuation=continuation.height,
            meta=int(other.get_column("is_meta").sum()),
            rejected=rejected.height,
        )
        return ParsedTrace.build(source, self.name, decoded, rejects, accounting)
