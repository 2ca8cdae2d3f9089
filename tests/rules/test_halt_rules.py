"""Table-driven tests of the pinned halt rules, after EQL's query tests.

``halt_rules.toml`` holds the table: tiny inline WPP traces, each with every finding the
three pinned rules must report for it (rule, adapter, anchor line), no more, no less. The
expectations come from the pinned semantics in design.md, not from the tool's output.
The traces go through the real parser and built-in maps; the rest of the pack has its
own tables (``tests/rules/catalogue/``), and the samples check all rules together.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from auditor.pipeline import Auditor, AuditResult

TABLE = Path(__file__).with_name("halt_rules.toml")
CASES: list[dict] = tomllib.loads(TABLE.read_text(encoding="utf-8"))["case"]
PINNED = ("halt-without-disconnect", "halt-radio-left-on", "radio-on-before-initialize")

_CASE_KEYS = {"name", "trace", "findings", "not_evaluable", "unattributed"}


def _adapter(value: str | None) -> str | None:
    return value or None


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:80]


@pytest.fixture(scope="module")
def auditor() -> Auditor:
    return Auditor.load(select=PINNED)


def _audit(auditor: Auditor, case: dict, tmp_path: Path) -> AuditResult:
    path = tmp_path / f"{_slug(case['name'])}.txt"
    path.write_text(case["trace"], encoding="utf-8")
    return auditor.audit([path])


def test_table_is_well_formed() -> None:
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    for case in CASES:
        assert set(case) <= _CASE_KEYS, f"{case['name']}: unknown keys {set(case) - _CASE_KEYS}"
        assert {"name", "trace", "findings"} <= set(case), case["name"]
        assert case["name"].split(":")[0] in PINNED, case["name"]
        n_lines = len(case["trace"].splitlines())
        for finding in case["findings"]:
            assert finding["rule"] in PINNED, case["name"]
            assert 1 <= finding["line"] <= n_lines, case["name"]


@pytest.mark.parametrize("rule", PINNED)
def test_each_rule_has_firing_and_passing_cases(rule: str) -> None:
    own = [case for case in CASES if case["name"].startswith(f"{rule}:")]
    fires = [c for c in own if any(f["rule"] == rule for f in c["findings"])]
    passes = [c for c in own if not any(f["rule"] == rule for f in c["findings"])]
    assert fires, f"no case where {rule} fires"
    assert passes, f"no case where {rule} passes"


@pytest.mark.parametrize("case", CASES, ids=[_slug(c["name"]) for c in CASES])
def test_case(case: dict, auditor: Auditor, tmp_path: Path) -> None:
    result = _audit(auditor, case, tmp_path)
    (summary,) = result.traces
    assert summary.error is None, summary.error
    assert summary.rejected == 0, result.rejects.to_dicts()
    assert summary.lines == summary.events + summary.continuation + summary.meta
    assert summary.lines == len(case["trace"].splitlines())

    want = {(f["rule"], _adapter(f.get("adapter")), f["line"]) for f in case["findings"]}
    got = {
        (row["rule"], _adapter(row["adapter"]), row["line"])
        for row in result.findings.iter_rows(named=True)
    }
    assert result.findings.height == len(got), "a finding is reported twice"
    assert got == want, (
        f"\nmissing:    {sorted(want - got, key=str)}\nunexpected: {sorted(got - want, key=str)}"
    )

    want_ne = {(n["rule"], _adapter(n.get("adapter"))) for n in case.get("not_evaluable", [])}
    got_ne = {
        (row["rule"], _adapter(row["adapter"]))
        for row in result.not_evaluable.iter_rows(named=True)
    }
    assert got_ne == want_ne
    assert summary.unattributed == case.get("unattributed", 0)
