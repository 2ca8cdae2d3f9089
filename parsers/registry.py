"""The format registry: each parser module registers itself, detection asks them all.

Adding a format means one new module that defines a :class:`TraceFormat` subclass
decorated with :func:`register`, plus its import in ``parsers/__init__.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import PurePath
from typing import ClassVar, Protocol

from parsers.errors import TraceReadError
from parsers.source import LineStream, SourceLines
from parsers.trace import ParsedTrace, ParseOptions, Piece

# What a format sees when asked whether a file is its own: the physical lines from the
# start up to the SNIFF_LINES-th non-blank one, and at most SNIFF_CHARS characters of
# text. Blank lines never count, so a trace behind a run of them is still recognised;
# junk before the first record (a tool's banner, a mail header) is tolerated up to the
# bound. Indexes into the head are line numbers - 1, so parsers that look for a header
# row use the same head.
SNIFF_LINES = 1000
SNIFF_CHARS = 4 * 2**20


class TraceFormat(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    example: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]] = ()

    @classmethod
    @abstractmethod
    def sniff(cls, head: list[str]) -> float:
        """Confidence in [0, 1] that these first lines are this format."""

    @classmethod
    def hint(cls, head: list[str]) -> str | None:
        """When no format claims a file: what the engineer could do if it is this one
        after all (a custom layout the sniffer cannot know), or None."""
        return None

    @abstractmethod
    def parse(self, source: SourceLines, options: ParseOptions) -> ParsedTrace: ...

    def stream(self, lines: LineStream, options: ParseOptions) -> Iterator[Piece]:
        """Decode a trace chunk by chunk, in bounded memory.

        The pieces together hold exactly what :meth:`parse` gives for the same lines. A
        format that does not override this reads the whole input as one piece.
        """
        parsed = self.parse(lines.collect(), options)
        yield Piece(parsed.events.collect(), parsed.rejects, parsed.accounting, parsed.notes)


_FORMATS: dict[str, type[TraceFormat]] = {}


def register(cls: type[TraceFormat]) -> type[TraceFormat]:
    if cls.name in _FORMATS:
        raise ValueError(f"format {cls.name!r} registered twice")
    _FORMATS[cls.name] = cls
    return cls


def formats() -> list[type[TraceFormat]]:
    return list(_FORMATS.values())


def get(name: str) -> type[TraceFormat]:
    try:
        return _FORMATS[name]
    except KeyError:
        known = ", ".join(sorted(_FORMATS))
        raise ValueError(f"unknown format {name!r} (known: {known})") from None


class _Head(Protocol):
    path: str

    def head(self, n: int = ...) -> list[str]: ...


def sniff_head(source: _Head) -> list[str]:
    """The first lines of ``source``, up to its SNIFF_LINES-th non-blank line (bounded)."""
    want = SNIFF_LINES
    while True:
        head = source.head(want)
        nonblank = chars = 0
        for i, text in enumerate(head):
            chars += len(text) + 1
            if text.strip():
                nonblank += 1
            if nonblank >= SNIFF_LINES or chars >= SNIFF_CHARS:
                return head[: i + 1]
        if len(head) < want:
            return head  # the whole input
        want *= 4


def detect(source: _Head) -> type[TraceFormat]:
    """Pick the format by content; the extension only breaks ties."""
    head = sniff_head(source)
    suffix = PurePath(source.path.removesuffix(".gz")).suffix.lower()
    scored = [
        (cls.sniff(head), suffix in cls.extensions, cls.name, cls) for cls in _FORMATS.values()
    ]
    best = max(scored, key=lambda item: (item[0], item[1], item[2]))
    if best[0] <= 0:
        first = next(((i + 1, text) for i, text in enumerate(head) if text and text.strip()), None)
        tried = ", ".join(sorted(_FORMATS))
        if first is None:
            if len(source.head(len(head) + 1)) > len(head):
                raise TraceReadError(
                    source.path,
                    None,
                    f"unrecognised trace format (tried {tried}): only blank lines in the "
                    f"first {len(head):,} lines",
                )
            reason = f"{len(head):,} blank lines, nothing to audit" if head else "no lines to audit"
            raise TraceReadError(source.path, None, f"empty input: {reason}")
        line_no, text = first
        shown = text if len(text) <= 120 else text[:120] + "…"
        hints = [h for cls in _FORMATS.values() if (h := cls.hint(head))]
        also = f"; {hints[0]}" if hints else ""
        raise TraceReadError(
            source.path, line_no, f"unrecognised trace format (tried {tried}): {shown!r}{also}"
        )
    return best[3]
