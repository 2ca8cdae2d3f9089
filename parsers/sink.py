"""Write the canonical events of traces to one Parquet or Arrow IPC file, streaming.

Each trace is decoded chunk by chunk (:func:`parsers.stream_trace`) and its events go
straight to a file through polars' streaming sink, so memory stays bounded by the chunk
size, not the trace size. Rejected lines are few (each truncated) and kept in memory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from polars.io.plugins import register_io_source

from parsers import EVENT_SCHEMA, REJECT_SCHEMA, StreamedTrace, StreamRestart, TraceReadError
from parsers.clock import ClockJumps, ClockJumpTracker
from parsers.parallel import ordered_map
from parsers.query import collect

# Parquet compression for written events: zstd, polars' default, at its default level.
PARQUET_COMPRESSION = "zstd"


# A query applied to each trace's events on their way to the file.
Transform = Callable[[pl.LazyFrame], pl.LazyFrame]
# Told of a trace being written and how many of its lines have been read so far.
Progress = Callable[[StreamedTrace, int], None]


@dataclass(frozen=True)
class Written:
    events: int
    rejects: pl.DataFrame
    failed: int


def write_events(
    traces: Sequence[StreamedTrace],
    events_path: Path,
    *,
    ipc: bool = False,
    done: Callable[[StreamedTrace, ClockJumps], None] = lambda trace, jumps: None,
    failed: Callable[[TraceReadError], None] = lambda error: None,
    transform: Transform | None = None,
    progress: Progress | None = None,
) -> Written:
    """Write every readable trace's events to ``events_path``, in trace order.

    ``done`` is told of each trace written (its accounting is complete then), ``failed`` of
    each that could not be read; the others are still written. ``transform`` (e.g. the
    maps' classification) is applied to the events on their way out, and
    ``Written.events`` counts the rows written. ``progress`` hears of each chunk read,
    from the thread that reads it: a 10 GB trace takes a while.
    """
    rejects: list[pl.DataFrame] = []
    parts: list[Path] = []
    n_events = n_failed = 0
    work = Path(tempfile.mkdtemp(prefix=".parse-", dir=events_path.parent))
    try:
        for i, trace in enumerate(traces):
            part = work / f"{i}.part"
            try:
                jumps, count = _write_one(trace, part, ipc, transform, progress)
            except TraceReadError as exc:
                part.unlink(missing_ok=True)
                n_failed += 1
                failed(exc)
                continue
            parts.append(part)
            n_events += count
            if trace.rejects.height:
                rejects.append(trace.rejects)
            done(trace, jumps)
        _combine(parts, events_path, ipc, transform)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rejected = pl.concat(rejects) if rejects else pl.DataFrame(schema=REJECT_SCHEMA)
    return Written(n_events, rejected, n_failed)


def _write_one(
    trace: StreamedTrace,
    part: Path,
    ipc: bool,
    transform: Transform | None,
    progress: Progress | None,
) -> tuple[ClockJumps, int]:
    while True:
        counted = _Counted(trace, transform, progress)
        try:
            _sink(register_io_source(counted.batches, schema=counted.schema), part, ipc)
        except StreamRestart:
            continue  # the file was not UTF-8 after all: read it again, whole
        return counted.jumps.result, counted.events


# Decoded events gathered before ``transform`` runs on them: a query with many regexes
# (the maps' classification) costs mostly per call, so it runs on few, big batches. Inside
# polars' streaming sink it would run once per small morsel and cost several times more.
TRANSFORM_BATCH_ROWS = 50_000


class _Counted:
    """A trace's event pieces as polars batches, with the clock-jump check and a count."""

    def __init__(
        self, trace: StreamedTrace, transform: Transform | None, progress: Progress | None
    ) -> None:
        self.trace = trace
        self.transform = transform
        self.progress = progress
        self.lines = 0
        self.jumps = ClockJumpTracker()
        self.events = 0
        empty = pl.LazyFrame(schema=EVENT_SCHEMA)
        self.schema = (transform(empty) if transform else empty).collect_schema()

    def batches(self, *_: object) -> Iterator[pl.DataFrame]:
        if self.transform is None:
            for events in self._decoded():
                self.events += events.height
                yield events
            return
        # Each batch is transformed on a worker thread while the next ones are decoded.
        for out in ordered_map(self._transformed, self._batched()):
            self.events += out.height
            yield out

    def _decoded(self) -> Iterator[pl.DataFrame]:
        for piece in self.trace.pieces():
            self.jumps.update(piece.events)
            if self.progress is not None:
                self.lines += piece.accounting.lines
                self.progress(self.trace, self.lines)
            yield piece.events

    def _batched(self) -> Iterator[pl.DataFrame]:
        held: list[pl.DataFrame] = []
        n_held = 0
        for events in self._decoded():
            held.append(events)
            n_held += events.height
            if n_held >= TRANSFORM_BATCH_ROWS:
                yield pl.concat(held)
                held, n_held = [], 0
        if held:
            yield pl.concat(held)

    def _transformed(self, events: pl.DataFrame) -> pl.DataFrame:
        assert self.transform is not None
        return collect(self.transform(events.lazy()))


def _sink(frame: pl.LazyFrame, path: Path, ipc: bool) -> None:
    if ipc:
        frame.sink_ipc(path)
    else:
        frame.sink_parquet(path, compression=PARQUET_COMPRESSION)


def _combine(parts: list[Path], target: Path, ipc: bool, transform: Transform | None) -> None:
    if len(parts) == 1:
        os.replace(parts[0], target)
        return
    if not parts:
        empty = pl.DataFrame(schema=EVENT_SCHEMA)
        if transform is not None:
            empty = collect(transform(empty.lazy()))
        if ipc:
            empty.write_ipc(target)
        else:
            empty.write_parquet(target, compression=PARQUET_COMPRESSION)
        return
    scan = pl.scan_ipc if ipc else pl.scan_parquet
    frame = scan([str(p) for p in parts])
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    _sink(frame, target, ipc)
