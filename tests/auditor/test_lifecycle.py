from __future__ import annotations

import polars as pl

from auditor.lifecycle import attribute, attributed_only
from tests.auditor.conftest import timeline


def test_single_named_adapter_takes_unnamed_events():
    out = attribute(
        timeline([("halt.begin", None, None), ("radio", "off", "A1"), ("halt.end", None, None)])
    )
    assert out.select("adapter", "adapter_inferred", "unattributed").rows() == [
        ("A1", True, False),
        ("A1", False, False),
        ("A1", True, False),
    ]


def test_no_adapter_named_at_all_is_one_implicit_timeline():
    out = attribute(timeline([("halt.begin", None, None), ("halt.end", None, None)]))
    assert out.select("adapter", "unattributed").rows() == [(None, False), (None, False)]


def test_several_adapters_use_the_last_one_seen_on_the_same_thread():
    frame = timeline([("radio", "on", "A"), ("radio", "on", "B"), ("halt.begin", None, None)])
    frame = frame.with_columns(pl.Series("tid", [1, 2, 2], dtype=pl.UInt32))
    out = attribute(frame)
    assert out.select("adapter", "adapter_inferred").rows()[-1] == ("B", True)


def test_unattributable_events_are_flagged_not_guessed():
    frame = timeline([("radio", "on", "A"), ("radio", "on", "B"), ("halt.begin", None, None)])
    frame = frame.with_columns(pl.Series("tid", [16, 16, 99], dtype=pl.UInt32))
    out = attribute(frame)
    last = out.filter(out["seq"] == 2)
    assert last.select("adapter", "unattributed").rows() == [(None, True)]


def test_attributed_only_drops_unattributed_events_and_copies_nothing_otherwise():

    every = pl.DataFrame({"adapter": ["A", "B"], "unattributed": [False, False]})
    assert attributed_only(every) is every  # no copy of millions of rows for nothing
    some = pl.DataFrame({"adapter": ["A", None], "unattributed": [False, True]})
    assert attributed_only(some).get_column("adapter").to_list() == ["A"]
