"""`trace-audit rules explain`: formula, needed kinds, state table, and examples run."""

from __future__ import annotations

import subprocess
import sys

from auditor.explain import explain_rule, needed_kinds
from auditor.pipeline import Auditor


def test_examples_are_run_and_the_finding_is_marked() -> None:
    auditor = Auditor.load()
    rule = next(r for r in auditor.rules.rules if r.id == "halt-radio-left-on")
    text = explain_rule(rule, auditor.rules, auditor.maps.kinds)
    fires = text.split("fires on:")[1].split("passes on:")[0]
    assert "2s halt.end   <- finding" in fires
    assert "<- finding" not in fires.replace("2s halt.end   <- finding", "")
    assert text.split("passes on:")[1].rstrip().endswith("no finding")
    assert "needs:    halt.end, radio (kinds a map must produce)" in text


def test_finding_at_the_end_of_the_trace_is_shown_as_such() -> None:
    auditor = Auditor.load()
    rule = next(r for r in auditor.rules.rules if r.id == "lifecycle-incomplete")
    text = explain_rule(rule, auditor.rules, auditor.maps.kinds)
    assert "(end of trace)   <- finding" in text.split("passes on:")[0]


def test_state_table_and_its_kinds_are_shown_for_machine_rules() -> None:
    auditor = Auditor.load()
    rule = next(r for r in auditor.rules.rules if r.id == "ndis-invalid-transition")
    assert {"init.begin", "restart.end", "pause.begin", "halt.begin"} <= set(needed_kinds(rule))
    text = explain_rule(rule, auditor.rules, auditor.maps.kinds)
    assert "state table ndis (unknown until a handler is seen):" in text
    assert "from Paused -> Restarting" in text


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_explain_and_unknown_id() -> None:
    shown = cli("rules", "explain", "wdi-task-hung")
    assert shown.returncode == 0, shown.stderr
    assert "31s wdi.task.end=SCAN   <- finding" in shown.stdout
    unknown = cli("rules", "explain", "no-such-rule")
    assert unknown.returncode == 2
    assert "unknown rule 'no-such-rule'" in unknown.stderr
