"""Event maps: TOML files that turn raw trace events into lifecycle kinds (pinned format).

A map is data, so a driver team describes its own WPP messages without touching code.
Regexes run in polars' Rust engine (linear time), so neither a hostile pattern nor a
hostile line can hang an audit. User maps are tried before the built-in ones; within
the whole ordered list the first matching entry wins.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import polars as pl

from auditor.prefilter import escape_literal, field_piece, required_literals
from auditor.problems import ConfigError, Problem, key_line, load_toml, table_lines
from auditor.vocabulary import KIND_VALUES, MAPPABLE, Kind
from parsers.parallel import ordered_map
from parsers.query import collect

_KIND_NAME = re.compile(r"^[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)*$")
_GROUP_NAME = re.compile(r"\(\?P?<([A-Za-z_]\w*)>")
_ENTRY_KEYS = {"kind", "message", "provider", "event", "event_id", "value", "values"}


@dataclass(frozen=True)
class MapEntry:
    kind: str
    origin: str  # "file:line" of the [[event]] block, for messages
    message: str | None = None
    provider: str | None = None
    event: str | None = None
    event_id: int | None = None
    value: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    groups: frozenset[str] = frozenset()
    adapter_pattern: str | None = None  # the map's default, for entries without a group

    @functools.cached_property
    def literals(self) -> frozenset[str] | None:
        """Literals of which every match of the message pattern holds one (None: unknown).

        Worked out once per entry: the pre-filter and classification both ask for them.
        """
        return required_literals(self.message) if self.message is not None else None

    def condition(self) -> pl.Expr:
        """True where this entry matches a canonical event."""
        parts: list[pl.Expr] = []
        if self.event_id is not None:
            parts.append(pl.col("event_id") == self.event_id)
        for column, pattern in (
            ("provider", self.provider),
            ("event", self.event),
            ("message", self.message),
        ):
            if pattern is not None:
                parts.append(pl.col(column).fill_null("").str.contains(pattern))
        if not parts:
            return pl.lit(True)
        out = parts[0]
        for part in parts[1:]:
            out = out & part
        return out.fill_null(False)

    def value_expr(self) -> pl.Expr | None:
        if self.value is not None:
            return pl.lit(self.value)
        if "value" not in self.groups or self.message is None:
            return None
        raw = pl.col("message").str.extract_groups(self.message).struct.field("value")
        if self.values:
            raw = raw.replace(self.values)
        if self.kind in KIND_VALUES:
            allowed = sorted(KIND_VALUES[Kind(self.kind)])
            lowered = raw.str.to_lowercase()
            raw = pl.when(lowered.is_in(allowed)).then(lowered).otherwise(None)
        return raw

    def adapter_expr(self) -> pl.Expr | None:
        pattern = self.message if "adapter" in self.groups else self.adapter_pattern
        if pattern is None:
            return None
        return pl.col("message").str.extract_groups(pattern).struct.field("adapter")


@dataclass(frozen=True)
class EventMap:
    name: str
    description: str
    path: str
    entries: tuple[MapEntry, ...]
    kinds: frozenset[str] = frozenset()  # kinds this map adds to the vocabulary


def loosen(pattern: str) -> str:
    """A pattern that matches wherever ``pattern`` matches inside a longer text.

    Named groups become plain groups (names may repeat across entries) and start
    anchors are dropped, which can only widen the match: the result is a sound
    necessary condition for the pre-filter, never a classifier.
    """
    out: list[str] = []
    i, n, in_class = 0, len(pattern), 0
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            if not in_class and pattern[i + 1] == "A":
                i += 2
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "[":
                in_class += 1
            elif ch == "]":
                in_class -= 1
            out.append(ch)
        elif ch == "[":
            in_class = 1
            out.append(ch)
            # a ']' right after '[' or '[^' is a literal member
            if pattern[i + 1 : i + 2] == "^":
                out.append("^")
                i += 1
            if pattern[i + 1 : i + 2] == "]":
                out.append("]")
                i += 1
        elif ch == "^":
            pass
        elif ch == "(" and (m := _GROUP_NAME.match(pattern, i)):
            out.append("(?:")
            i = m.end()
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _regex_problem(pattern: str) -> str | None:
    try:
        pl.select(pl.lit("").str.contains(pattern))
    except pl.exceptions.PolarsError as exc:
        text = str(exc).strip().splitlines()
        return text[-1] if text else "invalid regular expression"
    return None


def _regex_problems(patterns: list[str]) -> dict[str, str]:
    """The problem of each invalid pattern. All are compiled in one query first (each
    query costs more than compiling a pattern, and a map holds a hundred); only when
    that fails is each tried alone, to tell which."""
    unique = list(dict.fromkeys(patterns))
    if not unique:
        return {}
    try:
        pl.select(pl.lit("").str.contains(p).alias(str(i)) for i, p in enumerate(unique))
    except pl.exceptions.PolarsError:
        return {p: err for p in unique if (err := _regex_problem(p))}
    return {}


def _pattern_candidates(doc: dict[str, object]) -> list[str]:
    """Every string of a map document that is read as a regular expression."""
    found: list[str] = []
    header = doc.get("map")
    if isinstance(header, dict) and isinstance(header.get("adapter"), str):
        found.append(header["adapter"])
    entries = doc.get("event")
    for raw in entries if isinstance(entries, list) else []:
        if isinstance(raw, dict):
            found += [
                raw[k] for k in ("message", "provider", "event") if isinstance(raw.get(k), str)
            ]
    return found


def parse_map(text: str, path: str, extra_kinds: frozenset[str] = frozenset()) -> EventMap:
    """Parse one map file's text; every problem in it is reported at once."""
    problems: list[Problem] = []
    doc = load_toml(text, path)
    invalid = _regex_problems(_pattern_candidates(doc))

    header = doc.get("map", {})
    if not isinstance(header, dict):
        problems.append(Problem(path, None, None, "[map] must be a table"))
        header = {}
    declared = header.get("kinds", [])
    if not isinstance(declared, list) or not all(isinstance(k, str) for k in declared):
        problems.append(Problem(path, None, None, "[map] kinds must be a list of strings"))
        declared = []
    for kind in declared:
        if not _KIND_NAME.match(kind):
            problems.append(Problem(path, None, None, f"[map] kinds: {kind!r} is not a kind name"))
    known = MAPPABLE | extra_kinds | frozenset(declared)
    for key in sorted(set(header) - {"name", "description", "kinds", "adapter"}):
        problems.append(Problem(path, None, None, f"[map] has unknown key {key!r}"))
    adapter_pattern = header.get("adapter")
    if adapter_pattern is not None:
        if not isinstance(adapter_pattern, str):
            problems.append(Problem(path, None, None, "[map] adapter must be a regular expression"))
            adapter_pattern = None
        elif err := invalid.get(adapter_pattern):
            problems.append(
                Problem(path, None, None, f"[map] adapter: invalid regular expression: {err}")
            )
            adapter_pattern = None
        elif "adapter" not in _GROUP_NAME.findall(adapter_pattern):
            problems.append(
                Problem(path, None, None, "[map] adapter needs a (?P<adapter>...) group")
            )
            adapter_pattern = None

    raw_entries = doc.get("event", [])
    if not isinstance(raw_entries, list):
        raise ConfigError(
            [Problem(path, None, None, "'event' must be an array of [[event]] tables")]
        )
    headers = table_lines(text, "event")
    entries: list[MapEntry] = []
    for index, raw in enumerate(raw_entries):
        start = headers[index] if index < len(headers) else None

        def problem(key: str | None, message: str, start: int | None = start) -> None:
            line = key_line(text, start, key) if key else start
            problems.append(Problem(path, line, None, message))

        if not isinstance(raw, dict):
            problem(None, "[[event]] must be a table")
            continue
        for key in sorted(set(raw) - _ENTRY_KEYS):
            problem(key, f"unknown key {key!r} (expected one of {', '.join(sorted(_ENTRY_KEYS))})")
        kind = raw.get("kind")
        if not isinstance(kind, str):
            problem(None, '[[event]] needs kind = "..."')
            continue
        if kind not in known:
            problem(
                "kind", f"unknown kind {kind!r}: use a vocabulary kind or declare it in [map] kinds"
            )
        patterns: dict[str, str | None] = {}
        for key in ("message", "provider", "event"):
            value = raw.get(key)
            if value is not None and not isinstance(value, str):
                problem(key, f"{key} must be a string (a regular expression)")
                value = None
            if value is not None and (err := invalid.get(value)):
                problem(key, f"invalid regular expression in {key}: {err}")
                value = None
            patterns[key] = value
        event_id = raw.get("event_id")
        if event_id is not None and (
            not isinstance(event_id, int) or isinstance(event_id, bool) or not 0 <= event_id < 65536
        ):
            problem("event_id", "event_id must be an integer from 0 to 65535")
            event_id = None
        value = raw.get("value")
        if value is not None and not isinstance(value, str):
            problem("value", "value must be a string")
            value = None
        values = raw.get("values", {})
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            problem("values", 'values must be a table of strings, e.g. { ON = "on" }')
            values = {}
        groups = frozenset(_GROUP_NAME.findall(patterns["message"] or ""))
        if values and "value" not in groups:
            problem("values", "values needs a (?P<value>...) group in message")
        if value is not None and "value" in groups:
            problem("value", "give either a constant value or a (?P<value>...) group, not both")
        allowed = KIND_VALUES.get(Kind(kind)) if kind in MAPPABLE else None
        if allowed is not None:
            for candidate in [value] if value is not None else list(values.values()):
                if candidate not in allowed:
                    problem(
                        "value" if value is not None else "values",
                        f"{kind} takes values {', '.join(sorted(allowed))}, not {candidate!r}",
                    )
        if not any(patterns.values()) and event_id is None:
            problem(None, "an entry needs at least one of message, provider, event, event_id")
        entries.append(
            MapEntry(
                kind=kind,
                origin=f"{path}:{start}" if start else path,
                message=patterns["message"],
                provider=patterns["provider"],
                event=patterns["event"],
                event_id=event_id,
                value=value,
                values=dict(values),
                groups=groups,
                adapter_pattern=adapter_pattern,
            )
        )
    if problems:
        raise ConfigError(problems)
    return EventMap(
        name=str(header.get("name", Path(path).stem)),
        description=str(header.get("description", "")),
        path=path,
        entries=tuple(entries),
        kinds=frozenset(declared),
    )


# ``--map builtin:NAME`` names an optional map shipped in auditor/data/maps/optional.
BUILTIN_PREFIX = "builtin:"


def optional_maps() -> list[str]:
    """Names of the optional built-in maps (not loaded unless asked for)."""
    folder = resources.files("auditor") / "data" / "maps" / "optional"
    return sorted(
        f.name.removesuffix(".toml") for f in folder.iterdir() if f.name.endswith(".toml")
    )


def is_builtin_ref(path: str | Path) -> bool:
    return str(path).startswith(BUILTIN_PREFIX)


def read_map_text(path: str | Path) -> str:
    """A map file's text, or an optional built-in map's for ``builtin:NAME``."""
    if is_builtin_ref(path):
        name = str(path).removeprefix(BUILTIN_PREFIX)
        if name not in optional_maps():
            known = ", ".join(BUILTIN_PREFIX + n for n in optional_maps())
            raise ConfigError(
                [Problem(str(path), None, None, f"no such built-in map (optional ones: {known})")]
            )
        folder = resources.files("auditor") / "data" / "maps" / "optional"
        return (folder / f"{name}.toml").read_text(encoding="utf-8")
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(str(path), None, None, f"cannot read map: {exc}")]) from None


def load_map(path: str | Path) -> EventMap:
    return parse_map(read_map_text(path), str(path))


def builtin_maps() -> list[EventMap]:
    folder = resources.files("auditor") / "data" / "maps"
    found = sorted((f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)
    return [parse_map(f.read_text(encoding="utf-8"), f"builtin:{f.name}") for f in found]


@dataclass(frozen=True)
class _Searches:
    """The regexes a record that some entry may match holds one of: in its message, and
    in the raw text of its CSV values. None: any record may match (no pre-filter)."""

    message: tuple[str, ...] | None
    fields: tuple[str, ...] | None
    # The message search is for literals only, none holding a line break: a text wrapped
    # onto several lines holds one exactly when one of its lines does.
    per_line: bool = True

    @classmethod
    def of(cls, entries: list[MapEntry]) -> _Searches:
        if any(entry.message is None for entry in entries):
            return cls(None, None)  # an entry on other columns alone: any message may match
        literals: set[str] = set()
        patterns: list[str] = []
        for entry in entries:
            if entry.literals:
                literals |= entry.literals
            else:
                patterns.append(loosen(entry.message))  # type: ignore[arg-type]
        message: list[str] = []
        if literals:
            message.append(_literal_search(literals))
        if patterns:
            combined = "|".join(f"(?:{p})" for p in dict.fromkeys(patterns))
            if _regex_problem(combined):
                return cls(None, None)
            message.append(combined)
        per_line = not patterns and not any("\n" in literal for literal in literals)
        return cls(tuple(message), _field_search(entries), per_line)


def _field_search(entries: list[MapEntry]) -> tuple[str, ...] | None:
    pieces: set[str] = set()
    for entry in entries:
        cut = {field_piece(literal) for literal in entry.literals or ()}
        if not cut or None in cut:
            return None
        pieces |= cut  # type: ignore[arg-type]
    return (_literal_search(pieces),) if pieces else ()


def _literal_search(literals: set[str]) -> str:
    return "|".join(escape_literal(x) for x in sorted(literals))


def _holds_any(text: pl.Expr, search: tuple[str, ...] | None) -> pl.Expr:
    if search is None:
        return pl.lit(True)
    if not search:
        return pl.lit(False)
    out = text.str.contains(search[0])
    for pattern in search[1:]:
        out = out | text.str.contains(pattern)
    return out


@dataclass(frozen=True)
class MapSet:
    """The ordered maps of one audit: user maps first, then the built-in ones."""

    maps: tuple[EventMap, ...]

    @classmethod
    def load(
        cls, user_paths: list[str | Path] | tuple[str | Path, ...] = (), *, builtin: bool = True
    ) -> MapSet:
        problems: list[Problem] = []
        user: list[EventMap] = []
        for path in user_paths:
            try:
                user.append(load_map(path))
            except ConfigError as exc:
                problems.extend(exc.problems)
        if problems:
            raise ConfigError(problems)
        return cls(tuple(user) + tuple(builtin_maps() if builtin else ()))

    @property
    def entries(self) -> list[MapEntry]:
        return [entry for m in self.maps for entry in m.entries]

    @property
    def kinds(self) -> frozenset[str]:
        """Every kind these maps can produce, plus the vocabulary."""
        out = set(MAPPABLE) | {Kind.TRACE_END.value}
        for m in self.maps:
            out |= m.kinds
        return frozenset(out)

    def necessary(self, text: pl.Expr, *, has_event_id: bool) -> pl.Expr:
        """Pre-filter for parsers (``parsers.RecordFilter``).

        Entries whose pattern provably contains a literal contribute that literal to one
        fast literal search; the others contribute their loosened pattern (see
        :func:`loosen`). Either way the condition only widens what the maps match.
        """
        return _holds_any(text, self._searches(has_event_id).message)

    def necessary_in_fields(self, fields: pl.Expr, *, has_event_id: bool) -> pl.Expr | None:
        """Pre-filter on raw CSV values (``parsers.RecordFilter``), before they are unquoted.

        Each entry's literals, cut where quoting and the ``, `` between values could
        change them (:func:`field_piece`); None when some entry has no such literal, so
        only the decoded message can be judged.
        """
        search = self._searches(has_event_id).fields
        return None if search is None else _holds_any(fields, search)

    def judged_per_line(self, *, has_event_id: bool) -> bool:
        """Whether wrapped records may be judged line by line (``parsers.RecordFilter``)."""
        return self._searches(has_event_id).per_line

    def _searches(self, has_event_id: bool) -> _Searches:
        return self._searches_by_event_id[has_event_id]

    @functools.cached_property
    def _searches_by_event_id(self) -> dict[bool, _Searches]:
        """Worked out once per map set: parsers ask for them for every chunk. Without
        event ids, the entries that need one can never match."""
        return {
            has: _Searches.of([e for e in self.entries if e.event_id is None or has])
            for has in (False, True)
        }

    def classify(self, events: pl.LazyFrame) -> pl.LazyFrame:
        """Add kind / value / adapter and keep only the events some entry classifies.

        Rows are classified independently, so a big table goes in slices, two at a time
        on worker threads: the intermediate tables stay the size of a slice.
        """
        unclassified = events.with_columns(
            pl.lit(None, pl.String).alias("kind"),
            pl.lit(None, pl.String).alias("value"),
            pl.lit(None, pl.String).alias("adapter"),
        ).filter(pl.lit(False))
        if not self.entries:
            return unclassified
        frame = collect(events)
        if not frame.height:
            # What a sink asks for its schema: the entries' queries are not built for it.
            return unclassified
        if frame.height <= CLASSIFY_SLICE_ROWS:
            return self._classify(frame).lazy()
        slices = (
            frame.slice(start, CLASSIFY_SLICE_ROWS)
            for start in range(0, frame.height, CLASSIFY_SLICE_ROWS)
        )
        return pl.concat(list(ordered_map(self._classify, slices))).lazy()

    def _classify(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Classify each distinct event once when events repeat.

        An entry reads only the condition columns, so events equal in those get the same
        kind, value and adapter. Lifecycle events repeat (the same init or halt text on
        every cycle of a stress run): classifying the distinct ones and joining the result
        back costs a fraction of running every regex on every row. When most rows are
        distinct, the join would cost more than it saves, and every row is classified.
        """
        keys = [c for c in _CONDITION_COLUMNS if c in frame.columns]
        distinct = frame.select(keys).unique()
        if distinct.height > frame.height * DISTINCT_SHARE_TO_JOIN:
            return self._classify_rows(frame)
        return frame.join(
            self._classify_rows(distinct),
            on=keys,
            how="inner",
            nulls_equal=True,
            maintain_order="left",
        )

    def _classify_rows(self, frame: pl.DataFrame) -> pl.DataFrame:
        entries = self.entries
        matched = _first_matching_entry(frame, entries)
        entry = pl.col("__entry")
        kinds = {i: e.kind for i, e in enumerate(entries)}
        constants = {i: e.value for i, e in enumerate(entries) if e.value is not None}
        matched = matched.with_columns(
            entry.replace_strict(kinds, return_dtype=pl.String).alias("kind"),
            entry.replace_strict(constants, default=None, return_dtype=pl.String).alias("__value"),
        )
        return _extract_per_entry(matched, entries).select(
            pl.exclude("__entry", "__value", "__extracted", "__adapter"),
            pl.coalesce("__value", "__extracted").alias("value"),
            pl.col("__adapter")
            .str.strip_chars()
            .str.strip_chars("\"'")  # a quoted name is the name without its quotes
            .alias("adapter"),
        )


# Rows classified at a time (see MapSet.classify).
CLASSIFY_SLICE_ROWS = 1_000_000
# Distinct events are classified alone and joined back when they are at most this share of
# the rows (MapSet._classify). On 50,000 lifecycle events: every row classified, 42 ms;
# 128 distinct ones and the join, 9 ms; all distinct through the join, 56 ms.
DISTINCT_SHARE_TO_JOIN = 0.5

# The event columns a map entry's condition reads (MapEntry.condition).
_CONDITION_COLUMNS = ("provider", "event", "event_id", "message")


def _first_matching_entry(frame: pl.DataFrame, entries: list[MapEntry]) -> pl.DataFrame:
    """The events some entry matches, each with ``__entry``: the first entry that does.

    Most entries' patterns provably contain one of a few literals (the pre-filter's
    analysis). One Aho-Corasick pass finds which of those literals each message holds;
    an entry's full condition then runs only on the rows holding one of its own, picked
    out by position, instead of every pattern on every row. Entries without such a
    literal are tried on every row. Ties go to the lowest entry index, as in an ordered
    when/then chain.
    """
    by_literal: dict[str, list[int]] = {}
    ungated: list[int] = []
    for i, entry in enumerate(entries):
        if not entry.literals:
            ungated.append(i)
            continue
        for literal in entry.literals:
            by_literal.setdefault(literal, []).append(i)
    read = frame.select(c for c in _CONDITION_COLUMNS if c in frame.columns)
    hit_rows: list[pl.Series] = []
    hit_entries: list[int] = []

    def judge(i: int, rows: pl.Series | None) -> None:
        """Keep the rows (all if None) on which entry i's condition holds."""
        subset = read if rows is None else read[rows]
        ok = subset.select(entries[i].condition()).to_series()
        found = pl.int_range(subset.height, dtype=pl.UInt32, eager=True) if rows is None else rows
        found = found.filter(ok)
        if found.len():
            hit_rows.append(found)
            hit_entries.append(i)

    for i in ungated:
        judge(i, None)
    if by_literal:
        literals = sorted(by_literal)
        owners = pl.DataFrame(
            {
                "__literal": [lit for lit in literals for _ in by_literal[lit]],
                "__entry": pl.Series(
                    [i for lit in literals for i in by_literal[lit]], dtype=pl.UInt32
                ),
            }
        )
        # (row, entry) for each literal a row holds, grouped by entry; a row holding two
        # of an entry's literals is judged twice, which changes nothing
        candidates = (
            read.select(
                pl.int_range(pl.len(), dtype=pl.UInt32).alias("__r"),
                pl.col("message").fill_null("").str.extract_many(literals, overlapping=True),
            )
            .explode("message")
            .drop_nulls("message")
            .join(owners, left_on="message", right_on="__literal")
            .select("__r", "__entry")
            .sort("__entry")
        )
        bounds = candidates.get_column("__entry").search_sorted(
            pl.Series(range(len(entries) + 1), dtype=pl.UInt32)
        )
        rows = candidates.get_column("__r")
        for i, (start, end) in enumerate(itertools.pairwise(bounds)):
            if end > start:
                judge(i, rows.slice(start, end - start))
    # Every hit written into one column, highest entry first, so the first entry that
    # matched a row is the one left in it.
    first = pl.repeat(None, frame.height, dtype=pl.UInt32, eager=True).alias("__entry")
    for i, found in sorted(zip(hit_entries, hit_rows, strict=True), key=lambda h: -h[0]):
        first = first.scatter(found, i)
    return frame.with_columns(first).filter(pl.col("__entry").is_not_null())


def _extract_per_entry(matched: pl.DataFrame, entries: list[MapEntry]) -> pl.DataFrame:
    """``__extracted`` (a value group) and ``__adapter``, each regex run on its own rows.

    Extracting groups is the dearest regex work: written as one expression per entry over
    every matched row, it cost (rows x entries) captures. Rows are split by the
    extraction they need (entries sharing a map's adapter pattern share one), each part
    extracts only its own rows from just the message, and the two result columns go
    back in row order beside the untouched table.
    """
    plans: dict[tuple[str | None, str | None], list[int]] = {}
    value_of: dict[str | None, pl.Expr] = {None: pl.lit(None, pl.String)}
    adapter_of: dict[str | None, pl.Expr] = {None: pl.lit(None, pl.String)}
    for i, e in enumerate(entries):
        value = e.value_expr() if e.value is None else None
        value_key = str(i) if value is not None else None
        if value is not None:
            value_of[value_key] = value
        adapter = e.adapter_expr()
        adapter_key = e.message if "adapter" in e.groups else e.adapter_pattern
        if adapter is None:
            adapter_key = None
        elif adapter_key not in adapter_of:
            adapter_of[adapter_key] = adapter
        plans.setdefault((value_key, adapter_key), []).append(i)
    narrow = matched.lazy().select("__entry", "message").with_row_index("__row")
    parts = [
        narrow.filter(pl.col("__entry").is_in(members)).select(
            "__row",
            value_of[value_key].cast(pl.String).alias("__extracted"),
            adapter_of[adapter_key].cast(pl.String).alias("__adapter"),
        )
        for (value_key, adapter_key), members in plans.items()
    ]
    # every matched row belongs to exactly one part: sorted, they line up with the table
    found = collect(pl.concat(parts).sort("__row"))
    return matched.with_columns(found.get_column("__extracted"), found.get_column("__adapter"))
