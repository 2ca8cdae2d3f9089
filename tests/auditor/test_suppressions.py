"""Suppressions files: loading (every mistake with its line), matching, expiry, unused entries.

End-to-end checks audit the shipped samples and derive what to expect from the same run
without suppressions, so they hold whatever rules the built-in pack has.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.findings import FINDING_SCHEMA
from auditor.pipeline import Auditor
from auditor.problems import ConfigError
from auditor.suppressions import (
    SUPPRESSED_SCHEMA,
    GlobError,
    Suppressions,
    format_time,
    glob_regex,
    load_suppressions,
    parse_suppressions,
    parse_time,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
NORTHWIND_MAP = SAMPLES / "northwind-rf.map.toml"
RULES = ("halt-radio-left-on", "halt-without-disconnect", "radio-on-before-initialize")
BASE = dt.datetime(2025, 6, 6, 12, 0, 0, tzinfo=dt.UTC)


def findings(rows: list[tuple[str, str | None, str, float | None]]) -> pl.DataFrame:
    """(rule, adapter, trace, seconds after BASE or None) -> a findings frame.

    Times are computed in nanoseconds (a timedelta would round them to microseconds).
    """
    base_ns = parse_time(BASE)
    stamps = [None if r[3] is None else base_ns + round(r[3] * 10**9) for r in rows]
    records = [
        {
            "rule": rule,
            "severity": "error",
            "title": rule,
            "source": "",
            "trace": trace,
            "adapter": adapter,
            "ts": None,
            "line": k + 1,
            "seq": k,
            "message": f"{rule} on {adapter}",
            "adapter_inferred": False,
            "evidence": [],
        }
        for k, (rule, adapter, trace, _) in enumerate(rows)
    ]
    frame = pl.DataFrame(records, schema=FINDING_SCHEMA)
    return frame.with_columns(pl.Series("ts", stamps, dtype=pl.Int64).cast(FINDING_SCHEMA["ts"]))


def parse(text: str, today: dt.date = dt.date(2025, 6, 1)) -> Suppressions:
    return parse_suppressions(text, "s.toml", rule_ids=RULES, today=today)


def problems(text: str) -> list[tuple[int | None, int | None, str]]:
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert all(p.path == "s.toml" for p in info.value.problems)
    return [(p.line, p.column, p.message) for p in info.value.problems]


def kept_rules(entries: str, frame: pl.DataFrame) -> list[int]:
    """The seq of the findings that stay after applying ``entries``."""
    return parse(entries).apply(frame).kept.get_column("seq").to_list()


# --- loading ------------------------------------------------------------------------------


def test_a_valid_file_loads_every_key():
    loaded = parse(
        """\
# accepted findings of the lab
[[suppress]]
rule = "halt-radio-left-on"
adapter = "A1"
trace = "lab/*.txt"
from = "2025-06-06T12:00:00Z"
until = 2025-06-06T14:00:00+02:00
expires = 2025-09-30
reason = "FW-1234: firmware keeps the RF on through halt"

[[suppress]]
rule = "halt-*"
reason = "  known  "
"""
    )
    first, second = loaded.entries
    assert (first.rule, first.adapter, first.trace) == ("halt-radio-left-on", "A1", "lab/*.txt")
    assert first.start == parse_time("2025-06-06T12:00:00Z")
    assert first.end == parse_time("2025-06-06T12:00:00Z")  # 14:00 at +02:00
    assert first.expires == dt.date(2025, 9, 30)
    assert first.origin == "s.toml:2" and second.origin == "s.toml:11"
    assert second.reason == "known" and second.adapter is None and second.start is None
    assert loaded.expired == ()


def test_every_mistake_is_reported_at_once_with_line_and_column():
    found = problems(
        """\
[[suppress]]
rule = "halt-radio-left-on"
adaptor = "A1"
reason = "typo in a key"

[[suppress]]
rule = "halt-radio-left-on"

[[suppress]]
rule = "halt-radio-left-of"
reason = "typo in the id"

[[suppress]]
rule = "wdi-*"
reason = "no such rules"

[[suppress]]
rule = "halt-*"
trace = "lab/[abc.txt"
reason = "bad glob"

[[suppress]]
rule = "halt-*"
from = "yesterday"
until = "2025-13-01T00:00:00"
reason = "bad times"

[[suppress]]
rule = "halt-*"
from = "2025-06-06T13:00:00Z"
until = "2025-06-06T12:00:00Z"
reason = "empty range"

[[suppress]]
rule = "halt-*"
expires = "soon"
reason = ""
"""
    )
    assert found[0][:2] == (3, 1) and "unknown key 'adaptor'" in found[0][2]
    assert found[1] == (6, None, 'missing reason = "..." (why the finding is accepted)')
    assert found[2][:2] == (10, 8)
    assert (
        "unknown rule id 'halt-radio-left-of' (did you mean 'halt-radio-left-on'?)" in (found[2][2])
    )
    assert found[3] == (14, 8, "rule pattern 'wdi-*' matches no rule id")
    # the column points at the '[' inside the quoted pattern
    assert found[4][:2] == (19, 14) and "bad glob: '[' without a closing ']'" in found[4][2]
    assert found[5][:2] == (24, 8) and "from: 'yesterday' is not an ISO 8601 time" in found[5][2]
    assert found[6][:2] == (25, 9) and found[6][2].startswith("until: '2025-13-01T00:00:00'")
    assert found[7] == (31, 9, "until is before from: the range is empty")
    assert {(line, message.split(" ")[0]) for line, _, message in found[8:]} == {
        (37, "reason"),
        (36, "expires"),
    }
    assert len(found) == 10


def test_top_level_mistakes_and_bad_toml():
    found = problems('version = 2\n[[suppress]]\nrule = "halt-*"\nreason = "x"\n')
    assert found == [(1, 1, "unknown top-level key 'version' (entries are [[suppress]] tables)")]
    found = problems('[suppress]\nrule = "halt-*"\n')
    assert found == [(None, None, "'suppress' must be an array of [[suppress]] tables")]
    found = problems('[[suppress]]\nrule = "halt-*\n')
    assert found[0][0] == 2 and found[0][2].startswith("invalid TOML")
    found = problems('[[suppress]]\nrule = ["halt-*"]\nreason = "x"\n')
    assert found == [(2, 8, "rule must be a non-empty string")]


def test_several_files_report_all_their_mistakes_and_unreadable_files(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[[suppress]]\nrule = "halt-*"\nreason = "ok"\n', encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[suppress]]\nrule = "nope"\nreason = "x"\n', encoding="utf-8")
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as info:
        load_suppressions([good, bad, missing], rule_ids=RULES)
    where = [(p.path, p.line) for p in info.value.problems]
    assert where == [(str(bad), 2), (str(missing), None)]
    assert "cannot read suppressions file" in info.value.problems[1].message
    loaded = load_suppressions([good, good], rule_ids=RULES)
    assert [e.origin for e in loaded.entries] == [f"{good}:1", f"{good}:1"]


def test_a_file_with_a_byte_order_mark_and_crlf_loads(tmp_path):
    path = tmp_path / "s.toml"
    path.write_bytes(b'\xef\xbb\xbf[[suppress]]\r\nrule = "halt-*"\r\nreason = "x"\r\n')
    (entry,) = load_suppressions([path], rule_ids=RULES).entries
    assert entry.line == 1


# --- times ------------------------------------------------------------------------------------


def test_times_are_utc_unless_an_offset_is_given_and_keep_nanoseconds():
    noon = parse_time(BASE.replace(tzinfo=None))
    assert parse_time("2025-06-06T12:00:00") == noon
    assert parse_time("2025-06-06 12:00:00Z") == noon
    assert parse_time("2025-06-06T14:00:00+02:00") == noon
    assert parse_time("2025-06-06T07:00:00-0500") == noon
    assert parse_time("2025-06-06T12:00") == noon
    assert parse_time("2025-06-06T12:00:00.000000001Z") == noon + 1
    assert parse_time("2025-06-06T12:00:00,5") == noon + 500_000_000
    assert parse_time(BASE) == noon
    assert (
        parse_time(dt.datetime(2025, 6, 6, 14, tzinfo=dt.timezone(dt.timedelta(hours=2)))) == noon
    )
    day = parse_time("2025-06-06")
    assert parse_time(dt.date(2025, 6, 6)) == day == noon - 12 * 3600 * 10**9
    assert parse_time("2025-06-06", end=True) == day + 86_400 * 10**9 - 1
    for bad in ("2025-06-06T12:00:00.0000000001", "06/06/2025", "2025-06-06+02:00", 12, ""):
        with pytest.raises(ValueError):
            parse_time(bad)
    assert format_time(noon + 1) == "2025-06-06T12:00:00.000000001Z"
    assert format_time(noon) == "2025-06-06T12:00:00Z"


def test_time_range_bounds_are_inclusive():
    frame = findings(
        [
            ("halt-radio-left-on", "A1", "t.txt", 9.999999999),
            ("halt-radio-left-on", "A1", "t.txt", 10),
            ("halt-radio-left-on", "A1", "t.txt", 15),
            ("halt-radio-left-on", "A1", "t.txt", 20),
            ("halt-radio-left-on", "A1", "t.txt", 20.000000001),
            ("halt-radio-left-on", "A1", "t.txt", None),  # no time: never in a range
        ]
    )
    both = """[[suppress]]
rule = "halt-radio-left-on"
from = "2025-06-06T12:00:10Z"
until = "2025-06-06T12:00:20Z"
reason = "window"
"""
    assert kept_rules(both, frame) == [0, 4, 5]
    only_from = '[[suppress]]\nrule = "halt-*"\nfrom = "2025-06-06T12:00:15Z"\nreason = "x"\n'
    assert kept_rules(only_from, frame) == [0, 1, 5]
    only_until = '[[suppress]]\nrule = "halt-*"\nuntil = 2025-06-06T12:00:15Z\nreason = "x"\n'
    assert kept_rules(only_until, frame) == [3, 4, 5]
    whole_day = '[[suppress]]\nrule = "halt-*"\nuntil = 2025-06-06\nreason = "x"\n'
    assert kept_rules(whole_day, frame) == [5]
    next_day = '[[suppress]]\nrule = "halt-*"\nfrom = 2025-06-07\nreason = "x"\n'
    assert kept_rules(next_day, frame) == [0, 1, 2, 3, 4, 5]


# --- matching ---------------------------------------------------------------------------------


@pytest.fixture
def frame() -> pl.DataFrame:
    return findings(
        [
            ("halt-radio-left-on", "A1", "lab/rig07/run1.txt", 0),
            ("halt-without-disconnect", "A1", "lab/rig07/run1.txt", 1),
            ("halt-radio-left-on", "B2", "lab/rig08/run1.txt", 2),
            ("radio-on-before-initialize", None, "lab\\rig09\\run2.txt", 3),
            ("halt-radio-left-on", "{4D36E972-E325}", "./night.zip/deep/run3.txt", 4),
        ]
    )


def test_rule_matches_exactly_or_as_a_glob(frame):
    exact = '[[suppress]]\nrule = "halt-radio-left-on"\nreason = "x"\n'
    assert kept_rules(exact, frame) == [1, 3]
    glob = '[[suppress]]\nrule = "halt-*"\nreason = "x"\n'
    assert kept_rules(glob, frame) == [3]
    every = '[[suppress]]\nrule = "*"\nreason = "x"\n'
    assert kept_rules(every, frame) == []


def test_adapter_matches_exactly_or_as_a_glob_and_never_an_unnamed_one(frame):
    one = '[[suppress]]\nrule = "*"\nadapter = "A1"\nreason = "x"\n'
    assert kept_rules(one, frame) == [2, 3, 4]
    guid = '[[suppress]]\nrule = "*"\nadapter = "{4D36E972-*}"\nreason = "x"\n'
    assert kept_rules(guid, frame) == [0, 1, 2, 3]
    any_named = '[[suppress]]\nrule = "*"\nadapter = "*"\nreason = "x"\n'
    assert kept_rules(any_named, frame) == [3]
    case = '[[suppress]]\nrule = "*"\nadapter = "a1"\nreason = "x"\n'
    assert kept_rules(case, frame) == [0, 1, 2, 3, 4]


def test_trace_glob_matches_the_path_or_the_file_name(frame):
    path = '[[suppress]]\nrule = "*"\ntrace = "lab/rig07/*"\nreason = "x"\n'
    assert kept_rules(path, frame) == [2, 3, 4]
    name = '[[suppress]]\nrule = "*"\ntrace = "run1.txt"\nreason = "x"\n'
    assert kept_rules(name, frame) == [3, 4]
    # backslashes in the trace or the pattern, and a leading ./, do not matter
    windows = '[[suppress]]\nrule = "*"\ntrace = \'lab\\rig09\\*\'\nreason = "x"\n'
    assert kept_rules(windows, frame) == [0, 1, 2, 4]
    member = '[[suppress]]\nrule = "*"\ntrace = "night.zip/*"\nreason = "x"\n'
    assert kept_rules(member, frame) == [0, 1, 2, 3]
    sets = '[[suppress]]\nrule = "*"\ntrace = "lab/rig0[!7]/run?.txt"\nreason = "x"\n'
    assert kept_rules(sets, frame) == [0, 1, 4]
    nothing = '[[suppress]]\nrule = "*"\ntrace = "rig07"\nreason = "x"\n'
    assert kept_rules(nothing, frame) == [0, 1, 2, 3, 4]


def test_every_key_of_an_entry_must_match(frame):
    entry = """[[suppress]]
rule = "halt-*"
adapter = "A1"
trace = "*/rig07/*"
from = "2025-06-06T12:00:01Z"
reason = "all of them"
"""
    assert kept_rules(entry, frame) == [0, 2, 3, 4]


def test_suppressed_findings_carry_reason_and_entry_and_unused_entries_are_listed(frame):
    loaded = parse(
        """\
[[suppress]]
rule = "halt-radio-left-on"
adapter = "A1"
reason = "first"

[[suppress]]
rule = "halt-*"
adapter = "A1"
reason = "second, overlapping"

[[suppress]]
rule = "radio-on-before-initialize"
adapter = "A1"
reason = "never matches"
"""
    )
    kept, suppressed, unused = loaded.apply(frame)
    assert kept.schema == frame.schema and kept.get_column("seq").to_list() == [2, 3, 4]
    assert suppressed.schema == pl.Schema(SUPPRESSED_SCHEMA)
    assert suppressed.select("seq", "reason", "suppression").rows() == [
        (0, "first", "s.toml:1"),
        (1, "second, overlapping", "s.toml:6"),
    ]
    # the second entry also matched finding 0: it counts as used
    assert [e.origin for e in unused] == ["s.toml:11"]


def test_nothing_to_apply_or_nothing_to_match():
    empty = Suppressions()
    frame = findings([("halt-radio-left-on", "A1", "t.txt", 0)])
    kept, suppressed, unused = empty.apply(frame)
    assert kept.equals(frame) and suppressed.is_empty() and unused == ()
    loaded = parse('[[suppress]]\nrule = "halt-*"\nreason = "x"\n')
    kept, suppressed, unused = loaded.apply(pl.DataFrame(schema=FINDING_SCHEMA))
    assert kept.is_empty() and suppressed.is_empty() and len(unused) == 1


def test_expired_entries_are_not_applied_and_are_reported():
    text = """\
[[suppress]]
rule = "halt-radio-left-on"
expires = 2025-06-30
reason = "until the 23.40 firmware"
"""
    frame = findings([("halt-radio-left-on", "A1", "t.txt", 0)])
    on_the_day = parse(text, today=dt.date(2025, 6, 30))
    assert on_the_day.expired == () and on_the_day.apply(frame).kept.is_empty()
    after = parse(text, today=dt.date(2025, 7, 1))
    assert after.entries == () and [e.origin for e in after.expired] == ["s.toml:1"]
    kept, _, unused = after.apply(frame)
    assert kept.height == 1 and unused == ()
    assert after.expired[0].to_dict()["expires"] == "2025-06-30"


def test_entries_for_rules_not_evaluated_are_left_out():
    loaded = parse(
        '[[suppress]]\nrule = "halt-*"\nreason = "a"\n\n'
        '[[suppress]]\nrule = "radio-on-before-initialize"\nreason = "b"\n'
    )
    narrowed = loaded.for_rules(["radio-on-before-initialize"])
    assert [e.reason for e in narrowed.entries] == ["b"]


# --- globs --------------------------------------------------------------------------------


def test_glob_errors_name_the_column():
    for pattern, column in (("lab/[abc", 5), ("[z-a]", 2), ("x[", 2)):
        with pytest.raises(GlobError) as info:
            glob_regex(pattern)
        assert info.value.column == column
    with pytest.raises(GlobError):
        glob_regex("")


@given(
    pattern=st.lists(
        st.sampled_from(
            [
                "a",
                "b",
                "-",
                ".",
                "/",
                " ",
                "\\",
                "(",
                "+",
                "$",
                "é",
                "*",
                "?",
                "[ab]",
                "[!a]",
                "[a-c]",
                "[]a]",
                "[-a]",
                "[a-]",
                "[.]",
            ]
        ),
        max_size=6,
    ).map("".join),
    names=st.lists(st.text(alphabet="ab-./ \\(+$éc]x", max_size=6), min_size=1, max_size=8),
)
def test_globs_match_as_fnmatch_does(pattern, names):
    if not pattern:
        return
    got = pl.Series(names, dtype=pl.String).str.contains(glob_regex(pattern)).to_list()
    assert got == [fnmatch.fnmatchcase(n, pattern) for n in names]


# --- the pipeline and the command line ----------------------------------------------------


def _sample_traces() -> list[Path]:
    return sorted(SAMPLES.glob("*.txt"))


@pytest.fixture(scope="module")
def unsuppressed() -> pl.DataFrame:
    return Auditor.load(map_paths=[NORTHWIND_MAP]).audit(_sample_traces()).findings


def test_pipeline_moves_matching_findings_out_of_the_findings_table(unsuppressed, tmp_path):
    named = unsuppressed.filter(pl.col("adapter").is_not_null() & pl.col("ts").is_not_null())
    assert named.height >= 1, "the samples should produce findings"
    target = named.row(0, named=True)
    name = Path(target["trace"]).name
    stamp = format_time(unsuppressed.head(1).select(pl.col("ts").dt.epoch("ns")).item())
    path = tmp_path / "lab.suppress.toml"
    path.write_text(
        f"""\
[[suppress]]
rule = "{target["rule"]}"
adapter = {json.dumps(target["adapter"])}
trace = "{name}"
from = "{stamp}"
until = "{stamp}"
reason = "accepted for the test"

[[suppress]]
rule = "{target["rule"]}"
trace = "no-such-trace-*.txt"
reason = "stale"
""",
        encoding="utf-8",
    )
    result = Auditor.load(map_paths=[NORTHWIND_MAP], suppress_paths=[path]).audit(_sample_traces())
    expected = unsuppressed.filter(
        (pl.col("rule") == target["rule"])
        & (pl.col("adapter") == target["adapter"])
        & pl.col("trace").str.ends_with(name)
        & (pl.col("ts") == target["ts"])
    )
    assert result.suppressed.height == expected.height >= 1
    assert result.findings.height == unsuppressed.height - expected.height
    assert set(result.suppressed.get_column("suppression")) == {f"{path}:1"}
    assert set(result.suppressed.get_column("reason")) == {"accepted for the test"}
    assert [e.origin for e in result.unused_suppressions] == [f"{path}:9"]
    # the suppressed and the kept findings are the unsuppressed run, split
    merged = pl.concat([result.findings, result.suppressed.drop("reason", "suppression")])
    assert merged.sort("trace", "seq", "rule").equals(unsuppressed.sort("trace", "seq", "rule"))


def test_a_bad_suppressions_file_is_a_config_error_naming_it(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[[suppress]]\nrule = "no-such-rule"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Auditor.load(suppress_paths=[path])
    assert [(p.path, p.line) for p in info.value.problems] == [(str(path), 1), (str(path), 2)]


def test_rule_ids_are_checked_against_every_loaded_rule_not_only_the_selected(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[[suppress]]\nrule = "halt-without-disconnect"\nreason = "x"\n')
    auditor = Auditor.load(select=["halt-radio-left-on"], suppress_paths=[path])
    assert auditor.suppressions.entries == ()  # not evaluated: neither applied nor unused


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_exit_code_drops_when_the_only_errors_are_suppressed(tmp_path):
    trace = SAMPLES / "proseware-radio-left-on.wpp.txt"
    before = cli("audit", trace, "--format", "json")
    assert before.returncode == 1, before.stderr
    doc = json.loads(before.stdout)
    errors = sorted({f["rule"] for f in doc["findings"] if f["severity"] == "error"})
    assert errors
    path = tmp_path / "known.toml"
    path.write_text(
        "".join(
            f'[[suppress]]\nrule = "{rule}"\ntrace = "proseware-*"\nreason = "known: {rule}"\n\n'
            for rule in errors
        ),
        encoding="utf-8",
    )
    after = cli("audit", trace, "--format", "json", "--suppress", path)
    assert after.returncode == 0, after.stderr
    out = json.loads(after.stdout)
    assert not [f for f in out["findings"] if f["severity"] == "error"]
    assert len(out["suppressed"]) == sum(f["severity"] == "error" for f in doc["findings"])
    assert out["unused_suppressions"] == [] and "warning" not in after.stderr
    # warnings still gate when asked for
    warnings = [f for f in doc["findings"] if f["severity"] == "warning"]
    gated = cli("audit", trace, "--suppress", path, "--fail-on", "warning", "--format", "json")
    assert gated.returncode == (1 if warnings else 0)


def test_cli_reports_bad_suppressions_with_file_and_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[suppress]]\nrule = "halt-*"\ncolour = "red"\n', encoding="utf-8")
    done = cli("audit", SAMPLES / "proseware-radio-left-on.wpp.txt", "--suppress", path)
    assert done.returncode == 2
    assert f"{path}:1: missing reason" in done.stderr
    assert f"{path}:3:1: unknown key 'colour'" in done.stderr
