"""Shared fixtures of the API tests: the repository's samples, audited once per module."""

from __future__ import annotations

from pathlib import Path

import pytest

import auditor
from auditor.ruleset import PINNED_RULE_IDS

# The API tests exercise the Result, not the rule pack: the three pinned rules keep their
# expectations stable as the pack grows (tests/samples checks every rule on the samples).
PINNED = list(PINNED_RULE_IDS)

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
PROSEWARE = SAMPLES / "proseware-radio-left-on.wpp.txt"
NORTHWIND = SAMPLES / "northwind-rf-custom-map.wpp.txt"
NORTHWIND_MAP = SAMPLES / "northwind-rf.map.toml"


@pytest.fixture(scope="module")
def proseware() -> auditor.Result:
    return auditor.audit(PROSEWARE, select=PINNED)


@pytest.fixture(scope="module")
def northwind() -> auditor.Result:
    return auditor.audit(NORTHWIND, maps=[NORTHWIND_MAP], select=PINNED)
