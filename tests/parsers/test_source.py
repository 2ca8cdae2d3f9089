"""parsers.source: encodings, line endings and exact 1-based line numbers."""

from __future__ import annotations

import codecs

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers import source
from parsers.errors import TraceReadError
from parsers.source import SNIFF_BYTES, Encoding, read_lines, sniff_encoding, stream_lines

from .helpers import HOSTILE_SETTINGS


def rows(source) -> list[tuple[int, str]]:
    return source.lines.rows()


def test_utf8_lines_are_numbered_from_one(write):
    src = read_lines(write("a.txt", "first\nsecond é\nthird\n"))
    assert src.encoding is Encoding.UTF8
    assert rows(src) == [(1, "first"), (2, "second é"), (3, "third")]
    assert dict(src.lines.schema) == {"line": pl.UInt32, "text": pl.String}
    assert src.count == 3
    assert src.head(2) == ["first", "second é"]


def test_utf8_bom_is_removed_from_the_first_line_only(write):
    data = codecs.BOM_UTF8 + "Index, Event Name\n\ufeffkept\ncafé\n".encode()
    src = read_lines(write("bom.csv", data))
    assert src.encoding is Encoding.UTF8_BOM
    assert rows(src) == [(1, "Index, Event Name"), (2, "\ufeffkept"), (3, "café")]


def test_utf16_le_with_bom(write):
    data = codecs.BOM_UTF16_LE + "Event Name, Clock-Time\r\nnaïve, 1\r\n".encode("utf-16-le")
    src = read_lines(write("u16.csv", data))
    assert src.encoding is Encoding.UTF16LE
    assert rows(src) == [(1, "Event Name, Clock-Time"), (2, "naïve, 1")]


def test_utf16_be_with_bom(write):
    data = codecs.BOM_UTF16_BE + "one\nzwei ß\n\nfour".encode("utf-16-be")
    src = read_lines(write("u16be.txt", data))
    assert src.encoding is Encoding.UTF16BE
    assert rows(src) == [(1, "one"), (2, "zwei ß"), (3, ""), (4, "four")]


def test_utf16_le_without_bom_is_recognised_by_its_nul_bytes(write):
    text = "[0]0C40.0C3C::09/20/2004-14:41:31.625 [tracedrv]Hello\n" * 3
    src = read_lines(write("nobom.txt", text.encode("utf-16-le")))
    assert src.encoding is Encoding.UTF16LE
    assert src.head(1) == ["[0]0C40.0C3C::09/20/2004-14:41:31.625 [tracedrv]Hello"]
    assert src.count == 3


def test_utf16_odd_trailing_byte_becomes_replacement_character(write):
    data = codecs.BOM_UTF16_LE + "ok\n".encode("utf-16-le") + b"x"
    src = read_lines(write("odd.txt", data))
    assert rows(src) == [(1, "ok"), (2, "\ufffd")]


def test_cp1252_bytes_are_decoded_and_undefined_bytes_kept(write):
    # 0xE9 = é, 0x80 = € in cp1252; 0x81 is undefined there and maps to U+0081.
    src = read_lines(write("ansi.txt", b"caf\xe9 \x80 \x81 end\r\nsecond\r\n"))
    assert src.encoding is Encoding.CP1252
    assert rows(src) == [(1, "café € \x81 end"), (2, "second")]


def test_cp1252_detected_even_when_the_bad_byte_is_beyond_the_sniffed_head(write):
    data = b"x\n" * (SNIFF_BYTES // 2 + 10) + b"\xe9t\xe9\n"
    src = read_lines(write("late.txt", data))
    assert src.encoding is Encoding.CP1252
    assert src.count == SNIFF_BYTES // 2 + 11
    assert rows(src)[-1] == (src.count, "été")


def test_utf8_bom_with_a_stray_invalid_byte_stays_utf8(write):
    # Was: decoded as cp1252, so line 1 began with "ï»¿" and "é" became "Ã©".
    data = codecs.BOM_UTF8 + "Event Name é\n".encode() + b"bad \x81 byte\n"
    src = read_lines(write("mixed.csv", data))
    assert src.encoding is Encoding.UTF8_BOM
    assert rows(src) == [(1, "Event Name é"), (2, "bad \ufffd byte")]


def test_crlf_line_endings_leave_no_carriage_return(write):
    src = read_lines(write("crlf.txt", b"a\r\nb\r\n\r\nc\r\n"))
    assert rows(src) == [(1, "a"), (2, "b"), (3, ""), (4, "c")]


def test_lone_carriage_return_ends_a_line(write):
    # Was: polars splits on LF only, so two records joined by a lone CR were one line.
    src = read_lines(write("cr.txt", b"a\rb\nc\n"))
    assert rows(src) == [(1, "a"), (2, "b"), (3, "c")]


def test_old_mac_file_with_only_carriage_returns(write):
    wpp = "[0]0C40.0C3C::09/20/2004-14:41:31.625 [tracedrv]"
    data = f"{wpp}one\r{wpp}two\r{wpp}three\r".encode()
    src = read_lines(write("mac.txt", data))
    assert rows(src) == [(1, wpp + "one"), (2, wpp + "two"), (3, wpp + "three")]


@pytest.mark.parametrize(
    "data",
    [
        b"a\rb\r\nc\r\rd\n\re\n",  # every ending mixed, CR CR is an empty line
        b"a\r\r\n",  # CR then CRLF: two endings
        b"a\rb\r",  # a last CR ends the last line, no empty line after it
        b"a\rb",
        b"\r",
        b"x\r\ny\r\n",
        b"\xef\xbb\xbfa\rb\r\n",
        "caf\u00e9\r\u20ac\n".encode("utf-16-le"),
        codecs.BOM_UTF16_BE + "a\rb\r\nc\r".encode("utf-16-be"),
        b"caf\xe9\rb\r",  # cp1252
    ],
)
def test_line_endings_as_python_splits_them(write, data):
    if data.startswith(codecs.BOM_UTF16_BE):
        text = data.decode("utf-16")
    elif b"\x00" in data:
        text = data.decode("utf-16-le")
    else:
        try:
            text = data.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            text = data.decode("cp1252")
    src = read_lines(write("e.txt", data))
    assert rows(src) == list(enumerate(text.splitlines(), start=1))


def test_crlf_file_keeps_one_line_per_crlf(write):
    data = b"".join(f"line {i}\r\n".encode() for i in range(1, 1001))
    src = read_lines(write("crlf.txt", data))
    assert rows(src) == [(i, f"line {i}") for i in range(1, 1001)]


def test_line_numbers_after_a_lone_cr_follow_the_file(write):
    src = read_lines(write("cr.txt", b"one\ntwo\rthree\nfour\r\nfive\n"))
    assert rows(src) == [(1, "one"), (2, "two"), (3, "three"), (4, "four"), (5, "five")]


def test_blank_lines_keep_line_numbers_exact(write):
    src = read_lines(write("blank.txt", "a\n\n\n   \nb\n\nc"))
    assert rows(src) == [(1, "a"), (2, ""), (3, ""), (4, "   "), (5, "b"), (6, ""), (7, "c")]


def test_empty_file_has_no_lines(write):
    src = read_lines(write("empty.txt", b""))
    assert src.count == 0
    assert src.head() == []
    assert src.lines.get_column("line").dtype == pl.UInt32


def test_last_line_without_newline_is_kept_and_trailing_newline_adds_none(write):
    assert rows(read_lines(write("a.txt", "x\ny"))) == [(1, "x"), (2, "y")]
    assert rows(read_lines(write("b.txt", "x\ny\n"))) == [(1, "x"), (2, "y")]
    assert rows(read_lines(write("c.txt", "x\ny\n\n"))) == [(1, "x"), (2, "y"), (3, "")]


def test_label_replaces_the_path_as_trace_name(write):
    path = write("a.txt", "x\n")
    assert read_lines(path).path == str(path)
    assert read_lines(path, label="run-7").path == "run-7"


def test_missing_file_raises_trace_read_error_naming_it(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(TraceReadError) as info:
        read_lines(missing)
    assert info.value.path == str(missing)
    assert info.value.line is None
    assert str(missing) in str(info.value)
    assert "cannot open" in info.value.reason


def test_directory_raises_trace_read_error(tmp_path):
    with pytest.raises(TraceReadError):
        read_lines(tmp_path)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (codecs.BOM_UTF8 + b"abc", Encoding.UTF8_BOM),
        (codecs.BOM_UTF16_LE + "abc".encode("utf-16-le"), Encoding.UTF16LE),
        (codecs.BOM_UTF16_BE + "abc".encode("utf-16-be"), Encoding.UTF16BE),
        ("hello world\n".encode("utf-16-le"), Encoding.UTF16LE),
        ("hello world\n".encode("utf-16-be"), Encoding.UTF16BE),
        (b"plain ascii text\n", Encoding.UTF8),
        (b"caf\xe9", Encoding.UTF8),  # not decided here: read_lines falls back on error
        (b"", Encoding.UTF8),
    ],
)
def test_sniff_encoding(head, expected):
    assert sniff_encoding(head) is expected


@HOSTILE_SETTINGS
@given(
    parts=st.lists(
        st.sampled_from(["a", "bé", "\n", "\r", "\r\n", "", " ", "\ufeff", "x" * 9]), max_size=40
    ),
    bom=st.booleans(),
    block=st.integers(1, 12),
    chunk_lines=st.integers(1, 6),
)
def test_streamed_blocks_give_the_lines_of_the_whole_file(
    workdir, monkeypatch, parts, bom, block, chunk_lines
):
    # Blocks of a few bytes put block boundaries inside lines, CRLF pairs and characters.
    monkeypatch.setattr(source, "STREAM_BLOCK_BYTES", block)
    path = workdir / "blocks.txt"
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + "".join(parts).encode())
    chunks = list(stream_lines(path, chunk_lines=chunk_lines))
    assert all(0 < c.height <= chunk_lines for c in chunks)
    streamed = (
        pl.concat(chunks) if chunks else pl.DataFrame(schema={"line": pl.UInt32, "text": pl.String})
    )
    assert streamed.equals(read_lines(path).lines)


def test_a_line_longer_than_a_block_is_one_line(write, monkeypatch):
    monkeypatch.setattr(source, "STREAM_BLOCK_BYTES", 4)
    path = write("long.txt", "short\n" + "y" * 50 + "\nend")
    lines = pl.concat(list(stream_lines(path, chunk_lines=2)))
    assert lines.rows() == [(1, "short"), (2, "y" * 50), (3, "end")]
