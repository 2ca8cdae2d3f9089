"""State tables in rule files ([machine.NAME]): loading, errors, and what they compute."""

from __future__ import annotations

import polars as pl
import pytest

from auditor.pipeline import Auditor
from auditor.problems import ConfigError
from auditor.ruleset import RuleSet, parse_rules
from auditor.scenario import evaluate_scenario
from auditor.vocabulary import MAPPABLE, Kind

KINDS = MAPPABLE | {Kind.TRACE_END.value}

DOOR = """
[machine.door]
states = ["Closed", "Open", "Locked"]
transitions = [
  { on = "init.begin",  from = ["Closed"],           to = "Open" },
  { on = "init.end",    from = ["Open"],             to = "Closed" },
  { on = "halt.begin",  from = ["Closed"],           to = "Locked" },
  { on = "radio",       from = ["Open", "Closed"] },
]

[[rule]]
id = "door-invalid"
severity = "error"
on = "door.transition"
when = "door.invalid"

[[rule]]
id = "send-while-locked"
severity = "error"
on = "send"
when = "door == 'Locked'"

[[rule]]
id = "send-not-open"
severity = "warning"
on = "send"
when = "door != 'Open'"
"""


def run(text: str, scenario: str) -> pl.DataFrame:
    rules = parse_rules(text, "door.toml", kinds=KINDS).rules
    findings = evaluate_scenario(scenario, RuleSet(tuple(rules)), KINDS).findings
    return findings


def fired(findings: pl.DataFrame, rule: str) -> list[int]:
    return findings.filter(pl.col("rule") == rule).get_column("line").to_list()


def test_state_is_unknown_until_the_first_moving_row() -> None:
    # halt.begin first: the state before it is unknown, so it is not judged; then Locked.
    found = run(DOOR, "0s send; 1s halt.begin; 2s send; 3s init.begin")
    assert fired(found, "send-while-locked") == [3]
    assert fired(found, "send-not-open") == [3]  # unknown is neither == nor != a state
    assert fired(found, "door-invalid") == [4]  # init.begin from Locked


def test_invalid_transition_still_moves_and_rows_without_target_only_check() -> None:
    found = run(DOOR, "0s init.begin; 1s halt.begin; 2s send; 3s radio=on; 4s init.end=ok")
    # halt.begin from Open is invalid, yet the door is Locked after it (the handler ran)
    assert fired(found, "door-invalid") == [2, 4, 5]
    assert fired(found, "send-while-locked") == [3]
    # radio (a checking row) did not change the state: init.end is judged from Locked
    invalid = found.filter(pl.col("rule") == "door-invalid").sort("line")
    evidence = invalid.get_column("evidence").to_list()
    # the witness of each invalid transition is the event that set the state before it
    assert [[(e["line"], e["role"]) for e in ev] for ev in evidence] == [
        [(1, "witness"), (2, "anchor")],
        [(2, "witness"), (4, "anchor")],
        [(2, "witness"), (5, "anchor")],
    ]


def test_first_matching_row_decides_and_adapters_are_separate() -> None:
    text = DOOR.replace(
        '{ on = "init.end",    from = ["Open"],             to = "Closed" },',
        '{ on = "init.end == \'fail\'", from = ["Open"], to = "Locked" },\n'
        '  { on = "init.end",    from = ["Open"],             to = "Closed" },',
    )
    found = run(
        text,
        "0s init.begin A; 0s init.begin B; 1s init.end=fail A; 1s init.end=ok B; 2s send A; 2s send B",
    )
    assert found.filter(pl.col("rule") == "send-while-locked").select("adapter", "line").rows() == [
        ("A", 5)
    ]


def test_initial_state_is_used_before_any_transition() -> None:
    text = DOOR.replace(
        'states = ["Closed", "Open", "Locked"]',
        'states = ["Closed", "Open", "Locked"]\ninitial = "Locked"',
    )
    found = run(text, "0s send; 1s init.begin")
    assert fired(found, "send-while-locked") == [1]
    assert fired(found, "door-invalid") == [2]


@pytest.mark.parametrize(
    ("broken", "message", "line"),
    [
        ('to = "Open" },', "from/to must name states of this machine (got 'Ajar')", 5),
        ('states = ["Closed", "Open", "Locked"]', "states must be a non-empty list", 3),
        ('{ on = "init.begin",', "in 'on': unknown kind or define 'init.bgin'", 5),
        ('when = "door.invalid"', "unknown kind or define 'door.invlid'", 15),
        ("when = \"door == 'Locked'\"", "'door' has no state 'Lockd'", 21),
    ],
)
def test_mistakes_name_file_and_line(broken: str, message: str, line: int) -> None:
    replacements = {
        'to = "Open" },': 'to = "Ajar" },',
        'states = ["Closed", "Open", "Locked"]': "states = []",
        '{ on = "init.begin",': '{ on = "init.bgin",',
        'when = "door.invalid"': 'when = "door.invlid"',
        "when = \"door == 'Locked'\"": "when = \"door == 'Lockd'\"",
    }
    text = DOOR.replace(broken, replacements[broken], 1)
    with pytest.raises(ConfigError) as caught:
        parse_rules(text, "door.toml", kinds=KINDS)
    problems = [(p.path, p.line, p.message) for p in caught.value.problems]
    assert any(
        path == "door.toml" and got_line == line and message in text_
        for path, got_line, text_ in problems
    ), problems


def test_a_machine_alone_is_not_a_formula() -> None:
    text = DOOR.replace('when = "door.invalid"', 'when = "door"')
    with pytest.raises(ConfigError, match="is a state machine: compare it with a state"):
        parse_rules(text, "door.toml", kinds=KINDS)


def test_builtin_ndis_table_judges_a_full_cycle_and_a_halt_from_running() -> None:
    auditor = Auditor.load(select=["ndis-invalid-transition", "datapath-while-not-running"])
    clean = (
        "0s init.begin; 1s init.end=ok; 2s restart.begin; 3s restart.end=ok; 4s send;"
        "5s pause.begin; 6s receive; 7s pause.end; 8s halt.begin; 9s halt.end;"
        "10s init.begin; 11s init.end=ok"
    )
    assert evaluate_scenario(clean, auditor.rules, auditor.maps.kinds).findings.is_empty()
    bad = "0s restart.end=ok; 1s halt.begin; 2s send; 3s halt.end"
    found = evaluate_scenario(bad, auditor.rules, auditor.maps.kinds).findings
    assert found.select("rule", "line").rows() == [
        ("ndis-invalid-transition", 2),
        ("datapath-while-not-running", 3),
    ]
