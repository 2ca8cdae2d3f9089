"""Benchmark: ``trace-audit parse`` of a ~1 GB WPP text file and a ~1 GB tracerpt CSV.

    python benchmarks/bench_parse.py [--mb 1000] [--repeat 3] [--keep]

Generates both traces under the system temp folder (benchmarks/generate.py; deleted
afterwards unless ``--keep``), then runs each command as a separate process, K times
interleaved, each run right after a read of the trace so it sits in the page cache,
keeping the best wall time and the peak RSS:

  (a) baseline: ``pl.read_lines(PATH)`` and its height (polars reading the file as lines)
  (b) baseline: ``pl.scan_lines(PATH)`` counted (streamed, nothing kept: for information)
  (c) the product, every event: ``trace-audit parse PATH -o OUT.parquet``
  (d) the product, what later stages need: ``trace-audit parse PATH --lifecycle -o OUT``
      (the events the maps classify, with kind/value/adapter; what the audit reads)

Targets (issue 3): parse / read_lines <= 2 and peak RSS below the file's size, judged for
(c) and (d) each. Writes a Markdown table to benchmarks/results-parse.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results-parse.md"
sys.path.insert(0, str(HERE))
import generate  # noqa: E402
from bench_audit import (  # noqa: E402
    Command,
    machine_section,
    measured_on,
    run_measured,
    table,
    warm,
)

READ_LINES = "import sys, polars as pl; print(pl.read_lines(sys.argv[1]).height)"
SCAN_LINES = (
    "import sys, polars as pl; print(pl.scan_lines(sys.argv[1]).select(pl.len()).collect().item())"
)
TIME_TARGET = 2.0
# Average bytes per record, to size a trace by megabytes.
WPP_BYTES_PER_EVENT = 120.6
TRACERPT_BYTES_PER_EVENT = 345.0


def make_traces(folder: Path, mb: int) -> list[tuple[str, Path]]:
    wpp = folder / "bench.wpp.txt"
    csv = folder / "bench.tracerpt.csv"
    began = time.perf_counter()
    generate.generate(wpp, int(mb * 1e6 / WPP_BYTES_PER_EVENT), seed=1, adapters=4)
    generate.generate_tracerpt(csv, int(mb * 1e6 / TRACERPT_BYTES_PER_EVENT), seed=1)
    print(f"generated in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return [("WPP text", wpp), ("tracerpt CSV", csv)]


def commands(python: str, trace: Path, out: Path) -> list[Command]:
    script = Path(python).parent / ("trace-audit.exe" if os.name == "nt" else "trace-audit")
    return [
        Command(
            "a",
            "(a) baseline: polars read_lines",
            'python -c "pl.read_lines(PATH).height"',
            [python, "-c", READ_LINES, str(trace)],
        ),
        Command(
            "b",
            "(b) polars scan_lines, counted",
            'python -c "pl.scan_lines(PATH).select(pl.len()).collect()"',
            [python, "-c", SCAN_LINES, str(trace)],
        ),
        Command(
            "c",
            "(c) trace-audit parse, every event",
            "trace-audit parse PATH -o OUT.parquet",
            [str(script), "parse", str(trace), "-o", str(out)],
        ),
        Command(
            "d",
            "(d) trace-audit parse, lifecycle events",
            "trace-audit parse PATH --lifecycle -o OUT.parquet",
            [str(script), "parse", str(trace), "--lifecycle", "-o", str(out)],
        ),
    ]


def measure(trace: Path, cmds: list[Command], repeat: int, workdir: Path) -> None:
    for _ in range(repeat):
        for cmd in cmds:
            # Read again before every run: this machine's page cache is sometimes
            # reclaimed between runs, and a run that reads from disk measures the disk.
            warm(trace)
            wall, rss, code, tail = run_measured(cmd.argv, workdir)
            if code not in cmd.ok_codes:
                raise SystemExit(f"{cmd.shown} failed ({code}):\n{tail}")
            cmd.walls.append(wall)
            cmd.rss_kb.append(rss)


def report(
    results: list[tuple[str, Path, int, list[Command]]],
    args: argparse.Namespace,
    info: dict[str, str],
) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Parse benchmark",
        "",
        f"Measured {now} by `python benchmarks/bench_parse.py --mb {args.mb} "
        f"--repeat {args.repeat}`.",
        "",
        "Traces from `benchmarks/generate.py` (seed 1): WPP text with the default prefix "
        "(about 3 % wrapped continuation lines) and a tracerpt CSV with padded columns and "
        "quoted User Data. Each command is a separate process, run "
        f"{args.repeat} times interleaved, each right after a read of the file (so it is in "
        "the page cache); "
        "best wall time, peak RSS (max resident set size of the whole process) over the runs. "
        "Ratios are of the best runs; the ratio of the medians is given beside them.",
        "",
    ]
    for name, trace, size, cmds in results:
        by_key = {c.key: c for c in cmds}
        out += [f"## {name}: {trace.name}, {size / 1e6:,.0f} MB", "", table(cmds), ""]
        for key, what in (("c", "every event"), ("d", "lifecycle events")):
            parse = by_key[key]
            ratio = parse.best / by_key["a"].best
            verdict = "met" if ratio <= TIME_TARGET else "MISSED"
            line = (
                f"- ({key}) {what}: parse / read_lines = **{ratio:.2f}** "
                f"(target <= {TIME_TARGET:g}: {verdict}; median / median "
                f"{parse.median / by_key['a'].median:.2f})"
            )
            if parse.peak_mb is not None:
                share = parse.peak_mb * 2**20 / size
                verdict = "met" if share < 1 else "MISSED"
                line += f"; peak RSS / file size = **{share:.2f}** (target < 1: {verdict})"
            out.append(line)
        out.append(
            f"- (c) / scan_lines count = {by_key['c'].best / by_key['b'].best:.2f} "
            "(for information)"
        )
        out.append("")
    return "\n".join(out + machine_section(info))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1000, help="size of each trace in MB")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command")
    parser.add_argument("--keep", action="store_true", help="keep the generated traces")
    parser.add_argument("--out", type=Path, default=RESULTS, help="the Markdown report")
    args = parser.parse_args(argv)
    info = measured_on()
    folder = Path(tempfile.mkdtemp(prefix="bench-parse-"))
    try:
        results = []
        for name, trace in make_traces(folder, args.mb):
            out = folder / "events.parquet"  # (c) and (d) each overwrite it
            cmds = commands(sys.executable, trace, out)
            measure(trace, cmds, args.repeat, folder)
            results.append((name, trace, trace.stat().st_size, cmds))
            for c in cmds:
                print(f"{name}: {c.label}: best {c.best:.2f} s, {c.peak_mb or 0:.0f} MB")
        text = report(results, args, info)
        args.out.write_text(text, encoding="utf-8")
        print(text)
    finally:
        if not args.keep:
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()
        else:
            print(f"traces kept in {folder}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
