"""The product's findings against an independent oracle (benchmarks/naive_auditor.py).

The naive auditor is a line-by-line pure-Python implementation of the three pinned
halt rules; the generator knows which records its scenarios meant to violate. On the
same traces, the product, the naive auditor and the generator's design must agree on
the exact set of (rule, adapter, line).
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from auditor.eventmap import MapSet
from auditor.pipeline import Auditor
from auditor.ruleset import PINNED_RULE_IDS

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
PINNED = {"halt-without-disconnect", "halt-radio-left-on", "radio-on-before-initialize"}

Finding = tuple[str, str | None, int]


def _load(name: str) -> ModuleType:
    module_name = f"_bench_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


generate = _load("generate")
naive = _load("naive_auditor")


@pytest.fixture(scope="module")
def auditor() -> Auditor:
    """The naive oracle implements the three pinned rules, so the product runs those."""
    return Auditor.load(select=PINNED_RULE_IDS)


def product_findings(auditor: Auditor, path: Path) -> set[Finding]:
    result = auditor.audit([path])
    assert not result.failed, result.failed
    return {(f["rule"], f["adapter"], f["line"]) for f in result.findings.iter_rows(named=True)}


def naive_findings(path: Path, prefilter: bool = False) -> set[Finding]:
    return {(f["rule"], f["adapter"], f["line"]) for f in naive.audit(path, prefilter)}


def test_naive_map_port_is_the_builtin_maps() -> None:
    """The oracle's hand-ported patterns are exactly the shipped maps, in order."""
    builtin = MapSet.load().entries
    assert len(builtin) == len(naive.ENTRIES)
    for entry, port in zip(builtin, naive.ENTRIES, strict=True):
        assert (port.kind, port.pattern.pattern, port.value) == (
            entry.kind,
            entry.message,
            entry.value,
        )
        assert (port.values or {}) == entry.values
        uses_map_pattern = entry.adapter_pattern is not None and "adapter" not in entry.groups
        assert (port.adapter is not None) == uses_map_pattern
        if uses_map_pattern:
            assert port.adapter.pattern == entry.adapter_pattern


def test_product_naive_and_design_agree(tmp_path: Path, auditor: Auditor) -> None:
    path = tmp_path / "trace.txt"
    made = generate.generate(path, 20_000, seed=7, adapters=4)
    expected = set(made.expected)
    by_rule = Counter(rule for rule, _, _ in expected)
    assert set(by_rule) == PINNED, by_rule

    assert naive_findings(path) == expected
    assert product_findings(auditor, path) == expected


def test_single_adapter_crlf(tmp_path: Path, auditor: Auditor) -> None:
    """One adapter: unnamed lines belong to it, whatever their thread; CRLF endings."""
    path = tmp_path / "one.txt"
    generate.generate(path, 10_000, seed=3, adapters=1, crlf=True)
    found = naive_findings(path, prefilter=True)
    assert found == naive_findings(path)
    assert {rule for rule, _, _ in found} == PINNED
    assert {adapter for _, adapter, _ in found} == {"A1"}
    assert product_findings(auditor, path) == found


EDGES = """\
[0]0004.0100::03/14/2025-09:00:00.000 [wlandrv]!MPInitializeEx[1]!---> MPInitializeEx Adapter=A1
[0]0004.0104::03/14/2025-09:00:00.001 [wlandrv]!MPInitializeEx[1]!---> MPInitializeEx Adapter=A2
[0]0004.0100::03/14/2025-09:00:00.010 [w]!Set[1]!Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
[1]0004.0100::03/14/2025-09:00:00.005 [w]!Set[1]!Set OID_DOT11_NIC_POWER_STATE: FALSE Adapter=A1
[0]0004.0100::03/14/2025-09:00:00.020 [wlandrv]!MPHaltEx[1]!---> MPHaltEx
[0]0004.0100::00/00/0000-00:00:00.000 [wlandrv]!MPHaltEx[1]!<--- MPHaltEx
[0]0004.0104::03/14/2025-09:00:00.030 [w]!A[2]!NDIS_STATUS_DOT11_ASSOCIATION_COMPLETION Adapter=A2 Status = 0x0
[0]0004.0104::03/14/2025-09:00:00.031 [w]!Set[1]!Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A2
[0]0004.0104::03/14/2025-09:00:00.040 [wlandrv]!MPHaltEx[1]!---> MPHaltEx Adapter=A2
[0]0004.0104::03/14/2025-09:00:00.041 [w]!Set[1]!Set OID_DOT11_NIC_POWER_STATE: FALSE
[0]0004.0100::03/14/2025-09:00:00.042 [wlandrv]!MPHaltEx[1]!<--- MPHaltEx Adapter=A2
[0]0004.0104::03/14/2025-09:00:00.043 [wlandrv]!MPHaltEx[1]!<--- MPHaltEx Adapter=A2
[0]0004.0104::03/14/2025-09:00:00.050 [w]!Set[1]!Set OID_DOT11_NIC_POWER_STATE:
    TRUE Adapter=A2
[0]0004.0104::03/14/2025-09:00:00.051 [w]!Set[1]!Set OID_DOT11_NIC_POWER_STATE: ON Adapter=A2

[0]0004.0104::2025/03/14-09:00:00.052 [w]!Set[1]!Set OID_DOT11_NIC_POWER_STATE: on Adapter=A2
[0]0004.0108::03/14/2025-09:00:01.000 [w]!MPInitializeEx[1]!---> MPInitializeEx Adapter="Wi-Fi 2"
[0]0004.0108::03/14/2025-09:00:01.001 [w]!Set[1]!OID_DOT11_NIC_POWER_STATE on port 0 to TRUE
[0]0004.0108::03/14/2025-09:00:01.002 [wlandrv]!MPHaltEx[1]!---> MPHaltEx Adapter='Wi-Fi 2'
[0]0004.0108::03/14/2025-09:00:01.003 [w]!MPHaltEx[1]!<--- MPHaltEx AdapterContext: Wi-Fi 2, ok
"""


def test_hand_written_edge_cases(tmp_path: Path, auditor: Auditor) -> None:
    """Out-of-order and debugger timestamps, attribution by thread, wrapped and blank lines.

    A1: radio-on (line 3) is later than radio-off (line 4) by time, so the radio is on
    when the halt, attributed by thread, returns at line 6 (a null timestamp: it keeps
    its source slot). A2: connected at the halt, radio off by thread; both halt.end
    records fire; the wrapped radio line 13 classifies as nothing (a map regex does not
    cross lines); the radio turned on at 15 and 17 while halted. "Wi-Fi 2": one adapter
    whether quoted or bare; the radio, on by thread, is still on when the halt returns.
    """
    path = tmp_path / "edges.txt"
    path.write_text(EDGES, encoding="utf-8")
    expected = {
        ("halt-radio-left-on", "A1", 6),
        ("halt-without-disconnect", "A2", 11),
        ("halt-without-disconnect", "A2", 12),
        ("radio-on-before-initialize", "A2", 15),
        ("radio-on-before-initialize", "A2", 17),
        ("halt-radio-left-on", "Wi-Fi 2", 21),
    }
    assert naive_findings(path) == expected
    assert product_findings(auditor, path) == expected


def test_generator_is_deterministic_and_counts_lines(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    made = generate.generate(a, 5_000, seed=11, adapters=3)
    generate.generate(b, 5_000, seed=11, adapters=3)
    data = a.read_bytes()
    assert data == b.read_bytes()
    assert data.count(b"\n") == made.lines
    assert made.lines > made.events > made.lifecycle > 0
    assert generate.generate(b, 5_000, seed=12, adapters=3).lines > 0
    assert b.read_bytes() != data
