"""The columnar engine against a direct, loop-based reading of the formula semantics."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor import engine
from auditor.eventmap import MapSet
from auditor.lifecycle import attribute
from auditor.rulelang.syntax import And, Atom, Elapsed, Node, Not, Once, Or, Prev, Since
from auditor.ruleset import load_rules, parse_rules
from tests.auditor.conftest import timeline

KINDS = frozenset(MapSet.load().kinds)


def prepared(rows, trace="t.txt"):
    return engine.prepare(attribute(timeline(rows, trace)))


def truth(frame: pl.DataFrame, node: Node) -> list[bool]:
    compiler = engine.Compiler("x")
    value = compiler.expr(node).alias("v")
    return compiler.stage(frame.lazy()).select(value).collect().get_column("v").to_list()


# ---- a reference evaluator: the definitions, written as loops -----------------------


def ref_eval(node: Node, events: list[dict], i: int) -> bool:
    ev = events[i]
    match node:
        case Atom(kind, None, _):
            return ev["kind"] == kind
        case Atom(kind, "==", value):
            return ev["kind"] == kind and ev["value"] == value
        case Atom(kind, "!=", value):
            return ev["kind"] == kind and ev["value"] != value
        case Not(x):
            return not ref_eval(x, events, i)
        case And(a, b):
            return ref_eval(a, events, i) and ref_eval(b, events, i)
        case Or(a, b):
            return ref_eval(a, events, i) or ref_eval(b, events, i)
        case Prev(p):
            return i > 0 and ref_eval(p, events, i - 1)
        case Once(p, within):
            return any(
                ref_eval(p, events, j) and (within is None or ev["t"] - events[j]["t"] <= within)
                for j in range(i + 1)
            )
        case Since(p, q, within):
            for j in range(i, -1, -1):
                if ref_eval(p, events, j):
                    return within is None or ev["t"] - events[j]["t"] <= within
                if not ref_eval(q, events, j):
                    return False
            return False
        case Elapsed(p, op, d):
            for j in range(i, -1, -1):
                if ref_eval(p, events, j):
                    age = ev["t"] - events[j]["t"]
                    return {">": age > d, ">=": age >= d, "<": age < d, "<=": age <= d}[op]
            return False
    raise AssertionError(node)


atoms = st.sampled_from(
    [
        Atom("halt.begin"),
        Atom("init.begin"),
        Atom("radio", "==", "on"),
        Atom("radio", "==", "off"),
        Atom("radio", "!=", "on"),
        Atom("disassoc"),
    ]
)
durations = st.sampled_from([None, 1_000_000_000, 2_500_000_000])


def formulas():
    return st.recursive(
        atoms,
        lambda sub: st.one_of(
            st.builds(Not, sub),
            st.builds(And, sub, sub),
            st.builds(Or, sub, sub),
            st.builds(Prev, sub),
            st.builds(Once, sub, durations),
            st.builds(Since, sub, sub, durations),
            st.builds(Elapsed, sub, st.sampled_from([">", "<="]), st.sampled_from([1_000_000_000])),
        ),
        max_leaves=6,
    )


events_st = st.lists(
    st.tuples(
        st.sampled_from(["halt.begin", "init.begin", "radio", "disassoc", "halt.end"]),
        st.sampled_from(["on", "off", None]),
        st.sampled_from(["A", "B"]),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(events_st, formulas())
def test_engine_matches_reference_semantics_per_adapter(raw, formula):
    rows, t = [], 0
    for kind, value, adapter, step in raw:
        t += step
        rows.append((kind, value if kind == "radio" else None, adapter, float(t)))
    frame = prepared(rows)
    got = truth(frame, formula)
    events = [
        {"kind": k, "value": v, "t": int(ts.timestamp() * 1e9) if ts else None}
        for k, v, ts in frame.select("kind", "value", "ts").iter_rows()
    ]
    groups = frame.get_column("adapter").to_list()
    for i in range(frame.height):
        start = groups.index(groups[i])
        local = events[start : i + 1]
        assert got[i] == ref_eval(formula, local, len(local) - 1), (i, formula)


def test_since_holds_at_the_witness_even_when_q_fails_there():
    frame = prepared([("radio", "on", "A"), ("radio", "off", "A")])
    # p and not-q at the same event: since(p, q) holds there (q only needed after p)
    node = Since(Atom("radio", "==", "on"), Not(Atom("radio")))
    assert truth(frame, node)[:2] == [True, False]


def test_temporal_operators_do_not_leak_across_adapters():
    frame = prepared([("halt.begin", None, "A"), ("radio", "on", "B")])
    b_rows = frame.filter(pl.col("adapter") == "B")
    assert truth(b_rows, Once(Atom("halt.begin"))) == [False, False]


def test_trace_end_row_per_adapter_after_its_last_event():
    frame = prepared([("halt.begin", None, "A"), ("radio", "on", "B", 5.0)])
    ends = frame.filter(pl.col("kind") == "trace.end")
    assert sorted(ends.get_column("adapter").to_list()) == ["A", "B"]
    # anchored at the end of the whole trace, not of the adapter's own events
    assert ends.get_column("ts").n_unique() == 1
    assert ends.get_column("line").null_count() == 2


def _rules():
    return load_rules(kinds=KINDS)


def _run(rows, rule_id):
    frame = prepared(rows)
    found = engine.evaluate(frame, _rules().select([rule_id]))
    return found


def test_halt_radio_left_on_fires_with_witness_and_anchor_evidence():
    result = _run(
        [("radio", "on", "A"), ("halt.begin", None, "A"), ("halt.end", None, "A")],
        "halt-radio-left-on",
    )
    assert result.findings.select("rule", "adapter", "line").rows() == [
        ("halt-radio-left-on", "A", 3)
    ]
    evidence = result.findings.get_column("evidence").to_list()[0]
    assert [(e["line"], e["role"]) for e in evidence] == [(1, "witness"), (3, "anchor")]


def test_halt_radio_left_on_not_evaluable_without_any_radio_event():
    result = _run([("halt.begin", None, "A"), ("halt.end", None, "A")], "halt-radio-left-on")
    assert result.findings.is_empty()
    assert result.not_evaluable.select("adapter", "rule").rows() == [("A", "halt-radio-left-on")]


def test_not_evaluable_only_where_the_rule_had_an_anchor():
    rows = [("radio", "off", "A"), ("halt.end", None, "A"), ("disassoc", None, "B")]
    result = _run(rows, "halt-radio-left-on")
    assert result.not_evaluable.is_empty()


def test_nested_since_witnesses_are_all_evidence():
    rows = [
        ("halt.begin", None, "A"),
        ("radio", "off", "A"),
        ("halt.end", None, "A"),
        ("radio", "on", "A"),
    ]
    result = _run(rows, "radio-on-before-initialize")
    evidence = result.findings.get_column("evidence").to_list()[0]
    assert [e["line"] for e in evidence] == [1, 2, 4]


def test_evidence_timestamps_keep_nanoseconds():
    rows = timeline([("radio", "on", "A"), ("halt.end", None, "A")])
    exact = pl.Series([1_749_211_200_000_000_123, 1_749_211_201_000_000_456]).cast(rows["ts"].dtype)
    frame = engine.prepare(attribute(rows.with_columns(ts=exact)))
    result = engine.evaluate(frame, _rules().select(["halt-radio-left-on"]))
    ts = result.findings.select(pl.col("ts").dt.nanosecond()).item()
    assert ts == 456
    evidence = result.findings.select(
        pl.col("evidence").list.first().struct.field("ts").dt.nanosecond()
    )
    assert evidence.item() == 123


def test_user_rule_with_message_template_and_or_evidence():
    text = """
[[rule]]
id = "radio-on-after-disassoc"
severity = "info"
title = "t"
message = "radio on for $adapter"
on = "radio == 'on'"
when = "once(disassoc) | once(halt.begin)"
"""
    rules = parse_rules(text, "user.toml", kinds=KINDS).rules
    frame = prepared([("disassoc", None, "A"), ("radio", "on", "A")])
    from auditor.ruleset import RuleSet

    result = engine.evaluate(frame, RuleSet(tuple(rules)))
    row = result.findings.row(0, named=True)
    assert row["message"] == "radio on for A"
    assert [e["line"] for e in row["evidence"]] == [1, 2]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["t1", "t2", None]),
            st.sampled_from(["A1", "B", "a1", "", None]),
            st.one_of(st.none(), st.integers(-3, 3)),
            st.integers(0, 5),
        ),
        max_size=40,
    )
)
def test_timeline_order_is_the_four_key_sort(rows):
    """prepare orders rows by time, then by one integer per (trace, adapter): the result
    must be the plain sort by (trace, adapter, __tsk, seq), nulls first, ties included."""
    frame = pl.DataFrame(
        rows,
        schema={"trace": pl.String, "adapter": pl.String, "__tsk": pl.Int64, "seq": pl.UInt64},
        orient="row",
    ).with_row_index("__row")
    expected = frame.sort(
        ["trace", "adapter", "__tsk", "seq"], nulls_last=False, maintain_order=True
    )
    assert frame[engine._timeline_order(frame)].equals(expected)
