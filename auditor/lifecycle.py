"""From classified events to per-adapter timelines: attribution and ordering.

Many lifecycle lines (an AutoConfig state change, a bare ``---> MPHaltEx``) name no
adapter. They are attributed as the design brief says: to the only adapter if the
trace names one; otherwise to the last adapter seen on the same (pid, tid); otherwise
they stay unattributed, are counted, and take no part in the rules. A trace that names
no adapter at all is one implicit timeline (adapter null). Trace-wide events (the
logger's lost-event records) concern every adapter, so one without an adapter joins
each adapter's timeline.
"""

from __future__ import annotations

import polars as pl

from auditor.vocabulary import Kind

ORDER = ["trace", "__tsk", "seq"]
TRACE_WIDE = (Kind.TRACE_LOST.value,)


def sort_key() -> pl.Expr:
    """Event time for ordering: debugger-stamped events (null ts) keep their source slot."""
    return pl.col("ts").cast(pl.Int64).forward_fill().backward_fill().over("trace", order_by="seq")


def attribute(classified: pl.DataFrame) -> pl.DataFrame:
    """Fill ``adapter`` where it can be inferred; add ``adapter_inferred`` and ``unattributed``."""
    frame = classified.with_columns(
        pl.when(pl.col("adapter").str.strip_chars() == "")
        .then(None)
        .otherwise(pl.col("adapter"))
        .alias("adapter"),
        sort_key().alias("__tsk"),
    ).sort(ORDER)
    named = pl.col("adapter").drop_nulls()
    frame = frame.with_columns(
        named.n_unique().over("trace").alias("__named"),
        named.first().over("trace").alias("__only"),
        pl.col("adapter").forward_fill().over(["trace", "pid", "tid"]).alias("__by_thread"),
    )
    by_thread = (
        pl.when(pl.col("pid").is_not_null() & pl.col("tid").is_not_null())
        .then(pl.col("__by_thread"))
        .otherwise(None)
    )
    filled = pl.coalesce(
        pl.col("adapter"),
        pl.when(pl.col("__named") == 1).then(pl.col("__only")).otherwise(by_thread),
    )
    # A trace-wide event without an adapter, in a trace with several, is copied onto
    # every adapter of its trace (few rows: only those are joined and exploded).
    spread = (
        pl.col("adapter").is_null() & pl.col("kind").is_in(TRACE_WIDE) & (pl.col("__named") > 1)
    )
    frame = frame.with_columns(
        pl.when(spread).then(None).otherwise(filled).alias("__filled"), spread.alias("__spread")
    )
    wide = frame.filter(pl.col("__spread"))
    if wide.height:
        every = frame.group_by("trace").agg(named.unique().alias("__filled"))
        copies = wide.drop("__filled").join(every, on="trace").explode("__filled")
        frame = pl.concat([frame.filter(~pl.col("__spread")), copies.select(frame.columns)]).sort(
            [*ORDER, "__filled"], nulls_last=False
        )
    filled = pl.col("__filled")
    return frame.with_columns(
        filled.alias("adapter"),
        (pl.col("adapter").is_null() & filled.is_not_null()).alias("adapter_inferred"),
        (filled.is_null() & (pl.col("__named") > 1)).alias("unattributed"),
    ).drop("__named", "__only", "__by_thread", "__filled", "__spread")


def attributed_only(attributed: pl.DataFrame) -> pl.DataFrame:
    """The events that take part in the rules: those :func:`attribute` gave an adapter.

    Usually that is every one, and then the frame itself comes back: a filter would copy
    every column of millions of rows for nothing.
    """
    unattributed = attributed.get_column("unattributed")
    return attributed.filter(~unattributed) if unattributed.any() else attributed
