"""The columnar rule engine: formulas compiled to polars expressions.

All adapters' timelines sit in one frame sorted by (trace, adapter, time, seq), so a
temporal operator is a forward fill over the whole column masked at group starts,
never a loop over events. ``since(p, q)`` holds where the latest p is no older than
the latest not-q; the index of that latest p is the witness kept as evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Template

import polars as pl

from auditor.findings import EVIDENCE_DTYPE, FINDING_SCHEMA, NOT_EVALUABLE_SCHEMA
from auditor.rulelang.syntax import (
    And,
    Atom,
    Elapsed,
    InState,
    Machine,
    MachineEvent,
    Node,
    Not,
    Once,
    Or,
    Prev,
    Since,
)
from auditor.ruleset import Rule, RuleSet
from auditor.vocabulary import Kind
from parsers.query import collect

GROUP = ["trace", "adapter"]
_I = pl.col("__i")
_G0 = pl.col("__g0")
_TSK = pl.col("__tsk")
# Row indexes (and every staged latest-p column) are 32-bit: a rule pack stages dozens of
# them, and no timeline of lifecycle events comes near 2**31 rows.
INDEX = pl.Int32
# The synthetic trace.end row's text, shown where a finding is anchored at it.
END_TEXT = "(end of trace)"


def prepare(timeline: pl.DataFrame, last_lines: Mapping[str, int] | None = None) -> pl.DataFrame:
    """Add one ``trace.end`` row per (trace, adapter), sort, and index rows.

    ``timeline`` holds attributed lifecycle events with the ``__tsk`` sort key;
    ``last_lines`` gives each trace's last physical line, where a finding anchored at the
    end of the trace points (null when unknown).
    """
    ends = (
        timeline.group_by(GROUP)
        .agg(pl.col("__tsk").max(), pl.col("ts").max(), pl.col("seq").max() + 1)
        .join(
            timeline.group_by("trace").agg(
                pl.col("__tsk").max().alias("__trace_tsk"),
                pl.col("ts").max().alias("__trace_ts"),
                (pl.col("seq").max() + 1).alias("__trace_seq"),
            ),
            on="trace",
        )
        .select(
            *GROUP,
            pl.col("__trace_tsk").alias("__tsk"),
            pl.col("__trace_ts").alias("ts"),
            pl.col("__trace_seq").alias("seq"),
            pl.lit(Kind.TRACE_END.value).alias("kind"),
            pl.lit(END_TEXT).alias("message"),
            pl.col("trace")
            .replace_strict(dict(last_lines or {}), default=None, return_dtype=pl.UInt32)
            .alias("line"),
        )
    )
    # One chunk: gathering rows from two costs three times as much.
    frame = pl.concat([timeline, ends], how="diagonal_relaxed").rechunk()
    frame = frame[_timeline_order(frame)]
    frame = frame.with_row_index("__i").with_columns(pl.col("__i").cast(INDEX))
    return frame.with_columns(pl.col("__i").min().over(GROUP).alias("__g0"))


def _timeline_order(frame: pl.DataFrame) -> pl.Series:
    """The row order of ``sort(["trace", "adapter", "__tsk", "seq"], nulls_last=False)``.

    Rows go in time order first (usually sorted already, so nearly free), then one stable
    sort by a single integer per timeline: comparing the trace and adapter strings millions
    of times cost two to four times as much.
    """
    by_time = frame.select(
        pl.arg_sort_by(["__tsk", "seq"], nulls_last=False, maintain_order=True)
    ).to_series()
    adapters = frame.get_column("adapter").n_unique() + 1
    timeline = (
        frame.select(_rank(frame, "trace") * adapters + _rank(frame, "adapter"))
        .to_series()
        .gather(by_time)
    )
    within = timeline.to_frame("k").select(pl.arg_sort_by("k", maintain_order=True)).to_series()
    return by_time.gather(within)


def _rank(frame: pl.DataFrame, column: str) -> pl.Expr:
    """Each value's place among the column's distinct values in sort order, from 1 (0 for
    null, which sorts first)."""
    values = frame.get_column(column).unique().drop_nulls().sort()
    return (pl.col(column).cast(pl.Enum(values)).to_physical().cast(pl.UInt64) + 1).fill_null(0)


class Compiler:
    """Compiles formula trees into staged columns plus cheap elementwise expressions.

    Every temporal result (the index of the latest p, a machine's state, a shift) is a
    named column computed once, in a stage after the columns it reads; everything else
    is elementwise over those columns. Nested ``since`` therefore costs one column per
    node, never a copy of its subtree per reference. (Sharing one Compiler across a whole
    pack would compute ``connected`` once, but holding every rule's columns at once cost
    more in memory traffic than it saved: the engine compiles rule by rule.)
    Call :meth:`stage` on a frame before using the expressions :meth:`expr` returns.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.ids: dict[Node | Machine, int] = {}
        self.staged: dict[str, tuple[int, pl.Expr]] = {}  # column -> (stage, expression)
        self.levels: dict[Node, int] = {}
        self.witnesses: dict[Node, str] = {}

    def _id(self, node: Node | Machine) -> int:
        return self.ids.setdefault(node, len(self.ids))

    def _name(self, key: str) -> str:
        """The staged column of ``key`` (a node's id, or a machine's, plus a part name)."""
        return f"__s{self.prefix}_{key}"

    def _column(self, key: str, level: int, expr: pl.Expr) -> pl.Expr:
        name = self._name(key)
        self.staged.setdefault(name, (level, expr.alias(name)))
        return pl.col(name)

    def stage(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """Add the staged columns, stage by stage (each reads only earlier ones)."""
        by_level: dict[int, list[pl.Expr]] = {}
        for level, expr in self.staged.values():
            by_level.setdefault(level, []).append(expr)
        present = set(frame.collect_schema().names())
        for level in sorted(by_level):
            new = [e for e in by_level[level] if e.meta.output_name() not in present]
            if new:
                frame = frame.with_columns(new)
        return frame

    def witness_name(self, node: Node) -> str:
        self.expr(node)
        return self.witnesses[node]

    def truth_name(self, node: Node) -> str:
        return f"__t{self.prefix}_{self._id(node)}"

    @staticmethod
    def last_index(cond: pl.Expr) -> pl.Expr:
        """Index of the latest row of the same adapter where ``cond`` held, else null.

        A -1 planted at each adapter's first row stops the fill at the boundary, so the
        filled column is read once (no second reference to re-evaluate)."""
        marked = pl.when(cond).then(_I).when(_I == _G0).then(pl.lit(-1, INDEX))
        return marked.otherwise(None).forward_fill().replace(-1, None)

    def expr(self, node: Node) -> pl.Expr:
        return self._compile(node)[0]

    def _compile(self, node: Node) -> tuple[pl.Expr, int]:
        """The node's expression and the stage from which it can be evaluated."""
        key = str(self._id(node))
        match node:
            case Atom(kind, None, _):
                return (pl.col("kind") == kind).fill_null(False), 0
            case Atom(kind, "==", value):
                return ((pl.col("kind") == kind) & (pl.col("value") == value)).fill_null(False), 0
            case Atom(kind, "!=", value):
                return (
                    (pl.col("kind") == kind) & (pl.col("value") != value).fill_null(True)
                ).fill_null(False), 0
            case Not(x):
                x_expr, level = self._compile(x)
                return ~x_expr, level
            case And(a, b) | Or(a, b):
                a_expr, a_level = self._compile(a)
                b_expr, b_level = self._compile(b)
                joined = a_expr & b_expr if isinstance(node, And) else a_expr | b_expr
                return joined, max(a_level, b_level)
            case Prev(p):
                p_expr, level = self._compile(p)
                shifted = self._column(key, level, p_expr.shift(1).fill_null(False) & (_I > _G0))
                return shifted, level + 1
            case Once(p, within):
                p_expr, level = self._compile(p)
                last_p = self._column(key + "p", level, self.last_index(p_expr))
                self.witnesses[node] = self._name(key + "p")
                return self._within(last_p.is_not_null(), last_p, within), level + 1
            case Since(p, q, within):
                p_expr, p_level = self._compile(p)
                q_expr, q_level = self._compile(q)
                level = max(p_level, q_level)
                last_p = self._column(key + "p", level, self.last_index(p_expr))
                last_not_q = self._column(key + "q", level, self.last_index(~q_expr))
                self.witnesses[node] = self._name(key + "p")
                holds = last_p.is_not_null() & (last_not_q.is_null() | (last_not_q <= last_p))
                return self._within(holds, last_p, within), level + 1
            case Elapsed(p, op, duration):
                p_expr, level = self._compile(p)
                last_p = self._column(key + "p", level, self.last_index(p_expr))
                self.witnesses[node] = self._name(key + "p")
                age = _TSK - _TSK.gather(last_p)
                compare = {
                    ">": age > duration,
                    ">=": age >= duration,
                    "<": age < duration,
                    "<=": age <= duration,
                }
                return compare[op].fill_null(False), level + 1
            case InState(machine, op, state):
                after, level = self._state_after(machine)
                self.witnesses[node] = self._name(self._machine_key(machine) + "moved")
                holds = after == state if op == "==" else after != state
                return holds.fill_null(False), level
            case MachineEvent(machine, "transition"):
                return self._transition(machine)
            case MachineEvent(machine, _):
                return self._invalid(machine, node)
        raise TypeError(f"cannot compile {node!r}")

    def _within(self, holds: pl.Expr, last_p: pl.Expr, within: int | None) -> pl.Expr:
        if within is None:
            return holds
        return holds & ((_TSK - _TSK.gather(last_p)) <= within).fill_null(False)

    # --- state machines -------------------------------------------------------------

    def _machine_key(self, machine: Machine) -> str:
        return f"m{self._id(machine)}"

    def _transition(self, machine: Machine) -> tuple[pl.Expr, int]:
        rows = [self._compile(t.on) for t in machine.transitions]
        return pl.any_horizontal(*(e for e, _ in rows)), max(level for _, level in rows)

    def _state_after(self, machine: Machine) -> tuple[pl.Expr, int]:
        """The state after each event: the target of the latest moving row, forward-filled
        within the adapter (the initial state, or null, before any)."""
        moves = [(t, *self._compile(t.on)) for t in machine.transitions if t.target is not None]
        key = self._machine_key(machine)
        if not moves:
            self._column(key + "moved", 0, pl.lit(None, INDEX))
            return pl.lit(machine.initial, pl.String), 0
        level = max(lv for _, _, lv in moves)
        moved = pl.any_horizontal(*(e for _, e, _ in moves))
        last_move = self._column(key + "moved", level, self.last_index(moved))
        first, *rest = moves
        target = pl.when(first[1]).then(pl.lit(first[0].target))
        for t, expr, _ in rest:
            target = target.when(expr).then(pl.lit(t.target))
        # the fill may cross into the next adapter only where that one has not moved yet,
        # and there the latest move is null: the initial state (or unknown) applies
        after = self._column(
            key + "after",
            level + 1,
            pl.when(last_move.is_not_null())
            .then(target.otherwise(pl.lit(None, pl.String)).forward_fill())
            .otherwise(pl.lit(machine.initial, pl.String))
            .cast(pl.Enum(machine.states)),
        )
        return after, level + 2

    def _invalid(self, machine: Machine, node: Node) -> tuple[pl.Expr, int]:
        after, level = self._state_after(machine)
        key = self._machine_key(machine)
        before = self._column(
            key + "before",
            level,
            pl.when(_I > _G0)
            .then(after.shift(1))
            .otherwise(pl.lit(machine.initial, pl.String).cast(pl.Enum(machine.states))),
        )
        self._column(
            key + "prevmove",
            level,
            pl.when(_I > _G0).then(pl.col(self._name(key + "moved")).shift(1)).otherwise(None),
        )
        self.witnesses[node] = self._name(key + "prevmove")
        rows = [(t, *self._compile(t.on)) for t in machine.transitions]
        first, *rest = rows
        allowed = pl.when(first[1]).then(before.is_in(list(first[0].sources)))
        for t, expr, _ in rest:
            allowed = allowed.when(expr).then(before.is_in(list(t.sources)))
        transition = pl.any_horizontal(*(e for _, e, _ in rows))
        invalid = transition & before.is_not_null() & ~allowed.otherwise(True)
        return invalid.fill_null(False), level + 1

    def evidence_columns(self, node: Node) -> list[pl.Expr]:
        """Truth columns for the branches of ors (witnesses are staged columns already)."""
        out: dict[str, pl.Expr] = {}

        def visit(n: Node) -> None:
            match n:
                case Since(p, _, _) | Once(p, _) | Elapsed(p, _, _) | Prev(p):
                    visit(p)
                case And(a, b):
                    visit(a)
                    visit(b)
                case Or(a, b):
                    for child in (a, b):
                        out[self.truth_name(child)] = self.expr(child)
                        visit(child)
                case _:
                    pass

        visit(node)
        return [expr.alias(name) for name, expr in out.items()]


@dataclass(frozen=True)
class Evaluation:
    findings: pl.DataFrame  # auditor.findings.FINDING_SCHEMA
    not_evaluable: pl.DataFrame  # auditor.findings.NOT_EVALUABLE_SCHEMA


def _evidence_rows(
    node: Node, hits: pl.DataFrame, work: pl.DataFrame, comp: Compiler
) -> list[pl.DataFrame]:
    """Rows (``__hit``, ``__row``) of the witnesses that made ``node`` hold at each hit.

    One pass per formula node over all hits at once: a witness column is gathered at
    the hits' rows, and the walk continues from the witnesses, as the formula says.
    """
    if hits.is_empty():
        return []
    rows = pl.col("__row")
    match node:
        case Since(p, _, _) | Once(p, _) | Elapsed(p, _, _):
            witness = work.get_column(comp.witness_name(node)).gather(hits.get_column("__row"))
            moved = hits.with_columns(witness.alias("__row")).filter(rows.is_not_null())
            return [moved.select("__hit", "__row"), *_evidence_rows(p, moved, work, comp)]
        case Prev(p):
            moved = hits.with_columns(rows - 1).filter(rows >= pl.col("__g0"))
            return [moved.select("__hit", "__row"), *_evidence_rows(p, moved, work, comp)]
        case InState() | MachineEvent(_, "invalid"):
            witness = work.get_column(comp.witness_name(node)).gather(hits.get_column("__row"))
            moved = hits.with_columns(witness.alias("__row")).filter(rows.is_not_null())
            return [moved.select("__hit", "__row")]
        case And(a, b):
            return [*_evidence_rows(a, hits, work, comp), *_evidence_rows(b, hits, work, comp)]
        case Or(a, b):
            out: list[pl.DataFrame] = []
            for child in (a, b):
                truth = work.get_column(comp.truth_name(child)).gather(hits.get_column("__row"))
                out += _evidence_rows(child, hits.filter(truth), work, comp)
            return out
    return []


def _message(rule: Rule, adapter: pl.Expr) -> pl.Expr:
    """The rule's message with ``$adapter`` / ``${adapter}`` and ``$rule`` filled in."""
    # string.Template, not str.format: rule files are user input and must not reach
    # attributes. The adapter goes in as a column, cut at a placeholder no file can hold.
    hole = "\x00adapter\x00"
    template = Template(rule.message or rule.title).safe_substitute(adapter=hole, rule=rule.id)
    parts = template.split(hole)
    pieces: list[pl.Expr] = [pl.lit(parts[0])]
    for part in parts[1:]:
        pieces += [adapter.fill_null("-"), pl.lit(part)]
    return pl.concat_str(pieces)


def verdict_columns(rule: Rule, index: int, comp: Compiler) -> list[pl.Expr]:
    """Where the rule's anchor and condition hold, and whether each requirement held."""
    return [
        comp.expr(rule.on).alias(f"__on{index}"),
        comp.expr(rule.when).alias(f"__when{index}"),
        *[comp.expr(node).alias(f"__req{index}_{k}") for k, (_, node) in enumerate(rule.requires)],
    ]


def evaluate_rule(
    judged: pl.DataFrame, rule: Rule, index: int, comp: Compiler
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One rule's findings (raw evidence) and not-evaluables, from timelines that carry
    its :func:`verdict_columns` and the columns ``comp`` staged for them."""
    names = [f"__req{index}_{k}" for k in range(len(rule.requires))]
    on, when = pl.col(f"__on{index}"), pl.col(f"__when{index}")
    not_evaluable = pl.DataFrame(schema=NOT_EVALUABLE_SCHEMA)
    evaluable = pl.lit(True)
    if names:
        # Only real anchors count: an adapter whose only anchor is the synthetic
        # trace.end gave the rule nothing to judge, so nothing was left unjudged.
        real_anchor = on & (pl.col("kind") != Kind.TRACE_END.value).fill_null(True)
        # __g0 (the adapter's first row) names the timeline: an integer key groups far
        # faster than the (trace, adapter) strings
        per_group = judged.group_by("__g0", maintain_order=True).agg(
            pl.col("trace").first(),
            pl.col("adapter").first(),
            real_anchor.any().alias("__on"),
            *[pl.col(n).any() for n in names],
        )
        missing = pl.concat_list(
            [
                pl.when(~pl.col(n)).then(pl.lit(repr(text))).otherwise(None)
                for n, (text, _) in zip(names, rule.requires, strict=True)
            ]
        ).list.drop_nulls()
        not_evaluable = (
            per_group.filter(pl.col("__on"))
            .with_columns(missing.alias("__missing"))
            .filter(pl.col("__missing").list.len() > 0)
            .select(
                *GROUP,
                pl.lit(rule.id).alias("rule"),
                pl.concat_str(
                    pl.lit("no event matching "),
                    pl.col("__missing").list.join(", "),
                    pl.lit(" for this adapter"),
                ).alias("reason"),
            )
            .cast(NOT_EVALUABLE_SCHEMA)  # type: ignore[arg-type]
        )
        for n in names:
            # A rule is judged only on adapters where each of its requirements held once.
            evaluable = evaluable & pl.col(n).any().over("__g0")
    fired = judged.select((on & when & evaluable).alias("__fired")).to_series()
    if not fired.any():
        return pl.DataFrame(schema=_RAW_FINDING_SCHEMA), not_evaluable
    work = collect(judged.lazy().with_columns(comp.evidence_columns(rule.when)))
    hits = work.filter(fired).select(pl.col("__i").alias("__row"), "__g0").with_row_index("__hit")
    witnesses = _evidence_rows(rule.when, hits, work, comp)
    rows = (
        pl.concat([hits.select("__hit", "__row"), *witnesses])
        .unique()
        .join(hits.select("__hit", pl.col("__row").alias("__anchor")), on="__hit")
    )
    picked = work.select(
        pl.col("line"),
        pl.col("ts").cast(pl.Int64),
        pl.col("kind"),
        pl.col("value"),
        pl.col("message").alias("text"),
        pl.col("adapter_inferred").fill_null(False),
    )[rows.get_column("__row")]
    rows = pl.concat([rows, picked], how="horizontal").with_columns(
        pl.when(pl.col("__row") == pl.col("__anchor"))
        .then(pl.lit("anchor"))
        .otherwise(pl.lit("witness"))
        .alias("role")
    )
    # the synthetic end of the trace is evidence only where the rule fired at it
    rows = rows.filter((pl.col("kind") != Kind.TRACE_END.value) | (pl.col("role") == "anchor"))
    evidence = (
        rows.sort("__hit", "__row")
        .group_by("__hit", maintain_order=True)
        .agg(
            pl.struct("line", "ts", "kind", "value", "text", "role", "adapter_inferred").alias(
                "evidence"
            ),
            pl.col("adapter_inferred").any().alias("adapter_inferred"),
        )
    )
    anchors = work.select(*GROUP, "ts", "line", "seq")[hits.get_column("__row")].with_row_index(
        "__hit"
    )
    findings = anchors.join(evidence, on="__hit", how="left").select(
        pl.lit(rule.id).alias("rule"),
        pl.lit(rule.severity.value).alias("severity"),
        pl.lit(rule.title).alias("title"),
        pl.lit(rule.source).alias("source"),
        "trace",
        "adapter",
        pl.col("ts").cast(pl.Int64),
        "line",
        "seq",
        _message(rule, pl.col("adapter")).alias("message"),
        pl.col("adapter_inferred").fill_null(False),
        "evidence",
    )
    return findings, not_evaluable


def _raw_evidence_dtype() -> pl.DataType:
    inner = EVIDENCE_DTYPE.inner  # type: ignore[attr-defined]
    return pl.List(
        pl.Struct({f.name: (pl.Int64() if f.name == "ts" else f.dtype) for f in inner.fields})
    )


# Findings as evaluate_rule builds them: times as int ns (Python datetimes would cut
# them to microseconds), cast to FINDING_SCHEMA once all rules are in.
_RAW_FINDING_SCHEMA = {**FINDING_SCHEMA, "ts": pl.Int64(), "evidence": _raw_evidence_dtype()}


def evaluate(timeline: pl.DataFrame, rules: RuleSet) -> Evaluation:
    """Evaluate every rule over prepared timelines (see :func:`prepare`)."""
    findings: list[pl.DataFrame] = [pl.DataFrame(schema=_RAW_FINDING_SCHEMA)]
    not_evaluable: list[pl.DataFrame] = [pl.DataFrame(schema=NOT_EVALUABLE_SCHEMA)]
    if timeline.height and rules.rules:
        for index, rule in enumerate(rules.rules):
            # One rule at a time: its staged columns live only while it is judged, so
            # memory stays at one rule's worth however large the pack.
            comp = Compiler(str(index))
            verdicts = verdict_columns(rule, index, comp)
            judged = collect(comp.stage(timeline.lazy()).with_columns(verdicts))
            found, missing = evaluate_rule(judged, rule, index, comp)
            del judged
            findings.append(found.cast(_RAW_FINDING_SCHEMA))  # type: ignore[arg-type]
            not_evaluable.append(missing)
    found_frame = (
        pl.concat(findings)
        .cast(FINDING_SCHEMA)  # type: ignore[arg-type]
        .sort(["trace", "ts", "seq", "rule", "adapter"], nulls_last=True)
    )
    missing_frame = pl.concat(not_evaluable).sort(["trace", "rule", "adapter"], nulls_last=True)
    return Evaluation(found_frame, missing_frame)
