"""Input formats to canonical events.

``read_trace`` reads a file, detects the format from its content and returns a
:class:`ParsedTrace` whose lines are all accounted for. ``stream_trace`` gives the same
events and rejects chunk by chunk, in memory bounded by the chunk size, for writing a
big trace out (``trace-audit parse``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from parsers import perfview_csv as perfview_csv
from parsers import tracerpt_csv, wpp_text  # noqa: F401  (modules register their formats)
from parsers import wpaexporter_csv as wpaexporter_csv
from parsers import xperf_dumper as xperf_dumper
from parsers.errors import TraceReadError
from parsers.registry import detect, formats, get
from parsers.schema import EVENT_SCHEMA, REJECT_SCHEMA
from parsers.source import (
    DEFAULT_CHUNK_LINES,
    PREFILTERED_BLOCK_BYTES,
    NotUtf8,
    read_lines,
    stream_lines,
)
from parsers.trace import (
    Accounting,
    ParsedTrace,
    ParseOptions,
    Piece,
    RecordFilter,
    add,
    no_records,
)

__all__ = [
    "EVENT_SCHEMA",
    "REJECT_SCHEMA",
    "Accounting",
    "ParseOptions",
    "ParsedTrace",
    "Piece",
    "RecordFilter",
    "StreamRestart",
    "StreamedTrace",
    "TraceReadError",
    "formats",
    "read_trace",
    "stream_trace",
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


class StreamRestart(Exception):
    """Pieces already handed out are void: discard them and iterate ``pieces()`` again.

    Raised when a file streamed as UTF-8 holds an invalid byte far in: the whole file is
    then decoded as the ANSI code page, as :func:`read_trace` does.
    """


class StreamedTrace:
    """One trace decoded chunk by chunk; see :func:`stream_trace`.

    ``format``, ``encoding`` are set once ``pieces()`` has started; ``accounting``,
    ``rejects`` and ``notes`` once it is exhausted.
    """

    def __init__(
        self,
        path: str | Path,
        options: ParseOptions,
        format: str | None,
        label: str | None,
        chunk_lines: int,
    ) -> None:
        self.source = path
        self.path = label or str(path)
        self.options = options
        self.forced = format
        self.label = label
        self.chunk_lines = chunk_lines
        self.format: str | None = None
        self.encoding: str | None = None
        self.accounting: Accounting | None = None
        self.rejects: pl.DataFrame = pl.DataFrame(schema=REJECT_SCHEMA)
        self.notes: tuple[str, ...] = ()
        self._whole = False

    def pieces(self) -> Iterator[Piece]:
        """The decoded pieces in source order; raises :class:`TraceReadError` as read_trace does."""
        yielded = False
        try:
            for piece in self._pieces():
                yielded = True
                yield piece
        except NotUtf8:
            self._whole = True
            if yielded:
                raise StreamRestart(self.path) from None
            yield from self._pieces()

    def read(self) -> ParsedTrace:
        """Every piece at once: what :func:`read_trace` gives, decoded on every core.

        Memory holds the events kept (all of them, or those a pre-filter lets through),
        never the whole file, so this is how the audit reads a big trace. A small file is
        read whole: chunks and threads only pay for themselves on big inputs.
        """
        if _is_small_file(self.source):
            return read_trace(self.source, self.options, format=self.forced, label=self.label)
        while True:
            try:
                frames = [piece.events for piece in self.pieces()]
            except StreamRestart:
                continue  # not UTF-8 after all: read again as the ANSI code page
            break
        events = pl.concat(frames) if frames else pl.DataFrame(schema=EVENT_SCHEMA)
        assert self.format is not None and self.encoding is not None
        assert self.accounting is not None
        return ParsedTrace(
            path=self.path,
            format=self.format,
            encoding=self.encoding,
            events=events.lazy(),
            rejects=self.rejects,
            accounting=self.accounting,
            notes=self.notes,
        )

    def _pieces(self) -> Iterator[Piece]:
        lines = stream_lines(
            self.source,
            self.label,
            chunk_lines=self.chunk_lines,
            whole=self._whole,
            block_bytes=PREFILTERED_BLOCK_BYTES if self.options.keep is not None else None,
        )
        forced = self.forced
        if forced is None and self.options.wpp_prefix is not None:
            forced = "wpp-text"
        cls = get(forced) if forced else detect(lines)
        self.format, self.encoding = cls.name, lines.encoding.value
        total = Accounting(0, 0, 0, 0, 0)
        rejects: list[pl.DataFrame] = []
        notes: list[str] = []
        for piece in cls().stream(lines, self.options):
            total = add(total, piece.accounting)
            if piece.rejects.height:
                rejects.append(piece.rejects)
            if total.events == 0 and total.rejected and total.lines >= EARLY_STOP_LINES:
                # Not one record in the first lines: the wrong format or not a trace, so
                # stop here rather than read and reject the rest of a big file.
                raise no_records(self.path, cls.name, pl.concat(rejects), within=total.lines)
            notes.extend(n for n in piece.notes if n not in notes)
            if piece.events.height:
                yield piece
        self.rejects = (pl.concat(rejects) if rejects else pl.DataFrame(schema=REJECT_SCHEMA)).cast(
            REJECT_SCHEMA
        )  # type: ignore[arg-type]
        if total.events == 0 and total.rejected:
            raise no_records(self.path, cls.name, self.rejects)
        self.accounting = total
        self.notes = tuple(notes)


# A streamed input whose first lines (this many, or the first chunk if longer) hold no
# record and some rejected line is refused without reading further.
EARLY_STOP_LINES = 10_000

# Below this size a trace is read whole by StreamedTrace.read (a batch of test-lab runs
# is thousands of such files, where a thread pool per file costs more than it saves).
STREAM_MIN_BYTES = 32 * 2**20


def _is_small_file(source: str | Path) -> bool:
    try:
        path = Path(source)
        return str(source) != "-" and path.is_file() and path.stat().st_size < STREAM_MIN_BYTES
    except OSError:
        return False  # let the streamed read report it


def stream_trace(
    path: str | Path,
    options: ParseOptions | None = None,
    *,
    format: str | None = None,
    label: str | None = None,
    chunk_lines: int = DEFAULT_CHUNK_LINES,
) -> StreamedTrace:
    """Read one trace in chunks of ``chunk_lines`` lines: the same events as read_trace.

    Nothing is read until ``pieces()`` is iterated.
    """
    return StreamedTrace(path, options or ParseOptions(), format, label, chunk_lines)
