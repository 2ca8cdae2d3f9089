"""Rule files (pinned TOML format): typed rules with their [define] names resolved.

Each file sees its own defines first, then the built-in pack's, so a vendor file can
reuse ``connected`` or redefine it for its own rules without touching anyone else's.
Every mistake in a file is collected and reported with its line (and column).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path

from auditor.problems import (
    ConfigError,
    Problem,
    file_column,
    key_line,
    load_toml,
    table_lines,
)
from auditor.rulelang.syntax import (
    MACHINE_EVENTS,
    MAX_DEPTH,
    And,
    Atom,
    Elapsed,
    FormulaError,
    InState,
    Machine,
    MachineEvent,
    Node,
    Not,
    Once,
    Or,
    Prev,
    Ref,
    Since,
    Transition,
    check_depth,
    parse_formula,
)
from auditor.scenario import ScenarioError, parse_scenario


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    source: str
    on: Node
    when: Node
    on_text: str
    when_text: str
    origin: str  # file:line of the [[rule]] block
    requires: tuple[tuple[str, Node], ...] = ()  # (text, formula): evaluable only if each held once
    message: str | None = None
    description: str = ""
    # Scenarios (auditor.scenario) where the rule fires / does not: shown by `rules
    # explain`, and run against the engine by the rule tests.
    fires: str | None = None
    passes: str | None = None


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    defines: Mapping[str, Node] = field(default_factory=dict)  # built-in pack's, resolved
    machines: Mapping[str, Machine] = field(default_factory=dict)  # built-in pack's

    def select(self, select: Iterable[str] = (), ignore: Iterable[str] = ()) -> RuleSet:
        chosen, dropped = set(select), set(ignore)
        known = {r.id for r in self.rules}
        unknown = sorted((chosen | dropped) - known)
        if unknown:
            raise ConfigError(
                [
                    Problem("--select/--ignore", None, None, f"unknown rule id {u!r}")
                    for u in unknown
                ]
            )
        rules = tuple(
            r for r in self.rules if (not chosen or r.id in chosen) and r.id not in dropped
        )
        return RuleSet(rules, self.defines, self.machines)


@dataclass(frozen=True)
class RuleFile:
    rules: list[Rule]
    defines: dict[str, Node]  # this file's own, resolved
    machines: dict[str, Machine]  # this file's own


# The halt page's three rules: ids, severities and semantics pinned by the design brief
# (CI systems gate on them); the rest of the built-in pack may grow.
PINNED_RULE_IDS = ("halt-without-disconnect", "halt-radio-left-on", "radio-on-before-initialize")

_RULE_KEYS = {
    "id",
    "severity",
    "title",
    "source",
    "on",
    "when",
    "requires",
    "message",
    "description",
    "examples",
}
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_MACHINE_KEYS = {"title", "source", "description", "states", "initial", "transitions"}
_TRANSITION_KEYS = {"on", "from", "to"}
_MACHINE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _header_line(text: str, table: str) -> int | None:
    found = re.search(r"^[ \t]*\[[ \t]*" + re.escape(table) + r"[ \t]*\]", text, re.MULTILINE)
    return text.count("\n", 0, found.start()) + 1 if found else None


def _row_line(text: str, start: int | None, on_text: str) -> int | None:
    """The line of a transition row: the first line after the header quoting its ``on``."""
    if start is None:
        return None
    for offset, line in enumerate(text.splitlines()[start - 1 :]):
        if offset and re.match(r"^\s*\[", line):
            break
        if on_text and on_text in line and re.search(r"\bon\s*=", line):
            return start + offset
    return start


def _parse_machines(
    doc: dict[str, object],
    text: str,
    path: str,
    resolver: Resolver,
    problems: list[Problem],
) -> dict[str, Machine]:
    """The ``[machine.NAME]`` tables of one rule file: state tables written as data."""
    raw_machines = doc.get("machine", {})
    if not isinstance(raw_machines, dict):
        problems.append(Problem(path, None, None, "[machine.NAME] tables expected"))
        return {}
    machines: dict[str, Machine] = {}
    for name, raw in raw_machines.items():
        start = _header_line(text, f"machine.{name}")

        def problem(
            key: str | None,
            message: str,
            line: int | None = None,
            start: int | None = start,
            name: str = name,
        ) -> None:
            if line is None:
                line = key_line(text, start, key) if key else start
            problems.append(Problem(path, line, None, f"machine {name!r}: {message}"))

        if not _MACHINE_NAME.match(name) or name in resolver.kinds:
            problem(None, "a machine name is a plain word that is not a kind")
            continue
        if not isinstance(raw, dict):
            problem(None, "must be a table")
            continue
        for key in sorted(set(raw) - _MACHINE_KEYS):
            problem(key, f"unknown key {key!r} (expected {', '.join(sorted(_MACHINE_KEYS))})")
        states = raw.get("states")
        if (
            not isinstance(states, list)
            or not states
            or not all(isinstance(x, str) and x for x in states)
        ):
            problem("states", "states must be a non-empty list of names")
            continue
        if len(set(states)) != len(states):
            problem("states", "a state is listed twice")
        initial = raw.get("initial")
        if initial is not None and initial not in states:
            problem("initial", f"initial state {initial!r} is not one of the states")
        rows = raw.get("transitions")
        if not isinstance(rows, list) or not rows:
            problem(
                "transitions", "transitions must be a list of { on, from, to } rows (to optional)"
            )
            continue
        transitions: list[Transition] = []
        for row in rows:
            if not isinstance(row, dict):
                problem("transitions", "each transition is a table { on, from, to }")
                continue
            on_text = row.get("on")
            line = _row_line(text, start, on_text if isinstance(on_text, str) else "")
            for key in sorted(set(row) - _TRANSITION_KEYS):
                problem(None, f"unknown key {key!r} in a transition (expected on, from, to)", line)
            sources = row.get("from")
            if isinstance(sources, str):
                sources = [sources]
            target = row.get("to")
            named = [*(sources or []), *([] if target is None else [target])]
            bad = [x for x in named if not isinstance(x, str) or x not in states]
            if not isinstance(sources, list) or not sources or bad:
                shown = ", ".join(repr(x) for x in bad) or "nothing"
                problem(None, f"from/to must name states of this machine (got {shown})", line)
                continue
            if not isinstance(on_text, str):
                problem(None, 'a transition needs on = "formula"', line)
                continue
            try:
                on = resolver.resolve(parse_formula(on_text))
            except FormulaError as exc:
                column = file_column(text, line, on_text, exc.column)
                problems.append(
                    Problem(path, line, column, f"machine {name!r}: in 'on': {exc.message}")
                )
                continue
            transitions.append(
                Transition(on, on_text, tuple(sources), None if target is None else str(target))
            )
        if len(transitions) == len(rows):
            machines[name] = Machine(
                name=name,
                states=tuple(states),
                transitions=tuple(transitions),
                initial=initial if isinstance(initial, str) else None,
                origin=f"{path}:{start}" if start else path,
            )
    return machines


class Resolver:
    """Replaces names with kinds or define bodies; detects cycles and unknown names."""

    def __init__(
        self,
        local: Mapping[str, Node],
        inherited: Mapping[str, Node],
        kinds: frozenset[str],
        machines: Mapping[str, Machine] | None = None,
    ):
        self.local = local
        self.inherited = inherited
        self.kinds = kinds
        self.machines = machines or {}
        self.done: dict[str, Node] = {}

    def define(self, name: str, stack: tuple[str, ...] = ()) -> Node:
        if name in self.done:
            return self.done[name]
        if name in stack:
            raise FormulaError("define cycle: " + " -> ".join([*stack, name]))
        if len(stack) > MAX_DEPTH:
            raise FormulaError(f"defines refer to defines more than {MAX_DEPTH} levels deep")
        resolved = check_depth(self.resolve(self.local[name], (*stack, name)))
        self.done[name] = resolved
        return resolved

    def resolve(self, node: Node, stack: tuple[str, ...] = ()) -> Node:
        """The tree with names replaced; at most MAX_DEPTH deep, so recursion stays shallow."""
        return check_depth(self._resolve(node, stack))

    def _resolve(self, node: Node, stack: tuple[str, ...] = ()) -> Node:
        match node:
            case Ref(name, column):
                if name in self.local:
                    return self.define(name, stack)
                if name in self.inherited:
                    return self.inherited[name]
                if name in self.kinds:
                    return Atom(name)
                machine, _, what = name.rpartition(".")
                if machine in self.machines and what in MACHINE_EVENTS:
                    return MachineEvent(self.machines[machine], what)
                if name in self.machines:
                    states = self.machines[name].states
                    raise FormulaError(
                        f"{name!r} is a state machine: compare it with a state, e.g. "
                        f"{name} == {states[0]!r}, or use {name}.transition / {name}.invalid",
                        column,
                    )
                machine_names = [f"{m}.{w}" for m in self.machines for w in MACHINE_EVENTS]
                hint = difflib.get_close_matches(
                    name, [*self.local, *self.inherited, *self.kinds, *machine_names], n=1
                )
                extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise FormulaError(f"unknown kind or define {name!r}{extra}", column)
            case Atom(kind, op, value) if kind in self.machines and op is not None:
                machine = self.machines[kind]
                if value not in machine.states:
                    hint = difflib.get_close_matches(str(value), machine.states, n=1)
                    extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                    raise FormulaError(
                        f"{kind!r} has no state {value!r}{extra}; "
                        f"its states: {', '.join(machine.states)}"
                    )
                return InState(machine, op, str(value))
            case InState() | MachineEvent():
                return node
            case Atom(kind, _, _):
                if kind in self.local or kind in self.inherited:
                    raise FormulaError(f"{kind!r} is a define; only kinds compare with a value")
                if kind not in self.kinds:
                    hint = difflib.get_close_matches(kind, self.kinds, n=1)
                    extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                    raise FormulaError(f"unknown kind {kind!r}{extra}")
                return node
            case Not(x):
                return Not(self.resolve(x, stack))
            case And(a, b):
                return And(self.resolve(a, stack), self.resolve(b, stack))
            case Or(a, b):
                return Or(self.resolve(a, stack), self.resolve(b, stack))
            case Since(p, q, w):
                return Since(self.resolve(p, stack), self.resolve(q, stack), w)
            case Once(p, w):
                return Once(self.resolve(p, stack), w)
            case Prev(p):
                return Prev(self.resolve(p, stack))
            case Elapsed(p, op, d):
                return Elapsed(self.resolve(p, stack), op, d)
        raise FormulaError("elapsed(...) must be compared with a duration, e.g. elapsed(p) > '30s'")


def parse_rules(
    text: str,
    path: str,
    *,
    kinds: frozenset[str],
    inherited: Mapping[str, Node] | None = None,
    machines: Mapping[str, Machine] | None = None,
) -> RuleFile:
    """Parse one rule file: its rules, its own resolved defines and its state machines.

    ``inherited`` and ``machines`` are the built-in pack's, visible to every file. A
    transition's ``on`` is written with kinds and inherited defines only, so machines and
    defines cannot refer to each other in a circle.
    """
    inherited = inherited or {}
    problems: list[Problem] = []
    doc = load_toml(text, path)
    own_machines = _parse_machines(
        doc, text, path, Resolver({}, inherited, kinds, machines), problems
    )
    all_machines = {**(machines or {}), **own_machines}

    def define_line(name: str) -> int | None:
        found = re.search(r"^[ \t]*" + re.escape(name) + r"[ \t]*=", text, re.MULTILINE)
        return text.count("\n", 0, found.start()) + 1 if found else None

    raw_defines = doc.get("define", {})
    if not isinstance(raw_defines, dict):
        raise ConfigError([Problem(path, None, None, "[define] must be a table of formulas")])
    local: dict[str, Node] = {}
    for name, formula in raw_defines.items():
        if not isinstance(formula, str):
            problems.append(
                Problem(path, define_line(name), None, f"define {name!r} must be a string")
            )
            continue
        try:
            local[name] = parse_formula(formula)
        except FormulaError as exc:
            line = define_line(name)
            problems.append(
                Problem(
                    path,
                    line,
                    file_column(text, line, formula, exc.column),
                    f"define {name!r}: {exc.message}",
                )
            )
    resolver = Resolver(local, inherited, kinds, all_machines)
    resolved_defines: dict[str, Node] = {}
    for name in local:
        try:
            resolved_defines[name] = resolver.define(name)
        except FormulaError as exc:
            line = define_line(name)
            column = file_column(text, line, raw_defines[name], exc.column)
            problems.append(Problem(path, line, column, f"define {name!r}: {exc.message}"))

    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list):
        raise ConfigError([Problem(path, None, None, "'rule' must be an array of [[rule]] tables")])
    unknown_tables = sorted(set(doc) - {"define", "rule", "machine"})
    for key in unknown_tables:
        problems.append(Problem(path, None, None, f"unknown top-level key {key!r}"))
    headers = table_lines(text, "rule")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_rules):
        start = headers[index] if index < len(headers) else None

        def problem(
            key: str | None,
            message: str,
            column: int | None = None,
            start: int | None = start,
            formula: str = "",
        ) -> None:
            line = key_line(text, start, key) if key else start
            problems.append(Problem(path, line, file_column(text, line, formula, column), message))

        if not isinstance(raw, dict):
            problem(None, "[[rule]] must be a table")
            continue
        for key in sorted(set(raw) - _RULE_KEYS):
            problem(key, f"unknown key {key!r} (expected one of {', '.join(sorted(_RULE_KEYS))})")
        rule_id = raw.get("id")
        if not isinstance(rule_id, str) or not _ID.match(rule_id):
            problem("id", "id must be a lower-case name like 'halt-radio-left-on'")
            continue
        if rule_id in seen:
            problem("id", f"rule id {rule_id!r} appears twice")
        seen.add(rule_id)
        try:
            severity = Severity(raw.get("severity", ""))
        except ValueError:
            problem("severity", f"{rule_id}: severity must be one of error, warning, info")
            severity = Severity.INFO
        formulas: dict[str, tuple[str, Node]] = {}
        for key in ("on", "when"):
            formula = raw.get(key)
            if not isinstance(formula, str):
                problem(None, f'{rule_id}: needs {key} = "formula"')
                continue
            try:
                formulas[key] = (formula, resolver.resolve(parse_formula(formula)))
            except FormulaError as exc:
                problem(key, f"{rule_id}: in {key!r}: {exc.message}", exc.column, formula=formula)
        requires: list[tuple[str, Node]] = []
        raw_requires = raw.get("requires", [])
        if isinstance(raw_requires, str):
            raw_requires = [raw_requires]
        if not isinstance(raw_requires, list) or not all(isinstance(r, str) for r in raw_requires):
            problem("requires", f"{rule_id}: requires must be a list of formulas")
            raw_requires = []
        for formula in raw_requires:
            try:
                requires.append((formula, resolver.resolve(parse_formula(formula))))
            except FormulaError as exc:
                problem(
                    "requires",
                    f"{rule_id}: in 'requires': {exc.message}",
                    exc.column,
                    formula=formula,
                )
        for key in ("title", "source", "message", "description"):
            if key in raw and not isinstance(raw[key], str):
                problem(key, f"{rule_id}: {key} must be a string")
        examples = raw.get("examples", {})
        if not isinstance(examples, dict) or set(examples) - {"fires", "passes"}:
            problem("examples", f'{rule_id}: examples = {{ fires = "...", passes = "..." }}')
            examples = {}
        for key, scenario in examples.items():
            try:
                if not isinstance(scenario, str):
                    raise ScenarioError(1, "an example is a string of events")
                parse_scenario(scenario, kinds)
            except ScenarioError as exc:
                problem("examples", f"{rule_id}: examples.{key}: {exc}")
        if "on" not in formulas or "when" not in formulas:
            continue
        rules.append(
            Rule(
                id=rule_id,
                severity=severity,
                title=str(raw.get("title", rule_id)),
                source=str(raw.get("source", "")),
                on=formulas["on"][1],
                when=formulas["when"][1],
                on_text=formulas["on"][0],
                when_text=formulas["when"][0],
                origin=f"{path}:{start}" if start else path,
                requires=tuple(requires),
                message=raw.get("message") if isinstance(raw.get("message"), str) else None,
                description=str(raw.get("description", "")),
                fires=examples.get("fires") if isinstance(examples.get("fires"), str) else None,
                passes=examples.get("passes") if isinstance(examples.get("passes"), str) else None,
            )
        )
    if problems:
        raise ConfigError(problems)
    return RuleFile(rules, resolved_defines, own_machines)


def _builtin_files() -> list[tuple[str, str]]:
    folder = resources.files("auditor") / "data" / "rules"
    found = sorted((f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)
    return [(f"builtin:{f.name}", f.read_text(encoding="utf-8")) for f in found]


def load_rules(
    user_paths: Iterable[str | Path] = (),
    *,
    kinds: frozenset[str],
    builtin: bool = True,
) -> RuleSet:
    """The built-in pack (unless ``builtin`` is false) followed by users' rule files."""
    problems: list[Problem] = []
    rules: list[Rule] = []
    builtin_defines: dict[str, Node] = {}
    builtin_machines: dict[str, Machine] = {}
    if builtin:
        for path, text in _builtin_files():
            parsed = parse_rules(
                text, path, kinds=kinds, inherited=builtin_defines, machines=builtin_machines
            )
            rules.extend(parsed.rules)
            builtin_defines.update(parsed.defines)
            builtin_machines.update(parsed.machines)
    for user_path in user_paths:
        path = str(user_path)
        try:
            text = Path(user_path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(path, None, None, f"cannot read rule file: {exc}"))
            continue
        try:
            parsed = parse_rules(
                text, path, kinds=kinds, inherited=builtin_defines, machines=builtin_machines
            )
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        rules.extend(parsed.rules)
    ids: dict[str, str] = {}
    for rule in rules:
        if rule.id in ids and ids[rule.id] != rule.origin:
            problems.append(
                Problem(
                    rule.origin,
                    None,
                    None,
                    f"rule id {rule.id!r} is already defined at {ids[rule.id]}",
                )
            )
        ids.setdefault(rule.id, rule.origin)
    if problems:
        raise ConfigError(problems)
    return RuleSet(tuple(rules), builtin_defines, builtin_machines)
