"""Benchmark: ``trace-audit batch`` on many traces, --jobs 2 against --jobs 1.

    python benchmarks/bench_batch.py [--traces 1000] [--events 10000] [--tiny 200]

Generates (once, cached under benchmarks/data/, git-ignored) ``--traces`` WPP traces of
``--events`` events each with benchmarks/generate.py (seeds 1..N), then runs each batch
as a separate process into a fresh output directory and times it:

  (a) ``batch DATA --out A --jobs 1``               throughput, one worker
  (b) ``batch DATA --out B --jobs 2``               throughput, two workers (target >= 1.6 x a)
  (c) ``batch DATA --out B --jobs 2`` again         nothing changed: a fraction of (b)
  (d) ``batch TINY --jobs 1`` with 1 and ``--tiny`` four-line traces: the fixed start-up
      cost and the per-trace overhead, (T(tiny) - T(1)) / (tiny - 1)

It checks that (a), (b) and (c) wrote the same findings.parquet, prints a Markdown table
and writes benchmarks/batch-results.md. Exit status 1 if the findings differ.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "batch-results.md"

sys.path.insert(0, str(HERE))
import generate  # noqa: E402

TINY = (
    "[0]0004.0010::06/06/2025-12:00:00.000 [wlan]---> MPInitializeEx Adapter=A{n}\n"
    "[0]0004.0010::06/06/2025-12:00:01.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A{n}\n"
    "[0]0004.0010::06/06/2025-12:00:03.000 [wlan]---> MPHaltEx Adapter=A{n}\n"
    "[0]0004.0010::06/06/2025-12:00:03.100 [wlan]<--- MPHaltEx Adapter=A{n}\n"
)


def command() -> list[str]:
    script = Path(sys.executable).with_name("trace-audit")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from auditor.cli import main; main()"]


def corpus(traces: int, events: int) -> Path:
    folder = DATA / f"batch-{traces}x{events}"
    done = folder / ".complete"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    for i in range(traces):
        path = folder / f"run-{i:04d}.txt"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            generate.generate(tmp, events, seed=i + 1)
            tmp.replace(path)
    done.write_text("ok\n")
    print(f"generated {traces} traces in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return folder


def tiny_corpus(root: Path, n: int) -> Path:
    folder = root / f"tiny-{n}"
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"tiny-{i:04d}.txt").write_text(TINY.format(n=i), encoding="utf-8")
    return folder


def timed(args: list[str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(
        [*command(), "batch", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CI": "1"},
    )
    wall = time.perf_counter() - began
    if done.returncode not in (0, 1):
        sys.exit(f"batch {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    print(done.stderr.strip().splitlines()[-1], file=sys.stderr)
    return wall


def same_findings(a: Path, b: Path) -> bool:
    import polars as pl

    return pl.read_parquet(a / "findings.parquet").equals(pl.read_parquet(b / "findings.parquet"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--tiny", type=int, default=200)
    args = parser.parse_args(argv)

    data = corpus(args.traces, args.events)
    files = sorted(data.glob("*.txt"))
    megabytes = sum(f.stat().st_size for f in files) / 1e6
    for f in files:  # into the page cache
        f.read_bytes()
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        out1, out2 = work / "jobs1", work / "jobs2"
        t1 = timed([str(data), "--out", str(out1), "--jobs", "1"])
        t2 = timed([str(data), "--out", str(out2), "--jobs", "2"])
        t3 = timed([str(data), "--out", str(out2), "--jobs", "2"])
        same = same_findings(out1, out2)
        one = tiny_corpus(work, 1)
        many = tiny_corpus(work, args.tiny)
        t_one = timed([str(one), "--out", str(work / "tiny1"), "--jobs", "1"])
        t_many = timed([str(many), "--out", str(work / "tinyN"), "--jobs", "1"])
        t_many2 = timed([str(many), "--out", str(work / "tinyN2"), "--jobs", "2"])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    n = len(files)
    speedup = t1 / t2
    overhead = (t_many - t_one) / (args.tiny - 1)
    overhead2 = (t_many2 - t_one) / (args.tiny - 1)
    rows = [
        ("`batch --jobs 1`", f"{t1:.1f} s", f"{n / t1:.1f} traces/s, {megabytes / t1:.1f} MB/s"),
        (
            "`batch --jobs 2`",
            f"{t2:.1f} s",
            f"{n / t2:.1f} traces/s, {megabytes / t2:.1f} MB/s: **{speedup:.2f} x** --jobs 1 "
            "(target >= 1.6)",
        ),
        (
            "`batch --jobs 2`, again, nothing changed",
            f"{t3:.1f} s",
            f"**{t3 / t2:.1%}** of the first run (every trace hashed, none audited)",
        ),
        ("1 tiny trace, `--jobs 1`", f"{t_one:.2f} s", "start-up: interpreter, imports, pool"),
        (
            f"{args.tiny} tiny traces, `--jobs 1`",
            f"{t_many:.2f} s",
            f"**{overhead * 1000:.0f} ms per trace** overhead",
        ),
        (
            f"{args.tiny} tiny traces, `--jobs 2`",
            f"{t_many2:.2f} s",
            f"{overhead2 * 1000:.0f} ms per trace",
        ),
    ]
    table = "| run | wall | result |\n|---|---:|---|\n" + "\n".join(
        f"| {a} | {b} | {c} |" for a, b, c in rows
    )
    machine = (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    text = (
        "# Batch benchmark\n\n"
        f"`python benchmarks/bench_batch.py --traces {args.traces} --events {args.events} "
        f"--tiny {args.tiny}` on {datetime.now(UTC):%Y-%m-%d} ({machine}).\n\n"
        f"Corpus: {n} generated WPP traces of {args.events:,} events each "
        f"({megabytes:.0f} MB in all), in the page cache; every batch a separate process "
        "into a fresh output directory (per-trace HTML reports included), `CI=1` (no "
        "progress bar), one run each: the machine is shared, expect +-15 %.\n\n"
        f"{table}\n\n"
        f"findings.parquet of the three big runs identical: {'yes' if same else '**NO**'}.\n"
    )
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
