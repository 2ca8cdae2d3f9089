"""Formula trees of the rule language, built from the grammar in ``grammar.lark``.

Parsing never evaluates anything: the text becomes frozen dataclasses that the engine
compiles to polars expressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    VisitError,
)


class FormulaError(Exception):
    """A mistake in one formula; ``column`` is 1-based within the formula text."""

    def __init__(self, message: str, column: int | None = None) -> None:
        self.message = message
        self.column = column
        super().__init__(message if column is None else f"column {column}: {message}")


@dataclass(frozen=True)
class Ref:
    """A bare name: a kind or a [define]; resolved by :mod:`auditor.ruleset`."""

    name: str
    column: int | None = None


@dataclass(frozen=True)
class Atom:
    kind: str
    op: str | None = None  # "==" or "!=" against value
    value: str | None = None


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class Since:
    """p held at some event up to now, and q at every event after it."""

    p: Node
    q: Node
    within_ns: int | None = None


@dataclass(frozen=True)
class Once:
    p: Node
    within_ns: int | None = None


@dataclass(frozen=True)
class Prev:
    p: Node


@dataclass(frozen=True)
class Elapsed:
    """Time since the latest p, compared with a duration; false if p never held."""

    p: Node
    op: str
    duration_ns: int


@dataclass(frozen=True)
class Transition:
    """One row of a state table: at an event where ``on`` holds, from ``sources`` to
    ``target``; a row without target only checks the state (an OID request, say)."""

    on: Node
    on_text: str
    sources: tuple[str, ...]
    target: str | None


@dataclass(frozen=True)
class Machine:
    """A state table, such as the NDIS adapter states, written as data in a rule file.

    The row whose ``on`` holds first decides an event's target; the target never depends
    on the state before, which is what lets the state be a forward fill over the column
    rather than a loop. The state before an event is only judged: a handler called from a
    state outside its row's ``sources`` is an invalid transition (and the state still moves
    to the target, as the handler ran). Until the first transition the state is
    ``initial``, or unknown when none is given (a trace that starts mid-life).
    """

    name: str
    states: tuple[str, ...]
    transitions: tuple[Transition, ...]
    initial: str | None = None
    origin: str = ""


@dataclass(frozen=True)
class InState:
    """``ndis == 'Running'``: the machine's state after this event (unknown: false)."""

    machine: Machine
    op: str
    state: str


@dataclass(frozen=True)
class MachineEvent:
    """``ndis.transition`` (the event is a row of the table) or ``ndis.invalid`` (a row
    reached from a known state outside its sources)."""

    machine: Machine
    what: str


MACHINE_EVENTS = ("transition", "invalid")

Node = Ref | Atom | Not | And | Or | Since | Once | Prev | Elapsed | InState | MachineEvent

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|h)\s*$")


# Timestamps are signed 64-bit nanoseconds: no span between two of them is longer.
MAX_DURATION_NS = 2**63 - 1


def parse_duration(text: str) -> int:
    """'10s', '500ms', '1.5m' -> nanoseconds, exactly (decimal, not float, arithmetic)."""
    found = _DURATION.match(text)
    if not found:
        raise FormulaError(f"{text!r} is not a duration (use e.g. '500ms', '10s', '2m')")
    nanoseconds = round(Decimal(found.group(1)) * _UNITS[found.group(2)])
    if nanoseconds > MAX_DURATION_NS:
        raise FormulaError(f"{text!r} is longer than any trace can be (about 292 years)")
    return nanoseconds


def _unquote(token: Token) -> str:
    return str(token)[1:-1]


_ARITY = {"since": 2, "once": 1, "prev": 1, "elapsed": 1}
_KEYWORDS = {"since": {"within"}, "once": {"within"}, "prev": set(), "elapsed": set()}


@v_args(inline=True)
class _Build(Transformer):
    def ref(self, name: Token) -> Ref:
        return Ref(str(name), name.column)

    def not_op(self, operand: Node) -> Node:
        return Not(operand)

    def and_op(self, left: Node, right: Node) -> Node:
        return And(left, right)

    def or_op(self, left: Node, right: Node) -> Node:
        return Or(left, right)

    def kwarg(self, name: Token, value: Token) -> tuple[str, str, int | None]:
        return (str(name), _unquote(value), name.column)

    def compare(self, ref: Ref, op: Token, value: Token) -> Node:
        if op not in ("==", "!="):
            raise FormulaError(f"a kind compares with == or != only, not {op}", op.column)
        return Atom(ref.name, str(op), _unquote(value)) if ref.name else ref

    def call_compare(self, call: Node, op: Token, value: Token) -> Node:
        if not isinstance(call, _PendingElapsed):
            raise FormulaError(f"only elapsed(...) can be compared with {op}", op.column)
        if op in ("==", "!="):
            raise FormulaError("compare elapsed(...) with <, <=, > or >=", op.column)
        return Elapsed(call.p, str(op), parse_duration(_unquote(value)))

    def call(self, name: Token, *args: object) -> Node:
        fn = str(name)
        if fn not in _ARITY:
            raise FormulaError(
                f"unknown function {fn!r} (known: {', '.join(sorted(_ARITY))})", name.column
            )
        positional = [a for a in args if a is not None and not isinstance(a, tuple)]
        keywords = {a[0]: a for a in args if isinstance(a, tuple)}
        if len(positional) != _ARITY[fn]:
            raise FormulaError(
                f"{fn}() takes {_ARITY[fn]} formula argument(s), got {len(positional)}", name.column
            )
        for key, (_, _, column) in keywords.items():
            if key not in _KEYWORDS[fn]:
                raise FormulaError(f"{fn}() has no argument {key!r}", column)
        within = parse_duration(keywords["within"][1]) if "within" in keywords else None
        if fn == "since":
            return Since(positional[0], positional[1], within)  # type: ignore[arg-type]
        if fn == "once":
            return Once(positional[0], within)  # type: ignore[arg-type]
        if fn == "prev":
            return Prev(positional[0])  # type: ignore[arg-type]
        return _PendingElapsed(positional[0])  # type: ignore[arg-type]


@dataclass(frozen=True)
class _PendingElapsed:
    p: Node


@cache
def _parser() -> Lark:
    grammar = (resources.files("auditor.rulelang") / "grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True)


def _expected(exc: UnexpectedInput) -> str:
    names = {
        "NAME": "a kind or name",
        "STRING": "a quoted value",
        "LPAR": "'('",
        "RPAR": "')'",
        "BANG": "'!'",
        "AMPERSAND": "'&'",
        "VBAR": "'|'",
        "CMP": "a comparison",
        "COMMA": "','",
        "EQUAL": "'='",
        "$END": "end of formula",
    }
    expected = sorted({names.get(t, t) for t in getattr(exc, "expected", None) or []})
    return ", ".join(expected) if expected else "something else"


# Far beyond any readable rule; keeps every later recursion over a tree shallow.
MAX_DEPTH = 64


def parse_formula(text: str) -> Node:
    """Parse one formula; unresolved names stay :class:`Ref` for the rule loader."""
    if not text.strip():
        raise FormulaError("empty formula")
    try:
        tree = _parser().parse(text)
        node = _Build().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, FormulaError):
            raise exc.orig_exc from None
        raise FormulaError(str(exc.orig_exc)) from None
    except UnexpectedEOF as exc:
        raise FormulaError(
            f"formula ends early: expected {_expected(exc)}", len(text) + 1
        ) from None
    except UnexpectedCharacters as exc:
        raise FormulaError(
            f"unexpected character {text[exc.pos_in_stream]!r}", exc.column
        ) from None
    except UnexpectedInput as exc:
        token = getattr(exc, "token", None)
        at_end = token is None or token.type == "$END"
        shown = "end of formula" if at_end else repr(str(token))
        column = len(text.rstrip()) + 1 if at_end else exc.column
        raise FormulaError(f"unexpected {shown}: expected {_expected(exc)}", column) from None
    except LarkError as exc:
        raise FormulaError(str(exc)) from None
    except RecursionError:
        raise FormulaError(f"formula nested more than {MAX_DEPTH} levels deep") from None
    if isinstance(node, _PendingElapsed):
        raise FormulaError("elapsed(...) must be compared with a duration, e.g. elapsed(p) > '30s'")
    return check_depth(node)


def children(node: Node) -> tuple[Node, ...]:
    match node:
        case Not(operand):
            return (operand,)
        case And(left, right) | Or(left, right):
            return (left, right)
        case Since(p, q, _):
            return (p, q)
        case Once(p, _) | Prev(p) | Elapsed(p, _, _):
            return (p,)
    return ()


def kinds_of(node: Node) -> set[str]:
    """Every kind a formula reads, through the state tables it consults: the events a
    trace must carry for the formula to mean anything."""
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        match current:
            case Atom(kind, _, _):
                found.add(kind)
            case InState(machine, _, _) | MachineEvent(machine, _):
                stack.extend(t.on for t in machine.transitions)
            case _:
                stack.extend(children(current))
    return found


def depth(node: Node) -> int:
    """Nesting depth, counted without recursion (a hostile file may nest very deeply)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(current))
    return deepest


def check_depth(node: Node) -> Node:
    if depth(node) > MAX_DEPTH:
        raise FormulaError(f"formula nested more than {MAX_DEPTH} levels deep")
    return node
