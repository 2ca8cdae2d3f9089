"""Large classified timelines built directly as polars frames, for size and speed tests.

``synthetic_result(events)`` returns the :class:`AuditResult` an audit of a trace with
that many classified events would give: ``adapters`` adapters, each cycling through
initialize, radio on, connect, a burst of data path (``send``/``receive``), an
optional disassociation, halt and radio changes, so that every built-in rule fires
again and again. Every column is computed by polars expressions over ``int_range``: ten
million events take a few seconds. The result then goes through the real attribution,
``engine.prepare`` and ``engine.evaluate``, like an audit.

Loaded by path from the conftests (tests have no package under importlib mode).
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from auditor import engine
from auditor.lifecycle import attribute, attributed_only
from auditor.pipeline import LIFECYCLE_SCHEMA, Auditor, AuditResult, TraceSummary
from parsers import REJECT_SCHEMA
from tests.report.conftest import PAYLOAD

START = datetime(2025, 3, 14, 9, 0, 0, tzinfo=UTC)
STEP_NS = 1_000_000  # one event per millisecond

# (position from the end of the cycle, kind, value, message), "{A}" = the adapter.
CYCLE_TAIL = [
    (7, "disassoc", None, "Indicate NDIS_STATUS_DOT11_DISASSOCIATION Adapter={A}"),
    (6, "halt.begin", None, "---> MPHaltEx Adapter={A}"),
    (5, "radio", "off", "Set OID_DOT11_NIC_POWER_STATE: FALSE Adapter={A}"),
    (4, "halt.end", None, "<--- MPHaltEx Adapter={A}"),
    (3, "radio", "on", "Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter={A}"),
    (2, "radio.hw", "off", "PHY_STATE_CHANGED hardware=off Adapter={A}"),
]
CYCLE_HEAD = [
    (0, "init.begin", None, "---> MPInitializeEx Adapter={A}"),
    (1, "init.end", "ok", "<--- MPInitializeEx Adapter={A} Status = 0x0"),
    (2, "radio", "on", "Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter={A}"),
    (3, "radio.hw", "on", "PHY_STATE_CHANGED hardware=on Adapter={A}"),
    (4, "assoc.end", "ok", "Indicate NDIS_STATUS_DOT11_ASSOCIATION_COMPLETION Adapter={A}"),
]


def synthetic_frame(
    events: int,
    *,
    trace: str = "synthetic.txt",
    adapters: int = 4,
    cycle: int = 100,
    payload_line: int | None = None,
) -> pl.DataFrame:
    """Classified events (LIFECYCLE_SCHEMA): one lifecycle cycle per ``cycle`` events of
    each adapter, the rest data path. ``payload_line`` puts a script tag in that event's
    message (and makes it a lifecycle event, so it shows as evidence)."""
    i = pl.int_range(0, events, dtype=pl.Int64)
    own = i // adapters  # index within the adapter's own timeline
    pos = own % cycle
    n = own // cycle  # cycle number
    adapter = pl.lit("W") + (i % adapters).cast(pl.String)
    kind = pl.when(pos % 2 == 0).then(pl.lit("send")).otherwise(pl.lit("receive"))
    value = pl.lit(None, pl.String)
    message = pl.concat_str(pl.lit("Tx/Rx NBL=0x"), (own * 7919 % 65536).cast(pl.String))
    for at, k, v, text in CYCLE_HEAD:
        cond = pos == at
        kind, value = (
            pl.when(cond).then(pl.lit(k)).otherwise(kind),
            (pl.when(cond).then(pl.lit(v, pl.String)).otherwise(value)),
        )
        message = pl.when(cond).then(pl.lit(text)).otherwise(message)
    for back, k, v, text in CYCLE_TAIL:
        cond = pos == cycle - back
        # disassociate in one cycle of three; turn the radio off in halt in one of two;
        # turn it back on before the next initialize in one of five
        if k == "disassoc":
            cond = cond & (n % 3 == 0)
        elif k == "radio" and v == "off":
            cond = cond & (n % 2 == 0)
        elif k == "radio" and v == "on":
            cond = cond & (n % 5 == 0)
        kind = pl.when(cond).then(pl.lit(k)).otherwise(kind)
        value = pl.when(cond).then(pl.lit(v, pl.String)).otherwise(value)
        message = pl.when(cond).then(pl.lit(text)).otherwise(message)
    message = message.str.replace("{A}", adapter, literal=True)
    if payload_line is not None:
        hit = i == payload_line - 1
        kind = pl.when(hit).then(pl.lit("halt.begin")).otherwise(kind)
        message = pl.when(hit).then(pl.lit(f"---> MPHaltEx {PAYLOAD}")).otherwise(message)
    start = int(START.timestamp() * 1e9)
    frame = pl.select(
        pl.lit(trace).alias("trace"),
        i.cast(pl.UInt64).alias("seq"),
        (i + 1).cast(pl.UInt32).alias("line"),
        (pl.lit(start) + i * STEP_NS).cast(pl.Datetime("ns", "UTC")).alias("ts"),
        pl.lit("wlandrv").alias("provider"),
        pl.lit(None, pl.String).alias("event"),
        pl.lit(None, pl.UInt16).alias("event_id"),
        pl.lit(None, pl.String).alias("level"),
        pl.lit(4, pl.UInt32).alias("pid"),
        (pl.lit(0x10) + i % adapters).cast(pl.UInt32).alias("tid"),
        (i % 2).cast(pl.UInt16).alias("cpu"),
        message.alias("message"),
        kind.alias("kind"),
        value.alias("value"),
        adapter.alias("adapter"),
    )
    return frame.cast(LIFECYCLE_SCHEMA)  # type: ignore[arg-type]


def synthetic_result(events: int, *, auditor: Auditor | None = None, **options) -> AuditResult:
    """An audit result over :func:`synthetic_frame` (see there for ``options``)."""
    auditor = auditor or Auditor.load()
    frame = synthetic_frame(events, **options)
    attributed = attribute(frame)
    timeline = engine.prepare(attributed_only(attributed))
    evaluation = engine.evaluate(timeline, auditor.rules)
    trace = frame["trace"][0]
    data = frame.filter(pl.col("kind").is_in(["send", "receive"])).height
    summary = TraceSummary(
        path=trace,
        format="synthetic",
        encoding="utf-8",
        lines=events,
        events=events,
        lifecycle=events - data,
        adapters=tuple(sorted(frame["adapter"].unique().to_list())),
    )
    return AuditResult(
        traces=[summary],
        lifecycle=timeline,
        findings=evaluation.findings,
        not_evaluable=evaluation.not_evaluable,
        rejects=pl.DataFrame(schema=REJECT_SCHEMA),
        rules=auditor.rules,
    )
