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
    MAX_DEPTH,
    And,
    Atom,
    Elapsed,
    FormulaError,
    Node,
    Not,
    Once,
    Or,
    Prev,
    Ref,
    Since,
    check_depth,
    parse_formula,
)


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


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    defines: Mapping[str, Node] = field(default_factory=dict)  # built-in pack's, resolved

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
        return RuleSet(rules, self.defines)


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
}
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class Resolver:
    """Replaces names with kinds or define bodies; detects cycles and unknown names."""

    def __init__(
        self, local: Mapping[str, Node], inherited: Mapping[str, Node], kinds: frozenset[str]
    ):
        self.local = local
        self.inherited = inherited
        self.kinds = kinds
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
                hint = difflib.get_close_matches(
                    name, [*self.local, *self.inherited, *self.kinds], n=1
                )
                extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise FormulaError(f"unknown kind or define {name!r}{extra}", column)
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
) -> tuple[list[Rule], dict[str, Node]]:
    """Parse one rule file; return its rules and its own resolved defines."""
    inherited = inherited or {}
    problems: list[Problem] = []
    doc = load_toml(text, path)

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
    resolver = Resolver(local, inherited, kinds)
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
    unknown_tables = sorted(set(doc) - {"define", "rule"})
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
            )
        )
    if problems:
        raise ConfigError(problems)
    return rules, resolved_defines


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
    if builtin:
        for path, text in _builtin_files():
            file_rules, defines = parse_rules(text, path, kinds=kinds, inherited=builtin_defines)
            rules.extend(file_rules)
            builtin_defines.update(defines)
    for user_path in user_paths:
        path = str(user_path)
        try:
            text = Path(user_path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(path, None, None, f"cannot read rule file: {exc}"))
            continue
        try:
            file_rules, _ = parse_rules(text, path, kinds=kinds, inherited=builtin_defines)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        rules.extend(file_rules)
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
    return RuleSet(tuple(rules), builtin_defines)
