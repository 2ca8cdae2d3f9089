"""WPP record layouts: the default tracefmt prefix, and custom TRACE_FORMAT_PREFIX strings.

tracefmt lets a team choose its own prefix (``%2`` source file and line, ``%!FUNC!``,
``%!LEVEL!``, ``%7`` sequence number, ...). Rather than guess, the engineer passes the
same TRACE_FORMAT_PREFIX string they gave tracefmt, and it is translated here into the
record regex: each specifier becomes a named group, literal text matches itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from parsers.timestamps import WPP_TS_PATTERN

_HEX = r"[0-9A-Fa-f]{1,8}"
DEFAULT_PREFIX = "[%9!d!]%8!04X!.%3!04X!::%4!s! [%1!s!]"

# specifier -> (group name, pattern). Groups named like canonical columns are decoded.
_NUMBERED = {
    "1": ("provider", r"[^\]\r\n]*?"),
    "2": ("source", r"[^\s\]]+"),
    "3": ("tid", _HEX),
    "4": ("ts", WPP_TS_PATTERN),
    "5": ("kernel", r"\d+"),
    "6": ("user", r"\d+"),
    "7": ("sequence", r"\d+"),
    "8": ("pid", _HEX),
    "9": ("cpu", r"\d{1,5}"),
}
# One scope of a function name as MSVC spells it: an identifier (a destructor's `~`,
# template brackets), or a quoted pseudo-scope such as `` `anonymous namespace' ``.
_SCOPE = r"(?:`[^'\r\n]*'|[A-Za-z_~][\w~<>]*)"
_NAMED = {
    "FUNC": ("func", _SCOPE + r"(?:::" + _SCOPE + r")*"),
    "LEVEL": ("level", r"[A-Za-z_]\w*|\d+"),
    "FLAGS": ("flags", r"[A-Za-z_]\w*|0x[0-9A-Fa-f]+|\d+"),
    "COMPNAME": ("provider", r"[^\]\s]*"),
    "SUBCOMP": ("subcomponent", r"[^\]\s]*"),
    "FILE": ("file", r"[^\s:\]]+"),
    "LINE": ("srcline", r"\d+"),
}
_TOKEN = re.compile(r"%(?:(?P<num>\d)(?:!(?P<fmt>[^!]*)!)?|!(?P<name>[A-Z]+)!)")

# The default layout, written out by hand to be forgiving: stray spaces, a viewer's
# line-number column before the prefix, a missing component.
_DEFAULT_HEAD = (
    r"^\s*(?:\d{1,9}[\t ]+)?\[(?<cpu>\d{1,5})\]\s*(?<pid>[0-9A-Fa-f]{1,8})\."
    r"(?<tid>[0-9A-Fa-f]{1,8})::\s*(?<ts>" + WPP_TS_PATTERN + r")"
)
# `tracefmt -seq` writes an 8-digit hex sequence number before the component; it is
# taken as one only when a component follows, so a message is never cut.
_DEFAULT_RECORD = (
    _DEFAULT_HEAD
    + r"\s*(?:(?:(?<sequence>[0-9A-Fa-f]{8})\s+)?\[(?<provider>[^\]\r\n]*)\])?"
    + r"(?<message>(?s:.*))$"
)


class PrefixError(ValueError):
    """A TRACE_FORMAT_PREFIX string that cannot be translated."""


@dataclass(frozen=True)
class Layout:
    prefix: str  # polars regex recognising the start of a record
    record: str  # polars regex with named groups, message last
    groups: frozenset[str]

    def python_prefix(self) -> re.Pattern[str]:
        """The prefix for Python's re, used only to sniff the first lines of a file."""
        text = re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", self.prefix)
        text = text.replace(r"\x{200E}", "\u200e").replace(r"\x{200F}", "\u200f")
        return re.compile(text)


DEFAULT_LAYOUT = Layout(
    prefix=_DEFAULT_HEAD,
    record=_DEFAULT_RECORD,
    groups=frozenset({"cpu", "pid", "tid", "ts", "sequence", "provider", "message"}),
)


def _literal(text: str) -> str:
    out = []
    for ch in text:
        if ch.isspace():
            if not out or out[-1] != r"\s*":
                out.append(r"\s*")
        elif ch.isascii() and not ch.isalnum():
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


# Real prefixes are a few dozen characters; a log may declare its own (!wdflogdump), so a
# bound keeps a hostile one from becoming a regex too big to compile.
MAX_PREFIX_CHARS = 256


def layout_from_prefix(prefix: str) -> Layout:
    """Translate a TRACE_FORMAT_PREFIX string; an empty one means tracefmt -noprefix."""
    if prefix == DEFAULT_PREFIX:
        return DEFAULT_LAYOUT
    if len(prefix) > MAX_PREFIX_CHARS:
        raise PrefixError(
            f"the WPP prefix is {len(prefix):,} characters long; at most {MAX_PREFIX_CHARS} are read"
        )
    parts: list[str] = [r"^\s*"]
    groups: set[str] = set()
    pos = 0
    for token in _TOKEN.finditer(prefix):
        parts.append(_literal(prefix[pos : token.start()]))
        pos = token.end()
        if token.group("num"):
            name, pattern = _NUMBERED[token.group("num")]
        else:
            key = token.group("name")
            if key not in _NAMED:
                known = ", ".join(f"%!{k}!" for k in _NAMED)
                raise PrefixError(f"unknown specifier %!{key}! in the WPP prefix (known: {known})")
            name, pattern = _NAMED[key]
        if name in groups:
            parts.append(f"(?:{pattern})")
        else:
            groups.add(name)
            parts.append(f"(?<{name}>{pattern})")
    parts.append(_literal(prefix[pos:]))
    head = "".join(parts)
    if "%" in _TOKEN.sub("", prefix):
        raise PrefixError(f"cannot read the WPP prefix {prefix!r}: a '%' is not a known specifier")
    record = head + r"(?<message>(?s:.*))$"
    try:  # each specifier adds a pattern: many make one too big for the regex engine
        pl.DataFrame({"text": [""]}).select(pl.col("text").str.contains(record))
    except pl.exceptions.ComputeError:
        shown = repr(prefix) if len(prefix) <= 60 else repr(prefix[:60]) + "…"
        raise PrefixError(f"cannot read the WPP prefix {shown}: its pattern is too large") from None
    return Layout(prefix=head, record=record, groups=frozenset(groups | {"message"}))
