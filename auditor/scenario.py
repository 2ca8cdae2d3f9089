"""Lifecycle timelines written by hand, one event per line: rule examples and rule tests.

A rule's meaning is easiest to see on the smallest sequence of kinds that makes it fire
and the closest one that does not. Writing those as WPP text would bury them in
timestamps and message shapes that belong to maps, not to rules, so a scenario is just::

    0s   connect.end=ok   wlan0
    1s   halt.begin       wlan0
    2s   halt.end         wlan0

Each item is a time offset, a kind with an optional ``=value``, and an optional adapter;
items are separated by new lines or ``;`` and ``#`` starts a comment. The events go
through the same attribution and engine as a parsed trace, so an example that claims to
fire is checked against the real evaluation (``rules explain`` and the rule tests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import polars as pl

from auditor.rulelang.syntax import FormulaError, parse_duration
from auditor.vocabulary import KIND_VALUES, Kind
from parsers.schema import CLASSIFIED_COLUMNS, EVENT_SCHEMA

if TYPE_CHECKING:  # the rule loader checks examples with this module: no import cycle
    from auditor.engine import Evaluation
    from auditor.ruleset import RuleSet

START = datetime(2024, 1, 1, tzinfo=UTC)
_ITEM = re.compile(
    r"^(?P<time>\S+)\s+(?P<kind>[^\s=]+)(?:=(?P<value>\S+))?(?:\s+(?P<adapter>\S+))?$"
)


class ScenarioError(ValueError):
    """A malformed item; ``item`` is its 1-based position."""

    def __init__(self, item: int, message: str) -> None:
        self.item = item
        super().__init__(f"event {item}: {message}")


@dataclass(frozen=True)
class ScenarioEvent:
    offset_ns: int
    kind: str
    value: str | None
    adapter: str | None
    text: str


def items(text: str) -> list[str]:
    """The scenario's items, comments and blank lines dropped."""
    out = []
    for line in text.splitlines():
        # a comment runs to the end of its line, semicolons in it included
        for raw in line.split("#", 1)[0].split(";"):
            if raw.strip():
                out.append(raw.strip())
    return out


def parse_scenario(text: str, kinds: frozenset[str]) -> list[ScenarioEvent]:
    """Check every item against the vocabulary (and the values a kind may take)."""
    events: list[ScenarioEvent] = []
    for number, item in enumerate(items(text), start=1):
        found = _ITEM.match(item)
        if not found:
            raise ScenarioError(number, f"{item!r} is not 'TIME KIND[=VALUE] [ADAPTER]'")
        try:
            offset = parse_duration(found["time"])
        except FormulaError as exc:
            raise ScenarioError(number, exc.message) from None
        kind, value = found["kind"], found["value"]
        if kind not in kinds or kind == Kind.TRACE_END.value:
            raise ScenarioError(number, f"unknown kind {kind!r}")
        allowed = KIND_VALUES.get(Kind(kind)) if kind in Kind._value2member_map_ else None
        if allowed and value not in allowed:
            raise ScenarioError(
                number, f"{kind} takes a value: one of {', '.join(sorted(allowed))}"
            )
        if events and offset < events[-1].offset_ns:
            raise ScenarioError(number, "times must not go backwards")
        events.append(ScenarioEvent(offset, kind, value, found["adapter"], item))
    return events


def classified_frame(events: list[ScenarioEvent], trace: str = "example") -> pl.DataFrame:
    """The events as classified lifecycle rows, as a map would have produced them."""
    start_ns = int(START.timestamp()) * 10**9
    rows = {
        "trace": [trace] * len(events),
        "seq": list(range(len(events))),
        "line": list(range(1, len(events) + 1)),
        "ts": [start_ns + e.offset_ns for e in events],
        "provider": ["scenario"] * len(events),
        "message": [e.text for e in events],
        "kind": [e.kind for e in events],
        "value": [e.value for e in events],
        "adapter": [e.adapter for e in events],
    }
    schema = {**EVENT_SCHEMA, **CLASSIFIED_COLUMNS}
    frame = pl.DataFrame(
        {k: v for k, v in rows.items() if k != "ts"},
        schema={k: schema[k] for k in rows if k != "ts"},
    ).with_columns(pl.Series("ts", rows["ts"], pl.Int64).cast(schema["ts"]))
    return frame.with_columns(
        pl.lit(None, schema[c]).alias(c) for c in schema if c not in frame.columns
    ).select(list(schema))


def evaluate_scenario(text: str, rules: RuleSet, kinds: frozenset[str]) -> Evaluation:
    """Run ``rules`` over the scenario exactly as over a parsed trace."""
    from auditor.pipeline import judge

    events = parse_scenario(text, kinds)
    _, _, evaluation = judge(classified_frame(events), rules, {"example": len(events)})
    return evaluation
