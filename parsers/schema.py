"""The canonical event table: the one contract between every parser and the auditor.

Column names and types are pinned (design brief, "Canonical events"); parsers build
their frames through :func:`conform` so that no stage has to guess a dtype.
"""

from __future__ import annotations

import polars as pl

TS_DTYPE = pl.Datetime("ns", "UTC")

EVENT_SCHEMA: dict[str, pl.DataType] = {
    "trace": pl.String(),
    "seq": pl.UInt64(),
    "line": pl.UInt32(),
    "ts": TS_DTYPE,
    "provider": pl.String(),
    "event": pl.String(),
    "event_id": pl.UInt16(),
    "level": pl.String(),
    "pid": pl.UInt32(),
    "tid": pl.UInt32(),
    "cpu": pl.UInt16(),
    "message": pl.String(),
}

# Added by classification (auditor.classify); listed here so the full lifecycle table
# has a single definition too.
CLASSIFIED_COLUMNS: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "value": pl.String(),
    "adapter": pl.String(),
}

REJECT_SCHEMA: dict[str, pl.DataType] = {
    "trace": pl.String(),
    "line": pl.UInt32(),
    "reason": pl.String(),
    "text": pl.String(),
}

# Rejected text is kept for the report, not as a second copy of a hostile file.
REJECT_TEXT_LIMIT = 200


def conform(frame: pl.LazyFrame, schema: dict[str, pl.DataType] = EVENT_SCHEMA) -> pl.LazyFrame:
    """Select exactly the schema's columns, in order, cast to the pinned types.

    Columns a format does not have are filled with nulls, so each parser only builds
    what its source really carries. An id too large for its pinned integer type (a
    100000 CPU number, an event id above 65535) becomes null rather than failing the
    whole trace: the event and its text are kept.
    """
    present = set(frame.collect_schema().names())
    exprs = [
        (pl.col(name) if name in present else pl.lit(None))
        .cast(dtype, strict=not dtype.is_integer())
        .alias(name)
        for name, dtype in schema.items()
    ]
    return frame.select(exprs)


def truncate_text(expr: pl.Expr) -> pl.Expr:
    """Shorten rejected text so a 100 MB garbage line does not become a 100 MB report."""
    return (
        pl.when(expr.str.len_chars() > REJECT_TEXT_LIMIT)
        .then(expr.str.slice(0, REJECT_TEXT_LIMIT) + pl.lit("…"))
        .otherwise(expr)
    )
