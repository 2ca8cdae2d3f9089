"""The terminal view: a findings table with each finding's evidence under it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import PurePath
from typing import TYPE_CHECKING

import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.text import Text

if TYPE_CHECKING:  # the audit's modules (rules, grammar) are not needed to show progress
    from auditor.pipeline import AuditResult
    from auditor.suppressions import Suppression


def interactive() -> bool:
    """Progress display only for a person at a terminal: not in CI, not into a pipe or file."""
    return not os.environ.get("CI") and sys.stderr.isatty()


SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
TEXT_WIDTH = 110


def _short(text: str | None, width: int = TEXT_WIDTH) -> str:
    one_line = (text or "").replace("\n", " ⏎ ")
    return one_line if len(one_line) <= width else one_line[: width - 1] + "…"


def _time(ts: object) -> str:
    return "-" if ts is None else str(ts)


def print_report(result: AuditResult, console: Console) -> None:
    findings = result.findings.with_columns(
        pl.col("ts").dt.to_string("%Y-%m-%d %H:%M:%S%.f").alias("ts_text"),
        pl.col("evidence").list.eval(
            pl.element().struct.with_fields(pl.field("ts").dt.to_string("%H:%M:%S%.f").alias("ts"))
        ),
    )
    # One block per finding, headed "file:line" as compilers print it, so editors and
    # CI logs link straight to the anchor line; evidence lines follow in time order.
    for f in findings.iter_rows(named=True):
        head = Text()
        head.append(f"{f['severity']:<7}", style=SEVERITY_STYLE.get(f["severity"], ""))
        head.append(f" {f['rule']}  ", style="bold")
        anchor = f"{f['trace']}:{f['line']}" if f["line"] is not None else f["trace"]
        head.append(anchor)
        head.append(f"  adapter {f['adapter'] or '-'}", style="cyan")
        if f["adapter_inferred"]:
            head.append(" (inferred)", style="dim italic")
        head.append(f"  {f['ts_text'] or '-'} UTC", style="dim")
        console.print(head)
        console.print(Text("  " + (f["message"] or "")))
        for e in f["evidence"]:
            line = Text("  → " if e["role"] == "anchor" else "    ", style="bold")
            kind = e["kind"] + (f"={e['value']}" if e["value"] else "")
            number = f"L{e['line']}" if e["line"] is not None else "L-"
            line.append(f"{number:>7} {e['ts'] or '-':<18} {kind:<20} ", style="dim")
            line.append(_short(e["text"]))
            console.print(line, no_wrap=True, overflow="ellipsis")
        console.print()

    for row in result.not_evaluable.iter_rows(named=True):
        console.print(
            f"[dim]not evaluable:[/] {escape(row['rule'])} for adapter "
            f"{escape(row['adapter'] or '-')} in {escape(PurePath(row['trace']).name)}: "
            f"{escape(row['reason'])}"
        )
    for trace in result.traces:
        if trace.error is None and trace.rejected:
            first = result.rejects.filter(pl.col("trace") == trace.path).head(1).to_dicts()
            detail = f" (first: line {first[0]['line']}: {first[0]['reason']})" if first else ""
            console.print(
                f"[yellow]{escape(trace.path)}: {trace.rejected} rejected lines{escape(detail)}[/]"
            )
        for note in trace.notes:
            console.print(f"[dim]{escape(trace.path)}: {escape(note)}[/]")
        if trace.clock_jumps:
            console.print(
                f"[yellow]{escape(trace.path)}: the clock steps back by up to "
                f"{trace.clock_jump_max_s:g} s at {trace.clock_jumps} event(s), first at line "
                f"{trace.clock_jump_line}: findings near it may be ordered wrongly[/]"
            )
        if trace.unattributed:
            console.print(
                f"[dim]{escape(trace.path)}: {trace.unattributed} lifecycle events could not be "
                "attributed to an adapter and were not audited[/]"
            )

    if result.suppressed.height:
        console.print(f"[dim]{escape(suppressed_line(result.suppressed))}[/]")

    counts = {s: 0 for s in ("error", "warning", "info")}
    for severity in findings.get_column("severity").to_list():
        counts[severity] = counts.get(severity, 0) + 1
    ok = [t for t in result.traces if t.error is None]
    events = sum(t.events for t in ok)
    rejected = sum(t.rejected for t in ok)
    lifecycle = sum(t.lifecycle for t in ok)
    summary = (
        f"{len(ok)} trace{'s' if len(ok) != 1 else ''} audited, {events:,} events "
        f"({lifecycle:,} lifecycle), {rejected:,} rejected lines; "
        f"{findings.height} finding{'s' if findings.height != 1 else ''}"
    )
    if findings.height:
        summary += " (" + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + ")"
    console.print(summary)


def suppressed_line(suppressed: pl.DataFrame) -> str:
    """One line counting the suppressed findings, per rule."""
    per_rule = suppressed.group_by("rule").len().sort(["len", "rule"], descending=[True, False])
    detail = ", ".join(f"{n} {rule}" for rule, n in per_rule.iter_rows())
    n = suppressed.height
    return (
        f"{n} suppressed finding{'s' if n != 1 else ''} not shown ({detail}); "
        "--format json lists them with their reasons"
    )


def print_suppression_warnings(
    unused: Iterable[Suppression], expired: Iterable[Suppression], console: Console
) -> None:
    """Entries that matched nothing, and expired ones: a warning line each (stderr)."""
    for entry in unused:
        console.print(
            f"[yellow]warning:[/] {escape(entry.origin)}: suppression matched no finding: "
            f"{escape(entry.describe())}"
        )
    for entry in expired:
        expires = entry.expires.isoformat() if entry.expires else ""
        console.print(
            f"[yellow]warning:[/] {escape(entry.origin)}: suppression expired on {expires}, "
            f"no longer applied: {escape(entry.describe())}"
        )
