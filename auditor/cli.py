"""``trace-audit``: the command line, a thin layer over :mod:`auditor.pipeline`.

Exit codes (pinned): 0 no finding at or above ``--fail-on``; 1 such findings;
2 bad usage, a bad map or rule file, or an input that could not be read. An unreadable
input does not stop the others from being audited; it only decides the exit code.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import io
import sys
import traceback
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from auditor.problems import ConfigError
from auditor.report.atomic import atomic_path, write_text_atomic

if TYPE_CHECKING:
    from parsers.sink import Progress
    from parsers.timestamps import TraceStart

app = typer.Typer(
    name="trace-audit",
    help=(
        "Audit Windows Wi-Fi driver traces (tracerpt CSV, WPP text) against the WDK "
        "lifecycle contract.\n\nExample: trace-audit audit wlan.txt --html report.html"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
rules_app = typer.Typer(help="List and explain the rules.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
maps_app = typer.Typer(help="Check what the event maps recognise.", no_args_is_help=True)
app.add_typer(maps_app, name="maps")
UNCLASSIFIED_IN_REPORT = 20

err = Console(stderr=True, highlight=False, soft_wrap=True)
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
MAX_PROBLEMS_SHOWN = 50  # a generated file can hold thousands of mistakes


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"
    sarif = "sarif"
    junit = "junit"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


class Abort(Exception):
    """A user-facing error: message on stderr, exit code 2, no traceback."""


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given; directories searched for trace files; glob patterns expanded."""
    from auditor.inputs import expand_inputs

    try:
        return [Path(p) for p in expand_inputs(paths)]
    except FileNotFoundError as exc:
        raise Abort(str(exc)) from None


def _check_tz(tz: str) -> str:
    from parsers.timestamps import check_timezone

    try:
        return check_timezone(tz)
    except ValueError as exc:
        raise Abort(f"--tz: {exc}") from None


def _trace_start(text: str | None, tz: str) -> TraceStart | None:
    from parsers.timestamps import parse_trace_start

    if text is None:
        return None
    try:
        return parse_trace_start(text, _check_tz(tz))
    except ValueError as exc:
        raise Abort(f"--trace-start: {exc}") from None


def _duration(text: str, option: str) -> int:
    from auditor.rulelang.syntax import FormulaError, parse_duration

    try:
        return parse_duration(text)
    except FormulaError as exc:
        raise Abort(f"{option}: {exc.message}") from None


def _split_ids(values: list[str] | None) -> list[str]:
    return [part.strip() for v in values or [] for part in v.split(",") if part.strip()]


def _stdout_console() -> Console:
    """Rich wraps at 80 columns when stdout is a pipe; CI logs and files deserve full rows."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


MapOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--map",
        "-m",
        help="Event map TOML for your driver's messages; tried before the built-in maps. "
        "Repeatable. builtin:datapath adds NDIS send/receive lines (off by default: slower).",
    ),
]
RulesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--rules", "-r", help="Extra rule file (TOML), added to the built-in pack. Repeatable."
    ),
]
PrefixOpt = Annotated[
    str | None,
    typer.Option(
        "--wpp-prefix",
        help="WPP text written with a custom TRACE_FORMAT_PREFIX: give the same string, e.g. '%4!s! [%1!s!] %!FUNC!: ' ('' for -noprefix).",
    ),
]
TzOpt = Annotated[
    str,
    typer.Option(
        "--tz",
        help="Time zone of local timestamps in the traces (IANA name). FILETIME stamps are UTC anyway.",
    ),
]
TraceStartOpt = Annotated[
    str | None,
    typer.Option(
        "--trace-start",
        help="When the trace started, for exports whose times count from its start "
        "(PerfView, wpaexporter, an xperf dump without its header): an ISO 8601 time, in "
        "--tz unless it names its offset (2026-11-24T09:30:00.125+01:00), or a FILETIME. "
        "Without it such times count from 1970-01-01 UTC and the trace says so.",
    ),
]
SuppressOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--suppress",
        "-s",
        help="Suppressions file (TOML): accepted findings, each with its reason. They do not "
        "count for --fail-on; json, sarif, junit and --html list them, jsonl/csv/parquet "
        "hold the findings only. Unused entries are warned about. Repeatable.",
    ),
]


@app.command()
def audit(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Trace files, or directories to search for them.", show_default=False),
    ],
    maps: MapOpt = None,
    rules: RulesOpt = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format (parquet needs -o).")
    ] = OutputFormat.table,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the output here instead of stdout.")
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write a self-contained HTML report with timelines."),
    ] = None,
    tz: TzOpt = "UTC",
    trace_start: TraceStartOpt = None,
    wpp_prefix: PrefixOpt = None,
    clock_jump: Annotated[
        str,
        typer.Option(
            "--clock-jump",
            help="Report a trace whose clock steps back by more than this (e.g. 1s, 500ms).",
        ),
    ] = "1s",
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Lowest severity that makes the exit code 1.")
    ] = FailOn.error,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", help="Only these rule ids (comma-separated or repeated)."),
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", help="Skip these rule ids.")
    ] = None,
    suppress: SuppressOpt = None,
) -> None:
    """Audit traces and report where the driver broke the lifecycle contract.

    Examples:

      trace-audit audit field.txt

      trace-audit audit lab-run/ --format json -o findings.json --fail-on warning

      trace-audit audit contoso.txt --map contoso.map.toml --html report.html --tz Europe/Berlin

      trace-audit audit lab-run/ --suppress known-issues.toml --format sarif -o audit.sarif
    """
    from auditor.pipeline import Auditor
    from auditor.report.json_report import render_json
    from auditor.report.terminal import print_report, print_suppression_warnings

    if output_format is OutputFormat.parquet and output is None:
        raise Abort("--format parquet writes binary files, not text: use -o FILE.parquet")
    files = expand_paths(paths)
    auditor = Auditor.load(
        map_paths=maps or [],
        rule_paths=rules or [],
        select=_split_ids(select),
        ignore=_split_ids(ignore),
        tz=_check_tz(tz),
        wpp_prefix=wpp_prefix,
        clock_jump_ns=_duration(clock_jump, "--clock-jump"),
        suppress_paths=suppress or [],
        trace_start=_trace_start(trace_start, tz),
    )
    # The HTML report lists the most frequent unclassified messages: a second, fuller
    # read of each trace that only the report pays for.
    coverage = UNCLASSIFIED_IN_REPORT if html else 0
    from auditor.report.terminal import interactive

    if not interactive():
        result = auditor.audit(files, coverage=coverage)
    else:
        with err.status("auditing…") as status:
            result = auditor.audit(
                files, progress=lambda p: status.update(f"reading {p}"), coverage=coverage
            )

    for trace in result.failed:
        where = f"{trace.path}:{trace.error_line}" if trace.error_line else trace.path
        err.print(f"[red]error:[/] {escape(where)}: {escape(trace.error)}", highlight=False)
    print_suppression_warnings(result.unused_suppressions, result.expired_suppressions, err)

    if output_format is OutputFormat.parquet:
        from auditor.report.tabular import write_parquet

        written = write_parquet(output, result.traces, result.findings, result.not_evaluable)
        err.print("wrote " + ", ".join(escape(str(p)) for p in written))
    elif output_format is not OutputFormat.table:
        from auditor.report import junit, sarif, tabular

        renderers = {
            OutputFormat.json: lambda: render_json(result),
            OutputFormat.jsonl: lambda: tabular.render_jsonl(result.findings),
            OutputFormat.csv: lambda: tabular.render_csv(result.findings),
            OutputFormat.sarif: lambda: sarif.render_sarif(
                result.traces,
                result.findings,
                result.not_evaluable,
                result.rules,
                suppressed=result.suppressed,
            ),
            OutputFormat.junit: lambda: junit.render_junit(
                result.traces,
                result.findings,
                result.not_evaluable,
                result.rules,
                suppressed=result.suppressed,
            ),
        }
        text = renderers[output_format]()
        if output:
            write_text_atomic(output, text)
        else:
            sys.stdout.write(text)
    else:
        if output:
            buffer = io.StringIO()
            print_report(result, Console(file=buffer, width=160, highlight=False))
            write_text_atomic(output, buffer.getvalue())
        else:
            print_report(result, _stdout_console())

    if html:
        from auditor.report.html import write_html

        write_html(result, html)
        err.print(f"HTML report: {html}")

    if result.failed:
        raise typer.Exit(EXIT_USAGE)
    if fail_on is not FailOn.never:
        from auditor.ruleset import Severity

        threshold = Severity(fail_on.value).rank
        if any(
            Severity(s).rank >= threshold for s in result.findings.get_column("severity").to_list()
        ):
            raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


@app.command()
def parse(
    paths: Annotated[
        list[Path], typer.Argument(help="Trace files or directories.", show_default=False)
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="events.parquet, or .arrow/.ipc for Arrow IPC.")
    ],
    tz: TzOpt = "UTC",
    trace_start: TraceStartOpt = None,
    wpp_prefix: PrefixOpt = None,
    lifecycle: Annotated[
        bool,
        typer.Option(
            "--lifecycle",
            help="Write only the events the maps classify, with kind, value and adapter "
            "columns: what the audit reads. WPP records and tracerpt rows without one of the "
            "maps' keywords are dropped before their fields are decoded (on 1 GB traces, "
            "about 2.7 times as fast for WPP text, 1.6 times for a tracerpt CSV).",
        ),
    ] = False,
    maps: MapOpt = None,
) -> None:
    """Write the canonical events of traces for other tools; rejected lines go beside them.

    Traces are read and written chunk by chunk, so memory stays bounded whatever their size.
    Every line is still accounted for with --lifecycle: the counts are those of the trace.

    Examples:

      trace-audit parse field.txt -o events.parquet  (also writes events.rejects.parquet)

      trace-audit parse field.txt --lifecycle --map contoso.map.toml -o lifecycle.parquet
    """
    from parsers import ParseOptions, stream_trace
    from parsers.sink import write_events

    suffix = output.suffix.lower()
    if suffix not in (".parquet", ".arrow", ".ipc", ".feather"):
        raise Abort(f"{output}: choose .parquet, .arrow or .ipc as the output extension")
    if maps and not lifecycle:
        raise Abort("--map classifies events: it needs --lifecycle")
    event_maps = None
    if lifecycle:
        from auditor.eventmap import MapSet

        event_maps = MapSet.load(list(maps or []))
    options = ParseOptions(
        tz=_check_tz(tz),
        wpp_prefix=wpp_prefix,
        keep=event_maps,
        trace_start=_trace_start(trace_start, tz),
    )
    traces = [stream_trace(path, options) for path in expand_paths(paths)]

    def done(trace, jumps) -> None:  # type: ignore[no-untyped-def]
        if jumps.count:
            err.print(
                f"[yellow]{escape(trace.path)}: the clock steps back by up to "
                f"{jumps.largest_ns / 1e9:g} s at {jumps.count} event(s), first at line "
                f"{jumps.first_line}[/]"
            )
        for note in trace.notes:
            err.print(f"{escape(trace.path)}: {escape(note)}")
        acc = trace.accounting
        err.print(
            f"{trace.path}: {trace.format}, {acc.lines:,} lines = {acc.events:,} events + "
            f"{acc.continuation:,} continuation + {acc.meta:,} meta + {acc.rejected:,} rejected"
        )

    def failed(exc: Exception) -> None:
        err.print(f"[red]error:[/] {escape(str(exc))}")

    ipc = suffix != ".parquet"
    reject_path = output.with_name(f"{output.stem}.rejects{output.suffix}")
    with atomic_path(output) as tmp, _parse_progress() as progress:
        written = write_events(
            traces,
            tmp,
            ipc=ipc,
            done=done,
            failed=failed,
            transform=event_maps.classify if event_maps is not None else None,
            progress=progress,
        )
    with atomic_path(reject_path) as tmp:
        if ipc:
            written.rejects.write_ipc(tmp)
        else:
            written.rejects.write_parquet(tmp)
    what = "lifecycle events" if lifecycle else "events"
    err.print(
        f"wrote {written.events:,} {what} to {output} and {written.rejects.height:,} "
        f"rejected lines to {reject_path}"
    )
    raise typer.Exit(EXIT_USAGE if written.failed else EXIT_OK)


@contextlib.contextmanager
def _parse_progress() -> Iterator[Progress | None]:
    """On a terminal, a status line naming the trace being read and how far it got."""
    from auditor.report.terminal import interactive

    if not interactive():
        yield None
        return
    with err.status("parsing…") as status:
        yield lambda trace, lines: status.update(f"parsing {escape(trace.path)}: {lines:,} lines")


@app.command()
def timeline(
    paths: Annotated[
        list[Path], typer.Argument(help="Trace files or directories.", show_default=False)
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The HTML file to write.")
    ] = None,
    png: Annotated[
        Path | None,
        typer.Option(
            "--png",
            help="Also write a static PNG (one per trace: FILE-1.png, FILE-2.png... for "
            "several). Needs the `png` extra (kaleido) and Chrome or Chromium.",
        ),
    ] = None,
    maps: MapOpt = None,
    tz: TzOpt = "UTC",
    trace_start: TraceStartOpt = None,
) -> None:
    """Write the interactive timelines (with the findings on them) as one offline HTML file.

    Examples:

      trace-audit timeline field.txt -o timeline.html

      trace-audit timeline field.txt --png timeline.png
    """
    if output is None and png is None:
        raise Abort("timeline: give -o FILE.html, --png FILE.png or both")
    from auditor.pipeline import Auditor
    from auditor.report.html import write_html

    auditor = Auditor.load(
        map_paths=maps or [], tz=_check_tz(tz), trace_start=_trace_start(trace_start, tz)
    )
    result = auditor.audit(expand_paths(paths))
    for trace in result.failed:
        err.print(f"[red]error:[/] {escape(trace.path)}: {escape(trace.error or '')}")
    if output is not None:
        write_html(result, output, title="trace-auditor timeline")
        err.print(f"timeline: {output}")
    if png is not None:
        from auditor.report.timeline import PngUnavailable, timeline_figure, write_png

        readable = [t for t in result.traces if t.error is None]
        for k, trace in enumerate(readable, start=1):
            target = png if len(readable) == 1 else png.with_name(f"{png.stem}-{k}{png.suffix}")
            try:
                write_png(timeline_figure(result, trace.path), target)
            except PngUnavailable as exc:
                raise Abort(f"--png {png}: {exc}") from None
            err.print(f"timeline PNG: {target} ({trace.path})")
    raise typer.Exit(EXIT_USAGE if result.failed else EXIT_OK)


@app.command("formats")
def list_formats() -> None:
    """List the input formats recognised, with an example line of each."""
    from parsers import formats

    for cls in formats():
        typer.echo(f"{cls.name}: {cls.description}")
        typer.echo(f"    e.g. {cls.example}")


@rules_app.command("list")
def rules_list(rules: RulesOpt = None, maps: MapOpt = None) -> None:
    """List the rules: id, severity, title and source page.

    Example: trace-audit rules list --rules contoso.rules.toml
    """
    from rich.table import Table

    from auditor.pipeline import Auditor

    auditor = Auditor.load(map_paths=maps or [], rule_paths=rules or [])
    table = Table("id", "severity", "title", "source")
    for rule in auditor.rules.rules:
        table.add_row(rule.id, rule.severity.value, rule.title, rule.source)
    _stdout_console().print(table)


@rules_app.command("explain")
def rules_explain(
    rule_id: Annotated[str, typer.Argument(help="A rule id from 'rules list'.")],
    rules: RulesOpt = None,
    maps: MapOpt = None,
) -> None:
    """Show a rule: formula, source, the kinds it needs, and the examples on which it
    fires and passes (run through the engine, the finding marked).

    Example: trace-audit rules explain halt-radio-left-on
    """
    from auditor.pipeline import Auditor

    auditor = Auditor.load(map_paths=maps or [], rule_paths=rules or [])
    found = next((r for r in auditor.rules.rules if r.id == rule_id), None)
    if found is None:
        known = ", ".join(r.id for r in auditor.rules.rules)
        raise Abort(f"unknown rule {rule_id!r} (known: {known})")
    from auditor.explain import explain_rule

    typer.echo(explain_rule(found, auditor.rules, auditor.maps.kinds))


@app.command()
def batch(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Trace files, directories, globs (quote them: 'runs/**/*.txt') or zip archives.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output directory (reused: incremental).")
    ],
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", help="Local worker processes (default: the core count)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Run on a Dask cluster instead, e.g. tcp://host:8786 (pip install 'trace-auditor[dask]').",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Audit every trace again, ignoring the cache.")
    ] = False,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline", help="An earlier batch's --out: report new / fixed / persisting findings."
        ),
    ] = None,
    baseline_resolution: Annotated[
        float,
        typer.Option(
            "--baseline-resolution",
            help="Seconds to round the time since a trace's first event to, when matching findings.",
        ),
    ] = 1.0,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Lowest severity that sets exit code bit 1.")
    ] = FailOn.error,
    fail_on_new: Annotated[
        bool,
        typer.Option("--fail-on-new", help="Gate on new findings only (needs --baseline)."),
    ] = False,
    maps: MapOpt = None,
    rules: RulesOpt = None,
    tz: TzOpt = "UTC",
    trace_start: TraceStartOpt = None,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", help="Only these rule ids (comma-separated or repeated)."),
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", help="Skip these rule ids.")
    ] = None,
    no_reports: Annotated[
        bool, typer.Option("--no-reports", help="Skip the per-trace HTML reports.")
    ] = False,
    suppress: SuppressOpt = None,
) -> None:
    """Audit many traces: one task per trace on a local process pool or a Dask cluster.

    Writes findings.parquet, traces.parquet, summary.json, junit.xml and index.html (with a
    report per trace under reports/) into --out; with --suppress, suppressed.parquet too
    (suppressed findings are not in findings.parquet and do not count for --fail-on). Exit code: 0 clean, 1 findings at or above
    --fail-on, 2 bad usage, 4 some traces failed to read, 5 both 1 and 4.

    Examples:

      trace-audit batch lab-run-0142/ --out out/0142 --jobs 2

      trace-audit batch 'runs/**/*.txt' night.zip --out out/night --baseline out/last --fail-on-new

      trace-audit batch lab/ --out out/lab --scheduler tcp://scheduler:8786
    """
    from auditor.batch.run import BatchOptions, BatchUsageError, run_batch
    from auditor.report.terminal import interactive

    options = BatchOptions(
        inputs=list(inputs),
        out=out,
        jobs=jobs,
        scheduler=scheduler,
        force=force,
        baseline=baseline,
        baseline_resolution=baseline_resolution,
        fail_on=fail_on.value,
        fail_on_new=fail_on_new,
        map_paths=tuple(str(p) for p in maps or []),
        rule_paths=tuple(str(p) for p in rules or []),
        select=tuple(_split_ids(select)),
        ignore=tuple(_split_ids(ignore)),
        tz=_check_tz(tz),
        trace_start=_trace_start(trace_start, tz),
        reports=not no_reports,
        progress=interactive(),
        suppress_paths=tuple(str(p) for p in suppress or []),
    )
    try:
        outcome = run_batch(options, console=err)
    except BatchUsageError as exc:
        raise Abort(str(exc)) from None
    raise typer.Exit(outcome.exit_code)


@maps_app.command("coverage")
def maps_coverage(
    paths: Annotated[
        list[Path], typer.Argument(help="Trace files or directories.", show_default=False)
    ],
    maps: MapOpt = None,
    top: Annotated[int, typer.Option("--top", help="Shapes to list per trace.")] = 30,
    tz: TzOpt = "UTC",
    trace_start: TraceStartOpt = None,
    wpp_prefix: PrefixOpt = None,
    emit_map: Annotated[
        Path | None,
        typer.Option(
            "--emit-map",
            help="Also write a draft TOML map of these shapes to FILE (kinds guessed, "
            "undecided ones commented out).",
            metavar="FILE",
        ),
    ] = None,
) -> None:
    """List the messages no map classifies, grouped by shape (numbers masked), most frequent first.

    Example: trace-audit maps coverage newdriver.txt --map newdriver.map.toml

    Example: trace-audit maps coverage newdriver.txt --top 50 --emit-map newdriver.map.toml
    drafts a map to review, then: trace-audit audit newdriver.txt --map newdriver.map.toml
    """
    from rich.table import Table

    from auditor.pipeline import Auditor
    from parsers import TraceReadError

    auditor = Auditor.load(
        map_paths=maps or [],
        tz=_check_tz(tz),
        wpp_prefix=wpp_prefix,
        trace_start=_trace_start(trace_start, tz),
    )
    console = _stdout_console()
    failed = False
    drafted = []
    for path in expand_paths(paths):
        try:
            shapes = auditor.coverage(path, top=top)
        except TraceReadError as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}")
            failed = True
            continue
        drafted.append(shapes)
        table = Table(
            "count", "provider", "shape", "first line", title=str(path), title_justify="left"
        )
        for row in shapes.iter_rows(named=True):
            table.add_row(
                str(row["count"]), row["provider"] or "", row["shape"], str(row["example_line"])
            )
        console.print(table if shapes.height else f"{escape(str(path))}: every event is classified")
    if emit_map is not None:
        from auditor.mapdraft import write_draft

        err.print(escape(write_draft(drafted, emit_map)))
    raise typer.Exit(EXIT_USAGE if failed else EXIT_OK)


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    # The process ends with the command, and everything alive then is freed with it.
    # Freezing it all first spares the collector's last pass over every object: exit
    # took 68-88 ms after a 300 MB parse, 41 ms frozen. This runs after every other
    # exit handler.
    atexit.register(gc.freeze)
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        app()  # standalone: usage errors, --help and typer.Exit become SystemExit
    except ConfigError as exc:
        for problem in exc.problems[:MAX_PROBLEMS_SHOWN]:
            err.print(f"[red]error:[/] {escape(str(problem))}", highlight=False)
        if len(exc.problems) > MAX_PROBLEMS_SHOWN:
            err.print(f"… and {len(exc.problems) - MAX_PROBLEMS_SHOWN} more problems")
        sys.exit(EXIT_USAGE)
    except Abort as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(EXIT_USAGE)
    except Exception as exc:  # the last line of defence: no traceback unless asked
        if debug:
            traceback.print_exc()
        else:
            err.print(
                f"[red]internal error:[/] {escape(type(exc).__name__)}: {escape(str(exc))} "
                "(rerun with --debug for the traceback)"
            )
        sys.exit(3)


if __name__ == "__main__":
    main()
