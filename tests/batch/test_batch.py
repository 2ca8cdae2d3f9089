"""trace-audit batch: statuses, zips, the cache, the baseline, exit codes, Dask = local pool."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from auditor.batch.discover import discover
from auditor.batch.run import BatchOptions, BatchUsageError, run_batch
from auditor.batch.runner import DaskRunner, LocalRunner
from auditor.cli import app
from parsers.archive import safe_member_name
from parsers.timestamps import parse_trace_start

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"

RADIO_LEFT_ON = """\
[0]0004.0010::06/06/2025-12:00:00.000 [wlan]<--- MPInitializeEx Adapter=A1 Status = 0x00000000
[0]0004.0010::06/06/2025-12:00:01.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.000 [wlan]---> MPHaltEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.100 [wlan]<--- MPHaltEx Adapter=A1
"""
# The same cycle, the radio turned off inside the halt: no finding.
CLEAN = """\
[0]0004.0010::06/06/2025-12:00:00.000 [wlan]<--- MPInitializeEx Adapter=A1 Status = 0x00000000
[0]0004.0010::06/06/2025-12:00:01.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.000 [wlan]---> MPHaltEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.050 [wlan]Set OID_DOT11_NIC_POWER_STATE: FALSE Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.100 [wlan]<--- MPHaltEx Adapter=A1
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def pool() -> LocalRunner:
    return LocalRunner(1)


def run(inputs: list[Path | str], out: Path, runner=None, **kw) -> object:
    options = BatchOptions(inputs=[str(p) for p in inputs], out=out, **kw)
    return run_batch(options, runner=runner)


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """A folder with a good trace, a corrupt one, an empty one and a zip of two traces."""
    src = tmp_path / "lab"
    write(src / "good.txt", RADIO_LEFT_ON)
    (src / "corrupt.txt").write_bytes(bytes(range(256)) * 8)
    write(src / "empty.txt", "")
    with zipfile.ZipFile(src / "night.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("first.txt", CLEAN)
        z.writestr("runs/deep/second.txt", RADIO_LEFT_ON)
        z.writestr("notes.md", "not a trace")
    return src


def test_mixed_batch_statuses_and_outputs(mixed: Path, tmp_path: Path, pool: LocalRunner) -> None:
    out = tmp_path / "out"
    outcome = run([mixed], out, runner=pool)
    traces = pl.read_parquet(out / "traces.parquet")
    status = dict(traces.select("trace", "status").iter_rows())
    assert status == {
        "corrupt.txt": "failed",
        "empty.txt": "failed",
        "good.txt": "ok",
        "night.zip/first.txt": "ok",
        "night.zip/runs/deep/second.txt": "ok",
    }
    errors = dict(traces.select("trace", "error").iter_rows())
    assert "unrecognised trace format" in errors["corrupt.txt"]
    assert "empty" in errors["empty.txt"]
    findings = pl.read_parquet(out / "findings.parquet")
    assert findings.select("trace", "rule", "line").rows() == [
        ("good.txt", "halt-radio-left-on", 4),
        ("night.zip/runs/deep/second.txt", "halt-radio-left-on", 4),
    ]
    counts = dict(traces.select("trace", "findings").iter_rows())
    assert counts["good.txt"] == 1 and counts["night.zip/first.txt"] == 0
    assert traces.filter(pl.col("status") == "ok").get_column("content_hash").null_count() == 0
    # Exit code: findings (1) and failed traces (4).
    assert outcome.exit_code == 5
    summary = json.loads((out / "summary.json").read_text())
    assert summary["traces"] == 5 and summary["failed"] == 2 and summary["findings"] == 2
    assert summary["exit_code"] == 5
    assert {f["trace"] for f in summary["failures"]} == {"corrupt.txt", "empty.txt"}
    junit = (out / "junit.xml").read_text()
    assert junit.startswith("<?xml") and "night.zip/runs/deep/second.txt" in junit
    # index.html: offline, links to the per-trace reports that exist.
    index = (out / "index.html").read_text()
    assert "<script src=" not in index and "Plotly.newPlot" in index
    for report in traces.get_column("report").drop_nulls():
        assert f'href="{report}"' in index
        assert (out / report).is_file()
    assert (out / "reports" / "plotly.min.js").is_file()
    assert traces.filter(pl.col("status") == "ok").get_column("report").null_count() == 0


def test_second_run_audits_nothing_and_force_does(
    mixed: Path, tmp_path: Path, pool: LocalRunner
) -> None:
    out = tmp_path / "out"
    first = run([mixed], out, runner=pool)
    before = (out / "findings.parquet").read_bytes()
    second = run([mixed], out, runner=pool)
    assert first.audited == 5 and second.audited == 0 and second.cached == 5
    assert (out / "findings.parquet").read_bytes() == before
    assert pl.read_parquet(out / "traces.parquet").get_column("cached").all()
    # A changed trace is audited again; the others stay cached.
    write(mixed / "good.txt", CLEAN.replace("A1", "A7"))
    third = run([mixed], out, runner=pool)
    assert third.audited == 1 and third.findings.height == 1
    forced = run([mixed], out, runner=pool, force=True)
    assert forced.audited == 5 and forced.cached == 0
    # Another rule selection is another cache key.
    other = run([mixed], out, runner=pool, ignore=("halt-without-disconnect",))
    assert other.audited == 5


def test_zip_slip_is_refused(tmp_path: Path, pool: LocalRunner) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("ok.txt", RADIO_LEFT_ON)
        z.writestr("../../escape.txt", RADIO_LEFT_ON)
        z.writestr("/abs/path.txt", RADIO_LEFT_ON)
        z.writestr("a/../../b.txt", RADIO_LEFT_ON)
    out = tmp_path / "out"
    outcome = run([archive], out, runner=pool)
    status = dict(outcome.traces.select("trace", "status").iter_rows())
    assert status["ok.txt"] == "ok"
    refused = outcome.traces.filter(pl.col("status") == "failed")
    assert refused.height == 3
    assert all("unsafe member name" in e for e in refused.get_column("error"))
    # Nothing landed outside the output directory or beside the archive.
    assert not (tmp_path.parent / "escape.txt").exists()
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "b.txt").exists()
    assert outcome.exit_code == 5


@pytest.mark.parametrize(
    ("name", "unsafe"),
    [
        ("a/b.txt", False),
        ("../x.txt", True),
        ("a/../../x.txt", True),
        ("/etc/passwd", True),
        ("C:/Windows/x.txt", True),
        ("..\\x.txt", True),
    ],
)
def test_safe_member_names(name: str, unsafe: bool) -> None:
    assert (safe_member_name(name) is not None) is unsafe


def test_zip_bomb_ratio_refused(tmp_path: Path) -> None:
    from parsers.archive import ArchiveLimits

    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb.txt", b"\0" * (8 << 20))
    inputs, _ = discover([str(archive)], ArchiveLimits(max_ratio=100))
    assert inputs[0].refused and "ratio" in inputs[0].refused
    inputs, _ = discover([str(archive)], ArchiveLimits(max_member_bytes=1 << 20))
    assert inputs[0].refused and "limit" in inputs[0].refused


def test_discover_names_globs_and_missing(tmp_path: Path) -> None:
    write(tmp_path / "runs" / "n1" / "a.txt", CLEAN)
    write(tmp_path / "runs" / "n2" / "a.txt", CLEAN)
    write(tmp_path / "runs" / "n2" / "skip.bin", "x")
    inputs, _ = discover([str(tmp_path / "runs" / "*" / "a.txt"), str(tmp_path / "nope.txt")])
    assert [i.name for i in inputs] == ["n1/a.txt", "n2/a.txt", "nope.txt"]
    assert inputs[2].refused == "file not found"
    inputs, _ = discover([str(tmp_path / "runs")])
    assert [i.name for i in inputs] == ["n1/a.txt", "n2/a.txt"]


def test_baseline_new_fixed_persisting(tmp_path: Path, pool: LocalRunner) -> None:
    night1, night2 = tmp_path / "n1", tmp_path / "n2"
    write(night1 / "a.txt", RADIO_LEFT_ON)  # persists
    write(night1 / "b.txt", RADIO_LEFT_ON)  # fixed in night 2
    write(night1 / "c.txt", CLEAN)  # broken in night 2
    # Night 2: the same runs a day later (other wall-clock times, same relative times).
    later = RADIO_LEFT_ON.replace("06/06/2025", "06/07/2025")
    write(night2 / "a.txt", later)
    write(night2 / "b.txt", CLEAN.replace("06/06/2025", "06/07/2025"))
    write(night2 / "c.txt", later)
    base = run([night1], tmp_path / "out1", runner=pool)
    assert base.exit_code == 1
    outcome = run(
        [night2], tmp_path / "out2", runner=pool, baseline=tmp_path / "out1", fail_on_new=True
    )
    changes = pl.read_parquet(tmp_path / "out2" / "baseline.parquet")
    got = sorted(changes.select("change", "trace", "rule").rows())
    assert got == [
        ("fixed", "b.txt", "halt-radio-left-on"),
        ("new", "c.txt", "halt-radio-left-on"),
        ("persisting", "a.txt", "halt-radio-left-on"),
    ]
    assert changes.filter(pl.col("change") == "new").get_column("rel_s").to_list() == [3.0]
    assert outcome.summary["baseline"]["new"] == 1
    assert outcome.exit_code == 1  # one new error finding
    # Gate on new findings only: against itself nothing is new, though findings exist.
    again = run(
        [night2], tmp_path / "out3", runner=pool, baseline=tmp_path / "out2", fail_on_new=True
    )
    assert again.findings.height == 2 and again.exit_code == 0
    assert "Compared with the baseline" in (tmp_path / "out3" / "index.html").read_text()


def test_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(BatchUsageError, match="needs --baseline"):
        run([tmp_path], tmp_path / "o", fail_on_new=True)
    with pytest.raises(BatchUsageError, match="no traces found"):
        run([tmp_path], tmp_path / "o")
    write(tmp_path / "a.txt", CLEAN)
    with pytest.raises(BatchUsageError, match=r"no findings\.parquet"):
        run([tmp_path / "a.txt"], tmp_path / "o", baseline=tmp_path / "missing")


def test_cli_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "1")
    cli = CliRunner()
    clean = write(tmp_path / "in" / "clean.txt", CLEAN)
    result = cli.invoke(app, ["batch", str(clean), "--out", str(tmp_path / "o1"), "-j", "1"])
    assert result.exit_code == 0, result.output
    bad = write(tmp_path / "in" / "left-on.txt", RADIO_LEFT_ON)
    args = ["batch", str(bad), "--out", str(tmp_path / "o2"), "-j", "1"]
    assert cli.invoke(app, args).exit_code == 1
    assert cli.invoke(app, [*args, "--fail-on", "never"]).exit_code == 0
    empty = write(tmp_path / "in" / "empty.txt", "")
    result = cli.invoke(app, ["batch", str(empty), "--out", str(tmp_path / "o3"), "-j", "1"])
    assert result.exit_code == 4
    result = cli.invoke(app, ["batch", str(tmp_path / "in"), "--out", str(tmp_path / "o4")])
    assert result.exit_code == 5
    assert cli.invoke(app, ["batch", str(clean)]).exit_code == 2  # --out missing


def test_scheduler_without_dask(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import builtins

    real_import = builtins.__import__

    def no_dask(name: str, *args: object, **kwargs: object) -> object:
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError("No module named 'distributed'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    write(tmp_path / "a.txt", CLEAN)
    with pytest.raises(BatchUsageError, match=r"pip install 'trace-auditor\[dask\]'"):
        run([tmp_path / "a.txt"], tmp_path / "o", scheduler="tcp://127.0.0.1:1")


def test_workers_have_limited_polars_threads() -> None:
    from auditor.batch.task import probe

    runner = LocalRunner(2)
    with runner.executor() as executor:
        seen = executor.submit(probe).result()
    assert seen["POLARS_MAX_THREADS"] == str(runner.polars_threads)
    assert seen["polars_threads"] == runner.polars_threads


def test_dask_local_cluster_gives_the_same_findings(tmp_path: Path, pool: LocalRunner) -> None:
    import distributed  # a dev extra: the Dask path must really be tested

    inputs = [
        SAMPLES / "proseware-radio-left-on.wpp.txt",
        SAMPLES / "litware-halt-while-associated.wpp.txt",
        SAMPLES / "fabrikam-radio-on-while-halted.csv",
        SAMPLES / "tailspin-dual-adapter-ties.wpp.txt",
        SAMPLES / "wingtip-no-radio-events.wpp.txt",
    ]
    local = run(inputs, tmp_path / "local", runner=pool)
    assert local.findings.height > 0
    with (
        distributed.LocalCluster(
            host="127.0.0.1",
            protocol="tcp",
            n_workers=1,
            threads_per_worker=1,
            processes=False,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = run(inputs, tmp_path / "dask", runner=DaskRunner(client=client))
    assert "Dask scheduler" in DaskRunner(client=None).description
    a = (tmp_path / "local" / "findings.parquet").read_bytes()
    b = (tmp_path / "dask" / "findings.parquet").read_bytes()
    assert pl.read_parquet(tmp_path / "dask" / "findings.parquet").equals(
        pl.read_parquet(tmp_path / "local" / "findings.parquet")
    )
    assert a == b
    assert remote.exit_code == local.exit_code
    assert remote.audited == len(inputs)


def test_a_trace_start_places_perfview_times_and_is_part_of_the_cache_key(
    tmp_path: Path, pool: LocalRunner
) -> None:
    src = tmp_path / "lab"
    src.mkdir()
    perfview = SAMPLES / "alpineski-radio-on-before-init-perfview.csv"
    (src / perfview.name).write_bytes(perfview.read_bytes())
    out = tmp_path / "out"
    epoch = run([src], out, runner=pool)
    start = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    placed = run([src], out, runner=pool, trace_start=parse_trace_start(start))
    assert placed.audited == 1  # not the cached result of the run without a start
    first = placed.findings.get_column("ts").min()
    assert first - epoch.findings.get_column("ts").min() == start - datetime(1970, 1, 1, tzinfo=UTC)
    again = run([src], out, runner=pool, trace_start=parse_trace_start(start))
    assert again.cached == 1
