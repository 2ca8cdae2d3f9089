"""Golden tables for the built-in rules beyond the three pinned halt rules.

``catalogue/<rule-id>.toml`` holds one table per rule: hand-written lifecycle timelines
(``auditor.scenario``) with every finding of that rule, no more, no less. The expected
findings are worked out from the rule's statement in the catalogue of
``shared/reference/domain.md``, not copied from the tool. Each case runs through the same
attribution and engine as a parsed trace, with the rule pack restricted to that rule.

Case keys::

    name           "fires: ...", "passes: ..." or "edge: ..."
    events         the scenario: "TIME KIND[=VALUE] [ADAPTER]" items, '#' comments
    findings       [{ adapter = "A", line = N }, ...]; adapter omitted when none; line is
                   the anchor event's 1-based position among the items (the synthetic end
                   of the trace takes the last event's line)
    not_evaluable  optional: the adapters the rule reports as not evaluable ("" for none)
    suppress       optional: a suppressions file applied to the findings; ``findings``
                   then lists what remains and ``suppressed`` how many were taken out

This module also checks that every built-in rule's own examples fire and pass as they
claim, with the whole pack loaded, and that the pack matches the catalogue table of
domain.md (ids, severities, sources).
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from auditor.pipeline import Auditor
from auditor.scenario import evaluate_scenario, parse_scenario
from auditor.suppressions import parse_suppressions

CATALOGUE = Path(__file__).with_name("catalogue")
# shared/ sits beside the checkout, wherever that is (as in tests/parsers/conftest.py).
DOMAIN = Path(__file__).resolve().parents[3] / "shared" / "reference" / "domain.md"
# Their table is halt_rules.toml (end to end through WPP text).
PINNED = ("halt-without-disconnect", "halt-radio-left-on", "radio-on-before-initialize")

CASE_KEYS = {"name", "events", "findings", "not_evaluable", "suppress", "suppressed"}
FINDING_KEYS = {"adapter", "line"}
GROUPS = ("fires", "passes", "edge")


def _tables() -> dict[str, list[dict]]:
    tables = {}
    for path in sorted(CATALOGUE.glob("*.toml")):
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        assert set(doc) == {"case"}, f"{path.name}: only [[case]] tables, got {sorted(doc)}"
        tables[path.stem] = doc["case"]
    return tables


TABLES = _tables()
CASES = [(rule, case) for rule, cases in TABLES.items() for case in cases]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:90]


def _group(case: dict) -> str:
    return case["name"].split(":", 1)[0]


@pytest.fixture(scope="module")
def auditor() -> Auditor:
    return Auditor.load()


def _builtin_ids(auditor: Auditor) -> list[str]:
    return [rule.id for rule in auditor.rules.rules]


def _show(pairs: list[tuple[str, int]]) -> str:
    return ", ".join(f"{adapter or '-'}@{line}" for adapter, line in pairs) or "none"


# --- the tables ------------------------------------------------------------------------


def test_one_table_per_rule_beyond_the_pinned_ones(auditor: Auditor) -> None:
    wanted = set(_builtin_ids(auditor)) - set(PINNED)
    have = set(TABLES)
    assert have - wanted == set(), f"tables for no built-in (or for a pinned) rule: {have - wanted}"
    assert wanted - have == set(), f"built-in rules without a table: {sorted(wanted - have)}"


@pytest.mark.parametrize("rule", sorted(TABLES))
def test_table_is_well_formed(rule: str, auditor: Auditor) -> None:
    cases = TABLES[rule]
    names = [case.get("name") for case in cases]
    assert len(names) == len(set(names)), f"{rule}: case names must be unique"
    for case in cases:
        label = f"{rule}: {case.get('name')!r}"
        assert set(case) <= CASE_KEYS, f"{label}: unknown keys {sorted(set(case) - CASE_KEYS)}"
        assert {"name", "events", "findings"} <= set(case), f"{label}: name, events, findings"
        assert _group(case) in GROUPS and ": " in case["name"], (
            f"{label}: the name starts with 'fires: ', 'passes: ' or 'edge: '"
        )
        n_events = len(parse_scenario(case["events"], auditor.maps.kinds))
        for finding in case["findings"]:
            assert set(finding) <= FINDING_KEYS and "line" in finding, f"{label}: {finding}"
            assert isinstance(finding.get("adapter", ""), str), label
            assert 1 <= finding["line"] <= n_events, f"{label}: line {finding['line']}"
        assert all(isinstance(a, str) for a in case.get("not_evaluable", [])), label
        assert ("suppress" in case) == ("suppressed" in case), (
            f"{label}: suppress and suppressed go together"
        )
        total = len(case["findings"]) + case.get("suppressed", 0)
        if _group(case) == "fires":
            assert total > 0, f"{label}: a 'fires' case expects a finding"
        if _group(case) == "passes":
            assert total == 0, f"{label}: a 'passes' case expects no finding"
    groups = {_group(case) for case in cases}
    assert set(GROUPS) <= groups, f"{rule}: no {sorted(set(GROUPS) - groups)} case"


@pytest.mark.parametrize("rule", sorted(TABLES))
def test_table_covers_ties_and_several_adapters(rule: str, auditor: Auditor) -> None:
    ties = several = False
    for case in TABLES[rule]:
        events = parse_scenario(case["events"], auditor.maps.kinds)
        offsets = [e.offset_ns for e in events]
        ties |= len(offsets) != len(set(offsets))
        several |= len({e.adapter for e in events if e.adapter}) > 1
    assert ties, f"{rule}: no case with events at the same time"
    assert several, f"{rule}: no case with several adapters"


def test_suppressions_are_exercised() -> None:
    files = [rule for rule, cases in TABLES.items() if any("suppress" in c for c in cases)]
    assert len(files) >= 3, f"suppressions exercised only in {files}"


@pytest.mark.parametrize(
    ("rule", "case"), CASES, ids=[f"{rule}:{_slug(case['name'])}" for rule, case in CASES]
)
def test_case(rule: str, case: dict, auditor: Auditor) -> None:
    rules = auditor.rules.select([rule])
    evaluation = evaluate_scenario(case["events"], rules, auditor.maps.kinds)
    findings = evaluation.findings
    assert set(findings.get_column("rule")) <= {rule}
    if "suppress" in case:
        entries = parse_suppressions(
            case["suppress"], f"{rule}.toml", rule_ids=_builtin_ids(auditor)
        )
        applied = entries.apply(findings)
        assert not applied.unused, f"suppressions that matched nothing: {applied.unused}"
        assert applied.suppressed.height == case["suppressed"], (
            f"suppressed {applied.suppressed.height}, expected {case['suppressed']}"
        )
        findings = applied.kept

    got = sorted(
        ((row["adapter"] or "", row["line"]) for row in findings.iter_rows(named=True)),
        key=str,
    )
    want = sorted(((f.get("adapter", ""), f["line"]) for f in case["findings"]), key=str)
    missing = sorted((Counter(want) - Counter(got)).elements(), key=str)
    unexpected = sorted((Counter(got) - Counter(want)).elements(), key=str)
    assert got == want, (
        f"\n{case['events']}\nexpected:   {_show(want)}\ngot:        {_show(got)}"
        f"\nmissing:    {_show(missing)}\nunexpected: {_show(unexpected)}"
    )

    got_ne = sorted(row["adapter"] or "" for row in evaluation.not_evaluable.iter_rows(named=True))
    want_ne = sorted(case.get("not_evaluable", []))
    assert got_ne == want_ne, f"not evaluable: expected {want_ne}, got {got_ne}"


# --- the rules' own examples -----------------------------------------------------------


def test_every_builtin_rule_has_examples(auditor: Auditor) -> None:
    lacking = [r.id for r in auditor.rules.rules if not (r.fires and r.passes)]
    assert lacking == [], f"rules without examples.fires and examples.passes: {lacking}"


@pytest.mark.parametrize("which", ["fires", "passes"])
def test_examples_behave_as_they_claim_with_the_whole_pack(which: str, auditor: Auditor) -> None:
    wrong = []
    for rule in auditor.rules.rules:
        scenario = getattr(rule, which)
        if scenario is None:
            continue
        evaluation = evaluate_scenario(scenario, auditor.rules, auditor.maps.kinds)
        own = evaluation.findings.filter(evaluation.findings["rule"] == rule.id).height
        if (which == "fires") != (own > 0):
            wrong.append(f"{rule.id}: {own} finding(s) for examples.{which} = {scenario!r}")
    assert wrong == [], "\n".join(wrong)


# --- the pack against the catalogue ----------------------------------------------------


def _catalogue() -> dict[str, dict[str, str]]:
    """The "Rule catalogue" table of domain.md: id -> severity, statement, source."""
    if not DOMAIN.is_file():
        pytest.skip(f"{DOMAIN} not found (shared/ beside the checkout)")
    text = DOMAIN.read_text(encoding="utf-8")
    section = text.split("## Rule catalogue", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, dict[str, str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue  # the header, its rule, prose
        rule_id = cells[0].strip("`")
        assert rule_id not in rows, f"{rule_id} twice in the catalogue"
        rows[rule_id] = {"severity": cells[1], "statement": cells[2], "source": cells[3]}
    assert rows, "no rows found under '## Rule catalogue'"
    return rows


def _source_matches(catalogue: str, rule: str) -> bool:
    """The catalogue names the page more tersely ("Native 802.11 Halt" for "Native 802.11
    Miniport Driver Halt"): each of its words must appear in the rule's source."""
    words = catalogue.replace("`", "").lower().split()
    return bool(words) and all(word in rule.lower() for word in words)


def test_pack_matches_the_catalogue(auditor: Auditor) -> None:
    catalogue = _catalogue()
    rules = {rule.id: rule for rule in auditor.rules.rules}
    assert set(rules) == set(catalogue), (
        f"not in the pack: {sorted(set(catalogue) - set(rules))}; "
        f"not in the catalogue: {sorted(set(rules) - set(catalogue))}"
    )
    wrong = []
    for rule_id, row in sorted(catalogue.items()):
        rule = rules[rule_id]
        if rule.severity.value != row["severity"]:
            wrong.append(f"{rule_id}: severity {rule.severity.value}, catalogue {row['severity']}")
        if not _source_matches(row["source"], rule.source):
            wrong.append(f"{rule_id}: source {rule.source!r}, catalogue {row['source']!r}")
    assert wrong == [], "\n".join(wrong)
