"""The batch's output directory: its files, its per-trace reports and its cache.

::

    OUT/findings.parquet       every finding (auditor.findings.FINDING_SCHEMA), by trace
    OUT/traces.parquet         one row per trace: accounting, status, error, hash, counts
    OUT/not_evaluable.parquet  rules not evaluable per trace and adapter
    OUT/baseline.parquet       with --baseline: findings marked new / fixed / persisting
    OUT/summary.json  OUT/junit.xml  OUT/index.html
    OUT/reports/<key>.html     one report per trace (sharing reports/plotly.min.js)
    OUT/suppressed.parquet     with --suppress: the findings it accepted, with reason and entry
    OUT/cache/<key>.arrow      one audited trace: findings (suppressed ones marked) + summary
                               + not-evaluable rules

``key`` is the SHA-256 of the trace's content hash and the config fingerprint (tool
version, time zone, rule selection, the bytes of every map and rule file, built-in ones
included, and the suppressions in force; with a suppression entry that names a trace
glob, the trace's name too). A cache entry is written, atomically, as soon as its trace
is audited, so an interrupted batch resumes where it stopped. Entries and reports of
traces no longer in the batch are removed at the end of a run: the directory describes
one batch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zlib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc

from auditor.batch.task import STATUS_ERROR, AuditConfig, TaskResult
from auditor.findings import FINDING_SCHEMA, NOT_EVALUABLE_SCHEMA
from auditor.report.atomic import atomic_path, write_text_atomic
from auditor.suppressions import SUPPRESSED_SCHEMA
from parsers.timestamps import TraceStart

CACHE_FORMAT = "2"  # 2: suppressed findings kept beside the findings


def config_fingerprint(
    *,
    map_paths: Iterable[str | os.PathLike[str]] = (),
    rule_paths: Iterable[str | os.PathLike[str]] = (),
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    tz: str = "UTC",
    suppressions: object = None,
    trace_start: TraceStart | None = None,
) -> str:
    """A hash of everything that decides the findings of a given trace content.

    ``suppressions`` (an :class:`auditor.suppressions.Suppressions`) enters by its
    entries in force: editing the file, or an entry expiring, audits again.
    """
    from auditor import __version__
    from auditor.eventmap import read_map_text

    digest = hashlib.sha256()

    def part(label: str, data: bytes) -> None:
        digest.update(label.encode() + b"\0" + len(data).to_bytes(8, "little") + data)

    part("version", __version__.encode())
    part("cache-format", CACHE_FORMAT.encode())
    part("tz", tz.encode())
    if trace_start is not None:  # absent, the key stays what it was before the option
        part("trace-start", str(trace_start.ns).encode())
    part("select", "\n".join(select).encode())
    part("ignore", "\n".join(ignore).encode())
    data = resources.files("auditor") / "data"
    for sub in ("maps", "rules"):
        folder = data / sub
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".toml"):
                part(f"builtin/{sub}/{entry.name}", entry.read_bytes())
    for path in map_paths:
        part("map", read_map_text(path).encode("utf-8", "surrogatepass"))
    for path in rule_paths:
        part("rules", Path(path).read_bytes())
    entries = getattr(suppressions, "entries", ())
    if entries:
        part("suppressions", repr(entries).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def cache_key(content_hash: str, fingerprint: str) -> str:
    return hashlib.sha256(f"{content_hash}:{fingerprint}".encode()).hexdigest()[:32]


class OutputStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.cache_dir = self.root / "cache"
        self.reports_dir = self.root / "reports"

    def prepare(self) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.reports_dir.mkdir(parents=True, exist_ok=True)

    # --- the incremental cache -------------------------------------------------------

    def _entry(self, key: str) -> Path:
        return self.cache_dir / f"{key}.arrow"

    def report_path(self, key: str) -> Path:
        return self.reports_dir / f"{key}.html"

    def save(self, result: TaskResult, config: AuditConfig) -> None:
        """Keep an audited trace (not an internal error: that one is retried next time)."""
        if result.status == STATUS_ERROR:
            return
        if result.report is not None:
            write_text_atomic(
                self.report_path(result.key), zlib.decompress(result.report).decode("utf-8")
            )
        findings = result.findings
        if findings is None:
            findings = pl.DataFrame(schema=FINDING_SCHEMA)
        not_evaluable = result.not_evaluable
        if not_evaluable is None:
            not_evaluable = pl.DataFrame(schema=NOT_EVALUABLE_SCHEMA)
        # One table: the kept findings have no suppression, the suppressed ones say which.
        rows = pl.concat(
            [
                findings.select(list(FINDING_SCHEMA)).with_columns(
                    pl.lit(None, dtype=pl.String).alias("reason"),
                    pl.lit(None, dtype=pl.String).alias("suppression"),
                ),
                result.suppressed
                if result.suppressed is not None
                else pl.DataFrame(schema=SUPPRESSED_SCHEMA),
            ],
            how="vertical_relaxed",
        )
        table = rows.to_arrow().replace_schema_metadata(
            {
                "trace-auditor.cache": CACHE_FORMAT,
                "status": result.status,
                "fingerprint": config.fingerprint,
                "summary": json.dumps(result.summary, sort_keys=True),
                "not_evaluable": json.dumps(not_evaluable.to_dicts()),
                "used_suppressions": json.dumps(list(result.used_suppressions)),
            }
        )
        with atomic_path(self._entry(result.key)) as tmp, ipc.new_file(tmp, table.schema) as out:
            out.write_table(table)

    def load(self, key: str, name: str) -> TaskResult | None:
        """The cached result of ``key`` under the trace name ``name``, if there is one."""
        path = self._entry(key)
        if not path.is_file():
            return None
        try:
            with ipc.open_file(path) as reader:
                table = reader.read_all()
            meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
            if meta.get("trace-auditor.cache") != CACHE_FORMAT:
                return None
            summary = json.loads(meta["summary"])
            not_evaluable = (
                pl.DataFrame(
                    json.loads(meta["not_evaluable"]), schema=NOT_EVALUABLE_SCHEMA, orient="row"
                )
                if meta["not_evaluable"] != "[]"
                else pl.DataFrame(schema=NOT_EVALUABLE_SCHEMA)
            )
            rows = pl.from_arrow(table.replace_schema_metadata(None))
            assert isinstance(rows, pl.DataFrame)
            rows = rows.cast(SUPPRESSED_SCHEMA)  # type: ignore[arg-type]
            is_kept = pl.col("suppression").is_null()
            findings = rows.filter(is_kept).select(list(FINDING_SCHEMA))
            suppressed = rows.filter(~is_kept)
            used = tuple(json.loads(meta["used_suppressions"]))
        except (OSError, KeyError, ValueError, pa.ArrowException, pl.exceptions.PolarsError):
            return None  # a damaged entry is audited again
        summary["path"] = name
        rename = pl.lit(name, dtype=pl.String).alias("trace")
        return TaskResult(
            name,
            key,
            meta["status"],
            summary,
            findings=findings.with_columns(rename),
            not_evaluable=not_evaluable.with_columns(rename),
            cached=True,
            suppressed=suppressed.with_columns(rename),
            used_suppressions=used,
        )

    def prune(self, keep: set[str]) -> None:
        """Remove cache entries and reports of traces that are not in this batch."""
        for folder, suffix in ((self.cache_dir, ".arrow"), (self.reports_dir, ".html")):
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                stale = path.suffix == suffix and path.stem not in keep
                leftover = path.name.startswith(".") and path.name.endswith(".tmp")
                if stale or leftover:
                    with contextlib.suppress(OSError):
                        path.unlink()

    # --- the batch's files -----------------------------------------------------------

    def write_parquet(self, name: str, frame: pl.DataFrame) -> None:
        with atomic_path(self.root / name) as tmp:
            frame.write_parquet(tmp)

    def write_text(self, name: str, text: str) -> None:
        write_text_atomic(self.root / name, text)

    def write_plotly_js(self) -> None:
        from plotly.offline import get_plotlyjs

        target = self.reports_dir / "plotly.min.js"
        text = get_plotlyjs()
        if target.is_file() and target.stat().st_size == len(text.encode("utf-8")):
            return
        write_text_atomic(target, text)

    def remove(self, name: str) -> None:
        with contextlib.suppress(OSError):
            (self.root / name).unlink()
