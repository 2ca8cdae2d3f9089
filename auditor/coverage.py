"""What no map classifies: raw messages grouped by shape and counted.

When a new driver's trace gives no findings, the first question is whether the maps saw
its lifecycle at all. Grouping the unclassified messages by shape (numbers, addresses
and GUIDs masked) turns a million lines into the few dozen message templates a map
author needs to look at.
"""

from __future__ import annotations

import polars as pl

from auditor.eventmap import MapSet

COVERAGE_SCHEMA: dict[str, pl.DataType] = {
    "trace": pl.String(),
    "provider": pl.String(),
    "shape": pl.String(),
    "count": pl.UInt32(),
    "example_line": pl.UInt32(),
    "example": pl.String(),
}

# Order matters: GUIDs and MACs before hex, hex before plain numbers.
_MASKS = (
    (
        r"\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?",
        "<guid>",
    ),
    (r"\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b", "<mac>"),
    (r"\b0[xX][0-9A-Fa-f]+\b", "<hex>"),
    (
        r"\b[0-9A-Fa-f]*\d[0-9A-Fa-f]*[A-Fa-f][0-9A-Fa-f]*\b|\b[0-9A-Fa-f]*[A-Fa-f][0-9A-Fa-f]*\d[0-9A-Fa-f]*\b",
        "<hex>",
    ),
    (r"-?\b\d+(?:\.\d+)?\b", "<n>"),
)
EXAMPLE_LIMIT = 300


def shape(message: pl.Expr) -> pl.Expr:
    """The message with its variable parts masked, so that one template counts once."""
    out = message
    for pattern, token in _MASKS:
        out = out.str.replace_all(pattern, token)
    return out.str.slice(0, EXAMPLE_LIMIT)


def unclassified(events: pl.LazyFrame, maps: MapSet, top: int | None = 20) -> pl.DataFrame:
    """The most frequent shapes of events that no map entry classifies, per trace.

    The maps' pre-filter settles most events cheaply (an event without any required
    literal cannot be classified); only the rest are checked against every entry.
    """
    entries = maps.entries
    maybe = maps.necessary(pl.col("message").fill_null(""), has_event_id=True)
    matched = pl.any_horizontal([e.condition() for e in entries]) if entries else pl.lit(False)
    rows = (
        events.select("trace", "line", "provider", "event", "event_id", "message")
        .with_columns(maybe.alias("__maybe"))
        .filter(~pl.col("__maybe") | ~pl.when(pl.col("__maybe")).then(matched).otherwise(False))
        .with_columns(shape(pl.col("message").fill_null("")).alias("shape"))
    )
    grouped = (
        rows.group_by("trace", "provider", "shape")
        .agg(
            pl.len().cast(pl.UInt32).alias("count"),
            pl.col("line").min().alias("example_line"),
            pl.col("message").sort_by("line").first().str.slice(0, EXAMPLE_LIMIT).alias("example"),
        )
        .sort(["trace", "count", "example_line"], descending=[False, True, False])
    )
    if top is not None:
        grouped = grouped.group_by("trace", maintain_order=True).head(top)
    return grouped.collect().select(list(COVERAGE_SCHEMA)).cast(COVERAGE_SCHEMA)  # type: ignore[arg-type]
