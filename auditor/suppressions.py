"""Suppressions files: known findings a team has accepted, each with its reason.

A driver team or a test lab accepts some findings (a firmware bug tracked elsewhere, a
lab rig that yanks the adapter on purpose) without wanting to hide the next, new one.
A suppressions file lists those findings narrowly, and every entry says why::

    [[suppress]]
    rule = "halt-radio-left-on"                  # a rule id, or a glob of ids
    adapter = "{4D36E972-*}"                     # optional: exact name or glob
    trace = "lab-*/rig07-*.txt"                  # optional: glob over the trace path or file name
    from = "2025-06-06T12:00:00Z"                # optional, inclusive (ISO 8601, UTC unless an offset)
    until = "2025-06-06T12:30:00+02:00"          # optional, inclusive
    expires = 2025-09-30                         # optional: no longer applied after that day
    reason = "FW-1234: firmware keeps the RF on through halt; fix in 23.40"

A finding matching any entry is *suppressed*: it leaves the findings table (so it no
longer decides exit codes, JUnit failures or SARIF levels) and goes to a ``suppressed``
table with the entry's reason and ``file:line``. An entry that matched no finding in the
run is *unused*, and reported, so the file does not fill up with entries for bugs long
fixed. Matching is columnar: one polars expression per entry over the findings frame.

Globs are shell-style and case-sensitive: ``*`` any run of characters (``/`` included),
``?`` one character, ``[abc]`` / ``[a-z]`` / ``[!abc]`` a set. Mistakes (unknown keys, a
missing reason, a bad glob or time, a rule id the rule set does not have) are all
collected with their file, line and column into one :class:`ConfigError`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from auditor.findings import FINDING_SCHEMA
from auditor.problems import ConfigError, Problem, key_line, load_toml, table_lines

TABLE = "suppress"
KEYS = ("rule", "adapter", "trace", "from", "until", "expires", "reason")
REQUIRED = ("rule", "reason")

# The findings columns plus why each one was suppressed and by which entry (file:line).
SUPPRESSED_SCHEMA: dict[str, pl.DataType] = {
    **FINDING_SCHEMA,
    "reason": pl.String(),
    "suppression": pl.String(),
}

_GLOB_META = frozenset("*?[")
_NS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ISO = re.compile(
    r"""^(?P<date>\d{4}-\d{2}-\d{2})
        (?:[T ](?P<clock>\d{2}:\d{2}(?::\d{2})?)(?:[.,](?P<fraction>\d+))?)?
        (?P<offset>Z|z|[+-]\d{2}(?::?\d{2})?)?$""",
    re.VERBOSE,
)


class GlobError(ValueError):
    """A glob pattern that cannot be matched; ``column`` is 1-based within the pattern."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


def _char(c: str) -> str:
    """One literal character as a regex atom that polars' (Rust) engine reads unambiguously."""
    return c if c.isalnum() or c == "_" else f"\\x{{{ord(c):X}}}"


def glob_regex(pattern: str) -> str:
    """A shell-style glob as an anchored regex for ``polars.Expr.str.contains``."""
    if not pattern:
        raise GlobError("empty pattern")
    out = ["(?s)^"]
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            if out[-1] != ".*":
                out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            start = i - 1
            j = i
            negate = j < n and pattern[j] in "!^"
            if negate:
                j += 1
            first = j
            if j < n and pattern[j] == "]":  # a leading ']' is a member, as in fnmatch
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                raise GlobError("'[' without a closing ']'", start + 1)
            members, k = [], first
            while k < j:
                if k + 2 < j and pattern[k + 1] == "-":
                    lo, hi = pattern[k], pattern[k + 2]
                    if lo > hi:
                        raise GlobError(f"range {lo}-{hi} is reversed", k + 1)
                    members.append(f"{_char(lo)}-{_char(hi)}")
                    k += 3
                else:
                    members.append(_char(pattern[k]))
                    k += 1
            out.append("[" + ("^" if negate else "") + "".join(members) + "]")
            i = j + 1
        else:
            out.append(_char(c))
    out.append("$")
    return "".join(out)


def is_glob(pattern: str) -> bool:
    return any(c in _GLOB_META for c in pattern)


def _matches(column: pl.Expr, pattern: str) -> pl.Expr:
    """``column`` equals ``pattern``, or matches it as a glob; null never matches."""
    if not is_glob(pattern):
        return column == pl.lit(pattern, dtype=pl.String)
    return column.str.contains(glob_regex(pattern))


def _normal_path(path: pl.Expr | str) -> Any:
    """Forward slashes, no leading ``./``: ``.\\lab\\x.txt`` and ``lab/x.txt`` compare equal."""
    if isinstance(path, str):
        text = path.replace("\\", "/")
        while text.startswith("./"):
            text = text[2:]
        return text
    return path.str.replace_all("\\", "/", literal=True).str.replace(r"^(?:\./)+", "")


def parse_time(value: object, *, end: bool = False) -> int:
    """An ISO 8601 time (text or TOML datetime/date) as nanoseconds since the epoch, UTC.

    No offset means UTC. Up to nine fractional digits are kept. A bare date is the
    start of that day, or with ``end`` its last nanosecond, so ``until = 2025-06-06``
    includes the whole day.
    """
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        delta = moment - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1000
    if isinstance(value, date):
        start = parse_time(datetime.combine(value, time(0), tzinfo=UTC))
        return start + 86_400 * _NS - 1 if end else start
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 time such as '2025-06-06T12:00:00Z'")
    found = _ISO.match(value.strip())
    if not found:
        raise ValueError(f"{value!r} is not an ISO 8601 time such as '2025-06-06T12:00:00Z'")
    if found["clock"] is None:
        if found["offset"]:
            raise ValueError(f"{value!r}: a date alone takes no offset")
        try:
            return parse_time(date.fromisoformat(found["date"]), end=end)
        except ValueError as exc:
            raise ValueError(f"{value!r}: {exc}") from None
    fraction = found["fraction"] or ""
    if len(fraction) > 9:
        raise ValueError(f"{value!r}: at most nine fractional digits (nanoseconds)")
    offset = found["offset"] or "Z"
    if offset in ("Z", "z"):
        offset = "+00:00"
    try:
        moment = datetime.fromisoformat(f"{found['date']}T{found['clock']}{offset}")
    except ValueError as exc:
        raise ValueError(f"{value!r}: {exc}") from None
    return parse_time(moment) + int(fraction.ljust(9, "0") or 0)


def format_time(ns: int | None) -> str | None:
    """Nanoseconds since the epoch as ISO 8601 UTC, as the JSON report writes times."""
    if ns is None:
        return None
    seconds, rest = divmod(ns, _NS)
    moment = _EPOCH + timedelta(seconds=seconds)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if rest:
        text += "." + f"{rest:09d}".rstrip("0")
    return text + "Z"


@dataclass(frozen=True)
class Suppression:
    """One ``[[suppress]]`` entry. Absent optional keys match everything."""

    rule: str
    reason: str
    path: str  # the file as given
    line: int | None  # of its [[suppress]] header
    adapter: str | None = None
    trace: str | None = None
    start: int | None = None  # "from": ns since the epoch, UTC, inclusive
    end: int | None = None  # "until": ns since the epoch, UTC, inclusive
    expires: date | None = None

    @property
    def origin(self) -> str:
        """``file:line``, how reports name the entry."""
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def condition(self) -> pl.Expr:
        """True for the findings this entry matches (null-safe: false, never null)."""
        cond = _matches(pl.col("rule"), self.rule)
        if self.adapter is not None:
            cond = cond & _matches(pl.col("adapter"), self.adapter)
        if self.trace is not None:
            pattern = _normal_path(self.trace)
            path = _normal_path(pl.col("trace"))
            name = path.str.replace(r"^.*/", "")
            cond = cond & (_matches(path, pattern) | _matches(name, pattern))
        if self.start is not None or self.end is not None:
            ns = pl.col("ts").dt.epoch("ns")
            if self.start is not None:
                cond = cond & (ns >= self.start)
            if self.end is not None:
                cond = cond & (ns <= self.end)
        return cond.fill_null(False)

    def expired(self, today: date) -> bool:
        return self.expires is not None and today > self.expires

    def to_dict(self) -> dict[str, Any]:
        """The entry as reports list it (``from``/``until`` normalised to UTC)."""
        return {
            "suppression": self.origin,
            "rule": self.rule,
            "adapter": self.adapter,
            "trace": self.trace,
            "from": format_time(self.start),
            "until": format_time(self.end),
            "expires": None if self.expires is None else self.expires.isoformat(),
            "reason": self.reason,
        }

    def describe(self) -> str:
        """One line for a terminal: what it matches, then its reason."""
        parts = [f"rule {self.rule}"]
        if self.adapter is not None:
            parts.append(f"adapter {self.adapter}")
        if self.trace is not None:
            parts.append(f"trace {self.trace}")
        if self.start is not None or self.end is not None:
            parts.append(
                f"from {format_time(self.start) or '…'} until {format_time(self.end) or '…'}"
            )
        if self.expires is not None:
            parts.append(f"expires {self.expires.isoformat()}")
        return ", ".join(parts) + f" ({self.reason})"


class Applied(NamedTuple):
    kept: pl.DataFrame  # the findings no entry matches
    suppressed: pl.DataFrame  # SUPPRESSED_SCHEMA: the others, with reason and suppression
    unused: tuple[Suppression, ...]  # entries that matched no finding


def empty_suppressed() -> pl.DataFrame:
    return pl.DataFrame(schema=SUPPRESSED_SCHEMA)


@dataclass(frozen=True)
class Suppressions:
    """The entries of one run: those in force, and those past their ``expires`` date."""

    entries: tuple[Suppression, ...] = ()
    expired: tuple[Suppression, ...] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.entries or self.expired)

    def for_rules(self, rule_ids: Iterable[str]) -> Suppressions:
        """Only the entries that can match one of ``rule_ids`` (the rules this run evaluates).

        An entry for a rule left out by ``--select``/``--ignore`` could not match, and is
        not "unused" either: the file stays valid for every selection.
        """
        if not self.entries:
            return self
        frame = pl.DataFrame({"rule": list(rule_ids)}, schema={"rule": pl.String})
        hits = frame.select(
            [
                _matches(pl.col("rule"), e.rule).any().alias(str(k))
                for k, e in enumerate(self.entries)
            ]
        ).row(0)
        kept = tuple(e for e, hit in zip(self.entries, hits, strict=True) if hit)
        return Suppressions(kept, self.expired)

    def apply(self, findings: pl.DataFrame) -> Applied:
        """Split ``findings`` into kept and suppressed; list the entries that matched nothing.

        One boolean column per entry, evaluated together; a finding several entries
        match is credited to the first (its reason is shown), and each of those entries
        counts as used.
        """
        if not self.entries or findings.is_empty():
            return Applied(findings, empty_suppressed(), self.entries)
        flags = [f"__suppress_{k}" for k in range(len(self.entries))]
        marked = findings.with_columns(
            [e.condition().alias(flag) for e, flag in zip(self.entries, flags, strict=True)]
        )
        used = marked.select([pl.col(flag).any() for flag in flags]).row(0)
        which = pl.coalesce(
            [pl.when(pl.col(flag)).then(pl.lit(k, dtype=pl.UInt32)) for k, flag in enumerate(flags)]
        ).alias("__suppression")
        marked = marked.with_columns(which).drop(flags)
        kept = marked.filter(pl.col("__suppression").is_null()).drop("__suppression")
        labels = pl.DataFrame(
            {
                "__suppression": list(range(len(self.entries))),
                "reason": [e.reason for e in self.entries],
                "suppression": [e.origin for e in self.entries],
            },
            schema={"__suppression": pl.UInt32, "reason": pl.String, "suppression": pl.String},
        )
        suppressed = (
            marked.filter(pl.col("__suppression").is_not_null())
            .join(labels, on="__suppression", how="left", maintain_order="left")
            .drop("__suppression")
        )
        unused = tuple(e for e, hit in zip(self.entries, used, strict=True) if not hit)
        return Applied(kept, suppressed, unused)


# --- loading --------------------------------------------------------------------------------


def _position(text: str, line: int | None, key: str, *, value: bool) -> int | None:
    """1-based column of ``key`` (or of its value) on ``line``."""
    if line is None:
        return None
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return None
    found = re.match(r"^(\s*)" + re.escape(key) + r"(\s*=\s*)?", lines[line - 1])
    if not found:
        return None
    if value and found.group(2):
        return found.end() + 1
    return len(found.group(1)) + 1


def parse_suppressions(
    text: str,
    path: str,
    *,
    rule_ids: Iterable[str],
    today: date | None = None,
) -> Suppressions:
    """Parse one suppressions file; every mistake becomes a Problem of one ConfigError."""
    today = today or date.today()
    known = sorted(set(rule_ids))
    known_series = pl.Series("rule", known, dtype=pl.String)
    problems: list[Problem] = []
    doc = load_toml(text, path)
    for key in sorted(set(doc) - {TABLE}):
        line = key_line(text, 1, key)
        problems.append(
            Problem(
                path,
                line,
                _position(text, line, key, value=False),
                f"unknown top-level key {key!r} (entries are [[{TABLE}]] tables)",
            )
        )
    raw_entries = doc.get(TABLE, [])
    if not isinstance(raw_entries, list):
        raise ConfigError(
            [
                *problems,
                Problem(path, None, None, f"'{TABLE}' must be an array of [[{TABLE}]] tables"),
            ]
        )
    headers = table_lines(text, TABLE)
    active: list[Suppression] = []
    expired: list[Suppression] = []
    for index, raw in enumerate(raw_entries):
        start = headers[index] if index < len(headers) else None
        before = len(problems)

        def problem(
            key: str | None,
            message: str,
            *,
            value: bool = True,
            inside: int | None = None,
            start: int | None = start,
        ) -> None:
            line = key_line(text, start, key) if key else start
            col = _position(text, line, key, value=value) if key else None
            if col is not None and inside is not None:
                col += inside  # a column within a quoted value: past the opening quote
            problems.append(Problem(path, line, col, message))

        if not isinstance(raw, dict):
            problem(None, f"[[{TABLE}]] must be a table")
            continue
        for key in sorted(set(raw) - set(KEYS)):
            problem(
                key,
                f"unknown key {key!r} (expected one of {', '.join(KEYS)})",
                value=False,
            )
        for key in REQUIRED:
            if key not in raw:
                what = "why the finding is accepted" if key == "reason" else "a rule id or glob"
                problem(None, f'missing {key} = "..." ({what})')
        for key in ("rule", "adapter", "trace", "reason"):
            if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
                problem(key, f"{key} must be a non-empty string")
        globs: dict[str, str] = {}
        for key in ("rule", "adapter", "trace"):
            pattern = raw.get(key)
            if not isinstance(pattern, str) or not pattern.strip():
                continue
            try:
                glob_regex(pattern)
            except GlobError as exc:
                problem(key, f"{key} {pattern!r}: bad glob: {exc.message}", inside=exc.column)
                continue
            globs[key] = pattern
        rule = globs.get("rule")
        if rule is not None:
            if not is_glob(rule):
                if rule not in known:
                    hint = difflib.get_close_matches(rule, known, n=1)
                    extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                    problem("rule", f"unknown rule id {rule!r}{extra}")
            elif not known_series.str.contains(glob_regex(rule)).any():
                problem("rule", f"rule pattern {rule!r} matches no rule id")
        bounds: dict[str, int] = {}
        for key in ("from", "until"):
            if key in raw:
                try:
                    bounds[key] = parse_time(raw[key], end=key == "until")
                except ValueError as exc:
                    problem(key, f"{key}: {exc}")
        if "from" in bounds and "until" in bounds and bounds["from"] > bounds["until"]:
            problem("until", "until is before from: the range is empty")
        expires: date | None = None
        if "expires" in raw:
            value = raw["expires"]
            if isinstance(value, datetime) or not isinstance(value, (date, str)):
                problem("expires", "expires must be a date such as 2025-09-30")
            elif isinstance(value, str):
                try:
                    expires = date.fromisoformat(value.strip())
                except ValueError:
                    problem("expires", f"expires {value!r} is not a date such as 2025-09-30")
            else:
                expires = value
        if len(problems) > before:
            continue
        entry = Suppression(
            rule=raw["rule"],
            reason=raw["reason"].strip(),
            path=path,
            line=start,
            adapter=raw.get("adapter"),
            trace=raw.get("trace"),
            start=bounds.get("from"),
            end=bounds.get("until"),
            expires=expires,
        )
        (expired if entry.expired(today) else active).append(entry)
    if problems:
        raise ConfigError(problems)
    return Suppressions(tuple(active), tuple(expired))


def load_suppressions(
    paths: Iterable[str | Path],
    *,
    rule_ids: Iterable[str],
    today: date | None = None,
) -> Suppressions:
    """Read suppressions files in order; the mistakes of all of them in one ConfigError."""
    ids = list(rule_ids)
    problems: list[Problem] = []
    active: list[Suppression] = []
    expired: list[Suppression] = []
    for given in paths:
        path = str(given)
        try:
            text = Path(given).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(path, None, None, f"cannot read suppressions file: {exc}"))
            continue
        try:
            loaded = parse_suppressions(text, path, rule_ids=ids, today=today)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        active.extend(loaded.entries)
        expired.extend(loaded.expired)
    if problems:
        raise ConfigError(problems)
    return Suppressions(tuple(active), tuple(expired))
