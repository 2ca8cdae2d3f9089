"""trace-auditor: audit Windows Wi-Fi driver traces against the WDK lifecycle contract.

The Python API, for notebooks and scripts (the CLI runs the same :class:`Auditor`)::

    import auditor

    result = auditor.audit("field.txt", maps=["contoso.map.toml"])
    result.findings                      # polars DataFrame, one row per finding
    result.timeline(around=0)            # plotly Figure zoomed on the first finding
    result.explain(0)                    # its evidence lines in their source context
    result.check("radio == 'on' & halted")  # an ad-hoc rule over the lifecycle events

``auditor.load`` reads traces into the canonical events without auditing them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# The public names load on first use (PEP 562), so ``trace-audit --help`` and batch
# workers do not pay for polars, the engine and plotly before they need them.
_EXPORTS = {
    "Auditor": "auditor.pipeline",
    "ConfigError": "auditor.problems",
    "Explanation": "auditor.api",
    "FindingRef": "auditor.api",
    "Loaded": "auditor.api",
    "PathLike": "auditor.api",
    "Result": "auditor.api",
    "TraceReadError": "parsers",
    "audit": "auditor.api",
    "load": "auditor.api",
}

__all__ = [
    "Auditor",
    "ConfigError",
    "Explanation",
    "FindingRef",
    "Loaded",
    "PathLike",
    "Result",
    "TraceReadError",
    "__version__",
    "audit",
    "load",
]

if TYPE_CHECKING:
    from auditor.api import Explanation, FindingRef, Loaded, PathLike, Result, audit, load
    from auditor.pipeline import Auditor
    from auditor.problems import ConfigError
    from parsers import TraceReadError


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'auditor' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
