"""Fixtures for the report tests: small WPP traces audited with the built-in packs."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from auditor.pipeline import Auditor, AuditResult
from auditor.ruleset import PINNED_RULE_IDS

# The halt obligations broken three times: halted while connected and with the radio on
# (lines 5-6), then the radio turned back on before any MiniportInitializeEx (line 8).
DEMO = """\
[0]0004.0010::06/06/2025-12:00:00.000 [wlan]---> MPInitializeEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:00.100 [wlan]<--- MPInitializeEx Adapter=A1 Status = 0x00000000
[0]0004.0010::06/06/2025-12:00:01.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
[0]0004.0010::06/06/2025-12:00:02.000 [wlan]Indicate NDIS_STATUS_DOT11_ASSOCIATION_COMPLETION Adapter=A1 Status = 0x0
[0]0004.0010::06/06/2025-12:00:03.000 [wlan]---> MPHaltEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.100 [wlan]<--- MPHaltEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:04.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: FALSE Adapter=A1
[0]0004.0010::06/06/2025-12:00:05.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
"""

# Two adapters: A1 breaks all three rules, B2 disassociates and turns its radio off.
TWO_ADAPTERS = """\
[0]0004.0010::06/06/2025-12:00:00.000 [wlan]---> MPInitializeEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:00.100 [wlan]<--- MPInitializeEx Adapter=A1 Status = 0x00000000
[1]0004.0020::06/06/2025-12:00:00.200 [wlan]---> MPInitializeEx Adapter=B2
[1]0004.0020::06/06/2025-12:00:00.300 [wlan]<--- MPInitializeEx Adapter=B2 Status = 0x00000000
[0]0004.0010::06/06/2025-12:00:01.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
[1]0004.0020::06/06/2025-12:00:01.500 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=B2
[0]0004.0010::06/06/2025-12:00:02.000 [wlan]Indicate NDIS_STATUS_DOT11_ASSOCIATION_COMPLETION Adapter=A1 Status = 0x0
[1]0004.0020::06/06/2025-12:00:02.200 [wlan]Indicate NDIS_STATUS_DOT11_ASSOCIATION_COMPLETION Adapter=B2 Status = 0x0
[1]0004.0020::06/06/2025-12:00:02.500 [wlan]Indicate NDIS_STATUS_DOT11_DISASSOCIATION Adapter=B2
[0]0004.0010::06/06/2025-12:00:03.000 [wlan]---> MPHaltEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.100 [wlan]<--- MPHaltEx Adapter=A1
[1]0004.0020::06/06/2025-12:00:03.200 [wlan]---> MPHaltEx Adapter=B2
[1]0004.0020::06/06/2025-12:00:03.300 [wlan]Set OID_DOT11_NIC_POWER_STATE: FALSE Adapter=B2
[1]0004.0020::06/06/2025-12:00:03.400 [wlan]<--- MPHaltEx Adapter=B2
[0]0004.0010::06/06/2025-12:00:04.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: FALSE Adapter=A1
[0]0004.0010::06/06/2025-12:00:05.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
"""

# No adapter named anywhere: one implicit timeline, and no radio event at all.
UNNAMED = """\
[0]0004.0010::06/06/2025-13:00:00.000 [wlan]---> MPInitializeEx
[0]0004.0010::06/06/2025-13:00:00.100 [wlan]<--- MPInitializeEx Status = 0x00000000
[0]0004.0010::06/06/2025-13:00:02.000 [wlan]Indicate NDIS_STATUS_DOT11_CONNECTION_COMPLETION Status = 0x0
[0]0004.0010::06/06/2025-13:00:03.000 [wlan]---> MPHaltEx
[0]0004.0010::06/06/2025-13:00:03.100 [wlan]<--- MPHaltEx
"""

# Halted while associated with the radio on: halt-radio-left-on (error) and
# halt-without-disconnect (warning), both anchored at line 5.
HALT = """\
[0]0004.0010::06/06/2025-12:00:00.000 [wlan]<--- MPInitializeEx Adapter=A1 Status = 0x00000000
[0]0004.0010::06/06/2025-12:00:01.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
[0]0004.0010::06/06/2025-12:00:02.000 [wlan]Indicate NDIS_STATUS_DOT11_ASSOCIATION_COMPLETION Adapter=A1 Status = 0x0
[0]0004.0010::06/06/2025-12:00:03.000 [wlan]---> MPHaltEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.100 [wlan]<--- MPHaltEx Adapter=A1
"""

# A clean halt: the radio goes off inside it, nothing fires.
CLEAN = """\
[0]0004.0010::06/06/2025-12:00:00.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
[0]0004.0010::06/06/2025-12:00:02.000 [wlan]---> MPHaltEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:02.500 [wlan]Set OID_DOT11_NIC_POWER_STATE: FALSE Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.000 [wlan]<--- MPHaltEx Adapter=A1
"""

PAYLOAD = "</script><script>alert(1)</script>"


@pytest.fixture(scope="session")
def samples() -> SimpleNamespace:
    """The trace texts above (test modules cannot import conftest under importlib mode)."""
    return SimpleNamespace(demo=DEMO, two_adapters=TWO_ADAPTERS, unnamed=UNNAMED, payload=PAYLOAD)


@pytest.fixture(scope="session")
def auditor() -> Auditor:
    """The three pinned rules: report tests check rendering, not the pack (tests/rules)."""
    return Auditor.load(select=PINNED_RULE_IDS)


@pytest.fixture
def write_trace(tmp_path: Path) -> Callable[[str, str], str]:
    def write(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8", newline="\n")
        return str(path)

    return write


@pytest.fixture
def audit_texts(
    auditor: Auditor, write_trace: Callable[[str, str], str]
) -> Callable[[dict[str, str]], AuditResult]:
    """Write each ``{file name: text}`` trace to tmp_path and audit them all, in order."""

    def run(traces: dict[str, str]) -> AuditResult:
        return auditor.audit([write_trace(name, text) for name, text in traces.items()])

    return run


@pytest.fixture
def demo(audit_texts: Callable[[dict[str, str]], AuditResult]) -> AuditResult:
    return audit_texts({"demo.txt": DEMO})


@pytest.fixture(scope="session")
def synthetic() -> ModuleType:
    """tests/browser/synthetic_trace.py: large classified timelines built as polars frames."""
    path = Path(__file__).resolve().parents[1] / "browser" / "synthetic_trace.py"
    spec = importlib.util.spec_from_file_location("synthetic_trace", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
