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
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

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


def read_lines(path: str | Path, label: str | None = None) -> SourceLines:
    """Read ``path`` into numbered lines; raise :class:`TraceReadError` if it cannot be read.

    ``-`` reads standard input; gzip-compressed files are decompressed (bounded). Plain
    UTF-8 files go to polars' line reader by path, never through Python strings.
    """
    name = label or str(path)
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

    def data() -> bytes:
        return source if isinstance(source, bytes) else source.read_bytes()

    encoding = sniff_encoding(head)
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
                if "utf8" not in str(exc).lower() and "utf-8" not in str(exc).lower():
                    raise
                raw = data()
                if encoding is Encoding.UTF8_BOM:
                    # The BOM declares UTF-8: a stray invalid byte becomes U+FFFD rather
                    # than turning the BOM and every other non-ASCII character to mojibake.
                    text = raw.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="replace")
                else:
                    text, encoding = _decode_fallback(raw)
                frame = _lines_from_text(text)
    except OSError as exc:
        raise TraceReadError(name, None, f"cannot read: {exc.strerror or exc}") from exc

    if encoding is Encoding.UTF8_BOM and frame.height:
        frame = frame.with_columns(
            pl.when(pl.int_range(pl.len()) == 0)
            .then(pl.col("text").str.strip_prefix("\ufeff"))
            .otherwise(pl.col("text"))
        )
    # polars' line reader already treats CRLF as one line ending; a lone CR stays text.
    frame = frame.with_row_index("line", offset=1).with_columns(pl.col("line").cast(pl.UInt32))
    return SourceLines(path=name, encoding=encoding, lines=frame)
