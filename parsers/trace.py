"""What a parser hands to the auditor: events, rejects and the line accounting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import polars as pl

from parsers.errors import TraceReadError
from parsers.schema import REJECT_SCHEMA, conform
from parsers.source import SourceLines
from parsers.timestamps import TraceStart


class RecordFilter(Protocol):
    """A necessary condition for a record to matter, checked before a record is decoded.

    The auditor passes one built from its event maps, so that a parser can drop data-path
    records with one linear-time regex pass over the raw text instead of decoding every
    timestamp and field of a 300 MB trace. It must never reject a record that a map could
    classify: it only loosens the maps' own patterns.
    """

    def necessary(self, text: pl.Expr, *, has_event_id: bool) -> pl.Expr: ...

    def necessary_in_fields(self, fields: pl.Expr, *, has_event_id: bool) -> pl.Expr | None:
        """The same condition on the raw text of a CSV row's message values (quoted, padded,
        comma-separated), so a CSV parser can drop a row before it unquotes anything;
        None when only the decoded message can be judged."""
        ...

    def judged_per_line(self, *, has_event_id: bool) -> bool:
        """Whether a record wrapped onto several lines, joined with line breaks, meets
        ``necessary`` exactly when one of its lines does (a search for literals holding no
        line break). A text parser can then judge wrapped records line by line and join
        only the lines of the records it keeps."""
        ...


@dataclass(frozen=True)
class ParseOptions:
    tz: str = "UTC"
    keep: RecordFilter | None = None
    # Where a relative-time export (PerfView, wpaexporter) starts, or None for the Unix
    # epoch (the trace's note says which).
    trace_start: TraceStart | None = None
    # tracefmt's TRACE_FORMAT_PREFIX for WPP text written with a custom prefix ("" for
    # -noprefix); None means the default prefix.
    wpp_prefix: str | None = None


@dataclass(frozen=True)
class Accounting:
    """Every physical line lands in exactly one bucket; ``balanced`` proves it."""

    lines: int
    events: int
    continuation: int
    meta: int
    rejected: int

    @property
    def balanced(self) -> bool:
        return self.lines == self.events + self.continuation + self.meta + self.rejected

    def as_dict(self) -> dict[str, int]:
        return {
            "lines": self.lines,
            "events": self.events,
            "continuation": self.continuation,
            "meta": self.meta,
            "rejected": self.rejected,
        }


@dataclass(frozen=True)
class ParsedTrace:
    path: str
    format: str
    encoding: str
    events: pl.LazyFrame  # canonical schema (parsers.schema.EVENT_SCHEMA)
    rejects: pl.DataFrame  # parsers.schema.REJECT_SCHEMA
    accounting: Accounting
    # What a reader of the results must know about this trace, e.g. that its times are
    # relative; kept apart from ``format`` so the format name stays a stable identifier.
    notes: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        source: SourceLines,
        format: str,
        events: pl.LazyFrame,
        rejects: pl.DataFrame,
        accounting: Accounting,
        notes: tuple[str, ...] = (),
    ) -> ParsedTrace:
        """Every parser ends here, so every trace leaves in the pinned schemas.

        A file in which nothing parsed but something was rejected is the wrong format
        (or not a trace): one clear error naming the first bad line beats a report of a
        million rejected lines.
        """
        if accounting.events == 0 and accounting.rejected:
            raise no_records(source.path, format, rejects)
        return cls(
            path=source.path,
            format=format,
            encoding=source.encoding.value,
            events=conform(events),
            rejects=rejects.cast(REJECT_SCHEMA),  # type: ignore[arg-type]
            accounting=accounting,
            notes=notes,
        )


def no_records(
    path: str, format: str, rejects: pl.DataFrame, *, within: int | None = None
) -> TraceReadError:
    """The error for an input in which no line is a record of ``format``; ``within``:
    reading stopped after that many lines."""
    first = rejects.sort("line").row(0, named=True)
    where = "in the file" if within is None else f"in the first {within:,} lines"
    return TraceReadError(
        path, first["line"], f"no {format} record {where} (read as {format}): {first['text']!r}"
    )


def add(a: Accounting, b: Accounting) -> Accounting:
    return Accounting(
        lines=a.lines + b.lines,
        events=a.events + b.events,
        continuation=a.continuation + b.continuation,
        meta=a.meta + b.meta,
        rejected=a.rejected + b.rejected,
    )


@dataclass(frozen=True)
class Piece:
    """What a streamed trace yields per chunk: decoded events, rejects and their accounting.

    ``events`` are in the canonical schema and in source order; ``seq`` and ``line``
    continue from the previous piece.
    """

    events: pl.DataFrame
    rejects: pl.DataFrame
    accounting: Accounting
    notes: tuple[str, ...] = ()
