"""Cheap necessary conditions for map patterns: the literals any match must contain.

Scanning 300 MB of data-path lines with the maps' full patterns (lazy quantifiers,
case-insensitive alternations) costs several passes' worth of time; scanning for a few
plain literals runs at memory speed in Rust's SIMD literal search. Only lines holding
such a literal go on to the real patterns, so the result is exactly the same.

The analysis walks Python's regex parse tree (the map syntax we accept is common to
Python and Rust for everything it looks at). Where it cannot prove a literal, it
returns None and the caller keeps the full pattern for that entry: never unsound.
"""

from __future__ import annotations

import re
from typing import Any

try:  # the parser moved in 3.11; both names stay private API, hence the fallback
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

MIN_LITERAL = 3
_OPS = sre_constants


def _best(candidates: list[frozenset[str]]) -> frozenset[str] | None:
    """Prefer the set whose shortest literal is longest (fewest false hits)."""
    usable = [c for c in candidates if c and min(map(len, c)) >= MIN_LITERAL]
    if not usable:
        return None
    return max(usable, key=lambda c: (min(map(len, c)), -len(c)))


def _required(items: Any, icase: bool) -> frozenset[str] | None:
    candidates: list[frozenset[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            candidates.append(frozenset({"".join(run)}))
            run.clear()

    for op, av in items:
        if op is _OPS.LITERAL and not icase:
            run.append(chr(av))
            continue
        flush()
        if op is _OPS.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            sub_icase = (icase or bool(add_flags & re.IGNORECASE)) and not del_flags & re.IGNORECASE
            found = _required(sub, sub_icase)
            if found:
                candidates.append(found)
        elif op is _OPS.BRANCH:
            union: set[str] = set()
            for alternative in av[1]:
                found = _required(alternative, icase)
                if not found:
                    union = set()
                    break
                union |= found
            if union:
                candidates.append(frozenset(union))
        elif op in (_OPS.MAX_REPEAT, _OPS.MIN_REPEAT, getattr(_OPS, "POSSESSIVE_REPEAT", None)):
            low, _high, sub = av
            if low >= 1:
                found = _required(sub, icase)
                if found:
                    candidates.append(found)
        # IN, ANY, AT, CATEGORY, NOT_LITERAL, GROUPREF...: no literal, the run is broken
    flush()
    return _best(candidates)


def required_literals(pattern: str) -> frozenset[str] | None:
    """Strings of which at least one occurs in every match of ``pattern``, or None."""
    # Rust's (?<name>...) is spelled (?P<name>...) in Python; lookbehinds stay untouched.
    pattern = re.sub(r"(?<!\\)\(\?<(?=[A-Za-z_])", "(?P<", pattern)
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError):
        return None  # Rust-only syntax or too deep: keep the full pattern
    icase = bool(parsed.state.flags & re.IGNORECASE)
    return _required(parsed, icase)


def escape_literal(text: str) -> str:
    """Escape for Rust's regex syntax.

    Any ASCII punctuation may be escaped there except ``<`` and ``>``: ``\\<`` and ``\\>``
    are word-boundary assertions, so a literal ``--->`` must keep its ``>`` bare.
    """
    return "".join(
        "\\" + ch if (ch.isascii() and not ch.isalnum() and ch not in " _<>") else ch for ch in text
    )


def field_piece(literal: str) -> str | None:
    """The longest part of ``literal`` found verbatim in the raw CSV text of any message
    holding it, or None when no part is sure to be.

    A CSV format's message is its values, unquoted (``""`` read as ``"``), stripped of
    padding and joined with ``, ``. Cut at commas and quotes, with the padding around
    each cut stripped, every part of the literal lies inside one value's text, so it is
    in the raw row as written.
    """
    parts = [part.strip(" \t") for part in re.split(r'[,"]', literal)]
    usable = [part for part in parts if part]
    return max(usable, key=len) if usable else None
