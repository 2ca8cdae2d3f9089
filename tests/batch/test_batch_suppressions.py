"""trace-audit batch --suppress: per-trace counts, batch sums, unused entries over the whole
batch, the cache, exit codes. Expectations come from the same batch run without it."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console
from typer.testing import CliRunner

from auditor.batch.run import BatchOptions, run_batch
from auditor.batch.runner import LocalRunner
from auditor.cli import app
from auditor.problems import ConfigError

RADIO_LEFT_ON = """\
[0]0004.0010::06/06/2025-12:00:00.000 [wlan]---> MPInitializeEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:01.000 [wlan]Set OID_DOT11_NIC_POWER_STATE: TRUE Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.000 [wlan]---> MPHaltEx Adapter=A1
[0]0004.0010::06/06/2025-12:00:03.100 [wlan]<--- MPHaltEx Adapter=A1
"""

# good.txt is accepted whole; second.txt (inside the zip) only by its file name; the
# third entry matches in no trace of the batch.
ENTRIES = """\
[[suppress]]
rule = "*"
trace = "good.txt"
reason = "rig 7: known firmware"

[[suppress]]
rule = "*"
trace = "second.txt"
reason = "night run, same firmware"

[[suppress]]
rule = "*"
trace = "rig99-*.txt"
reason = "rig 99 was retired"
"""


@pytest.fixture(scope="module")
def pool() -> LocalRunner:
    return LocalRunner(1)


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    src = tmp_path / "lab"
    src.mkdir()
    (src / "good.txt").write_text(RADIO_LEFT_ON, encoding="utf-8")
    (src / "other.txt").write_text(RADIO_LEFT_ON.replace("A1", "B2"), encoding="utf-8")
    with zipfile.ZipFile(src / "night.zip", "w") as z:
        z.writestr("runs/deep/second.txt", RADIO_LEFT_ON)
    return src


def run(inputs: list[Path], out: Path, runner, **kw):
    console = Console(file=None, stderr=True, record=True, width=300)
    options = BatchOptions(inputs=[str(p) for p in inputs], out=out, **kw)
    outcome = run_batch(options, runner=runner, console=console)
    return outcome, console.export_text()


def test_batch_suppresses_per_trace_and_sums_in_the_summary(lab, tmp_path, pool):
    plain, _ = run([lab], tmp_path / "plain", pool)
    per_trace = dict(plain.findings.group_by("trace").len().iter_rows())
    accepted = ("good.txt", "night.zip/runs/deep/second.txt")
    assert all(per_trace.get(t) for t in accepted) and per_trace.get("other.txt")

    entries = tmp_path / "known.toml"
    entries.write_text(ENTRIES, encoding="utf-8")
    out = tmp_path / "out"
    outcome, log = run([lab], out, pool, suppress_paths=(str(entries),))

    findings = pl.read_parquet(out / "findings.parquet")
    assert findings.equals(plain.findings.filter(~pl.col("trace").is_in(accepted)))
    suppressed = pl.read_parquet(out / "suppressed.parquet")
    assert sorted(set(suppressed.get_column("trace"))) == list(accepted)
    assert dict(suppressed.select("trace", "suppression").unique().iter_rows()) == {
        "good.txt": f"{entries}:1",
        "night.zip/runs/deep/second.txt": f"{entries}:6",
    }
    assert (
        suppressed.drop("reason", "suppression")
        .sort("trace", "seq")
        .equals(plain.findings.filter(pl.col("trace").is_in(accepted)).sort("trace", "seq"))
    )

    traces = pl.read_parquet(out / "traces.parquet")
    counts = dict(traces.select("trace", "suppressed").iter_rows())
    assert counts == {t: (per_trace[t] if t in accepted else 0) for t in counts}
    kept = dict(traces.select("trace", "findings").iter_rows())
    assert kept["good.txt"] == 0 and kept["other.txt"] == per_trace["other.txt"]

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["suppressed"] == sum(per_trace[t] for t in accepted) == suppressed.height
    assert summary["findings"] == plain.findings.height - suppressed.height
    assert sum(summary["suppressed_by_rule"].values()) == suppressed.height
    # unused over the whole batch: entry 2 matched in one trace only, and is used
    assert [u["suppression"] for u in summary["unused_suppressions"]] == [f"{entries}:11"]
    assert f"{entries}:11: suppression matched no finding" in log
    assert f"{entries}:6" not in log
    assert f"{suppressed.height} suppressed" in log
    assert f"{suppressed.height} suppressed" in (out / "index.html").read_text(encoding="utf-8")
    junit = (out / "junit.xml").read_text(encoding="utf-8")
    assert f"suppressed by {entries}:1" in junit

    # the per-trace report of an accepted trace lists its findings as suppressed
    report = traces.filter(pl.col("trace") == "good.txt").get_column("report").item()
    page = (out / report).read_text(encoding="utf-8")
    assert '<details class="suppressed">' in page and "rig 7: known firmware" in page
    assert outcome.suppressed.height == suppressed.height


def test_the_cache_keeps_suppressions_and_an_edit_audits_again(lab, tmp_path, pool):
    entries = tmp_path / "known.toml"
    entries.write_text(ENTRIES, encoding="utf-8")
    out = tmp_path / "out"
    first, _ = run([lab], out, pool, suppress_paths=(str(entries),))
    again, _ = run([lab], out, pool, suppress_paths=(str(entries),))
    assert again.cached == again.traces.height and again.audited == 0
    assert again.summary["suppressed"] == first.summary["suppressed"] > 0
    assert again.summary["unused_suppressions"] == first.summary["unused_suppressions"]
    assert again.findings.equals(first.findings)
    assert again.suppressed.equals(first.suppressed)

    entries.write_text(ENTRIES.replace('trace = "good.txt"', 'trace = "nothing.txt"'), "utf-8")
    edited, _ = run([lab], out, pool, suppress_paths=(str(entries),))
    assert edited.cached == 0
    assert "good.txt" in edited.findings.get_column("trace").to_list()
    assert [u["suppression"] for u in edited.summary["unused_suppressions"]] == [
        f"{entries}:1",
        f"{entries}:11",
    ]
    # without --suppress: no suppressed.parquet, nothing suppressed
    plain, _ = run([lab], out, pool)
    assert not (out / "suppressed.parquet").exists() and plain.summary["suppressed"] == 0


def test_exit_code_drops_when_every_error_is_suppressed(lab, tmp_path, pool):
    plain, _ = run([lab], tmp_path / "plain", pool)
    assert plain.exit_code == 1
    errors = sorted(set(plain.findings.filter(pl.col("severity") == "error").get_column("rule")))
    entries = tmp_path / "errors.toml"
    entries.write_text(
        "".join(f'[[suppress]]\nrule = "{r}"\nreason = "accepted"\n\n' for r in errors),
        encoding="utf-8",
    )
    outcome, _ = run([lab], tmp_path / "out", pool, suppress_paths=(str(entries),))
    assert outcome.exit_code == 0
    assert outcome.summary["exit_code"] == 0


def test_cli_batch_suppress_and_bad_file(lab, tmp_path):
    entries = tmp_path / "known.toml"
    entries.write_text(ENTRIES, encoding="utf-8")
    cli = CliRunner()
    out = tmp_path / "out"
    args = ["batch", str(lab), "--out", str(out), "-j", "1", "--suppress", str(entries)]
    result = cli.invoke(app, [*args, "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "summary.json").read_text())["suppressed"] > 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[[suppress]]\nrule = "no-such-rule"\nreason = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:  # the console entry point turns it into exit 2
        run_batch(BatchOptions(inputs=[str(lab)], out=tmp_path / "o2", suppress_paths=(str(bad),)))
    assert [(p.path, p.line) for p in info.value.problems] == [(str(bad), 2)]
