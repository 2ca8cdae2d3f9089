"""Helpers to build lifecycle timelines without going through a parser."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from parsers.schema import TS_DTYPE

BASE = dt.datetime(2025, 6, 6, 12, 0, 0, tzinfo=dt.UTC)


def timeline(rows: list[tuple], trace: str = "t.txt") -> pl.DataFrame:
    """rows: (kind, value, adapter[, seconds]) in source order -> classified events."""
    records = []
    for seq, row in enumerate(rows):
        kind, value, adapter = row[:3]
        seconds = row[3] if len(row) > 3 else float(seq)
        records.append(
            {
                "trace": trace,
                "seq": seq,
                "line": seq + 1,
                "ts": BASE + dt.timedelta(seconds=seconds),
                "provider": "drv",
                "event": None,
                "event_id": None,
                "level": None,
                "pid": 4,
                "tid": 16,
                "cpu": 0,
                "message": f"{kind} {value or ''}".strip(),
                "kind": kind,
                "value": value,
                "adapter": adapter,
            }
        )
    schema = {
        "trace": pl.String,
        "seq": pl.UInt64,
        "line": pl.UInt32,
        "ts": TS_DTYPE,
        "provider": pl.String,
        "event": pl.String,
        "event_id": pl.UInt16,
        "level": pl.String,
        "pid": pl.UInt32,
        "tid": pl.UInt32,
        "cpu": pl.UInt16,
        "message": pl.String,
        "kind": pl.String,
        "value": pl.String,
        "adapter": pl.String,
    }
    return pl.DataFrame(records, schema=schema)


@pytest.fixture
def make_timeline():
    return timeline
