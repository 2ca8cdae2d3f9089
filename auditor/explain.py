"""``trace-audit rules explain``: a rule as a driver engineer needs to read it.

Besides the formula, the reader needs what a trace must contain for the rule to judge
anything (the kinds it reads, so a map can be checked against it) and the smallest
timelines on which it fires and stays silent. The examples are run through the engine
here, so the finding marked on them is the engine's, not a claim.
"""

from __future__ import annotations

import polars as pl

from auditor.rulelang.syntax import InState, Machine, MachineEvent, Node, children, kinds_of
from auditor.ruleset import Rule, RuleSet
from auditor.scenario import evaluate_scenario, items


def machines_of(node: Node) -> dict[str, Machine]:
    found: dict[str, Machine] = {}
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, InState | MachineEvent):
            found[current.machine.name] = current.machine
        stack.extend(children(current))
    return found


def needed_kinds(rule: Rule) -> list[str]:
    """The kinds the rule reads (anchor, condition and requirements), sorted."""
    kinds = kinds_of(rule.on) | kinds_of(rule.when)
    for _, node in rule.requires:
        kinds |= kinds_of(node)
    return sorted(kinds - {"trace.end"})


def _machine_table(machine: Machine) -> list[str]:
    width = max(len(t.on_text) for t in machine.transitions)
    lines = [
        f"state table {machine.name} ({machine.initial or 'unknown'} until a handler is seen):"
    ]
    for t in machine.transitions:
        target = t.target or "(no change)"
        lines.append(f"  {t.on_text:<{width}}  from {', '.join(t.sources)} -> {target}")
    return lines


def _example(title: str, text: str, rule: Rule, rules: RuleSet, kinds: frozenset[str]) -> list[str]:
    findings = evaluate_scenario(text, rules, kinds).findings.filter(pl.col("rule") == rule.id)
    at_end = findings.filter(
        pl.col("evidence")
        .list.eval(
            (pl.element().struct.field("role") == "anchor")
            & (pl.element().struct.field("kind") == "trace.end")
        )
        .list.any()
    )
    fired = set(findings.join(at_end, on="seq", how="anti").get_column("line").to_list())
    lines = [f"{title}:"]
    for number, item in enumerate(items(text), start=1):
        mark = "   <- finding" if number in fired else ""
        lines.append(f"  {number:>3}  {item}{mark}")
    if at_end.height:
        lines.append("       (end of trace)   <- finding")
    if findings.is_empty():
        lines.append("       no finding")
    return lines


def explain_rule(rule: Rule, rules: RuleSet, kinds: frozenset[str]) -> str:
    lines = [
        f"{rule.id} ({rule.severity.value}): {rule.title}",
        f"source:   {rule.source}",
        f"defined:  {rule.origin}",
        f"on:       {rule.on_text}",
        f"when:     {' '.join(rule.when_text.split())}",
    ]
    if rule.requires:
        lines.append(
            "requires: " + ", ".join(text for text, _ in rule.requires) + " (else: not evaluable)"
        )
    lines.append("needs:    " + ", ".join(needed_kinds(rule)) + " (kinds a map must produce)")
    if rule.description:
        lines += ["", rule.description.strip()]
    for machine in {**machines_of(rule.on), **machines_of(rule.when)}.values():
        lines += ["", *_machine_table(machine)]
    for title, text in (("fires on", rule.fires), ("passes on", rule.passes)):
        if text:
            lines += ["", *_example(title, text, rule, rules, kinds)]
    if not (rule.fires or rule.passes):
        lines += ["", "(no examples: add examples.fires / examples.passes to the rule)"]
    return "\n".join(lines)
