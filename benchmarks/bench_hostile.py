"""Benchmark: time and memory of ``trace-audit audit`` on hostile inputs of a given size.

    python benchmarks/bench_hostile.py [--mb 100] [--repeat 1] [--cases a,b,...] [--keep]

Writes each hostile input of about ``--mb`` megabytes (under benchmarks/data/hostile/,
git-ignored; deleted afterwards unless ``--keep``), plus a clean WPP text trace of the
same size from benchmarks/generate.py, and runs ``trace-audit audit FILE --format json
-o OUT`` on each as a separate process (``/usr/bin/time -v`` or ``os.wait4`` for the
peak RSS, as in bench_audit.py). Reported per case: the outcome (exit code; for exit 0/1
the line accounting, which must balance; for exit 2 the one-line error), the best wall
time, ``time / clean`` (the clean trace's wall time), peak RSS, ``RSS / file size`` and
``RSS / clean RSS``. Prints a Markdown table and writes benchmarks/results-hostile.md.
Exit status 1 if a run crashed (exit code other than 0, 1, 2, a traceback) or left lines
unaccounted for.

The cases (issue 8's list of hostile inputs, at size):

  long-line      one WPP record, then the rest of the file as one line without a newline
  nul            NUL bytes only
  random         random bytes
  rejected       a tracerpt CSV: header, one good row, then rows all rejected (few columns)
  junk-text      text lines that are no trace records at all
  adapters       every line a lifecycle record naming a distinct adapter
  continuation   one WPP record wrapped onto millions of continuation lines
  regex          a map whose patterns backtrack exponentially in a backtracking engine,
                 ``(a+)+$`` and friends, against 64 KiB lines of ``a``
  eol-mix        the clean trace with LF, CRLF and lone CR line endings mixed
  empty-lines    newlines only: the most lines a file of this size can have
  short-records  the shortest WPP records possible: the most events per byte
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "hostile"
RESULTS = HERE / "results-hostile.md"

sys.path.insert(0, str(HERE))
import generate  # noqa: E402
from bench_audit import machine_section, measured_on, run_measured, warm  # noqa: E402

GUID = "{6C3E1B2A-5D4F-4A7B-9E21-0F8D3C2B1A90}"
WPP = (
    "[0]0004.0068::03/14/2024-09:12:00.412 [ctswifi]!MPInitializeEx[231]!"
    f"---> MPInitializeEx Adapter={GUID}\n"
)
# tracerpt's header row, space-padded as tracerpt writes it, and its first two rows
CSV_HEAD = "".join(
    (HERE.parent / "samples" / "fabrikam-radio-on-while-halted.csv")
    .read_text(encoding="utf-8")
    .splitlines(keepends=True)[:3]
)
EVIL_MAP = """\
[map]
name = "evil"
description = "patterns that take exponential time in a backtracking regex engine"

[[event]]
kind = "init.begin"
message = '(a+)+$'

[[event]]
kind = "halt.begin"
message = '^(a|aa)+$'

[[event]]
kind = "halt.end"
message = '(?P<adapter>\\w+)*x'
"""
CHUNK = 1 << 22


def _fill(path: Path, size: int, unit: bytes, head: bytes = b"", tail: bytes = b"") -> None:
    """head, then ``unit`` repeated to ``size`` bytes in total, then tail."""
    block = unit * max(1, CHUNK // len(unit))
    left = size - len(head) - len(tail)
    with open(path, "wb") as fh:
        fh.write(head)
        while left > 0:
            piece = block[:left]
            fh.write(piece)
            left -= len(piece)
        fh.write(tail)


def make_long_line(path: Path, size: int, rng: random.Random) -> None:
    _fill(path, size, b"A", head=WPP.encode())


def make_nul(path: Path, size: int, rng: random.Random) -> None:
    _fill(path, size, b"\0")


def make_random(path: Path, size: int, rng: random.Random) -> None:
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            n = min(CHUNK, left)
            fh.write(rng.randbytes(n))
            left -= n


def _lines(path: Path, size: int, make_line) -> None:
    """Lines from ``make_line(i)`` until the file holds ``size`` bytes (never more)."""
    written, i = 0, 0
    with open(path, "wb") as fh:
        while written < size:
            parts, batch = [], 0
            while batch < CHUNK and written + batch < size:
                line = make_line(i).encode()
                parts.append(line)
                batch += len(line)
                i += 1
            data = b"".join(parts)[: size - written]
            fh.write(data)
            written += len(data)


def make_rejected(path: Path, size: int, rng: random.Random) -> None:
    # One good row, so the file is a trace; every other row has too few columns.
    def line(i: int) -> str:
        return CSV_HEAD if i == 0 else f"radio,{i},off\n"

    _lines(path, size, line)


def make_junk_text(path: Path, size: int, rng: random.Random) -> None:
    _lines(path, size, lambda i: f"this line {i} is no trace record; lorem ipsum dolor sit\n")


def make_adapters(path: Path, size: int, rng: random.Random) -> None:
    def line(i: int) -> str:
        return WPP.replace(GUID, f"{{{i:08X}-5D4F-4A7B-9E21-{i:012X}}}")

    _lines(path, size, line)


def make_continuation(path: Path, size: int, rng: random.Random) -> None:
    def line(i: int) -> str:
        if i == 0:
            return WPP
        return f"    {i * 16:08X}: 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff\n"

    _lines(path, size, line)


def make_regex(path: Path, size: int, rng: random.Random) -> None:
    head = WPP.split("!MPInitializeEx")[0]
    body = "a" * (64 << 10)
    _lines(path, size, lambda i: f"{head}{body}\n" if i % 2 else f"{head}{body}b\n")


def make_empty_lines(path: Path, size: int, rng: random.Random) -> None:
    _fill(path, size, b"\n")


def make_short_records(path: Path, size: int, rng: random.Random) -> None:
    _lines(path, size, lambda i: f"[0]0.0::03/14/2024-09:12:00.{i % 1000:03d} [c]x\n")


@dataclass
class Case:
    name: str
    what: str
    make: object  # (path, size, rng) -> None, or None for the clean / eol-mix cases
    args: tuple[str, ...] = ()
    path: Path | None = None
    walls: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)
    code: int | None = None
    outcome: str = ""
    ok: bool = True

    @property
    def best(self) -> float:
        return min(self.walls)

    @property
    def peak_mb(self) -> float | None:
        known = [r for r in self.rss_kb if r > 0]
        return max(known) / 1024 if known else None


CASES = [
    Case("long-line", "one record, then one line of `A` without a newline", make_long_line),
    Case("nul", "NUL bytes only", make_nul),
    Case("random", "random bytes", make_random),
    Case("rejected", "tracerpt CSV, one good row, then rows all rejected", make_rejected),
    Case("junk-text", "text lines that are no trace records", make_junk_text),
    Case("adapters", "every line a distinct adapter's lifecycle record", make_adapters),
    Case("continuation", "one record wrapped onto millions of lines", make_continuation),
    Case("regex", "map `(a+)+$`, `^(a|aa)+$`, 64 KiB lines of `a`", make_regex),
    Case("eol-mix", "the clean trace, LF / CRLF / lone CR mixed", None),
    Case("empty-lines", "newlines only", make_empty_lines),
    Case("short-records", "the shortest WPP records (most events per byte)", make_short_records),
]


def make_clean(path: Path, size: int) -> int:
    """A generated WPP trace of about ``size`` bytes; returns its event count."""
    probe = path.with_suffix(".probe")
    generate.generate(probe, 20_000, seed=1, adapters=4)
    per_event = probe.stat().st_size / 20_000
    probe.unlink()
    events = max(20_000, round(size / per_event))
    return generate.generate(path, events, seed=1, adapters=4).events


def make_eol_mix(clean: Path, path: Path, rng: random.Random) -> None:
    endings = [b"\n", b"\r\n", b"\r"]
    with open(clean, "rb") as src, open(path, "wb") as out:
        for block in iter(lambda: src.read(CHUNK), b""):
            lines = block.split(b"\n")
            picks = rng.choices(endings, weights=[6, 3, 1], k=len(lines) - 1)
            out.write(b"".join(x + e for x, e in zip(lines, picks, strict=False)) + lines[-1])


def judge(case: Case, out: Path, err: str) -> None:
    """The outcome in words; a crash or unbalanced accounting marks the case failed."""
    if "Traceback" in err or case.code not in (0, 1, 2):
        case.ok = False
        case.outcome = f"exit {case.code}: CRASH {err.strip().splitlines()[-1:]}"
        return
    if case.code == 2 and not out.exists():
        first = (err.strip().splitlines() or ["(no message)"])[0]
        first = first.replace(str(case.path), "FILE")
        case.outcome = "exit 2: " + (first if len(first) <= 90 else first[:90] + "…")
        return
    traces = json.loads(out.read_text(encoding="utf-8"))["traces"]
    parts = []
    for t in traces:
        if t["error"] is not None:
            parts.append(f"error {t['error']['message'][:60]}")
            continue
        total = t["events"] + t["continuation"] + t["meta"] + t["rejected"]
        if total != t["lines"]:
            case.ok = False
        parts.append(
            f"{t['lines']:,} lines = {t['events']:,} ev + {t['continuation']:,} cont + "
            f"{t['meta']:,} meta + {t['rejected']:,} rej"
            + ("" if total == t["lines"] else f" (UNBALANCED: {total:,})")
        )
    case.outcome = f"exit {case.code}: " + "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100, help="size of each input in MB (1e6 B)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case (best kept)")
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the generated inputs")
    parser.add_argument("--results", type=Path, default=RESULTS, help="Markdown report path")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.mb <= 0:
        parser.error("--repeat must be at least 1 and --mb positive")
    chosen = {c for c in args.cases.split(",") if c}
    unknown = chosen - {c.name for c in CASES}
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")

    size = int(args.mb * 1e6)
    python = sys.executable
    script = Path(python).parent / "trace-audit"
    audit = [str(script)] if script.exists() else [python, "-m", "auditor.cli"]
    info = measured_on()
    rng = random.Random(8)
    work = DATA / f"{args.mb:g}mb"
    work.mkdir(parents=True, exist_ok=True)
    (work / "evil.map.toml").write_text(EVIL_MAP, encoding="utf-8")

    clean = Case("clean", "generated WPP trace (benchmarks/generate.py)", None)
    clean.path = work / "clean.txt"
    print(f"generating inputs of {args.mb:g} MB in {work} ...", file=sys.stderr, flush=True)
    began = time.perf_counter()
    events = make_clean(clean.path, size)
    clean.what += f", {events:,} events"
    cases = [c for c in CASES if not chosen or c.name in chosen]
    for case in cases:
        case.path = work / f"{case.name}.txt"
        if case.name == "eol-mix":
            make_eol_mix(clean.path, case.path, rng)
        else:
            case.make(case.path, size, rng)  # type: ignore[operator]
        if case.name == "regex":
            case.args = ("--map", str(work / "evil.map.toml"))
    print(f"  done in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)

    failed = False
    try:
        # One untimed run first: byte-compiling changed modules must not count as the
        # clean trace's time, which every ratio is divided by.
        run_measured(
            [*audit, "audit", str(clean.path), "-f", "json", "-o", str(work / "w.json")], work
        )
        for rep in range(args.repeat):
            for case in [clean, *cases]:
                assert case.path is not None
                out = work / "out.json"
                out.unlink(missing_ok=True)
                warm(case.path)
                argv_ = [*audit, "audit", str(case.path), *case.args, "-f", "json", "-o", str(out)]
                wall, rss, code, err = run_measured(argv_, work)
                case.walls.append(wall)
                case.rss_kb.append(rss)
                case.code = code
                judge(case, out, err)
                failed |= not case.ok
                shown = f"{rss / 1024:.0f} MB" if rss > 0 else "RSS n/a"
                print(
                    f"run {rep + 1}/{args.repeat} {case.name}: {wall:.2f} s, {shown}; "
                    f"{case.outcome}",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    clean_mb = clean.peak_mb
    rows = [
        "| case | input | MB | outcome | wall (s) | time / clean | peak RSS (MB) "
        "| RSS / file size | RSS / clean RSS |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for case in [clean, *cases]:
        assert case.path is not None
        mb = (case.path.stat().st_size if case.path.exists() else size) / 1e6
        rss = case.peak_mb
        rows.append(
            f"| {case.name} | {case.what} | {mb:.0f} | {case.outcome} | {case.best:.2f} "
            f"| {case.best / clean.best:.2f} | {rss:.0f} | {rss / mb:.2f} "
            f"| {rss / clean_mb:.2f} |"
            if rss is not None and clean_mb
            else f"| {case.name} | {case.what} | {mb:.0f} | {case.outcome} | {case.best:.2f} "
            f"| {case.best / clean.best:.2f} | n/a | n/a | n/a |"
        )
    worst_time = max(cases, key=lambda c: c.best, default=clean)
    lines = [
        f"- slowest case: {worst_time.name}, **{worst_time.best / clean.best:.2f} x** the clean "
        f"trace's wall time",
    ]
    if clean_mb:
        known = [c for c in cases if c.peak_mb is not None]
        if known:
            worst_rss = max(known, key=lambda c: c.peak_mb or 0)
            lines.append(
                f"- largest peak RSS: {worst_rss.name}, **{(worst_rss.peak_mb or 0) / (size / 1e6):.2f} x**"
                f" the file size ({(worst_rss.peak_mb or 0) / clean_mb:.2f} x the clean trace's)"
            )
    if failed:
        lines.append("- **a case crashed or left lines unaccounted for** (see outcome)")
    table = "\n".join(rows)
    print()
    print(table)
    print()
    print("\n".join(lines))

    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = [
        "# Hostile-input benchmark",
        "",
        f"Measured {stamp} by `python benchmarks/bench_hostile.py --mb {args.mb:g}"
        f" --repeat {args.repeat}`.",
        "",
        "Each input is about the same size; each run is `trace-audit audit FILE --format json"
        " -o OUT` (the `regex` case adds `--map evil.map.toml`) as a separate process, after"
        " one read of the file (page cache). Whole-process wall time (interpreter start-up"
        f" included) and peak RSS, best of {args.repeat}.",
        "",
        table,
        "",
        *lines,
        "",
        *machine_section(info),
    ]
    args.results.write_text("\n".join(report), encoding="utf-8")
    print(f"\nwrote {args.results}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
