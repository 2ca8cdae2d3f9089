"""The findings table and its evidence: the contract every report reads."""

from __future__ import annotations

import polars as pl

from parsers.schema import TS_DTYPE

EVIDENCE_DTYPE = pl.List(
    pl.Struct(
        {
            "line": pl.UInt32(),
            "ts": TS_DTYPE,
            "kind": pl.String(),
            "value": pl.String(),
            "text": pl.String(),
            "role": pl.String(),  # "anchor" (the event the rule fired on) or "witness"
            "adapter_inferred": pl.Boolean(),
        }
    )
)

FINDING_SCHEMA: dict[str, pl.DataType] = {
    "rule": pl.String(),
    "severity": pl.String(),
    "title": pl.String(),
    "source": pl.String(),
    "trace": pl.String(),
    "adapter": pl.String(),
    "ts": TS_DTYPE,
    "line": pl.UInt32(),
    "seq": pl.UInt64(),
    "message": pl.String(),
    "adapter_inferred": pl.Boolean(),
    "evidence": EVIDENCE_DTYPE,
}

NOT_EVALUABLE_SCHEMA: dict[str, pl.DataType] = {
    "trace": pl.String(),
    "adapter": pl.String(),
    "rule": pl.String(),
    "reason": pl.String(),
}
