from __future__ import annotations

import pytest

from auditor.eventmap import MapSet
from auditor.problems import ConfigError
from auditor.rulelang.syntax import Atom, Not, Since
from auditor.ruleset import PINNED_RULE_IDS, Severity, load_rules, parse_rules

KINDS = MapSet.load().kinds


def test_builtin_pack_has_the_pinned_rules_exactly():
    rules = {r.id: r for r in load_rules(kinds=KINDS).rules if r.id in PINNED_RULE_IDS}
    assert {k: (r.severity, r.on_text) for k, r in rules.items()} == {
        "halt-without-disconnect": (Severity.WARNING, "halt.end"),
        "halt-radio-left-on": (Severity.ERROR, "halt.end"),
        "radio-on-before-initialize": (Severity.ERROR, "radio == 'on'"),
    }
    assert rules["halt-radio-left-on"].when == Since(
        Atom("radio", "==", "on"), Not(Atom("radio", "==", "off"))
    )
    assert rules["halt-without-disconnect"].when_text == (
        "since(halt.begin & connected, !(disconnect | halt.begin))"
    )


def test_user_file_sees_builtin_defines_and_may_shadow_them(tmp_path):
    user = tmp_path / "u.toml"
    user.write_text(
        """
[define]
radio_on = "radio == 'on'"

[[rule]]
id = "uses-builtin-halted"
severity = "info"
on = "radio == 'on'"
when = "halted & radio_on"
""",
        encoding="utf-8",
    )
    rules = {r.id: r for r in load_rules([user], kinds=KINDS).rules}
    when = rules["uses-builtin-halted"].when
    # halted comes from the built-in pack, radio_on from the user's own define
    assert when.left == Since(Atom("halt.begin"), Not(Atom("init.begin")))
    assert when.right == Atom("radio", "==", "on")


def test_every_problem_of_a_file_is_reported_with_its_line(tmp_path):
    text = """[define]
loop_a = "loop_b"
loop_b = "loop_a"

[[rule]]
id = "one"
severity = "fatal"
on = "halt.end"
when = "halt.being"

[[rule]]
id = "two"
severity = "error"
on = "halt.end &"
when = "halt.begin"
colour = "red"
"""
    with pytest.raises(ConfigError) as info:
        parse_rules(text, "bad.toml", kinds=KINDS)
    problems = {(p.line, p.message.split(":")[0]) for p in info.value.problems}
    messages = "\n".join(str(p) for p in info.value.problems)
    assert "define cycle: loop_a -> loop_b -> loop_a" in messages
    assert "bad.toml:7: one: severity must be one of error, warning, info" in messages
    assert "bad.toml:9:9: one: in 'when': unknown kind or define 'halt.being'" in messages
    assert "did you mean 'halt.begin'?" in messages
    assert "bad.toml:14:17: two: in 'on': unexpected end of formula" in messages
    assert "bad.toml:16: unknown key 'colour'" in messages
    assert len(problems) >= 5


def test_invalid_toml_reports_line_and_column():
    with pytest.raises(ConfigError) as info:
        parse_rules("[[rule]]\nid = \n", "broken.toml", kinds=KINDS)
    problem = info.value.problems[0]
    assert (problem.path, problem.line) == ("broken.toml", 2)


def test_duplicate_rule_id_with_builtin_is_an_error(tmp_path):
    user = tmp_path / "dup.toml"
    user.write_text(
        '[[rule]]\nid = "halt-radio-left-on"\nseverity = "info"\non = "halt.end"\nwhen = "radio"\n'
    )
    with pytest.raises(ConfigError, match="already defined"):
        load_rules([user], kinds=KINDS)


def test_value_comparison_on_a_define_is_rejected():
    with pytest.raises(ConfigError, match="is a define"):
        parse_rules(
            '[define]\nd = "radio"\n[[rule]]\nid = "x"\nseverity = "info"\non = "d == \'on\'"\nwhen = "d"\n',
            "f.toml",
            kinds=KINDS,
        )


def test_select_and_ignore():
    pack = load_rules(kinds=KINDS)
    kept = [r.id for r in pack.select(ignore=["halt-without-disconnect"]).rules]
    assert kept == [r.id for r in pack.rules if r.id != "halt-without-disconnect"]
    assert [r.id for r in pack.select(select=PINNED_RULE_IDS).rules] == list(PINNED_RULE_IDS)
    assert [r.id for r in pack.select(select=["halt-radio-left-on"]).rules] == [
        "halt-radio-left-on"
    ]
    with pytest.raises(ConfigError, match="unknown rule id 'nope'"):
        pack.select(select=["nope"])


def test_hostile_nesting_is_a_clear_error_not_a_crash():
    deep_not = (
        '[[rule]]\nid = "x"\nseverity = "info"\non = "halt.end"\nwhen = "'
        + "!" * 10000
        + 'halt.begin"\n'
    )
    with pytest.raises(ConfigError, match="nested more than 64 levels deep"):
        parse_rules(deep_not, "deep.toml", kinds=KINDS)
    parens = (
        '[[rule]]\nid = "x"\nseverity = "info"\non = "halt.end"\nwhen = "'
        + "(" * 5000
        + "halt.begin"
        + ")" * 5000
        + '"\n'
    )
    (rule,) = parse_rules(parens, "parens.toml", kinds=KINDS).rules
    assert rule.when == Atom("halt.begin")
    chain = '[define]\nd0 = "halt.begin"\n' + "".join(
        f'd{i} = "!d{i - 1}"\n' for i in range(1, 500)
    )
    with pytest.raises(ConfigError) as info:
        parse_rules(chain, "chain.toml", kinds=KINDS)
    assert all("levels deep" in p.message for p in info.value.problems)
    assert info.value.problems[0].line == 66  # d64 is the first define nested too deeply


@pytest.mark.parametrize(
    ("text", "ns"),
    [("9007199270076415ns", 9007199270076415), ("1.5m", 90 * 10**9), ("0.1ms", 100_000)],
)
def test_durations_are_exact(text: str, ns: int) -> None:
    from auditor.rulelang.syntax import parse_duration

    assert parse_duration(text) == ns


def test_a_duration_beyond_any_trace_is_an_error_with_its_line() -> None:
    text = (
        '[[rule]]\nid = "x"\nseverity = "info"\non = "halt.end"\n'
        "when = \"once(radio, within='999999999999999999999999999999h')\"\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_rules(text, "long.toml", kinds=KINDS)
    (problem,) = caught.value.problems
    assert (problem.path, problem.line) == ("long.toml", 5)
    assert "longer than any trace can be" in problem.message
