"""The adversarial corpus (issue 8): bad and hostile inputs through the real CLI.

Every case runs ``python -m auditor.cli audit`` as a subprocess and pins the exact
outcome: either exit 0/1 with every line accounted for (lines == events +
continuation + meta + rejected) and the rejected lines expected, or exit 2 with one
line on stderr naming the file (and line). Never a traceback. Large inputs are
generated in ``tmp_path``, never committed.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CSV = ROOT / "samples" / "fabrikam-radio-on-while-halted.csv"
GUID = "{6C3E1B2A-5D4F-4A7B-9E21-0F8D3C2B1A90}"
WPP = (
    "[0]0004.0068::03/14/2024-09:12:00.412 [ctswifi]!MPInitializeEx[231]!"
    f"---> MPInitializeEx Adapter={GUID}\n"
)
CSV_HEADER, _, CSV_ROW = SAMPLE_CSV.read_text(encoding="utf-8").splitlines(keepends=True)[:3]
CSV_TICKS = "133685475410203110"
TIMEOUT = 120


def run(tmp_path: Path, *args: str | Path, command: str = "audit") -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "auditor.cli", command, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=TIMEOUT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "CI": "1"},
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr, proc.stderr
    return proc


def audit_json(tmp_path: Path, *args: str | Path, expect: int = 0) -> list[dict]:
    """Audit as JSON; every readable trace's lines must balance.

    ``--fail-on never``: whether the rule pack finds something in these small traces is
    not what the corpus pins, so results exit 0 and an unreadable input exits 2.
    """
    proc = run(tmp_path, *args, "-f", "json", "--fail-on", "never")
    assert proc.returncode == expect, proc.stderr
    traces = json.loads(proc.stdout)["traces"]
    for t in traces:
        if t["error"] is None:
            parts = t["events"] + t["continuation"] + t["meta"] + t["rejected"]
            assert t["lines"] == parts, t
    return traces


def counts(trace: dict) -> tuple[str | None, str | None, int, int, int, int, int]:
    keys = ("lines", "events", "continuation", "meta", "rejected")
    return (trace["format"], trace["encoding"], *(trace[k] for k in keys))  # type: ignore[return-value]


def assert_one_line_error(proc: subprocess.CompletedProcess, where: str, reason: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"error: {where}: {reason}"], proc.stderr


def rejects(tmp_path: Path, trace: Path) -> list[tuple[int, str]]:
    """The rejected (line, reason) pairs, from ``trace-audit parse``'s rejects file."""
    out = tmp_path / "events.parquet"
    proc = run(tmp_path, trace, "-o", out, command="parse")
    assert proc.returncode == 0, proc.stderr
    frame = pl.read_parquet(tmp_path / "events.rejects.parquet")
    return list(zip(frame["line"].to_list(), frame["reason"].to_list(), strict=True))


def events(tmp_path: Path, trace: Path) -> pl.DataFrame:
    out = tmp_path / "events.parquet"
    proc = run(tmp_path, trace, "-o", out, command="parse")
    assert proc.returncode == 0, proc.stderr
    return pl.read_parquet(out)


NOT_WPP = "not a WPP record: no [CPU]PID.TID::TIMESTAMP prefix before the first event"
UNRECOGNISED = (
    "unrecognised trace format (tried perfview-csv, tracerpt-csv, wpaexporter-csv, "
    "wpp-text, xperf-dumper)"
)


# --- empty, header only, garbage ---------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    proc = run(tmp_path, "empty.txt")
    assert_one_line_error(proc, "empty.txt", "empty input: no lines to audit")


def test_header_only_tracerpt_csv(tmp_path: Path) -> None:
    (tmp_path / "header.csv").write_text(CSV_HEADER, encoding="utf-8")
    (trace,) = audit_json(tmp_path, "header.csv")
    assert counts(trace) == ("tracerpt-csv", "utf-8", 1, 0, 0, 1, 0)


def test_binary_garbage(tmp_path: Path) -> None:
    (tmp_path / "garbage.bin").write_bytes(bytes(range(256)) * 64)
    proc = run(tmp_path, "garbage.bin")
    shown = repr("".join(map(chr, range(10))))
    assert_one_line_error(proc, "garbage.bin:1", f"{UNRECOGNISED}: {shown}")


def test_nul_bytes_only(tmp_path: Path) -> None:
    (tmp_path / "nul.txt").write_bytes(b"\0" * 4096)
    proc = run(tmp_path, "nul.txt")
    assert_one_line_error(proc, "nul.txt:1", f"{UNRECOGNISED}: {chr(0) * 120 + '…'!r}")


def test_nul_bytes_inside_records(tmp_path: Path) -> None:
    data = "\x00junk\x00\n" + WPP + WPP.replace("MPInit", "MP\x00Init") + "\x00\x00\x00\n" + WPP
    (tmp_path / "nul.txt").write_text(data, encoding="utf-8")
    (trace,) = audit_json(tmp_path, "nul.txt")
    # Before the first event: rejected; after it: a line without a prefix continues one.
    assert counts(trace) == ("wpp-text", "utf-8", 5, 3, 1, 0, 1)
    assert rejects(tmp_path, tmp_path / "nul.txt") == [(1, NOT_WPP)]
    assert "MP\x00Init" in events(tmp_path, tmp_path / "nul.txt")["message"][1]


def test_blank_lines_before_the_first_record(tmp_path: Path) -> None:
    (tmp_path / "blank.txt").write_text("\n" * 40 + " \t\r\n" * 20 + WPP + WPP, encoding="utf-8")
    (trace,) = audit_json(tmp_path, "blank.txt")
    # Detection skips blank lines; they are meta lines of the trace.
    assert counts(trace) == ("wpp-text", "utf-8", 62, 2, 0, 60, 0)
    assert rejects(tmp_path, tmp_path / "blank.txt") == []


def test_blank_lines_before_a_tracerpt_header(tmp_path: Path) -> None:
    (tmp_path / "blank.csv").write_text("\n" * 60 + CSV_HEADER + CSV_ROW, encoding="utf-8")
    (trace,) = audit_json(tmp_path, "blank.csv")
    assert counts(trace) == ("tracerpt-csv", "utf-8", 62, 1, 0, 61, 0)


def test_junk_lines_before_the_first_record(tmp_path: Path) -> None:
    junk = "".join(f"Received: from relay{i} by mx.example.com\n" for i in range(70))
    (tmp_path / "junk.txt").write_text(junk + "\n" + WPP + WPP, encoding="utf-8")
    (trace,) = audit_json(tmp_path, "junk.txt")
    assert counts(trace) == ("wpp-text", "utf-8", 73, 2, 0, 1, 70)
    assert rejects(tmp_path, tmp_path / "junk.txt") == [(n, NOT_WPP) for n in range(1, 71)]


def test_blank_lines_only(tmp_path: Path) -> None:
    (tmp_path / "blank.txt").write_text("\r\n" * 60, encoding="utf-8")
    proc = run(tmp_path, "blank.txt")
    assert_one_line_error(proc, "blank.txt", "empty input: 60 blank lines, nothing to audit")


# --- huge lines, encodings, truncation, line endings ---------------------------------


def test_100_mb_line_without_newline(tmp_path: Path) -> None:
    with (tmp_path / "long.txt").open("wb") as fh:
        fh.write(WPP.encode())
        fh.write(b"A" * (100 << 20))
    (trace,) = audit_json(tmp_path, "long.txt")
    assert counts(trace) == ("wpp-text", "utf-8", 2, 1, 1, 0, 0)


def test_100_mb_line_alone_is_an_error_naming_line_1(tmp_path: Path) -> None:
    (tmp_path / "long.txt").write_bytes(b"A" * (100 << 20))
    proc = run(tmp_path, "long.txt")
    assert_one_line_error(proc, "long.txt:1", f"{UNRECOGNISED}: {'A' * 120 + '…'!r}")


def test_invalid_utf8_in_utf8_file(tmp_path: Path) -> None:
    bad = WPP.encode() + WPP.replace("Adapter", "Ad\udcffapter").encode("utf-8", "surrogateescape")
    (tmp_path / "bad.txt").write_bytes(bad)
    (trace,) = audit_json(tmp_path, "bad.txt")
    # Not UTF-8 after all: read as the ANSI code page, nothing dropped.
    assert counts(trace) == ("wpp-text", "cp1252", 2, 2, 0, 0, 0)
    assert "Ad\xffapter" in events(tmp_path, tmp_path / "bad.txt")["message"][1]


def test_invalid_utf8_after_a_bom_becomes_replacement_character(tmp_path: Path) -> None:
    bad = b"\xef\xbb\xbf" + WPP.encode() + WPP.replace("Adapter", "Ad\xffapter").encode("latin-1")
    (tmp_path / "bad.txt").write_bytes(bad)
    (trace,) = audit_json(tmp_path, "bad.txt")
    assert counts(trace) == ("wpp-text", "utf-8-sig", 2, 2, 0, 0, 0)
    assert "Ad\ufffdapter" in events(tmp_path, tmp_path / "bad.txt")["message"][1]


@pytest.mark.parametrize("surrogate", [b"\x00\xd8", b"\x00\xdc"], ids=["high", "low"])
def test_lone_utf16_surrogates(tmp_path: Path, surrogate: bytes) -> None:
    text = ("\ufeff" + WPP + WPP).encode("utf-16-le")
    cut = len(("\ufeff" + WPP[:80]).encode("utf-16-le"))
    (tmp_path / "u16.txt").write_bytes(text[:cut] + surrogate + text[cut:])
    (trace,) = audit_json(tmp_path, "u16.txt")
    assert counts(trace) == ("wpp-text", "utf-16-le", 2, 2, 0, 0, 0)
    assert "\ufffd" in events(tmp_path, tmp_path / "u16.txt")["message"][0]


def test_truncated_mid_line(tmp_path: Path) -> None:
    (tmp_path / "cut.txt").write_text(WPP + WPP[:60], encoding="utf-8")
    (trace,) = audit_json(tmp_path, "cut.txt")
    assert counts(trace) == ("wpp-text", "utf-8", 2, 2, 0, 0, 0)


def test_truncated_mid_utf16_character(tmp_path: Path) -> None:
    (tmp_path / "cut16.txt").write_bytes(("\ufeff" + WPP + WPP).encode("utf-16-le")[:-1])
    (trace,) = audit_json(tmp_path, "cut16.txt")
    assert counts(trace) == ("wpp-text", "utf-16-le", 2, 2, 0, 0, 0)


def test_mixed_line_endings(tmp_path: Path) -> None:
    line = WPP.rstrip("\n")
    (tmp_path / "eol.txt").write_bytes(f"{line}\r\n{line}\r{line}\n{line}\n".encode())
    (trace,) = audit_json(tmp_path, "eol.txt")
    # CRLF, LF and a lone CR (old Mac) each end a line.
    assert counts(trace) == ("wpp-text", "utf-8", 4, 4, 0, 0, 0)


def test_cr_before_crlf_and_cr_at_the_end(tmp_path: Path) -> None:
    line = WPP.rstrip("\n")
    (tmp_path / "eol.txt").write_bytes(f"{line}\r\r\n{line}\r".encode())
    (trace,) = audit_json(tmp_path, "eol.txt")
    # CR then CRLF: a line, then an empty (meta) one; a CR at the very end adds no line.
    assert counts(trace) == ("wpp-text", "utf-8", 3, 2, 0, 1, 0)


def test_csv_with_unbalanced_quotes(tmp_path: Path) -> None:
    row = CSV_ROW.rstrip("\n")
    opened = row.replace('"---> MPInitializeEx"', '"---> MPInit, never closed')
    spans = row.replace('"---> MPInitializeEx"', '"---> MPInit\nsecond half"')
    provider = row.replace("Fabrikam-Wifi-Miniport", '"Fabrikam-Wifi-Miniport')
    data = CSV_HEADER + opened + "\n" + spans + "\n" + provider + "\n"
    (tmp_path / "quotes.csv").write_text(data, encoding="utf-8")
    (trace,) = audit_json(tmp_path, "quotes.csv")
    assert counts(trace) == ("tracerpt-csv", "utf-8", 5, 3, 0, 1, 1)
    reason = (
        "not a tracerpt CSV row: expected at least the 19 columns before User Data "
        "of the header on line 1"
    )
    assert rejects(tmp_path, tmp_path / "quotes.csv") == [(4, reason)]


# --- archives and compression ----------------------------------------------------------


def test_zip_bomb_member(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.txt", b"\0" * (50 << 20))
    proc = run(tmp_path, "bomb.zip", "-f", "json")
    size = zipfile.ZipFile(tmp_path / "bomb.zip").getinfo("big.txt").compress_size
    assert_one_line_error(
        proc,
        "bomb.zip/big.txt",
        f"refused: compression ratio above 1000:1 (a zip bomb?) ({size:,} -> 52,428,800 bytes)",
    )


def test_zip_members_with_dotdot_names(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "x.zip", "w") as z:
        z.writestr("../evil.txt", WPP)
        z.writestr("a/../../evil2.txt", WPP)
        z.writestr("ok.txt", WPP)
    proc = run(tmp_path, "x.zip", "-f", "json")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: x.zip/../evil.txt: refused: unsafe member name ('..' in path)",
        "error: x.zip/a/../../evil2.txt: refused: unsafe member name ('..' in path)",
    ]
    traces = {t["path"]: t for t in json.loads(proc.stdout)["traces"]}
    assert counts(traces["x.zip/ok.txt"]) == ("wpp-text", "utf-8", 1, 1, 0, 0, 0)
    assert not (tmp_path.parent / "evil.txt").exists()
    assert not (tmp_path.parent / "evil2.txt").exists()


def test_gzip_bomb(tmp_path: Path) -> None:
    (tmp_path / "bomb.txt.gz").write_bytes(gzip.compress(b"\0" * (60 << 20), 9))
    size = (tmp_path / "bomb.txt.gz").stat().st_size
    proc = run(tmp_path, "bomb.txt.gz")
    assert_one_line_error(
        proc,
        "bomb.txt.gz",
        f"gzip data expands beyond {size * 1000:,} bytes (at most 1000x the file, "
        "8,589,934,592 bytes in all)",
    )


def test_zip_members_with_drive_letter_and_symbolic_link(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "x.zip", "w") as z:
        z.writestr("C:/evil.txt", WPP)
        link = zipfile.ZipInfo("link.txt")
        link.create_system = 3  # Unix
        link.external_attr = 0o120777 << 16  # S_IFLNK
        z.writestr(link, "/etc/passwd")
        z.writestr("ok.txt", WPP)
    proc = run(tmp_path, "x.zip", "-f", "json", "--fail-on", "never")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: x.zip/C:/evil.txt: refused: unsafe member name (absolute path)",
        "error: x.zip/link.txt: refused: symbolic link",
    ]
    traces = {t["path"]: t for t in json.loads(proc.stdout)["traces"]}
    assert counts(traces["x.zip/ok.txt"]) == ("wpp-text", "utf-8", 1, 1, 0, 0, 0)


def test_zip_member_with_an_absolute_posix_name(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "abs.zip", "w") as z:
        z.writestr("/etc/evil.txt", WPP)
        z.writestr("ok.txt", WPP)
    proc = run(tmp_path, "abs.zip", "-f", "json", "--fail-on", "never")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: abs.zip/etc/evil.txt: refused: unsafe member name (absolute path)"
    ]
    traces = {t["path"]: t for t in json.loads(proc.stdout)["traces"]}
    assert counts(traces["abs.zip/ok.txt"]) == ("wpp-text", "utf-8", 1, 1, 0, 0, 0)


def test_gzip_stream_cut_short(tmp_path: Path) -> None:
    (tmp_path / "cut.txt.gz").write_bytes(gzip.compress((WPP * 1000).encode())[:300])
    proc = run(tmp_path, "cut.txt.gz")
    assert_one_line_error(
        proc,
        "cut.txt.gz",
        "corrupt or truncated gzip data: Compressed file ended before the end-of-stream "
        "marker was reached",
    )


# --- timestamps --------------------------------------------------------------------------


def test_wpp_dates_out_of_range_and_before_1601(tmp_path: Path) -> None:
    data = WPP + WPP.replace("2024", "1500") + WPP.replace("03/14", "13/45")
    data += WPP.replace("2024", "9999")
    (tmp_path / "dates.txt").write_text(data, encoding="utf-8")
    (trace,) = audit_json(tmp_path, "dates.txt")
    # The events are kept (their messages may matter), with no time.
    assert counts(trace) == ("wpp-text", "utf-8", 4, 4, 0, 0, 0)
    ts = events(tmp_path, tmp_path / "dates.txt")["ts"]
    assert ts.null_count() == 3 and ts[0] is not None


@pytest.mark.parametrize(
    "ticks", ["0", "-5", "-133685475410203110", "12345678901234567890", "99999999999999999999"]
)
def test_filetime_out_of_range(tmp_path: Path, ticks: str) -> None:
    data = CSV_HEADER + CSV_ROW + CSV_ROW.replace(CSV_TICKS, ticks)
    (tmp_path / "ft.csv").write_text(data, encoding="utf-8")
    (trace,) = audit_json(tmp_path, "ft.csv")
    assert counts(trace) == ("tracerpt-csv", "utf-8", 3, 2, 0, 1, 0)
    ts = events(tmp_path, tmp_path / "ft.csv")["ts"]
    assert ts[0] is not None and ts[1] is None


# --- scale ---------------------------------------------------------------------------------


def test_200k_distinct_adapters(tmp_path: Path) -> None:
    with (tmp_path / "many.txt").open("w", encoding="utf-8") as fh:
        fh.writelines(
            WPP.replace(GUID, f"{{{i:08X}-5D4F-4A7B-9E21-0F8D3C2B1A90}}") for i in range(200_000)
        )
    (trace,) = audit_json(tmp_path, "many.txt")
    assert counts(trace) == ("wpp-text", "utf-8", 200_000, 200_000, 0, 0, 0)
    assert len(trace["adapters"]) == 200_000


# --- hostile maps and rule files ---------------------------------------------------------------


def test_map_with_pathological_regex(tmp_path: Path) -> None:
    (tmp_path / "evil.map.toml").write_text(
        '[map]\nname = "evil"\n\n[[event]]\nkind = "init.begin"\n'
        "provider = '^ctswifi$'\nmessage = '(a+)+$'\n",
        encoding="utf-8",
    )
    body = WPP + WPP.replace(f"---> MPInitializeEx Adapter={GUID}", "a" * 200_000 + "b")
    (tmp_path / "aaa.txt").write_text(body, encoding="utf-8")
    # polars' regex engine is linear-time: no catastrophic backtracking.
    (trace,) = audit_json(tmp_path, "aaa.txt", "--map", "evil.map.toml")
    assert counts(trace) == ("wpp-text", "utf-8", 2, 2, 0, 0, 0)


RULE = (
    '[[rule]]\nid = "deep"\nseverity = "error"\ntitle = "t"\nsource = "s"\nmessage = "m"\n'
    'on = "halt.end"\n'
)


def test_rule_file_with_10000_deep_formula(tmp_path: Path) -> None:
    (tmp_path / "deep.rules.toml").write_text(
        RULE + 'when = "' + "!" * 10_000 + 'radio"\n', encoding="utf-8"
    )
    (tmp_path / "t.txt").write_text(WPP, encoding="utf-8")
    proc = run(tmp_path, "t.txt", "--rules", "deep.rules.toml")
    assert_one_line_error(
        proc, "deep.rules.toml:8", "deep: in 'when': formula nested more than 64 levels deep"
    )


def test_rule_file_with_10000_deep_redundant_parentheses(tmp_path: Path) -> None:
    (tmp_path / "deep.rules.toml").write_text(
        RULE + 'when = "' + "(" * 10_000 + "radio" + ")" * 10_000 + '"\n', encoding="utf-8"
    )
    (tmp_path / "t.txt").write_text(WPP, encoding="utf-8")
    (trace,) = audit_json(tmp_path, "t.txt", "--rules", "deep.rules.toml")
    assert counts(trace) == ("wpp-text", "utf-8", 1, 1, 0, 0, 0)


@pytest.mark.parametrize("nesting", ["{a = ", "["], ids=["tables", "arrays"])
def test_rule_file_with_10000_deep_toml(tmp_path: Path, nesting: str) -> None:
    close = "}" if nesting.startswith("{") else "]"
    (tmp_path / "deep.rules.toml").write_text(
        RULE + "when = " + nesting * 10_000 + "1" + close * 10_000 + "\n", encoding="utf-8"
    )
    (tmp_path / "t.txt").write_text(WPP, encoding="utf-8")
    proc = run(tmp_path, "t.txt", "--rules", "deep.rules.toml")
    assert_one_line_error(
        proc, "deep.rules.toml", "invalid TOML: tables or arrays nested too deeply"
    )


def test_map_file_with_10000_deep_toml(tmp_path: Path) -> None:
    (tmp_path / "deep.map.toml").write_text(
        '[map]\nname = "deep"\nx = ' + "[" * 10_000 + "]" * 10_000 + "\n", encoding="utf-8"
    )
    (tmp_path / "t.txt").write_text(WPP, encoding="utf-8")
    proc = run(tmp_path, "t.txt", "--map", "deep.map.toml")
    assert_one_line_error(proc, "deep.map.toml", "invalid TOML: tables or arrays nested too deeply")


def test_rule_file_with_define_cycle(tmp_path: Path) -> None:
    (tmp_path / "cyc.rules.toml").write_text(
        '[define]\na = "b | radio"\nb = "c"\nc = "a"\n\n'
        + RULE.replace("deep", "cyc")
        + 'when = "a"\n',
        encoding="utf-8",
    )
    (tmp_path / "t.txt").write_text(WPP, encoding="utf-8")
    proc = run(tmp_path, "t.txt", "--rules", "cyc.rules.toml")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: cyc.rules.toml:2: define 'a': define cycle: a -> b -> c -> a",
        "error: cyc.rules.toml:3: define 'b': define cycle: b -> c -> a -> b",
        "error: cyc.rules.toml:4: define 'c': define cycle: c -> a -> b -> c",
        "error: cyc.rules.toml:13: cyc: in 'when': define cycle: a -> b -> c -> a",
    ]


# --- HTML / JS in messages -----------------------------------------------------------------------


def test_script_in_messages_stays_inert(tmp_path: Path) -> None:
    payload = "</script><script>alert(1)</script><!--"
    provider = "c</script><img src=x onerror=alert(2)>"
    body = (
        WPP
        + WPP.replace(f"---> MPInitializeEx Adapter={GUID}", payload)
        + WPP.replace(f"Adapter={GUID}", f"Adapter={payload}").replace("ctswifi", provider)
    )
    (tmp_path / "xss.txt").write_text("<script>alert(0)</script>\n" + body, encoding="utf-8")
    (trace,) = audit_json(tmp_path, "xss.txt", "--html", "r.html")
    assert counts(trace) == ("wpp-text", "utf-8", 4, 3, 0, 0, 1)
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    for raw in ("<script>alert", "</script><script>", "<img src=x", "onerror=alert(2)>"):
        assert raw not in html
    # Every <script> the report opens is its own, and each is closed once.
    assert html.count("<script") == html.count("</script>")


# --- maps and rules with text that once confused the tool -----------------------------------


def test_map_literal_with_angle_brackets_still_classifies(tmp_path: Path) -> None:
    # `\<` and `\>` are word boundaries in the Rust regex engine: the literal pre-filter
    # must not escape them, or every line holding `<<<` or `--->` would be dropped.
    (tmp_path / "arrows.map.toml").write_text(
        '[map]\nname = "arrows"\n\n[[event]]\nkind = "halt.begin"\n'
        "message = '<<< FwHalt ---> Adapter=(?P<adapter>\\w+)'\n",
        encoding="utf-8",
    )
    body = WPP + WPP.replace(f"---> MPInitializeEx Adapter={GUID}", "<<< FwHalt ---> Adapter=w7")
    (tmp_path / "arrows.txt").write_text(body, encoding="utf-8")
    (trace,) = audit_json(tmp_path, "arrows.txt", "--map", "arrows.map.toml")
    assert counts(trace) == ("wpp-text", "utf-8", 2, 2, 0, 0, 0)
    assert trace["lifecycle_events"] == 2
    assert "w7" in trace["adapters"]


def test_rule_error_line_counts_only_newlines(tmp_path: Path) -> None:
    # U+2028 and U+0085 are line breaks to str.splitlines, not to TOML: a title holding
    # them must not shift the line an error is reported at.
    (tmp_path / "sep.rules.toml").write_text(
        '[[rule]]\nid = "sep"\nseverity = "error"\ntitle = "a\u2028b\x85c"\n'
        'on = "halt.end"\nwhen = "halt.being"\n',
        encoding="utf-8",
    )
    (tmp_path / "t.txt").write_text(WPP, encoding="utf-8")
    proc = run(tmp_path, "t.txt", "--rules", "sep.rules.toml")
    assert_one_line_error(
        proc,
        "sep.rules.toml:6:9",
        "sep: in 'when': unknown kind or define 'halt.being' (did you mean 'halt.begin'?)",
    )
