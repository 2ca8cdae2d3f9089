"""Input formats to canonical events.

``read_trace`` is the one entry point: it reads the file, detects the format from its
content and returns a :class:`ParsedTrace` whose lines are all accounted for.
"""

from __future__ import annotations

from pathlib import Path

from parsers import perfview_csv as perfview_csv
from parsers import tracerpt_csv, wpp_text  # noqa: F401  (modules register their formats)
from parsers import wpaexporter_csv as wpaexporter_csv
from parsers import xperf_dumper as xperf_dumper
from parsers.errors import TraceReadError
from parsers.registry import detect, formats, get
from parsers.schema import EVENT_SCHEMA, REJECT_SCHEMA
from parsers.source import read_lines
from parsers.trace import Accounting, ParsedTrace, ParseOptions, RecordFilter

__all__ = [
    "EVENT_SCHEMA",
    "REJECT_SCHEMA",
    "Accounting",
    "ParseOptions",
    "ParsedTrace",
    "RecordFilter",
    "TraceReadError",
    "formats",
    "read_trace",
]


def read_trace(
    path: str | Path,
    options: ParseOptions | None = None,
    *,
    format: str | None = None,
    label: str | None = None,
) -> ParsedTrace:
    """Read one trace file. ``format`` forces a parser instead of detection."""
    options = options or ParseOptions()
    source = read_lines(path, label=label)
    if format is None and options.wpp_prefix is not None:
        format = "wpp-text"  # a custom prefix is only recognisable once it is known
    cls = get(format) if format else detect(source)
    return cls().parse(source, options)
