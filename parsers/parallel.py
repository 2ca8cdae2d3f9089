"""Decode the chunks of a streamed trace on every core, in source order.

polars releases the GIL while it runs a query, so decoding chunk k+1 in a worker thread
overlaps decoding chunk k in another, and both overlap the reader and the writer. Work
that needs what came before (``seq`` continuing, a message wrapped across a chunk
boundary) stays with the caller, which receives the results strictly in order.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import polars as pl

In = TypeVar("In")
Out = TypeVar("Out")


def decode_workers() -> int:
    """One worker per thread polars may use: the work is CPU-bound, and a batch run that
    gives each worker process one polars thread (POLARS_MAX_THREADS) gets one here too."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        cores = os.cpu_count() or 1
    return max(1, min(cores, pl.thread_pool_size()))


def ordered_map(
    work: Callable[[In], Out], items: Iterable[In], *, workers: int | None = None
) -> Iterator[Out]:
    """``map(work, items)`` run ``workers`` at a time, yielding in the order of ``items``.

    At most ``workers + 1`` items are in flight, so memory stays bounded by a few chunks
    however long the input. With one worker nothing is threaded: results are computed
    as they are asked for. An exception from ``work`` is raised where its result is due.
    """
    workers = workers or decode_workers()
    if workers == 1:
        yield from map(work, items)
        return
    source = iter(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
        pending: deque[Future[Out]] = deque()
        try:
            for item in source:
                pending.append(pool.submit(work, item))
                if len(pending) > workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
