"""Property tests of the map and rule loaders and the formula parser (issue 8).

Whatever text a user's ``--map`` or ``--rules`` file holds, loading it ends in a loaded
object or in a ConfigError (FormulaError for a bare formula) whose every problem names
the file and, where there is one, a line of it that exists. Never another exception.
Generated valid files load to exactly what was written; one deliberate mistake in one
key is reported at exactly that key's line; valid formulas print and parse back to the
same tree and compile and run in the engine. The example budget is set in
``tests/conftest.py`` (``make test``: modest; ``make fuzz``: bounded by time).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor import engine
from auditor.eventmap import EventMap, MapSet, load_map, parse_map
from auditor.lifecycle import attribute
from auditor.prefilter import escape_literal
from auditor.problems import ConfigError
from auditor.rulelang.syntax import (
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
    parse_formula,
)
from auditor.ruleset import RuleSet, load_rules, parse_rules
from auditor.vocabulary import KIND_VALUES, MAPPABLE, Kind
from tests.auditor.conftest import timeline

MAP_PATH = "maps/vendor.map.toml"
RULE_PATH = "rules/vendor.rules.toml"
KINDS = MapSet.load().kinds
KIND_NAMES = sorted(KINDS)
CUSTOM_KINDS = ["fw.crash", "vendor.reset-done", "x"]

# Text a user could paste: any character but lone surrogates (a str read from a file
# never holds one), line separators of every kind included.
chars = st.characters(exclude_categories=("Cs",))
any_text = st.text(chars, max_size=60)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder per module: hypothesis runs many examples per test function."""
    return tmp_path_factory.mktemp("loaders")


line_breaks = st.sampled_from(["\n", "\r\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"])


# ---- TOML writing -------------------------------------------------------------------


def toml_str(text: str) -> str:
    """A TOML basic string holding ``text`` exactly."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif (ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_str(key)


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(value)


class Doc:
    """A TOML document written line by line, remembering where each key went."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.where: dict[tuple[str, int, str], int] = {}  # (table, index, key) -> line

    def table(self, header: str, items: dict[str, object], table: str, index: int = 0) -> None:
        self.lines.append(header)
        self.where[(table, index, "")] = len(self.lines)
        for key, value in items.items():
            self.lines.append(f"{toml_key(key)} = {toml_value(value)}")
            self.where[(table, index, key)] = len(self.lines)
        self.lines.append("")

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


# ---- the outcome every loader must give ----------------------------------------------


def line_count(text: str) -> int:
    # tomllib and the loaders number lines by "\n" alone; one more for text after the last
    return text.count("\n") + 1


def check_problems(exc: ConfigError, path: str, text: str | None) -> None:
    """Every problem names the file, and a line (if any) that exists in it."""
    assert exc.problems, "a ConfigError must list its problems"
    for p in exc.problems:
        assert p.path == path or re.fullmatch(re.escape(path) + r":\d+", p.path), p
        assert isinstance(p.message, str) and p.message.strip(), p
        assert str(p).startswith(p.path), p
        if p.line is not None:
            assert text is not None, p
            assert 1 <= p.line <= line_count(text), (p, line_count(text))
        if p.column is not None:
            assert p.line is not None and p.column >= 1, p


def load_map_text(text: str) -> EventMap | None:
    try:
        return parse_map(text, MAP_PATH)
    except ConfigError as exc:
        check_problems(exc, MAP_PATH, text)
        return None


def load_rules_text(text: str) -> bool:
    try:
        parse_rules(text, RULE_PATH, kinds=KINDS)
    except ConfigError as exc:
        check_problems(exc, RULE_PATH, text)
        return False
    return True


def formula_or_error(text: str) -> Node | None:
    try:
        return parse_formula(text)
    except FormulaError as exc:
        assert exc.message.strip()
        if exc.column is not None:
            assert 1 <= exc.column <= len(text) + 1, (exc.column, len(text))
        return None


# ---- arbitrary text and TOML-ish documents --------------------------------------------

FRAGMENTS = [
    "[map]",
    "[[event]]",
    "[define]",
    "[[rule]]",
    "[event]",
    "[[map]]",
    "[rule]",
    "[[define]]",
    'name = "n"',
    'kind = "radio"',
    'kind = "halt.begin"',
    'kind = "fw.crash"',
    'kinds = ["fw.crash"]',
    "message = '(?P<value>ON|OFF) (?P<adapter>\\w+)'",
    "message = '(unclosed'",
    "message = '(?P<adapter>a)(?P<adapter>b)'",
    "message = 'x{99999}{99999}'",
    "message = '(a+)+$'",
    "adapter = 'A=(?P<adapter>\\w+)'",
    "adapter = 1",
    'values = { ON = "on", OFF = "off" }',
    'values = { ON = "maybe" }',
    'value = "on"',
    "event_id = 70000",
    "event_id = -1",
    "event_id = true",
    'provider = "["',
    'id = "r"',
    'id = "R!"',
    'severity = "error"',
    'severity = ["error"]',
    'on = "halt.end"',
    "on = 5",
    "when = \"since(radio == 'on', !radio)\"",
    "when = \"elapsed(init.begin) > '1e3s'\"",
    "when = \"once(halt.begin, within='1.5s')\"",
    'when = "a | b"',
    'requires = ["radio"]',
    "requires = [1]",
    'a = "b"',
    'b = "a"',
    'x = "prev(prev(prev(radio)))"',
    "event = []",
    "rule = 1",
    "define = 1",
    "map = []",
    '"quoted key" = 1',
    "x = { a = { b = [1, [2, {c = 3}]] } }",
    "x = '''multi",
    "line'''",
    '"""',
    "# comment",
    "=",
    "[",
    "]]",
    "",
]

toml_ish = st.lists(st.sampled_from(FRAGMENTS) | any_text, max_size=24).flatmap(
    lambda lines: st.lists(line_breaks, min_size=len(lines), max_size=len(lines)).map(
        lambda breaks: "".join(line + brk for line, brk in zip(lines, breaks, strict=True))
    )
)

LOADER_KEYS = sorted(
    {"map", "event", "define", "rule", "kind", "kinds", "message", "provider", "event_id"}
    | {"value", "values", "adapter", "name", "id", "severity", "on", "when", "requires", "title"}
)
keys = st.sampled_from(LOADER_KEYS) | st.text(chars, min_size=1, max_size=8)
scalars = (
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | any_text
    | st.sampled_from([*KIND_NAMES, "on", "off", "since(a, b)", "(?P<value>x)", "["])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
tables = st.dictionaries(keys, values, max_size=6)


@st.composite
def toml_documents(draw: st.DrawFn) -> str:
    """Valid TOML of any shape, with the loaders' own key names likely."""
    doc = Doc()
    top = draw(st.dictionaries(keys, scalars, max_size=3))
    doc.lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in top.items())
    for name in draw(st.lists(keys.filter(lambda k: k not in top), max_size=4, unique=True)):
        if draw(st.booleans()):
            for i, items in enumerate(draw(st.lists(tables, min_size=1, max_size=3))):
                doc.table(f"[[{toml_key(name)}]]", items, name, i)
        else:
            doc.table(f"[{toml_key(name)}]", draw(tables), name)
    return doc.text


@given(any_text | st.text(max_size=400) | toml_ish)
def test_map_loader_on_arbitrary_text(text: str) -> None:
    load_map_text(text)


@given(toml_documents())
def test_map_loader_on_arbitrary_toml_documents(text: str) -> None:
    load_map_text(text)


@given(any_text | toml_ish)
def test_rule_loader_on_arbitrary_text(text: str) -> None:
    load_rules_text(text)


@given(toml_documents())
def test_rule_loader_on_arbitrary_toml_documents(text: str) -> None:
    load_rules_text(text)


@given(data=st.binary(max_size=300) | toml_ish.map(lambda t: t.encode("utf-16")))
def test_loaders_read_arbitrary_bytes_from_files(workdir: Path, data: bytes) -> None:
    path = workdir / "case.toml"
    path.write_bytes(data)
    try:
        load_map(path)
    except ConfigError as exc:
        check_problems(exc, str(path), None if _undecodable(data) else _decoded(data))
    try:
        load_rules([path], kinds=KINDS, builtin=False)
    except ConfigError as exc:
        check_problems(exc, str(path), None if _undecodable(data) else _decoded(data))


def _undecodable(data: bytes) -> bool:
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return True
    return False


def _decoded(data: bytes) -> str:
    # read_text translates newlines: the loaders number the lines of that text
    return data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")


# ---- formulas ----------------------------------------------------------------------------

TOKENS = [
    "since(",
    "once(",
    "prev(",
    "elapsed(",
    "within=",
    "within='10s'",
    "'1.5m'",
    "'x'",
    '"y"',
    "(",
    ")",
    ",",
    "!",
    "&",
    "|",
    "==",
    "!=",
    ">",
    "<=",
    "=",
    "radio",
    "halt.begin",
    "surprise-removal",
    "a.b.c",
    "_x",
    "trace.end",
    "# comment\n",
    "\n",
    "'",
    "1",
    "-",
    ".",
]
token_soup = st.lists(st.sampled_from(TOKENS) | any_text, max_size=30).map(" ".join)


@st.composite
def deep_formulas(draw: st.DrawFn) -> str:
    """Nesting and width far beyond any readable rule: never a RecursionError."""
    n = draw(st.integers(1, 3000))
    shape = draw(
        st.sampled_from(
            [
                "!" * n + "radio",
                "(" * n + "radio" + ")" * n,
                "prev(" * n + "radio" + ")" * n,
                "radio" + " | radio" * n,
                "since(" * n + "radio" + ", radio)" * n,
                "(" * n,
            ]
        )
    )
    return shape


@given(any_text | token_soup | deep_formulas())
def test_formula_parser_on_arbitrary_text(text: str) -> None:
    formula_or_error(text)


# A generated formula refers to kinds and to [define] names: "@i" stands for the i-th
# define of the file (see `names`), so the strategies are built once.
ATOM_KINDS = [*sorted(MAPPABLE), "trace.end"]
SLOTS = ["@0", "@1", "@2", "@3"]
value_text = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="'\n"), max_size=12
)
# Up to 2**53 ns (104 days): parse_duration goes through a float, so larger ones in ns
# can come back 1 ns off (reported; kept out of this suite until fixed).
durations_ns = st.integers(0, 2**53)
UNITS = [("h", 3600 * 10**9), ("m", 60 * 10**9), ("s", 10**9), ("ms", 10**6), ("us", 1000)]


def formulas(names: list[str], max_leaves: int = 8) -> st.SearchStrategy[Node]:
    refs = st.sampled_from(ATOM_KINDS + names).map(Ref)
    compares = st.builds(
        Atom, st.sampled_from(ATOM_KINDS), st.sampled_from(["==", "!="]), value_text
    )
    within = st.none() | durations_ns
    return st.recursive(
        refs | compares,
        lambda sub: st.one_of(
            st.builds(Not, sub),
            st.builds(And, sub, sub),
            st.builds(Or, sub, sub),
            st.builds(Prev, sub),
            st.builds(Once, sub, within),
            st.builds(Since, sub, sub, within),
            st.builds(Elapsed, sub, st.sampled_from([">", ">=", "<", "<="]), durations_ns),
        ),
        max_leaves=max_leaves,
    )


FORMULAS = {n: formulas(SLOTS, max_leaves=n) for n in (2, 3, 4, 6)}


def names(node: Node, defines: list[str]) -> Node:
    """Slot "@i" becomes the i-th define name, or a kind where there is no such define."""
    if isinstance(node, Ref):
        if node.name.startswith("@"):
            i = int(node.name[1:])
            return Ref(defines[i] if i < len(defines) else "radio")
        return node
    changes = {
        f.name: names(getattr(node, f.name), defines)
        for f in dataclasses.fields(node)
        if isinstance(getattr(node, f.name), Node)
    }
    return dataclasses.replace(node, **changes)


def duration(ns: int) -> str:
    for unit, size in UNITS:
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def render(node: Node) -> str:
    """The formula's text, parenthesised wherever precedence could matter."""

    def wrap(n: Node) -> str:
        simple = isinstance(n, Ref | Atom | Since | Once | Prev)
        return render(n) if simple else f"({render(n)})"

    def within(ns: int | None) -> str:
        return "" if ns is None else f", within='{duration(ns)}'"

    match node:
        case Ref(name, _):
            return name
        case Atom(kind, op, value) if op is not None:
            return f"{kind} {op} '{value}'"
        case Atom(kind, None, _):
            return kind
        case Not(x):
            return "!" + wrap(x)
        case And(a, b):
            return f"{wrap(a)} & {wrap(b)}"
        case Or(a, b):
            return f"{wrap(a)} | {wrap(b)}"
        case Since(p, q, w):
            return f"since({render(p)}, {render(q)}{within(w)})"
        case Once(p, w):
            return f"once({render(p)}{within(w)})"
        case Prev(p):
            return f"prev({render(p)})"
        case Elapsed(p, op, d):
            return f"elapsed({render(p)}) {op} '{duration(d)}'"
    raise AssertionError(node)


def strip(node: Node) -> Node:
    """The tree without the parser's column numbers."""
    if isinstance(node, Ref):
        return Ref(node.name)
    changes = {
        f.name: strip(getattr(node, f.name))
        for f in dataclasses.fields(node)
        if isinstance(getattr(node, f.name), Node)
    }
    return dataclasses.replace(node, **changes)


def resolve(node: Node, defines: dict[str, Node]) -> Node:
    """What the rule loader must make of a generated formula: names replaced."""
    if isinstance(node, Ref):
        if node.name in defines:
            return resolve(defines[node.name], defines)
        return Atom(node.name)
    changes = {
        f.name: resolve(getattr(node, f.name), defines)
        for f in dataclasses.fields(node)
        if isinstance(getattr(node, f.name), Node)
    }
    return dataclasses.replace(node, **changes)


@given(formulas([], max_leaves=12))
def test_valid_formulas_print_and_parse_back_to_the_same_tree(node: Node) -> None:
    text = render(node)
    parsed = parse_formula(text)
    assert strip(parsed) == node
    assert render(parsed) == text


# ---- generated rule files: valid, then with one mistake --------------------------------

define_names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda n: n not in KINDS and n not in {"since", "once", "prev", "elapsed"}
)


@st.composite
def rule_files(draw: st.DrawFn) -> tuple[Doc, dict[str, Node], list[dict]]:
    doc = Doc()
    defines: dict[str, Node] = {}
    for name in draw(st.lists(define_names, max_size=4, unique=True)):
        defines[name] = names(draw(FORMULAS[4]), list(defines))  # earlier defines only
    if defines:
        doc.table("[define]", {k: render(v) for k, v in defines.items()}, "define")
    known = list(defines)
    rules = []
    for i in range(draw(st.integers(1, 4))):
        on = names(draw(FORMULAS[3]), known)
        when = names(draw(FORMULAS[6]), known)
        rule: dict[str, object] = {
            "id": f"fuzz-{i}",
            "severity": draw(st.sampled_from(["error", "warning", "info"])),
            "title": draw(any_text),
            "source": draw(any_text),
            "on": render(on),
            "when": render(when),
        }
        requires = [names(r, known) for r in draw(st.lists(FORMULAS[2], max_size=2))]
        if requires:
            rule["requires"] = [render(r) for r in requires]
        if draw(st.booleans()):
            rule["message"] = draw(any_text)
        if draw(st.booleans()):
            rule["description"] = draw(any_text)
        rules.append({"raw": rule, "on": on, "when": when, "requires": requires})
        doc.table("[[rule]]", rule, "rule", i)
    return doc, defines, rules


def sample_timeline() -> pl.DataFrame:
    rows = []
    for step, kind in enumerate(["init.begin", "radio", "halt.begin", "radio", "halt.end"] * 2):
        value = ("on", "off")[step % 2] if kind == "radio" else None
        rows.append((kind, value, "wlan0" if step < 6 else "wlan1", float(step)))
    return engine.prepare(attribute(timeline(rows)))


TIMELINE = sample_timeline()


@given(case=rule_files())
def test_valid_rule_files_load_to_what_was_written_and_run(workdir: Path, case) -> None:
    doc, defines, rules = case
    path = workdir / "gen.rules.toml"
    path.write_text(doc.text, encoding="utf-8")
    loaded = load_rules([path], kinds=KINDS, builtin=False).rules
    assert [r.id for r in loaded] == [r["raw"]["id"] for r in rules]
    for i, (rule, spec) in enumerate(zip(loaded, rules, strict=True)):
        raw = spec["raw"]
        assert (rule.severity.value, rule.title, rule.source) == (
            raw["severity"],
            raw["title"],
            raw["source"],
        )
        assert (rule.on_text, rule.when_text) == (raw["on"], raw["when"])
        assert rule.on == resolve(spec["on"], defines)
        assert rule.when == resolve(spec["when"], defines)
        assert [node for _, node in rule.requires] == [
            resolve(r, defines) for r in spec["requires"]
        ]
        assert rule.origin == f"{path}:{doc.where[('rule', i, '')]}"
    # Every valid formula compiles to polars expressions and runs over a timeline.
    evaluation = engine.evaluate(TIMELINE, RuleSet(tuple(loaded)))
    assert set(evaluation.findings.get_column("rule")) <= {r.id for r in loaded}


bad_formulas = st.sampled_from(
    [
        "",
        "radio ==",
        "since(radio)",
        "once(radio, within='soon')",
        "elapsed(radio)",
        "elapsed(radio) == '1s'",
        "no.such.kind",
        "radio > 'on'",
        "frobnicate(radio)",
        "prev(radio, within='1s')",
        "(radio",
        "radio)",
        "!" * 100 + "radio",
        "radio & & radio",
    ]
)


@given(case=rule_files(), data=st.data())
def test_one_bad_formula_is_reported_at_its_line(case, data: st.DataObject) -> None:
    doc, _, rules = case
    k = data.draw(st.integers(0, len(rules) - 1))
    key = data.draw(st.sampled_from(["on", "when"]))
    bad = data.draw(bad_formulas | token_soup | any_text)
    line = doc.where[("rule", k, key)]
    doc.lines[line - 1] = f"{key} = {toml_str(bad)}"
    text = doc.text
    try:
        parse_rules(text, RULE_PATH, kinds=KINDS)
    except ConfigError as exc:
        check_problems(exc, RULE_PATH, text)
        assert {p.line for p in exc.problems} == {line}, exc.problems
        assert all(f"fuzz-{k}: in '{key}'" in p.message for p in exc.problems)
    else:
        assert formula_or_error(bad) is not None  # it was a valid formula after all


WRONG_RULE_VALUES = {
    "id": ["", "Has Capitals", 7, ["x"]],
    "severity": ["fatal", 1, ["error"], ""],
    "on": [3, ["halt.end"], {"a": 1}],
    "when": [True, 1.5],
    "requires": [1, [1], {"a": "b"}, ["no.such.kind"]],
    "title": [1, ["t"]],
    "message": [False],
    "colour": ["red"],
}


@given(case=rule_files(), data=st.data())
def test_one_wrong_key_is_reported_at_its_line(case, data: st.DataObject) -> None:
    doc, _, rules = case
    k = data.draw(st.integers(0, len(rules) - 1))
    key = data.draw(st.sampled_from(sorted(WRONG_RULE_VALUES)))
    value = data.draw(st.sampled_from(WRONG_RULE_VALUES[key]))
    if (line := doc.where.get(("rule", k, key))) is not None:
        doc.lines[line - 1] = f"{key} = {toml_value(value)}"
    else:  # a key the rule does not have yet: added after its header
        line = doc.where[("rule", k, "")] + 1
        doc.lines.insert(line - 1, f"{key} = {toml_value(value)}")
    text = doc.text
    header = doc.where[("rule", k, "")]
    try:
        parse_rules(text, RULE_PATH, kinds=KINDS)
    except ConfigError as exc:
        check_problems(exc, RULE_PATH, text)
        lines = {p.line for p in exc.problems}
        # on/when that is not a string is reported at the rule's [[rule]] header
        assert lines == ({header} if key in ("on", "when") else {line}), exc.problems
    else:
        raise AssertionError(f"{key} = {value!r} was accepted")


@given(case=rule_files(), data=st.data())
def test_one_bad_define_is_reported_at_its_line(case, data: st.DataObject) -> None:
    doc, defines, _ = case
    if not defines:
        return
    name = data.draw(st.sampled_from(sorted(defines)))
    bad = data.draw(bad_formulas)
    line = doc.where[("define", 0, name)]
    doc.lines[line - 1] = f"{name} = {toml_str(bad)}"
    text = doc.text
    try:
        parse_rules(text, RULE_PATH, kinds=KINDS)
    except ConfigError as exc:
        check_problems(exc, RULE_PATH, text)
        assert line in {p.line for p in exc.problems}
        assert all(p.line is not None for p in exc.problems)
    else:
        raise AssertionError(f"define {name} = {bad!r} was accepted")


@given(case=rule_files(), edits=st.data())
def test_mangled_rule_files_load_or_name_file_and_line(case, edits: st.DataObject) -> None:
    doc, _, _ = case
    text = edits.draw(mangled(doc.text))
    load_rules_text(text)


# ---- generated maps: valid, then with one mistake -----------------------------------------

literal_words = st.text(st.sampled_from("abcXYZ019_:=<>.-[]()/\\ "), min_size=1, max_size=8).filter(
    lambda w: w.strip()
)


@st.composite
def pattern(draw: st.DrawFn, groups: tuple[str, ...] = ()) -> tuple[str, str]:
    """A regex and a text it matches: literals, \\d+, .*, and the named groups."""
    pieces = draw(
        st.lists(st.sampled_from(["lit", "lit", "digits", "any", "space"]), min_size=1, max_size=4)
    )
    pieces += list(groups)
    order = draw(st.permutations(pieces))
    regex, sample = [], []
    for piece in order:
        if piece == "lit":
            word = draw(literal_words)
            regex.append(escape_literal(word))
            sample.append(word)
        elif piece == "digits":
            regex.append(r"\d+")
            sample.append("42")
        elif piece == "any":
            regex.append(".*")
            sample.append("~")
        elif piece == "space":
            regex.append(r"\s+")
            sample.append(" ")
        elif piece == "adapter":
            regex.append(r"\s(?P<adapter>\w+)\s")
            sample.append(" wlan7 ")
        else:  # value
            regex.append(r"\s(?P<value>ON|OFF|Up|Down)\s")
            sample.append(" ON ")
    return "".join(regex), "".join(sample)


@st.composite
def map_entries(draw: st.DrawFn, kinds: list[str]) -> dict:
    kind = draw(st.sampled_from(kinds))
    allowed = sorted(KIND_VALUES.get(Kind(kind), ())) if kind in MAPPABLE else []
    valued = draw(st.sampled_from(["none", "constant", "group"]))
    groups = ("adapter",) if draw(st.booleans()) else ()
    if valued == "group":
        groups += ("value",)
    entry: dict[str, object] = {"kind": kind}
    message, sample = draw(pattern(groups))
    if draw(st.integers(0, 5)) or groups:
        entry["message"] = message
    else:
        sample = "anything"
    if draw(st.booleans()):
        entry["provider"] = "^(?:drv|ctswifi)$"
    if draw(st.booleans()):
        entry["event_id"] = draw(st.integers(0, 65535))
    if valued == "constant":
        entry["value"] = draw(st.sampled_from(allowed) if allowed else value_text)
    elif valued == "group" and draw(st.booleans()):
        targets = st.sampled_from(allowed) if allowed else value_text
        entry["values"] = {"ON": draw(targets), "OFF": draw(targets)}
    if "message" not in entry and "provider" not in entry and "event_id" not in entry:
        entry["provider"] = "^(?:drv|ctswifi)$"
    return {"entry": entry, "sample": sample}


@st.composite
def map_files(draw: st.DrawFn) -> tuple[Doc, list[dict], list[str]]:
    declared = draw(st.lists(st.sampled_from(CUSTOM_KINDS), max_size=2, unique=True))
    header: dict[str, object] = {"name": draw(any_text)}
    if draw(st.booleans()):
        header["description"] = draw(any_text)
    if declared:
        header["kinds"] = declared
    if draw(st.booleans()):
        header["adapter"] = r"Adapter=(?P<adapter>\w+)"
    doc = Doc()
    doc.table("[map]", header, "map")
    entries = draw(st.lists(map_entries(sorted(MAPPABLE) + declared), min_size=1, max_size=5))
    for i, spec in enumerate(entries):
        doc.table("[[event]]", spec["entry"], "event", i)
    return doc, entries, declared


@given(case=map_files())
def test_valid_maps_load_to_what_was_written_and_classify(case) -> None:
    doc, specs, declared = case
    loaded = parse_map(doc.text, MAP_PATH)
    assert loaded.kinds == frozenset(declared)
    assert len(loaded.entries) == len(specs)
    for i, (entry, spec) in enumerate(zip(loaded.entries, specs, strict=True)):
        raw = spec["entry"]
        assert entry.kind == raw["kind"]
        assert (entry.message, entry.provider, entry.event_id, entry.value) == (
            raw.get("message"),
            raw.get("provider"),
            raw.get("event_id"),
            raw.get("value"),
        )
        assert entry.origin == f"{MAP_PATH}:{doc.where[('event', i, '')]}"
    # One event made to match each entry: the first entry that matches it classifies it.
    frame = pl.DataFrame(
        {
            "message": [s["sample"] for s in specs],
            "provider": ["drv"] * len(specs),
            "event": [None] * len(specs),
            "event_id": [s["entry"].get("event_id") for s in specs],
            "line": list(range(1, len(specs) + 1)),
        },
        schema_overrides={"event": pl.String, "event_id": pl.UInt16},
    )
    out = MapSet((loaded,)).classify(frame.lazy()).collect()
    got = dict(zip(out["line"].to_list(), out["kind"].to_list(), strict=True))
    assert set(got) == set(range(1, len(specs) + 1))
    for line, kind in got.items():
        assert kind in {s["entry"]["kind"] for s in specs[:line]}
    first = specs[0]["entry"]
    assert got[1] == first["kind"]
    if "value" in first:
        assert out.filter(pl.col("line") == 1)["value"].to_list() == [first["value"]]


WRONG_MAP_VALUES = {
    "kind": ["no.such.kind", 5, ""],
    "message": ["(unclosed", "[z-a]", "(?P<adapter>a)(?P<adapter>b)", 1, "x{99999}{99999}"],
    "provider": ["(", ["drv"]],
    "event_id": [70000, -1, "10", True, 1.5],
    "value": [1, ["on"]],
    "values": ["on", {"ON": 1}],
    "colour": [1],
}


@given(case=map_files(), data=st.data())
def test_one_wrong_map_key_is_reported_at_its_line(case, data: st.DataObject) -> None:
    doc, specs, _ = case
    k = data.draw(st.integers(0, len(specs) - 1))
    key = data.draw(st.sampled_from(sorted(WRONG_MAP_VALUES)))
    value = data.draw(st.sampled_from(WRONG_MAP_VALUES[key]))
    if (line := doc.where.get(("event", k, key))) is not None:
        doc.lines[line - 1] = f"{key} = {toml_value(value)}"
    else:
        line = doc.where[("event", k, "")] + 1
        doc.lines.insert(line - 1, f"{key} = {toml_value(value)}")
    text = doc.text
    header = doc.where[("event", k, "")]
    block = range(header, header + len(specs[k]["entry"]) + 2)
    try:
        parse_map(text, MAP_PATH)
    except ConfigError as exc:
        check_problems(exc, MAP_PATH, text)
        lines = {p.line for p in exc.problems}
        # A kind that is not a string is reported at the entry's [[event]] header; other
        # mistakes at their key (a broken message may also orphan the entry's values).
        assert (header if key == "kind" and not isinstance(value, str) else line) in lines
        assert all(n in block for n in lines), (exc.problems, block)
    else:
        raise AssertionError(f"{key} = {value!r} was accepted")


@st.composite
def mangled(draw: st.DrawFn, text: str) -> str:
    """Text-level damage: lines dropped, doubled, swapped, cut, or random text put in."""
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["drop", "double", "swap", "insert", "replace", "cut"]))
        if edit == "drop" and len(lines) > 1:
            del lines[i]
        elif edit == "double":
            lines.insert(i, lines[i])
        elif edit == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif edit == "insert":
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(any_text | st.sampled_from(FRAGMENTS)) + lines[i][at:]
        elif edit == "replace":
            lines[i] = draw(any_text | st.sampled_from(FRAGMENTS))
        elif edit == "cut":
            lines = [*lines[:i], lines[i][: draw(st.integers(0, len(lines[i])))]]
    return "\n".join(lines)


@given(case=map_files(), edits=st.data())
def test_mangled_maps_load_or_name_file_and_line(case, edits: st.DataObject) -> None:
    doc, _, _ = case
    load_map_text(edits.draw(mangled(doc.text)))
