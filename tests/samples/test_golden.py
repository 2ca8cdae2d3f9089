"""Golden table: every sample trace in ``samples/`` and the findings it must produce.

Beside each sample ``samples/<name>`` lies ``samples/<name>.expected.toml``, worked out
by hand from the pinned rule semantics (design.md, "Rules")::

    maps = ["vendor.map.toml"]   # optional user maps, relative to samples/
    [[finding]]                  # every finding, no more, no less
    rule = "halt-radio-left-on"
    adapter = "A1"               # omitted or "" when the trace names no adapter
    line = 42                    # 1-based source line of the anchor event
    [[not_evaluable]]            # every (rule, adapter) reported as not evaluable
    rule = "halt-radio-left-on"
    adapter = "A1"

Each sample must also read cleanly: no rejected line, and every physical line
accounted for as an event, a continuation, or a meta line.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

import pytest

from auditor.pipeline import Auditor, AuditResult

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
EXPECTED = sorted(SAMPLES.glob("*.expected.toml"))
PINNED = {"halt-without-disconnect", "halt-radio-left-on", "radio-on-before-initialize"}

_TOP_KEYS = {"maps", "finding", "not_evaluable"}
_FINDING_KEYS = {"rule", "adapter", "line"}
_NOT_EVALUABLE_KEYS = {"rule", "adapter"}


def _trace_of(expected: Path) -> Path:
    return expected.with_name(expected.name.removesuffix(".expected.toml"))


def _adapter(value: str | None) -> str | None:
    return value or None


def _load_spec(expected: Path) -> dict:
    spec = tomllib.loads(expected.read_text(encoding="utf-8"))
    assert set(spec) <= _TOP_KEYS, f"{expected.name}: unknown keys {set(spec) - _TOP_KEYS}"
    for entry in spec.get("finding", []):
        assert set(entry) <= _FINDING_KEYS and {"rule", "line"} <= set(entry), (
            f"{expected.name}: bad [[finding]] {entry}"
        )
    for entry in spec.get("not_evaluable", []):
        assert set(entry) <= _NOT_EVALUABLE_KEYS and "rule" in set(entry), (
            f"{expected.name}: bad [[not_evaluable]] {entry}"
        )
    return spec


@cache
def _auditor(maps: tuple[str, ...]) -> Auditor:
    return Auditor.load(map_paths=[SAMPLES / m for m in maps])


@cache
def _audit(expected: Path) -> tuple[dict, AuditResult]:
    spec = _load_spec(expected)
    result = _auditor(tuple(spec.get("maps", []))).audit([_trace_of(expected)])
    return spec, result


def _ids(path: Path) -> str:
    return _trace_of(path).name


def _physical_lines(path: Path) -> int:
    """Lines as a person counts them, whatever the encoding (tracerpt may write UTF-16)."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        text = data.decode("utf-8-sig")
    return len(text.splitlines())


def test_samples_exist() -> None:
    assert len(EXPECTED) >= 6


def test_every_sample_has_expectations() -> None:
    """A trace without an .expected.toml would silently escape the golden table."""
    helpers = {".toml"}  # expectations and user maps
    traces = [p for p in SAMPLES.iterdir() if p.is_file() and p.suffix not in helpers]
    missing = [p.name for p in traces if not p.with_name(p.name + ".expected.toml").exists()]
    assert not missing, f"samples without an .expected.toml: {missing}"
    orphans = [p.name for p in EXPECTED if not _trace_of(p).exists()]
    assert not orphans, f".expected.toml files without their trace: {orphans}"


@pytest.mark.parametrize("expected", EXPECTED, ids=_ids)
def test_sample_reads_cleanly(expected: Path) -> None:
    _, result = _audit(expected)
    (summary,) = result.traces
    assert summary.error is None, f"{summary.path}:{summary.error_line}: {summary.error}"
    assert summary.rejected == 0, result.rejects.to_dicts()
    assert summary.lines == (
        summary.events + summary.continuation + summary.meta + summary.rejected
    ), summary
    assert summary.lines == _physical_lines(_trace_of(expected))
    assert summary.unattributed == 0


@pytest.mark.parametrize("expected", EXPECTED, ids=_ids)
def test_sample_findings(expected: Path) -> None:
    spec, result = _audit(expected)
    want = {(f["rule"], _adapter(f.get("adapter")), f["line"]) for f in spec.get("finding", [])}
    got = {
        (row["rule"], _adapter(row["adapter"]), row["line"])
        for row in result.findings.iter_rows(named=True)
    }
    assert len(got) == result.findings.height, "a finding is reported twice"
    assert got == want, (
        f"\nmissing:    {sorted(want - got, key=str)}\nunexpected: {sorted(got - want, key=str)}"
    )


@pytest.mark.parametrize("expected", EXPECTED, ids=_ids)
def test_sample_not_evaluable(expected: Path) -> None:
    spec, result = _audit(expected)
    want = {(n["rule"], _adapter(n.get("adapter"))) for n in spec.get("not_evaluable", [])}
    got = {
        (row["rule"], _adapter(row["adapter"]))
        for row in result.not_evaluable.iter_rows(named=True)
    }
    assert got == want


@pytest.mark.parametrize("expected", EXPECTED, ids=_ids)
def test_finding_evidence_points_at_source_lines(expected: Path) -> None:
    """Each finding's anchor is in its evidence, and every evidence line exists."""
    _, result = _audit(expected)
    n_lines = _physical_lines(_trace_of(expected))
    for row in result.findings.iter_rows(named=True):
        anchors = [e for e in row["evidence"] if e["role"] == "anchor"]
        assert [e["line"] for e in anchors] == [row["line"]]
        assert all(1 <= e["line"] <= n_lines for e in row["evidence"])


def test_samples_cover_the_pinned_rules_and_formats() -> None:
    """The sample set as a whole exercises every pinned rule and both text formats."""
    fired: set[str] = set()
    not_evaluable: set[str] = set()
    formats: set[str] = set()
    clean = 0
    for expected in EXPECTED:
        spec, result = _audit(expected)
        rules = {f["rule"] for f in spec.get("finding", [])}
        fired |= rules
        not_evaluable |= {n["rule"] for n in spec.get("not_evaluable", [])}
        clean += not rules
        formats |= {t.format for t in result.traces if t.format}
    assert fired >= PINNED
    assert "halt-radio-left-on" in not_evaluable
    assert clean >= 1
    assert formats >= {"wpp-text", "tracerpt-csv"}


def test_all_samples_in_one_run_with_every_sample_map() -> None:
    """As ``make demo`` runs them: one audit, every sample map; no trace disturbs another."""
    maps = sorted(SAMPLES.glob("*.map.toml"))
    traces = [_trace_of(e) for e in EXPECTED]
    result = Auditor.load(map_paths=maps).audit(traces)
    want: set[tuple[str, str, str | None, int]] = set()
    want_ne: set[tuple[str, str, str | None]] = set()
    for expected, trace in zip(EXPECTED, traces, strict=True):
        spec = _load_spec(expected)
        want |= {
            (str(trace), f["rule"], _adapter(f.get("adapter")), f["line"])
            for f in spec.get("finding", [])
        }
        want_ne |= {
            (str(trace), n["rule"], _adapter(n.get("adapter")))
            for n in spec.get("not_evaluable", [])
        }
    got = {
        (row["trace"], row["rule"], _adapter(row["adapter"]), row["line"])
        for row in result.findings.iter_rows(named=True)
    }
    got_ne = {
        (row["trace"], row["rule"], _adapter(row["adapter"]))
        for row in result.not_evaluable.iter_rows(named=True)
    }
    assert [t.path for t in result.traces] == [str(t) for t in traces]
    assert got == want
    assert got_ne == want_ne
