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

GROUP = ["trace", "adapter"]
_I = pl.col("__i")
_G0 = pl.col("__g0")
_TSK = pl.col("__tsk")
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
    frame = pl.concat([timeline, ends], how="diagonal_relaxed")
    frame = frame.sort(["trace", "adapter", "__tsk", "seq"], nulls_last=False)
    frame = frame.with_row_index("__i").with_columns(pl.col("__i").cast(pl.Int64))
    return frame.with_columns(pl.col("__i").min().over(GROUP).alias("__g0"))


class Compiler:
    """Compiles formula trees; remembers which nodes need witness or truth columns."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.ids: dict[Node, int] = {}

    def _id(self, node: Node) -> int:
        return self.ids.setdefault(node, len(self.ids))

    def witness_name(self, node: Node) -> str:
        return f"__w{self.prefix}_{self._id(node)}"

    def truth_name(self, node: Node) -> str:
        return f"__t{self.prefix}_{self._id(node)}"

    def last_index(self, cond: pl.Expr) -> pl.Expr:
        last_i = pl.when(cond).then(_I).otherwise(None).forward_fill()
        return pl.when(last_i >= _G0).then(last_i).otherwise(None)

    def last_time(self, cond: pl.Expr) -> pl.Expr:
        last_i = pl.when(cond).then(_I).otherwise(None).forward_fill()
        last_t = pl.when(cond).then(_TSK).otherwise(None).forward_fill()
        return pl.when(last_i >= _G0).then(last_t).otherwise(None)

    def transition(self, machine: Machine) -> pl.Expr:
        """True at events that are a row of the machine's table."""
        return pl.any_horizontal(*(self.expr(t.on) for t in machine.transitions))

    def moved(self, machine: Machine) -> pl.Expr:
        """True at events that move the machine (rows with a target)."""
        rows = [self.expr(t.on) for t in machine.transitions if t.target is not None]
        return pl.any_horizontal(*rows) if rows else pl.lit(False)

    def state_after(self, machine: Machine) -> pl.Expr:
        """The state after each event: the target of the latest moving row, forward-filled."""
        moves = [t for t in machine.transitions if t.target is not None]
        if not moves:
            return pl.lit(machine.initial, pl.String)
        target = pl.when(self.expr(moves[0].on)).then(pl.lit(moves[0].target))
        for t in moves[1:]:
            target = target.when(self.expr(t.on)).then(pl.lit(t.target))
        filled = target.otherwise(pl.lit(None, pl.String)).forward_fill()
        known = self.last_index(self.moved(machine)).is_not_null()
        return pl.when(known).then(filled).otherwise(pl.lit(machine.initial, pl.String))

    def state_before(self, machine: Machine) -> pl.Expr:
        return (
            pl.when(_I > _G0)
            .then(self.state_after(machine).shift(1))
            .otherwise(pl.lit(machine.initial, pl.String))
        )

    def invalid(self, machine: Machine) -> pl.Expr:
        before = self.state_before(machine)
        first = machine.transitions[0]
        allowed = pl.when(self.expr(first.on)).then(before.is_in(list(first.sources)))
        for t in machine.transitions[1:]:
            allowed = allowed.when(self.expr(t.on)).then(before.is_in(list(t.sources)))
        return (
            self.transition(machine) & before.is_not_null() & ~allowed.otherwise(True)
        ).fill_null(False)

    def machine_witness(self, node: InState | MachineEvent) -> pl.Expr:
        """The transition that set the state this node judges (for ``invalid``: the one
        before the event)."""
        last = self.last_index(self.moved(node.machine))
        if isinstance(node, InState):
            return last
        return pl.when(_I > _G0).then(last.shift(1)).otherwise(None)

    def expr(self, node: Node) -> pl.Expr:
        match node:
            case InState(machine, op, state):
                after = self.state_after(machine)
                holds = after == state if op == "==" else after != state
                return holds.fill_null(False)
            case MachineEvent(machine, "transition"):
                return self.transition(machine)
            case MachineEvent(machine, _):
                return self.invalid(machine)
            case Atom(kind, None, _):
                return (pl.col("kind") == kind).fill_null(False)
            case Atom(kind, "==", value):
                return ((pl.col("kind") == kind) & (pl.col("value") == value)).fill_null(False)
            case Atom(kind, "!=", value):
                return (
                    (pl.col("kind") == kind) & (pl.col("value") != value).fill_null(True)
                ).fill_null(False)
            case Not(x):
                return ~self.expr(x)
            case And(a, b):
                return self.expr(a) & self.expr(b)
            case Or(a, b):
                return self.expr(a) | self.expr(b)
            case Prev(p):
                return self.expr(p).shift(1).fill_null(False) & (_I > _G0)
            case Once(p, within):
                p_expr = self.expr(p)
                holds = self.last_index(p_expr).is_not_null()
                if within is not None:
                    holds = holds & ((_TSK - self.last_time(p_expr)) <= within).fill_null(False)
                return holds
            case Since(p, q, within):
                p_expr = self.expr(p)
                last_p = self.last_index(p_expr)
                last_not_q = self.last_index(~self.expr(q))
                holds = last_p.is_not_null() & (last_not_q.is_null() | (last_not_q <= last_p))
                if within is not None:
                    holds = holds & ((_TSK - self.last_time(p_expr)) <= within).fill_null(False)
                return holds
            case Elapsed(p, op, duration):
                age = _TSK - self.last_time(self.expr(p))
                compare = {
                    ">": age > duration,
                    ">=": age >= duration,
                    "<": age < duration,
                    "<=": age <= duration,
                }
                return compare[op].fill_null(False)
        raise TypeError(f"cannot compile {node!r}")

    def evidence_columns(self, node: Node) -> list[pl.Expr]:
        """Witness columns for temporal nodes and truth columns for the branches of ors."""
        out: dict[str, pl.Expr] = {}

        def visit(n: Node) -> None:
            match n:
                case Since(p, _, _) | Once(p, _) | Elapsed(p, _, _):
                    p_expr = self.expr(p)
                    out[self.witness_name(n)] = self.last_index(p_expr)
                    visit(p)
                case Prev(p):
                    visit(p)
                case InState() | MachineEvent(_, "invalid"):
                    out[self.witness_name(n)] = self.machine_witness(n)
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


def evaluate_rule(frame: pl.DataFrame, rule: Rule, index: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One rule over prepared timelines: its findings (raw evidence) and not-evaluables."""
    comp = Compiler(str(index))
    requires = [
        comp.expr(node).alias(f"__req{index}_{k}") for k, (_, node) in enumerate(rule.requires)
    ]
    work = frame.with_columns(
        comp.expr(rule.on).alias("__on"),
        comp.expr(rule.when).alias("__when"),
        *requires,
        *comp.evidence_columns(rule.when),
    )
    not_evaluable = pl.DataFrame(schema=NOT_EVALUABLE_SCHEMA)
    evaluable = pl.lit(True)
    if requires:
        names = [f"__req{index}_{k}" for k in range(len(requires))]
        # Only real anchors count: an adapter whose only anchor is the synthetic
        # trace.end gave the rule nothing to judge, so nothing was left unjudged.
        real_anchor = pl.col("__on") & (pl.col("kind") != Kind.TRACE_END.value).fill_null(True)
        per_group = work.group_by(GROUP, maintain_order=True).agg(
            real_anchor.any().alias("__on"), *[pl.col(n).any() for n in names]
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
            evaluable = evaluable & pl.col(n).any().over(GROUP)
    hits = (
        work.filter(pl.col("__on") & pl.col("__when") & evaluable)
        .select(pl.col("__i").alias("__row"), "__g0")
        .with_row_index("__hit")
    )
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
    anchors = work[hits.get_column("__row")].with_row_index("__hit")
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
        pl.col("adapter_inferred_right").fill_null(False).alias("adapter_inferred"),
        "evidence",
    )
    return findings, not_evaluable


def _raw_evidence_dtype() -> pl.DataType:
    inner = EVIDENCE_DTYPE.inner  # type: ignore[attr-defined]
    return pl.List(
        pl.Struct({f.name: (pl.Int64() if f.name == "ts" else f.dtype) for f in inner.fields})
    )


def evaluate(timeline: pl.DataFrame, rules: RuleSet) -> Evaluation:
    """Evaluate every rule over prepared timelines (see :func:`prepare`)."""
    raw_schema = {**FINDING_SCHEMA, "ts": pl.Int64(), "evidence": _raw_evidence_dtype()}
    findings: list[pl.DataFrame] = [pl.DataFrame(schema=raw_schema)]
    not_evaluable: list[pl.DataFrame] = [pl.DataFrame(schema=NOT_EVALUABLE_SCHEMA)]
    if timeline.height:
        for index, rule in enumerate(rules.rules):
            found, missing = evaluate_rule(timeline, rule, index)
            findings.append(found.cast(raw_schema))  # type: ignore[arg-type]
            not_evaluable.append(missing)
    found_frame = (
        pl.concat(findings)
        .cast(FINDING_SCHEMA)  # type: ignore[arg-type]
        .sort(["trace", "ts", "seq", "rule", "adapter"], nulls_last=True)
    )
    missing_frame = pl.concat(not_evaluable).sort(["trace", "rule", "adapter"], nulls_last=True)
    return Evaluation(found_frame, missing_frame)
