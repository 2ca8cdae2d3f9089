"""trace-auditor: audit Windows Wi-Fi driver traces against the WDK lifecycle contract."""

from __future__ import annotations

__version__ = "0.1.0"
