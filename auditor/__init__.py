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

__version__ = "0.1.0"

# After __version__: modules imported below may read it. The function ``audit`` is
# bound after the import of the submodule ``auditor.audit`` (which api imports), so
# ``auditor.audit`` is the function; the module stays importable by its full name.
from auditor.api import Explanation, FindingRef, Loaded, PathLike, Result, audit, load
from auditor.audit import Auditor
from auditor.problems import ConfigError
from parsers import TraceReadError

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
