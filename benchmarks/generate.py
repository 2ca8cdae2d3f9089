"""Generate a realistic WPP text trace of a Wi-Fi miniport for benchmarks and oracle tests.

The file looks like ``tracefmt`` output with the default prefix::

    [1]0004.01A8::03/14/2025-09:26:53.123 [wlandrv]!MPSendNetBufferLists[2071]!Tx NBL=0x...

Most records are data-path noise (Tx/Rx, DPC, ISR, registry, power save, scan,
OID queries, now and then a frame hex dump wrapped onto continuation lines).
Sprinkled in are MiniportInitializeEx / MiniportHaltEx lifecycle cycles of a few
adapters, drawn from a fixed rotation of scenarios so that every pinned halt rule is
both honoured and violated, several ways each (see ``SCENARIOS``).

Output is deterministic for a given ``--events``, ``--adapters`` and ``--seed``;
timestamps never go backwards, so source order is (ts, seq) order. Records are built
from pre-rendered pools and written in large chunks: 3,000,000 events (~360 MB)
take a few seconds.

    python benchmarks/generate.py OUT --events N [--seed S] [--adapters K] [--crlf]
                                      [--expect EXPECTED.json]

``--expect`` writes the findings the scenarios were designed to produce, as
``[{rule, adapter, line}]``, the format of benchmarks/naive_auditor.py's output.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

DRIVER = "[wlandrv]"
AUTOCONFIG = "[Microsoft-Windows-WLAN-AutoConfig]"
START = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)

SYSTEM_PID = 0x0004
SVCHOST_PID = 0x0B2C
# A WLAN service thread that never names an adapter: its lifecycle-looking lines are
# unattributed when the trace has several adapters.
SERVICE_TID = 0x1F04
# Events per lifecycle cycle, roughly: one cycle per this many events (at least two
# full rotations of the scenarios, so that a small trace still violates every rule).
EVENTS_PER_CYCLE = 1000
CHUNK_EVENTS = 20_000
POOL = 8192


# --- lifecycle scenarios --------------------------------------------------------------
# A step is (thread, message, continuation lines, rules it is the anchor of). Threads:
# "drv" = the adapter's NDIS worker thread, "svc" = its WLAN AutoConfig thread. "{A}" is
# the adapter name; a step without "Adapter={A}" is attributed through its thread.
HWD = "halt-without-disconnect"
HRO = "halt-radio-left-on"
ROBI = "radio-on-before-initialize"


@dataclass(frozen=True)
class Step:
    thread: str
    message: str
    cont: tuple[str, ...] = ()
    fires: tuple[str, ...] = ()

    def firing(self, *rules: str) -> Step:
        """This step as the anchor of ``rules`` (the scenario's designed violations)."""
        return Step(self.thread, self.message, self.cont, rules)


def _d(message: str, *cont: str) -> Step:
    return Step("drv", DRIVER + message, cont)


def _s(message: str) -> Step:
    return Step("svc", AUTOCONFIG + message)


INIT = _d("!MPInitializeEx[212]!---> MPInitializeEx Adapter={A}")
INIT_OK = _d("!MPInitializeEx[388]!<--- MPInitializeEx Adapter={A} Status = 0x00000000")
INIT_FAIL = _d("!MPInitializeEx[371]!<--- MPInitializeEx Adapter={A} Status = 0xC000009A")
RADIO_ON = _d("!MPSetInformation[1502]!Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter={A}")
RADIO_OFF = _d("!MPSetInformation[1502]!Set OID_DOT11_NIC_POWER_STATE: FALSE Adapter={A}")
ASSOC_OK = _d(
    "!StaIndicateAssociation[640]!Indicate NDIS_STATUS_DOT11_ASSOCIATION_COMPLETION "
    "Adapter={A} Status = 0x0"
)
CONNECT_OK = _d(
    "!StaIndicateConnection[702]!Indicate NDIS_STATUS_DOT11_CONNECTION_COMPLETION "
    "Adapter={A} uStatus = 0"
)
DISASSOC = _d(
    "!StaIndicateDisassociation[811]!Indicate NDIS_STATUS_DOT11_DISASSOCIATION Adapter={A}"
)
DISCONNECT_REQ = _d("!MPSetInformation[1490]!Set OID_DOT11_DISCONNECT_REQUEST Adapter={A}")
HALT = _d("!MPHaltEx[95]!---> MPHaltEx Adapter={A}")
HALT_END = _d("!MPHaltEx[161]!<--- MPHaltEx Adapter={A}")
PHY_SW = (
    "!StaIndicatePhyState[955]!Indicate NDIS_STATUS_DOT11_PHY_STATE_CHANGED "
    "PhyId=0 bHardwarePhyState=1 bSoftwarePhyState={}"
)
RADIO_1 = _d("!MPSetInformation[1502]!Set OID_DOT11_NIC_POWER_STATE: 1 Adapter={A}")

# Every cycle starts with MiniportInitializeEx, so no scenario leaks state into the next.
SCENARIOS: dict[str, list[Step]] = {
    # Honours every rule: disassociates, halts, turns the radio off inside the halt.
    "clean": [INIT, INIT_OK, RADIO_ON, ASSOC_OK, DISASSOC, HALT, RADIO_OFF, HALT_END],
    # Connected at the halt, disconnects before MiniportHaltEx returns: fine.
    "disconnect-in-halt": [
        INIT,
        INIT_OK,
        RADIO_ON,
        CONNECT_OK,
        HALT,
        DISCONNECT_REQ,
        RADIO_OFF,
        HALT_END,
    ],
    "halt-connected": [INIT, INIT_OK, RADIO_ON, ASSOC_OK, HALT, RADIO_OFF, HALT_END.firing(HWD)],
    # The radio is only turned off after the halt returned.
    "radio-left-on": [INIT, INIT_OK, RADIO_ON, HALT, HALT_END.firing(HRO), RADIO_OFF],
    # Off during the halt, on again before the next initialize.
    "radio-on-early": [INIT, INIT_OK, RADIO_ON, HALT, RADIO_OFF, HALT_END, RADIO_ON.firing(ROBI)],
    # No Adapter= on the PHY state indications nor on the halt: attributed by thread.
    "by-thread": [
        INIT,
        INIT_OK,
        _d(PHY_SW.format(1)),
        ASSOC_OK,
        _d("!MPHaltEx[95]!---> MPHaltEx"),
        _d(PHY_SW.format(0)),
        _d("!MPHaltEx[161]!<--- MPHaltEx").firing(HWD),
    ],
    # WLAN AutoConfig's view: radio on and connected from the service's thread, the
    # disconnection reported during the halt: fine.
    "autoconfig": [
        INIT,
        INIT_OK,
        _s("Change radio state for interface = {A} : PHY = 0, software state = on"),
        _s("FSM Transition from State: Associating to State: Connected"),
        HALT,
        RADIO_OFF,
        _s("FSM Transition from State: Connected to State: Disconnected"),
        HALT_END,
    ],
    # A failed initialize, a retry, a redundant radio-off after the halt: fine.
    "init-retry": [
        INIT,
        INIT_FAIL,
        INIT,
        INIT_OK,
        RADIO_ON,
        HALT,
        RADIO_OFF,
        HALT_END,
        RADIO_OFF,
    ],
    # A status wrapped onto a continuation line; the radio set with 1/0.
    "wrapped": [
        INIT,
        _d("!MPInitializeEx[388]!<--- MPInitializeEx Adapter={A}", "    Status = 0x00000000"),
        RADIO_1,
        ASSOC_OK,
        HALT,
        DISASSOC,
        _d("!MPSetInformation[1502]!Set OID_DOT11_NIC_POWER_STATE: 0 Adapter={A}"),
        HALT_END,
        RADIO_1.firing(ROBI),
    ],
    # Connected and radio on through the halt, disassociation too late: two findings
    # at one halt.end.
    "everything-late": [
        INIT,
        INIT_OK,
        RADIO_ON,
        CONNECT_OK,
        HALT,
        HALT_END.firing(HWD, HRO),
        DISASSOC,
        RADIO_OFF,
    ],
}
# The service thread's own lines (no adapter named on that thread).
# With one adapter they are attributed to it, and the designed findings no longer hold.
SERVICE_STEPS: list[Step] = [
    Step("service", AUTOCONFIG + "FSM Transition from State: Roaming to State: Connected"),
    Step("service", AUTOCONFIG + "FSM Transition from State: Connected to State: Disconnected"),
]


# --- data-path noise ------------------------------------------------------------------
def _noise_message(rng: random.Random) -> tuple[str, tuple[str, ...]]:
    """One data-path message (component included) and its continuation lines, if any."""
    r = rng.random()
    nbl = f"0xFFFF{rng.randrange(0xC000_0000_0000, 0xCFFF_FFFF_FFFF):012X}"
    if r < 0.26:
        return (
            f"{DRIVER}!MPSendNetBufferLists[2071]!Tx NBL={nbl} NB count={rng.randint(1, 4)} "
            f"Len={rng.choice((60, 98, 342, 1078, 1514))} Queue={rng.randrange(4)} Port=0",
            (),
        )
    if r < 0.40:
        return (
            f"{DRIVER}!HwTxCompleteDpc[512]!TxComplete NBL={nbl} Status=0x00000000 "
            f"Retries={rng.randrange(3)}",
            (),
        )
    if r < 0.64:
        return (
            f"{DRIVER}!HwRxIndicate[903]!Rx MSDU len={rng.randint(60, 1514)} "
            f"RSSI=-{rng.randint(35, 88)} Rate={rng.choice((6, 54, 144, 433, 866))} "
            f"Seq={rng.randrange(4096)} TID={rng.randrange(8)}",
            (),
        )
    if r < 0.74:
        return (
            f"{DRIVER}!MPInterruptDPC[310]!DPC: IntStatus=0x{rng.choice((1, 2, 4, 8, 0x14)):08X} "
            f"Pending={rng.randrange(16)}",
            (),
        )
    if r < 0.82:
        return f"{DRIVER}!MPInterrupt[288]!ISR: IntStatus=0x{rng.choice((1, 4)):08X} handled", ()
    if r < 0.86:
        name, value = rng.choice(
            (("RoamTrigger", 0x46), ("PowerSaveMode", 2), ("ScanPeriod", 60), ("TxPower", 100))
        )
        return (
            f'{DRIVER}!RegReadParameter[141]!Registry: read "{name}" = 0x{value:X} '
            f"(default 0x{value:X})",
            (),
        )
    if r < 0.90:
        return (
            f"{DRIVER}!PsProcessTim[77]!PS: TIM bit set, AID={rng.randint(1, 7)}, "
            f"waking for {rng.randint(1, 12)} frames",
            (),
        )
    if r < 0.93:
        return (
            f"{DRIVER}!ScanStartRequest[1188]!Scan: channel {rng.choice((1, 6, 11, 36, 149))} "
            f"dwell {rng.choice((30, 110))} ms",
            (),
        )
    if r < 0.96:
        # Near misses: OID and status names the maps do not classify.
        oid = rng.choice(
            (
                "OID_DOT11_CURRENT_CHANNEL",
                "OID_DOT11_CURRENT_OPERATION_MODE",
                "OID_DOT11_STATISTICS",
                "OID_GEN_STATISTICS",
            )
        )
        return f"{DRIVER}!MPOidRequest[1340]!Query {oid} BytesNeeded=0", ()
    if r < 0.965:
        return (
            f"{AUTOCONFIG}FSM Current state {rng.choice(('Connected', 'Roaming'))}, "
            f"event Upcall_{rng.choice(('Roam_Start', 'Link_Quality', 'Scan_Complete'))}",
            (),
        )
    if r < 0.975:
        return (
            f"{DRIVER}!MPHaltExWorkItem[44]!Watchdog tick, halt pending=0, "
            f"queued={rng.randrange(3)}",
            (),
        )
    if r < 0.985:
        return f"{DRIVER}!MPOidRequest[1362]!NIC power save level {rng.randrange(3)}", ()
    # A received frame dumped in hex: the dump wraps onto continuation lines.
    data = bytes(rng.randrange(256) for _ in range(32))
    lines = tuple(
        f"    {off:04X}: " + " ".join(f"{b:02x}" for b in data[off : off + 16])
        for off in range(0, 32, 16)
    )
    return f"{DRIVER}!HwDumpFrame[55]!Rx frame dump (32 bytes):", lines


def _thread_head(rng: random.Random, tail: str) -> str:
    if tail.startswith(AUTOCONFIG):
        pid, tid = SVCHOST_PID, rng.choice((0x0C40, 0x0C44))
    else:
        pid, tid = SYSTEM_PID, rng.choice((0x0010, 0x0020, 0x01A8, 0x01AC, 0x0A3C))
    return f"[{rng.randrange(2)}]{pid:04X}.{tid:04X}::"


@dataclass(frozen=True)
class Lifecycle:
    head: str  # "[cpu]PID.TID::"
    tail: str  # "[component]message\n" plus continuation lines
    adapter: str | None
    fires: tuple[str, ...]


def _lifecycle_records(rng: random.Random, events: int, adapters: int) -> list[Lifecycle]:
    """All lifecycle records of the trace in file order: per-adapter cycles, interleaved."""
    order = list(SCENARIOS)
    cycles = max(2 * len(order), events // EVENTS_PER_CYCLE)
    threads = {"service": f"{SVCHOST_PID:04X}.{SERVICE_TID:04X}"}

    def record(step: Step, adapter: str | None) -> Lifecycle:
        message = step.message if adapter is None else step.message.replace("{A}", adapter)
        tail = message + "\n" + "".join(x + "\n" for x in step.cont)
        return Lifecycle(f"[{rng.randrange(2)}]{threads[step.thread]}::", tail, adapter, step.fires)

    queues: list[list[Lifecycle]] = []
    for a in range(adapters):
        name = f"A{a + 1}"
        threads["drv"] = f"{SYSTEM_PID:04X}.{0x0100 + 4 * a:04X}"
        threads["svc"] = f"{SVCHOST_PID:04X}.{0x0D00 + 4 * a:04X}"
        queue: list[Lifecycle] = []
        for k in range(len(range(a, cycles, adapters))):
            scenario = order[(k + 3 * a) % len(order)]
            queue.extend(record(step, name) for step in SCENARIOS[scenario])
        queues.append(queue)
    queues.append(
        [record(SERVICE_STEPS[k % len(SERVICE_STEPS)], None) for k in range(max(2, cycles // 10))]
    )
    # Interleave the queues at random, keeping each queue's own order.
    heads = [0] * len(queues)
    out: list[Lifecycle] = []
    live = [i for i, q in enumerate(queues) if q]
    while live:
        i = rng.choice(live)
        out.append(queues[i][heads[i]])
        heads[i] += 1
        if heads[i] == len(queues[i]):
            live.remove(i)
    return out


class _Clock:
    """Monotonic event time in microseconds, formatted once per millisecond."""

    def __init__(self) -> None:
        self.us = 0
        self._ms = -1
        self._text = ""

    def text(self) -> str:
        ms = self.us // 1000
        if ms != self._ms:
            t = START + timedelta(milliseconds=ms)
            self._ms = ms
            self._text = t.strftime("%m/%d/%Y-%H:%M:%S.") + f"{ms % 1000:03d}"
        return self._text


@dataclass
class Generated:
    events: int
    lifecycle: int  # lifecycle records among the events
    lines: int  # physical lines (records plus continuation lines)
    # The designed findings, (rule, adapter, line): what every scenario violates on
    # purpose. Only defined with several adapters (see SERVICE_STEPS).
    expected: list[tuple[str, str, int]] | None


def generate(
    path: str | Path, events: int, seed: int = 1, adapters: int = 4, *, crlf: bool = False
) -> Generated:
    """Write the trace to ``path`` (with Windows line endings if ``crlf``)."""
    if events < 1:
        raise ValueError("events must be positive")
    if adapters < 1:
        raise ValueError("adapters must be positive")
    rng = random.Random(seed)
    lifecycle = _lifecycle_records(rng, events, adapters)
    if len(lifecycle) > events // 2:
        raise ValueError(
            f"{events} events are too few for {len(lifecycle)} lifecycle records: use more"
        )
    # Lifecycle records at sorted random event positions; noise everywhere else.
    positions = sorted(rng.sample(range(events), len(lifecycle)))

    pool: list[str] = []  # "[component]message\n..." tails
    for _ in range(POOL):
        message, cont = _noise_message(rng)
        pool.append(message + "\n" + "".join(x + "\n" for x in cont))
    pool_heads = [_thread_head(rng, tail) for tail in pool]
    pool_lines = [tail.count("\n") for tail in pool]
    # Index and time-step sequences of prime lengths, cycled: cheap per-event randomness.
    picks = [rng.randrange(POOL) for _ in range(100_003)]
    steps = [int(rng.expovariate(1 / 100)) for _ in range(65_537)]  # ~100 us apart
    n_picks, n_steps = len(picks), len(steps)

    clock = _Clock()
    next_life = 0
    next_pos = positions[0] if positions else events
    line = 1  # physical line of the next record
    expected: list[tuple[str, str, int]] = []
    with open(
        path, "w", encoding="utf-8", newline="\r\n" if crlf else "\n", buffering=1 << 22
    ) as out:
        for start in range(0, events, CHUNK_EVENTS):
            parts: list[str] = []
            append = parts.append
            for e in range(start, min(start + CHUNK_EVENTS, events)):
                clock.us += steps[e % n_steps]
                ts = clock.text()
                if e == next_pos:
                    rec = lifecycle[next_life]
                    append(rec.head + ts + " " + rec.tail)
                    if rec.adapter is not None:
                        expected.extend((rule, rec.adapter, line) for rule in rec.fires)
                    line += rec.tail.count("\n")
                    next_life += 1
                    next_pos = positions[next_life] if next_life < len(positions) else events
                else:
                    k = picks[e % n_picks]
                    append(pool_heads[k] + ts + " " + pool[k])
                    line += pool_lines[k]
            out.write("".join(parts))
    return Generated(events, len(lifecycle), line - 1, sorted(expected) if adapters > 1 else None)


# --- tracerpt CSV --------------------------------------------------------------------------
TRACERPT_HEADER = (
    "Event Name,       Type,     Event ID,    Version,    Channel,      Level,     Opcode,"
    "       Task,            Keyword,        PID,        TID,     Processor Number,  "
    "Instance ID,   Parent Instance ID,                              Activity ID,          "
    "            Related Activity ID,           Clock-Time, Kernel(ms),   User(ms), User Data"
)
_TRACERPT_ROW = (
    "{provider:>22},{type:>11},{eid:>13},          0,          0,{level:>11},{type:>11},"
    "{task:>11}, 0x8000000000000000, 0x{pid:08X}, 0x{tid:08X},{cpu:>21},             ,"
    "                     ,   {{{{00000000-0000-0000-0000-000000000000}}}},                    "
    "                     ,   {clock},{kernel:>11},{user:>11}, {data}"
)


def _tracerpt_payload(rng: random.Random) -> str:
    """User Data as tracerpt writes it: quoted strings and bare numbers, ragged."""
    r = rng.random()
    if r < 0.35:
        return (
            f'"Tx NBL=0xFFFF{rng.randrange(0xC000_0000_0000, 0xCFFF_FFFF_FFFF):012X}", '
            f"{rng.randint(1, 4)}, {rng.randint(60, 1500)}, 0"
        )
    if r < 0.65:
        return (
            f'"Rx MSDU", {rng.randint(60, 1500)}, {rng.randint(-90, -30)}, '
            f"{rng.choice((6, 54, 866, 1201))}"
        )
    if r < 0.8:
        return f'"ISR", 0x{rng.randrange(1 << 16):08X}'
    if r < 0.9:
        return f'"{rng.choice(("RoamingAggressiveness", "MIMOPowerSaveMode", "ScanMode"))}", {rng.randint(0, 5)}'
    return f'"---> MPInitializeEx", "Adapter=A{rng.randint(1, 4)}", "PCI\\VEN_8086&DEV_2725"'


def generate_tracerpt(path: str | Path, events: int, seed: int = 1) -> int:
    """A ``tracerpt -of CSV`` export of ``events`` data-path events; returns its line count.

    Rows are padded like tracerpt's (space-aligned columns), Clock-Time is a FILETIME, PID
    and TID are hex, and the User Data spills into 2 to 4 columns of quoted strings and
    numbers. The first row is the ``EventTrace, Header`` event.
    """
    rng = random.Random(seed)
    pool = [
        _TRACERPT_ROW.format(
            provider=rng.choice(("Contoso-Wifi-Miniport", "Microsoft-Windows-NDIS")),
            type=rng.choice(("Info", "Start", "Stop")),
            eid=rng.choice((100, 150, 10311, 5)),
            level=rng.choice((4, 5)),
            task=rng.choice(("Send", "Receive", "Interrupt", "Registry")),
            pid=4,
            tid=rng.choice((0x1A8, 0x1AC, 0xA3C)),
            cpu=rng.randrange(8),
            clock="{clock}",
            kernel=rng.choice((0, 15)),
            user=0,
            data=_tracerpt_payload(rng).replace("{", "{{").replace("}", "}}"),
        )
        for _ in range(POOL)
    ]
    picks = [rng.randrange(POOL) for _ in range(100_003)]
    clock = 133_685_475_401_120_000
    header_event = (
        "EventTrace,     Header,            0,          2,          0,          0,          0,"
        "          0, 0x0000000000000000, 0x00000F24, 0x00000F28,                    0,       "
        "      ,                     ,   {00000000-0000-0000-0000-000000000000},            "
        f"                             ,   {clock},         15,          0, 65536, 131082, "
        '22631, 8, "ContosoWifiTrace", "C:\\ProgramData\\Contoso\\wifi.etl"'
    )
    with open(path, "w", encoding="utf-8", newline="\r\n", buffering=1 << 22) as out:
        out.write(TRACERPT_HEADER + "\n" + header_event + "\n")
        for start in range(0, events, CHUNK_EVENTS):
            parts: list[str] = []
            for e in range(start, min(start + CHUNK_EVENTS, events)):
                clock += 1000 + (e * 7919) % 2000
                parts.append(pool[picks[e % len(picks)]].format(clock=clock))
            out.write("\n".join(parts) + "\n")
    return events + 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="output file (WPP text)")
    parser.add_argument("--events", type=int, default=1_000_000, help="number of records")
    parser.add_argument("--seed", type=int, default=1, help="random seed (deterministic output)")
    parser.add_argument("--adapters", type=int, default=4, help="number of adapters (A1..AK)")
    parser.add_argument("--crlf", action="store_true", help="Windows line endings")
    parser.add_argument(
        "--expect",
        type=Path,
        help="also write the designed findings as JSON [{rule, adapter, line}] (2+ adapters)",
    )
    args = parser.parse_args(argv)
    if args.expect and args.adapters < 2:
        parser.error("--expect needs at least 2 adapters")
    began = time.perf_counter()
    try:
        made = generate(args.out, args.events, args.seed, args.adapters, crlf=args.crlf)
    except ValueError as exc:
        parser.error(str(exc))
    if args.expect and made.expected is not None:
        rows = [{"rule": r, "adapter": a, "line": n} for r, a, n in made.expected]
        args.expect.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    size = args.out.stat().st_size
    print(
        f"{args.out}: {made.events:,} events ({made.lifecycle:,} lifecycle), "
        f"{made.lines:,} lines, {size / 1e6:.1f} MB in {time.perf_counter() - began:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
