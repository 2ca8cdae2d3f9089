"""Clock jumps backwards within one trace.

Multi-CPU ETW buffers are flushed out of order, so small steps back in source order are
normal and the auditor orders events by (ts, seq). A large step back is different: a
clock change, a resumed VM, or two traces pasted together. Findings around it may be
ordered wrongly, so it is reported on the trace rather than silently sorted away.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

DEFAULT_THRESHOLD_NS = 1_000_000_000


@dataclass(frozen=True)
class ClockJumps:
    count: int = 0
    largest_ns: int = 0
    first_line: int | None = None


def clock_jumps(events: pl.DataFrame, threshold_ns: int = DEFAULT_THRESHOLD_NS) -> ClockJumps:
    """Events whose time is more than ``threshold_ns`` before the latest time seen so far."""
    if events.is_empty():
        return ClockJumps()
    ns = pl.col("ts").cast(pl.Int64)
    drops = (
        events.sort("seq")
        .select(pl.col("line"), (ns.cum_max().forward_fill() - ns).alias("drop"))
        .filter(pl.col("drop") > threshold_ns)
    )
    if drops.is_empty():
        return ClockJumps()
    return ClockJumps(
        count=drops.height,
        largest_ns=int(drops.get_column("drop").max()),  # type: ignore[arg-type]
        first_line=drops.get_column("line")[0],
    )


class ClockJumpTracker:
    """:func:`clock_jumps` over a trace that arrives in pieces, in ``seq`` order."""

    def __init__(self, threshold_ns: int = DEFAULT_THRESHOLD_NS) -> None:
        self.threshold_ns = threshold_ns
        self._latest: int | None = None
        self.result = ClockJumps()

    def update(self, events: pl.DataFrame) -> None:
        if events.is_empty():
            return
        ns = pl.col("ts").cast(pl.Int64)
        latest = ns.cum_max().forward_fill()
        if self._latest is not None:
            latest = pl.max_horizontal(latest, pl.lit(self._latest, dtype=pl.Int64))
        steps = events.select(pl.col("line"), latest.alias("latest"), (latest - ns).alias("drop"))
        last = steps.get_column("latest").drop_nulls().tail(1).to_list()
        if last:
            self._latest = last[0]
        drops = steps.filter(pl.col("drop") > self.threshold_ns)
        if drops.is_empty():
            return
        before = self.result
        self.result = ClockJumps(
            count=before.count + drops.height,
            largest_ns=max(before.largest_ns, int(drops.get_column("drop").max())),  # type: ignore[arg-type]
            first_line=before.first_line
            if before.first_line is not None
            else drops.get_column("line")[0],
        )
