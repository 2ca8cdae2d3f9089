"""Benchmark: the whole built-in rule pack on millions of lifecycle events, against the
time it took to parse those events.

    python benchmarks/bench_rules.py [--events 10000000] [--adapters 64] [--keep FILE]

The trace is WPP text in which every record is a lifecycle event of the built-in maps
(or of the small data-path map written beside it): full NDIS cycles per adapter
(initialize, restart, radio, connect, association, data path, disconnect, pause, halt)
with a violation of some rule every few cycles, so that rules fire and evidence is
gathered. In one process it times:

  (a) parsing: read the file and classify every record into lifecycle events;
  (b) rules:   attribute, build the per-adapter timelines and evaluate every rule;
  (c) each rule alone over the prepared timelines.

Target: (b) < (a). Results go to benchmarks/results-rules.md; the figures in the README
come from there.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATAPATH_MAP = """
[map]
name = "bench-datapath"
description = "Per-packet lines of the benchmark driver"

[[event]]
kind = "send"
message = '!MPSendNetBufferLists\\[\\d+\\]!Tx NBL Adapter=(?P<adapter>\\w+)'

[[event]]
kind = "receive"
message = '!RxIndicate\\[\\d+\\]!Rx NBL Adapter=(?P<adapter>\\w+)'
"""

# One adapter's cycle: (message, its share of the cycle's time). Shapes of the built-in
# Native 802.11 map; "{A}" is the adapter.
CYCLE = [
    "!MPInitializeEx[212]!---> MPInitializeEx Adapter={A}",
    "!MPInitializeEx[388]!<--- MPInitializeEx Adapter={A} Status = 0x00000000",
    "!MPRestart[40]!---> MPRestart Adapter={A}",
    "!MPRestart[71]!<--- MPRestart Adapter={A} Status = 0x00000000",
    "!MPSetInformation[1502]!Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter={A}",
    "!MPSetInformation[1480]!Set OID_DOT11_CONNECT_REQUEST Adapter={A}",
    "!Indicate[640]!NDIS_STATUS_DOT11_CONNECTION_START Adapter={A}",
    "!Indicate[640]!NDIS_STATUS_DOT11_ASSOCIATION_START Adapter={A}",
    "!Indicate[640]!NDIS_STATUS_DOT11_ASSOCIATION_COMPLETION Adapter={A} uStatus=0",
    "!Indicate[640]!NDIS_STATUS_DOT11_CONNECTION_COMPLETION Adapter={A} uStatus=DOT11_CONNECTION_STATUS_SUCCESS",
    *["!MPSendNetBufferLists[318]!Tx NBL Adapter={A}", "!RxIndicate[88]!Rx NBL Adapter={A}"] * 4,
    "!MPSetInformation[1490]!Set OID_DOT11_DISCONNECT_REQUEST Adapter={A}",
    "!Indicate[640]!NDIS_STATUS_DOT11_DISASSOCIATION Adapter={A} uReason=0x00000004",
    "!MPPause[1702]!---> MPPause Adapter={A}",
    "!MPPause[1750]!<--- MPPause Adapter={A} Status = 0x00000000",
    "!MPHaltEx[95]!---> MPHaltEx Adapter={A}",
    "!MPSetInformation[1502]!Set OID_DOT11_NIC_POWER_STATE: FALSE Adapter={A}",
    "!MPHaltEx[161]!<--- MPHaltEx Adapter={A}",
]
DISASSOC = CYCLE.index("!MPSetInformation[1490]!Set OID_DOT11_DISCONNECT_REQUEST Adapter={A}")
RADIO_OFF = CYCLE.index("!MPSetInformation[1502]!Set OID_DOT11_NIC_POWER_STATE: FALSE Adapter={A}")
RESTART = CYCLE.index("!MPRestart[40]!---> MPRestart Adapter={A}")


def cycle_variant(k: int) -> list[str]:
    """Every 7th cycle keeps the association through the halt, every 11th leaves the
    radio on, every 13th skips the restart (so the pause comes from Paused)."""
    steps = list(CYCLE)
    drop = set()
    if k % 7 == 3:
        drop |= {DISASSOC, DISASSOC + 1}
    if k % 11 == 5:
        drop.add(RADIO_OFF)
    if k % 13 == 8:
        drop |= {RESTART, RESTART + 1}
    return [s for i, s in enumerate(steps) if i not in drop]


def generate(path: Path, events: int, adapters: int) -> int:
    start = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
    written = 0
    k = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        buffer: list[str] = []
        while written < events:
            adapter = f"A{k % adapters}"
            for step in cycle_variant(k):
                stamp = start + timedelta(milliseconds=written)
                head = f"[{written % 2}]0004.{0x60 + k % adapters:04X}::{stamp:%m/%d/%Y-%H:%M:%S}.{stamp.microsecond // 1000:03d} [wlandrv]"
                buffer.append(head + step.replace("{A}", adapter) + "\n")
                written += 1
                if written >= events:
                    break
            k += 1
            if len(buffer) > 200_000:
                out.writelines(buffer)
                buffer.clear()
        out.writelines(buffer)
    return written


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_parse(trace: Path, map_path: Path, out: Path) -> dict[str, object]:
    """(a), in its own process: parse and classify as the audit does (streamed, behind the
    maps' pre-filter); the events go to Parquet for (b)."""
    from auditor.eventmap import MapSet
    from parsers import ParseOptions, stream_trace

    maps = MapSet.load([map_path])
    t0 = time.perf_counter()
    parsed = stream_trace(trace, ParseOptions(keep=maps)).read()
    classified = maps.classify(parsed.events).collect()
    seconds = time.perf_counter() - t0
    classified.write_parquet(out)
    return {"seconds": seconds, "events": classified.height, "peak_mb": peak_mb()}


def phase_rules(events: Path, map_path: Path, trace: str, lines: int) -> dict[str, object]:
    """(b) and (c), in a process of their own, so (a)'s memory does not count."""
    import polars as pl

    from auditor import engine
    from auditor.eventmap import MapSet
    from auditor.lifecycle import attribute, attributed_only
    from auditor.pipeline import judge
    from auditor.ruleset import RuleSet, load_rules

    rules = load_rules(kinds=MapSet.load([map_path]).kinds)
    classified = pl.read_parquet(events)
    gc.collect()
    t0 = time.perf_counter()
    _, _, evaluation = judge(classified, rules, {trace: lines})
    seconds = time.perf_counter() - t0
    findings = evaluation.findings.height
    peak = peak_mb()
    del evaluation
    gc.collect()
    prepared = engine.prepare(attributed_only(attribute(classified)))
    per_rule = []
    for rule in rules.rules:
        t0 = time.perf_counter()
        alone = engine.evaluate(prepared, RuleSet((rule,), rules.defines, rules.machines))
        per_rule.append([rule.id, time.perf_counter() - t0, alone.findings.height])
    return {
        "seconds": seconds,
        "findings": findings,
        "rules": len(rules.rules),
        "peak_mb": peak,
        "per_rule": per_rule,
    }


def run_phase(*argv: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--phase", *argv], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"phase {argv[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--phase":
        phase, *rest = sys.argv[2:]
        if phase == "parse":
            result = phase_parse(Path(rest[0]), Path(rest[1]), Path(rest[2]))
        else:
            result = phase_rules(Path(rest[0]), Path(rest[1]), rest[2], int(rest[3]))
        print(json.dumps(result))
        return

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--adapters", type=int, default=64)
    parser.add_argument("--keep", type=Path, help="write the trace here and keep it")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results-rules.md")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-rules-"))
    trace = args.keep or work / "lifecycle.txt"
    map_path = work / "datapath.map.toml"
    map_path.write_text(DATAPATH_MAP, encoding="utf-8")
    t0 = time.perf_counter()
    n = generate(trace, args.events, args.adapters)
    size_mb = trace.stat().st_size / 1e6
    print(f"generated {n:,} records ({size_mb:,.0f} MB) in {time.perf_counter() - t0:.1f} s")

    events_path = work / "classified.parquet"
    parsed = run_phase("parse", str(trace), str(map_path), str(events_path))
    t_parse, events = float(parsed["seconds"]), int(parsed["events"])  # type: ignore[arg-type]
    print(f"(a) parse + classify: {events:,} lifecycle events in {t_parse:.2f} s")
    judged = run_phase("rules", str(events_path), str(map_path), str(trace), str(n))
    t_rules = float(judged["seconds"])  # type: ignore[arg-type]
    print(
        f"(b) whole pack ({judged['rules']} rules): {judged['findings']:,} findings in {t_rules:.2f} s"
    )

    per_rule = sorted(judged["per_rule"], key=lambda r: -r[1])  # type: ignore[arg-type]
    lines = [
        "# Rule pack benchmark",
        "",
        f"`python benchmarks/bench_rules.py --events {args.events} --adapters {args.adapters}`",
        "",
        f"Trace: {n:,} WPP records ({size_mb:,.0f} MB), every one a lifecycle event "
        f"({events:,} classified), {args.adapters} adapters; {judged['findings']:,} findings. "
        "(a) and (b) each run in a process of their own; times are inside the process.",
        "",
        "| step | time | lifecycle events / s | peak RSS of its process |",
        "|---|---:|---:|---:|",
        f"| (a) parse and classify | {t_parse:.2f} s | {events / t_parse:,.0f} "
        f"| {parsed['peak_mb']:,.0f} MB |",
        f"| (b) all {judged['rules']} rules (attribution, timelines, evaluation) "
        f"| {t_rules:.2f} s | {events / t_rules:,.0f} | {judged['peak_mb']:,.0f} MB |",
        "",
        f"**rules / parsing = {t_rules / t_parse:.2f}** (target < 1); "
        f"{int(judged['rules']) * events / t_rules:,.0f} rule-events per second "  # type: ignore[call-overload]
        f"(about {t_rules / int(judged['rules']) / (events / 1e6) * 1000:,.0f} ms per rule per "  # type: ignore[call-overload]
        "million events).",
        "",
        "(c) Each rule alone over the prepared timelines:",
        "",
        "| rule | time | findings | events / s |",
        "|---|---:|---:|---:|",
        *[f"| {rid} | {t:.2f} s | {hits:,} | {events / t:,.0f} |" for rid, t, hits in per_rule],
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    events_path.unlink()
    if not args.keep:
        trace.unlink()


if __name__ == "__main__":
    main()
