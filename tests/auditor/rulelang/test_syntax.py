from __future__ import annotations

import pytest

from auditor.rulelang.syntax import (
    And,
    Atom,
    Elapsed,
    FormulaError,
    Not,
    Once,
    Or,
    Prev,
    Ref,
    Since,
    parse_duration,
    parse_formula,
)


def test_precedence_not_binds_tighter_than_and_than_or():
    node = parse_formula("!a | b & c")
    assert node == Or(Not(Ref("a", 2)), And(Ref("b", 6), Ref("c", 10)))


def test_kinds_with_dots_and_hyphens_and_value_comparison():
    node = parse_formula("surprise-removal | radio == 'on' & radio.hw != \"off\"")
    assert node == Or(
        Ref("surprise-removal", 1),
        And(Atom("radio", "==", "on"), Atom("radio.hw", "!=", "off")),
    )


def test_temporal_calls_with_within():
    node = parse_formula("since(halt.begin, !init.begin, within='1.5s') & once(x, within='200ms')")
    assert node == And(
        Since(Ref("halt.begin", 7), Not(Ref("init.begin", 20)), 1_500_000_000),
        Once(Ref("x", 54), 200_000_000),
    )
    assert parse_formula("prev(a)") == Prev(Ref("a", 6))


def test_elapsed_comparison():
    assert parse_formula("elapsed(halt.begin) > '30s'") == Elapsed(
        Ref("halt.begin", 9), ">", 30 * 10**9
    )


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("since(a)", "since() takes 2 formula argument(s), got 1", 1),
        ("since(a, b, within='soon')", "'soon' is not a duration", None),
        ("once(a, after='1s')", "once() has no argument 'after'", 9),
        ("frobnicate(a)", "unknown function 'frobnicate'", 1),
        ("a &", "unexpected end of formula", 4),
        ("a & & b", "unexpected '&'", 5),
        ("a $ b", "unexpected character '$'", 3),
        ("radio > 'on'", "a kind compares with == or != only", 7),
        ("elapsed(a)", "must be compared with a duration", None),
        ("elapsed(a) == '1s'", "compare elapsed(...) with <", 12),
        ("", "empty formula", None),
    ],
)
def test_errors_say_what_and_where(text, message, column):
    with pytest.raises(FormulaError) as info:
        parse_formula(text)
    assert message in info.value.message
    if column is not None:
        assert info.value.column == column


def test_durations():
    assert parse_duration("10s") == 10**10
    assert parse_duration("500ms") == 5 * 10**8
    assert parse_duration("2m") == 120 * 10**9
    assert parse_duration("1h") == 3600 * 10**9
    assert parse_duration("7us") == 7000
    with pytest.raises(FormulaError):
        parse_duration("10 parsecs")


def test_parser_does_not_evaluate_python():
    with pytest.raises(FormulaError):
        parse_formula("__import__('os').system('true')")
