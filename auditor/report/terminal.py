"""The terminal view: a findings table with each finding's evidence under it."""

from __future__ import annotations

from pathlib import PurePath

import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from auditor.audit import AuditResult

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
    if findings.height:
        table = Table(show_lines=True, title="Findings", title_justify="left")
        for name in ("severity", "rule", "trace", "adapter", "time (UTC)", "line"):
            table.add_column(name, no_wrap=name in ("severity", "line"))
        table.add_column("message and evidence", overflow="fold")
        for f in findings.iter_rows(named=True):
            body = Text(f["message"] or "")
            for e in f["evidence"]:
                marker = "→" if e["role"] == "anchor" else " "
                kind = e["kind"] + (f"={e['value']}" if e["value"] else "")
                body.append(
                    f"\n{marker} L{e['line'] if e['line'] is not None else '-'} ", style="dim"
                )
                body.append(f"{e['ts'] or '-'} {kind}: ", style="dim")
                body.append(_short(e["text"]))
            if f["adapter_inferred"]:
                body.append(
                    "\n(adapter inferred: the evidence names no adapter)", style="dim italic"
                )
            table.add_row(
                Text(f["severity"], style=SEVERITY_STYLE.get(f["severity"], "")),
                f["rule"],
                PurePath(f["trace"]).name,
                f["adapter"] or "-",
                f["ts_text"] or "-",
                str(f["line"]) if f["line"] is not None else "-",
                body,
            )
        console.print(table)

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
        if trace.unattributed:
            console.print(
                f"[dim]{escape(trace.path)}: {trace.unattributed} lifecycle events could not be "
                "attributed to an adapter and were not audited[/]"
            )

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
