"""Checks every parser test shares: the accounting and schema contract of a ParsedTrace."""

from __future__ import annotations

import codecs
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from parsers import EVENT_SCHEMA, REJECT_SCHEMA, ParsedTrace, TraceReadError, read_trace

# Every canonical column but the trace label, for comparing whole events.
ALL = tuple(name for name in EVENT_SCHEMA if name != "trace")

HOSTILE_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def check_trace(trace: ParsedTrace) -> None:
    """Every line accounted for once, events in order, both tables in the pinned schemas."""
    acc = trace.accounting
    assert acc.balanced, acc
    assert min(acc.as_dict().values()) >= 0
    events = trace.events.collect()
    assert dict(events.schema) == EVENT_SCHEMA
    assert dict(trace.rejects.schema) == REJECT_SCHEMA
    assert events.height == acc.events
    assert trace.rejects.height == acc.rejected
    assert events.get_column("seq").to_list() == list(range(events.height))
    event_lines = events.get_column("line").to_list()
    reject_lines = trace.rejects.get_column("line").to_list()
    assert event_lines == sorted(set(event_lines))
    assert not set(event_lines) & set(reject_lines)
    assert all(1 <= n <= acc.lines for n in event_lines + reject_lines)
    assert trace.rejects.get_column("reason").null_count() == 0


def rows(trace: ParsedTrace, *cols: str) -> list[tuple]:
    """Event columns as tuples, timestamps as integer nanoseconds (exact to the digit)."""
    frame = trace.events.collect().with_columns(pl.col("ts").dt.epoch("ns"))
    return frame.select(cols).rows()


def hostile_bytes(fragments: list[bytes]) -> st.SearchStrategy[bytes]:
    """Pieces of a format's own syntax mixed with random bytes."""
    return st.lists(st.sampled_from(fragments) | st.binary(max_size=16), max_size=30).map(b"".join)


def read_or_refused(path: Path, data: bytes, *, utf16: bool, fmt: str | None) -> None:
    """Arbitrary bytes give a clear TraceReadError naming the file, or a sound trace."""
    if utf16:
        data = codecs.BOM_UTF16_LE + data.decode("utf-8", errors="replace").encode("utf-16-le")
    path.write_bytes(data)
    try:
        trace = read_trace(path, format=fmt)
    except TraceReadError as err:
        assert err.path == str(path)
        return
    check_trace(trace)
