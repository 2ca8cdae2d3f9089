"""Turn a file into numbered text lines, whatever encoding the export tool chose.

UTF-8 files (the common case, and the big ones) go straight to polars' line reader
with no decode in Python; UTF-16 (tracerpt ``-en Unicode``) and ANSI code-page files
are decoded once and handed over as UTF-8.
"""

from __future__ import annotations

import codecs
import gzip
import io
import sys
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

import polars as pl

from parsers.archive import ArchiveError, read_member, split_member_path
from parsers.errors import TraceReadError

SNIFF_BYTES = 64 * 1024


class Encoding(StrEnum):
    UTF8 = "utf-8"
    UTF8_BOM = "utf-8-sig"
    UTF16LE = "utf-16-le"
    UTF16BE = "utf-16-be"
    CP1252 = "cp1252"


@dataclass(frozen=True)
class SourceLines:
    """The physical lines of one input, 1-based ``line`` numbers, BOM removed."""

    path: str
    encoding: Encoding
    lines: pl.DataFrame  # columns: line (u32), text (str)

    @property
    def count(self) -> int:
        return self.lines.height

    def head(self, n: int = 50) -> list[str]:
        return self.lines.get_column("text").head(n).to_list()


def sniff_encoding(head: bytes) -> Encoding:
    if head.startswith(codecs.BOM_UTF8):
        return Encoding.UTF8_BOM
    if head.startswith(codecs.BOM_UTF16_LE):
        return Encoding.UTF16LE
    if head.startswith(codecs.BOM_UTF16_BE):
        return Encoding.UTF16BE
    # UTF-16 without a BOM: ASCII text leaves every other byte NUL.
    sample = head[:4096]
    if len(sample) >= 4:
        odd_nuls = sample[1::2].count(0)
        even_nuls = sample[0::2].count(0)
        half = len(sample) // 2
        if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
            return Encoding.UTF16LE
        if even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
            return Encoding.UTF16BE
    return Encoding.UTF8


def _decode_fallback(data: bytes) -> tuple[str, Encoding]:
    """Bytes that are not UTF-8: Windows tools write the ANSI code page (cp1252 here).

    cp1252 leaves five byte values undefined; those are mapped as Latin-1 so that no
    input byte is lost or turns into an error.
    """
    return data.decode("cp1252", errors="latin1_fallback"), Encoding.CP1252


def _latin1_fallback(err: UnicodeDecodeError) -> tuple[str, int]:
    chunk = err.object[err.start : err.end]
    return bytes(chunk).decode("latin-1"), err.end


codecs.register_error("latin1_fallback", _latin1_fallback)


def _lines_from_text(text: str) -> pl.DataFrame:
    return pl.read_lines(io.BytesIO(text.encode("utf-8")), name="text")


# Decompression is bounded: a small file must not expand without limit (a "zip bomb").
MAX_DECOMPRESSED_BYTES = 8 * 2**30
MAX_COMPRESSION_RATIO = 1000
GZIP_MAGIC = b"\x1f\x8b"


def _gunzip(path: Path, name: str) -> bytes:
    limit = min(MAX_DECOMPRESSED_BYTES, max(path.stat().st_size * MAX_COMPRESSION_RATIO, 2**20))
    out = io.BytesIO()
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(2**20):
                out.write(chunk)
                if out.tell() > limit:
                    raise TraceReadError(
                        name,
                        None,
                        f"gzip data expands beyond {limit:,} bytes (at most "
                        f"{MAX_COMPRESSION_RATIO}x the file, {MAX_DECOMPRESSED_BYTES:,} bytes in all)",
                    )
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise TraceReadError(name, None, f"corrupt or truncated gzip data: {exc}") from None
    return out.getvalue()


_stdin: bytes | None = None


def _stdin_bytes() -> bytes:
    """Standard input, read once: reports read a trace again for context lines."""
    global _stdin
    if _stdin is None:
        _stdin = sys.stdin.buffer.read()
    return _stdin


def _open(path: str | Path, name: str) -> tuple[Path | bytes, bytes]:
    """The input as a path (plain file) or bytes (stdin, archive member, gzip), and its head."""
    source: Path | bytes
    try:
        if str(path) == "-":
            source = _stdin_bytes()
            head = source[:SNIFF_BYTES]
        elif not Path(path).exists() and (inside := split_member_path(str(path))):
            try:
                source = read_member(*inside)
            except ArchiveError as exc:
                raise TraceReadError(name, None, str(exc)) from None
            head = source[:SNIFF_BYTES]
        else:
            source = Path(path)
            with source.open("rb") as fh:
                head = fh.read(SNIFF_BYTES)
            if head.startswith(GZIP_MAGIC):
                source = _gunzip(source, name)
                head = source[:SNIFF_BYTES]
    except OSError as exc:
        raise TraceReadError(name, None, f"cannot open: {exc.strerror or exc}") from exc
    return source, head


def _ends_with_cr(source: Path | bytes) -> bool:
    """Whether the last byte is a CR: then the last line's CR ends it, and no line follows."""
    if isinstance(source, bytes):
        return source.endswith(b"\r")
    with source.open("rb") as fh:
        if fh.seek(0, io.SEEK_END) == 0:
            return False
        fh.seek(-1, io.SEEK_END)
        return fh.read(1) == b"\r"


def read_lines(path: str | Path, label: str | None = None) -> SourceLines:
    """Read ``path`` into numbered lines; raise :class:`TraceReadError` if it cannot be read.

    ``-`` reads standard input; gzip-compressed files are decompressed (bounded). Plain
    UTF-8 files go to polars' line reader by path, never through Python strings. LF,
    CRLF and a lone CR each end a line.
    """
    name = label or str(path)
    return _read_whole(name, *_open(path, name))


def _read_whole(name: str, source: Path | bytes, head: bytes) -> SourceLines:
    def data() -> bytes:
        return source if isinstance(source, bytes) else source.read_bytes()

    encoding = sniff_encoding(head)
    text: str | None = None
    try:
        if encoding in (Encoding.UTF16LE, Encoding.UTF16BE):
            # A lone surrogate or an odd trailing byte must not stop the audit: it
            # becomes U+FFFD and the line is still accounted for.
            text = data().decode(encoding.value, errors="replace").removeprefix("\ufeff")
            frame = _lines_from_text(text)
        else:
            try:
                if isinstance(source, bytes):
                    frame = pl.read_lines(io.BytesIO(source), name="text")
                else:
                    frame = pl.read_lines(source, name="text", glob=False)
            except pl.exceptions.ComputeError as exc:
                if not _is_utf8_error(exc):
                    raise
                text, encoding = _decode_non_utf8(data(), encoding)
                frame = _lines_from_text(text)
        tail_cr = text.endswith("\r") if text is not None else _ends_with_cr(source)
    except OSError as exc:
        raise TraceReadError(name, None, f"cannot read: {exc.strerror or exc}") from exc

    if encoding is Encoding.UTF8_BOM:
        frame = _strip_bom(frame)
    frame = _number(split_lone_cr(frame, last=tail_cr), 1)
    return SourceLines(path=name, encoding=encoding, lines=frame)


# Lines per chunk when a trace is streamed: large enough that the per-chunk work is
# noise, small enough that a chunk and its decoded events stay a few hundred MB.
DEFAULT_CHUNK_LINES = 200_000


class NotUtf8(Exception):
    """A streamed file turned out not to be UTF-8 after part of it was handed out.

    The whole file then decodes as the ANSI code page, so what was read must be read again
    (see :meth:`parsers.StreamedTrace.pieces`).
    """


class LineStream:
    """The physical lines of one input in chunks of (line, text), in order.

    ``head`` looks ahead without losing anything: the chunks it read are handed out again.
    """

    def __init__(self, path: str, encoding: Encoding, chunks: Iterator[pl.DataFrame]) -> None:
        self.path = path
        self.encoding = encoding
        self._chunks = chunks
        self._ahead: list[pl.DataFrame] = []

    def head(self, n: int = 50) -> list[str]:
        have = sum(f.height for f in self._ahead)
        while have < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._ahead.append(chunk)
            have += chunk.height
        texts: list[str] = []
        for frame in self._ahead:
            texts.extend(frame.get_column("text").head(n - len(texts)).to_list())
            if len(texts) >= n:
                break
        return texts

    def __iter__(self) -> Iterator[pl.DataFrame]:
        while self._ahead:
            yield self._ahead.pop(0)
        yield from self._chunks

    def collect(self) -> SourceLines:
        """All lines at once, for formats that are not decoded chunk by chunk."""
        frames = list(self)
        lines = pl.concat(frames) if frames else pl.DataFrame(schema=_LINE_SCHEMA)
        return SourceLines(path=self.path, encoding=self.encoding, lines=lines)


_LINE_SCHEMA = {"line": pl.UInt32(), "text": pl.String()}


def stream_lines(
    path: str | Path,
    label: str | None = None,
    *,
    chunk_lines: int = DEFAULT_CHUNK_LINES,
    whole: bool = False,
    block_bytes: int | None = None,
) -> LineStream:
    """The lines of ``path`` in chunks of at most ``chunk_lines``, as :func:`read_lines` numbers them.

    A plain UTF-8 file is streamed by polars ``block_bytes`` at a time (default
    :data:`STREAM_BLOCK_BYTES`), so memory stays bounded by the block and chunk sizes
    whatever the file size; it raises :class:`NotUtf8` from the iteration if an invalid
    byte shows up late. Other inputs (standard input, archives, gzip, UTF-16, ``whole``)
    are read at once and handed out in slices.
    """
    if chunk_lines < 1:
        raise ValueError("chunk_lines must be positive")
    name = label or str(path)
    source, head = _open(path, name)
    encoding = sniff_encoding(head)
    if not whole and isinstance(source, Path) and encoding in (Encoding.UTF8, Encoding.UTF8_BOM):
        try:
            tail_cr = _ends_with_cr(source)
        except OSError as exc:
            raise TraceReadError(name, None, f"cannot read: {exc.strerror or exc}") from exc
        block = block_bytes or STREAM_BLOCK_BYTES
        chunks = _stream_file(source, name, encoding, chunk_lines, tail_cr, block)
        return LineStream(name, encoding, chunks)
    lines = _read_whole(name, source, head)
    return LineStream(name, lines.encoding, iter(lines.lines.iter_slices(chunk_lines)))


# Bytes read at a time when a file is streamed: each block, cut after its last LF, is
# handed to polars' line reader. Reading block by block keeps memory bounded by the block
# and chunk sizes (polars' own streaming reader runs ahead of a slower consumer and holds
# most of a big file), at about the speed of reading the whole file at once. A few blocks
# are in flight at once, each decoded to about twice its size when every record is kept.
STREAM_BLOCK_BYTES = 8 * 2**20
# When a pre-filter drops most records undecoded, a block costs little more than its own
# bytes, and bigger blocks halve the fixed cost per chunk.
PREFILTERED_BLOCK_BYTES = 16 * 2**20


# How far back from a block's end a line break is looked for before the block is read.
_PEEK_BYTES = 64 * 2**10


def _blocks(path: Path, block_bytes: int) -> Iterator[tuple[bytes, bool]]:
    """The file in pieces that each end with a LF (the last one perhaps not), and
    whether each is the last.

    Each block's length is chosen before it is read, by peeking at its last bytes for a
    LF, so the block is read once into its own bytes object and never copied; a line
    longer than the peek window is searched forward for its end.
    """
    with path.open("rb") as fh:
        size = fh.seek(0, io.SEEK_END)
        pos = 0
        while pos < size:
            end = min(pos + block_bytes, size)
            if end < size:
                peek_at = max(pos, end - _PEEK_BYTES)
                fh.seek(peek_at)
                cut = fh.read(end - peek_at).rfind(b"\n")
                end = peek_at + cut + 1 if cut >= 0 else _line_end(fh, end, size, block_bytes)
            fh.seek(pos)
            data = fh.read(end - pos)
            short = len(data) < end - pos  # the file shrank while it was read
            pos += len(data)
            if data:
                yield data, short or pos >= size
            if short:
                return


def _line_end(fh: BinaryIO, start: int, size: int, block_bytes: int) -> int:
    """The offset just after the first LF at or after ``start`` (or the end of the file)."""
    fh.seek(start)
    at = start
    while chunk := fh.read(block_bytes):
        cut = chunk.find(b"\n")
        if cut >= 0:
            return at + cut + 1
        at += len(chunk)
    return size


def _may_hold_lone_cr(block: bytes) -> bool:
    """Whether a block may hold a CR not followed by LF: a memchr on the bytes.

    A LF-only file has no CR, so its lines are never scanned again. A CRLF file stops at
    its first CR, and only :func:`split_lone_cr`'s check of the lines (about 1 ms per
    16 MB) remains: counting CR and CRLF in the bytes instead costs 17 ms per block.
    """
    return b"\r" in block


def _read_ahead(chunks: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """``chunks``, produced in a worker thread while the caller works on earlier ones.

    polars releases the GIL while it splits a block into lines, so reading overlaps
    decoding. A few chunks (one block's worth at most) wait at a time, so memory stays
    bounded.
    """
    done = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read") as pool:
        pending = pool.submit(next, chunks, done)
        while (chunk := pending.result()) is not done:
            pending = pool.submit(next, chunks, done)
            yield chunk  # type: ignore[misc]


def _stream_file(
    path: Path, name: str, encoding: Encoding, chunk_lines: int, tail_cr: bool, block_bytes: int
) -> Iterator[pl.DataFrame]:
    try:
        chunks = _numbered_chunks(path, encoding, chunk_lines, tail_cr, block_bytes)
        yield from _read_ahead(chunks)
    except pl.exceptions.ComputeError as exc:
        if _is_utf8_error(exc):
            raise NotUtf8(name) from None
        raise
    except OSError as exc:
        raise TraceReadError(name, None, f"cannot read: {exc.strerror or exc}") from exc


def _numbered_chunks(
    path: Path, encoding: Encoding, chunk_lines: int, tail_cr: bool, block_bytes: int
) -> Iterator[pl.DataFrame]:
    """Each block split into lines and numbered, in slices of at most ``chunk_lines``.

    Chunks never span two blocks, so nothing is concatenated or copied.
    """
    next_line = 1
    for block, last in _blocks(path, block_bytes):
        frame = pl.read_lines(block, name="text")
        if next_line == 1 and encoding is Encoding.UTF8_BOM:
            frame = _strip_bom(frame)
        if _may_hold_lone_cr(block):
            frame = split_lone_cr(frame, last=last and tail_cr)
        if not frame.height:
            continue
        frame = _number(frame, next_line)
        next_line += frame.height
        yield from frame.iter_slices(chunk_lines)


def _is_utf8_error(exc: Exception) -> bool:
    message = str(exc).lower()
    return "utf8" in message or "utf-8" in message


def _decode_non_utf8(raw: bytes, encoding: Encoding) -> tuple[str, Encoding]:
    if encoding is Encoding.UTF8_BOM:
        # The BOM declares UTF-8: a stray invalid byte becomes U+FFFD rather than
        # turning the BOM and every other non-ASCII character to mojibake.
        return raw.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="replace"), encoding
    return _decode_fallback(raw)


def _strip_bom(frame: pl.DataFrame) -> pl.DataFrame:
    if not frame.height:
        return frame
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col("text").str.strip_prefix("\ufeff"))
        .otherwise(pl.col("text"))
    )


def split_lone_cr(frame: pl.DataFrame, *, last: bool = False) -> pl.DataFrame:
    """A lone CR (classic Mac OS line ending) ends a line, as it does in any text editor.

    polars' line reader splits on LF and removes the CR of a CRLF, so any CR left in a
    line is one not followed by LF. Checking for one is a single byte scan; only a frame
    that has one pays for the split. ``last``: the frame ends the input and the input's
    last byte is a CR, which ends the last line rather than starting an empty one.
    """
    text = pl.col("text")
    if not frame.height or not frame.select(text.str.contains("\r", literal=True).any()).item():
        return frame
    if last:
        is_last = pl.int_range(pl.len()) == pl.len() - 1
        frame = frame.with_columns(
            pl.when(is_last).then(text.str.strip_suffix("\r")).otherwise(text).alias("text")
        )
    return frame.select(text.str.split("\r")).explode("text")


def _number(frame: pl.DataFrame, first: int) -> pl.DataFrame:
    """Add the 1-based physical line numbers, starting at ``first``."""
    return frame.select("text").with_row_index("line", offset=first).cast({"line": pl.UInt32})
