"""Zip archives given to audit/parse: each member a trace named archive.zip/member."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from auditor.inputs import expand_inputs
from parsers import TraceReadError, read_trace

TRACE = (
    "[0]0004.0010::06/06/2025-12:00:00.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1\n"
    "[0]0004.0010::06/06/2025-12:00:01.000 [wlan]---> MPHaltEx Adapter=A1\n"
    "[0]0004.0010::06/06/2025-12:00:01.500 [wlan]<--- MPHaltEx Adapter=A1\n"
)


def make_zip(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_members_are_traces_named_after_the_archive(tmp_path):
    archive = make_zip(
        tmp_path / "run.zip",
        {"night/a.txt": TRACE, "b.csv.txt": TRACE, "notes.md": "# not a trace", "../up.txt": TRACE},
    )
    names = expand_inputs(archive)
    assert names == [f"{archive}/night/a.txt", f"{archive}/b.csv.txt", f"{archive}/../up.txt"]
    parsed = read_trace(names[0])
    assert parsed.path == names[0] and parsed.accounting.events == 3


def test_audit_reads_members_and_reports_refused_ones(tmp_path):
    archive = make_zip(tmp_path / "run.zip", {"night/a.txt": TRACE, "../up.txt": TRACE})
    proc = subprocess.run(
        [sys.executable, "-m", "auditor.cli", "audit", str(archive), "-f", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2  # one member could not be read
    doc = json.loads(proc.stdout)
    errors = {t["path"]: t["error"] for t in doc["traces"]}
    assert errors[f"{archive}/night/a.txt"] is None
    assert "unsafe member name" in errors[f"{archive}/../up.txt"]["message"]
    assert [(f["trace"], f["line"]) for f in doc["findings"]] == [(f"{archive}/night/a.txt", 3)]


def test_a_zip_bomb_member_is_refused(tmp_path):
    archive = make_zip(tmp_path / "bomb.zip", {"big.txt": b"A" * (64 * 2**20)})
    (name,) = expand_inputs(archive)
    proc = subprocess.run(
        [sys.executable, "-m", "auditor.cli", "parse", name, "-o", str(tmp_path / "e.parquet")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "compression ratio above" in proc.stderr


def test_an_absolute_member_name_is_refused_not_missing(tmp_path):
    # `abs.zip//etc/evil.txt` reads as `abs.zip/etc/evil.txt` once it went through pathlib
    archive = make_zip(
        tmp_path / "abs.zip", {"/etc/evil.txt": TRACE, "\\win\\evil.txt": TRACE, "ok.txt": TRACE}
    )
    names = expand_inputs(archive)
    assert names == [
        f"{archive}//etc/evil.txt",
        f"{archive}/\\win\\evil.txt",
        f"{archive}/ok.txt",
    ]
    for name in (*names[:2], f"{archive}/etc/evil.txt", str(Path(names[0]))):
        with pytest.raises(TraceReadError) as info:
            read_trace(name)
        assert info.value.reason == "refused: unsafe member name (absolute path)", name
    assert read_trace(names[2]).accounting.events == 3
    with pytest.raises(TraceReadError) as info:
        read_trace(f"{archive}/etc/other.txt")
    assert info.value.reason == f"no member 'etc/other.txt' in {archive}"


def test_absolute_member_through_the_cli(tmp_path):
    make_zip(tmp_path / "abs.zip", {"/etc/evil.txt": TRACE})
    proc = subprocess.run(
        [sys.executable, "-m", "auditor.cli", "audit", "abs.zip"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: abs.zip/etc/evil.txt: refused: unsafe member name (absolute path)"
    ]


def test_a_member_name_with_a_double_slash_is_read(tmp_path):
    archive = make_zip(tmp_path / "d.zip", {"night//a.txt": TRACE})
    (name,) = expand_inputs(archive)
    assert read_trace(Path(name)).accounting.events == 3
