"""Draft an event map from the message shapes no map classifies (`maps coverage --emit-map`).

A new driver's trace gives no findings until a map teaches the auditor its messages. The
coverage table already groups the unclassified messages by shape; this turns each frequent
shape into an ``[[event]]`` entry a map author only has to review:

- the regex is anchored on the shape's literal text; the masked parts (numbers, hex,
  GUIDs, MAC addresses) become patterns, and the one after a word like ``Adapter=`` or
  ``Interface:`` becomes the ``adapter`` group;
- the kind is guessed from keywords (halt, initialize, pause, restart, reset, radio,
  connect, disassoc, send, receive, lost ...) and entry/exit markers (``-->``, ``<==``,
  enter, exit, start, complete ...); an on/off or success/failure word becomes the
  ``value`` group of the kinds that take one;
- a shape with no confident guess is written commented out, with its count and an example
  line, so that the file still loads and the author sees what is left to decide.

Every active entry is checked against the example it came from before it is written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from auditor.coverage import EXAMPLE_LIMIT
from auditor.vocabulary import KIND_VALUES, MAPPABLE, Kind

_GUID = r"\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?"
# What each mask of auditor.coverage stood for.
_TOKENS = {
    "<guid>": _GUID,
    "<mac>": r"(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}",
    "<hex>": r"(?:0[xX])?[0-9A-Fa-f]+",
    "<n>": r"-?\d+(?:\.\d+)?",
}
_TOKEN_RE = re.compile("|".join(re.escape(t) for t in _TOKENS))
_META = set("\\.+*?()|[]{}^$")

# "Adapter=NAME", "interface: {GUID}", "ifIndex 12", "Miniport <hex>": the name after it.
_ADAPTER_RE = re.compile(
    r"\b(?i:adapter(?:context|handle|name)?|interface|if_?index|iface|miniport|nic)\b"
    r"\s*(?:[=:#]\s*|(?=<(?:guid|mac|hex|n)>|[\"']))"
    r"(?P<name><guid>|<mac>|<hex>|<n>|\"[^\"\n]*\"|'[^'\n]*'|[A-Za-z_][\w\-{}.]*)"
)
_ON_OFF_RE = re.compile(r"\b(?:on|off|true|false|enabled|disabled)\b", re.IGNORECASE)
_OK_FAIL_RE = re.compile(
    r"\b(?:success|succeeded|successful|ok|failed|failure|fail|error)\b", re.IGNORECASE
)
ON_OFF_VALUES = {
    **{w: "on" for w in ("ON", "On", "TRUE", "True", "true", "ENABLED", "Enabled", "enabled")},
    **{w: "off" for w in ("OFF", "Off", "FALSE", "False", "false", "DISABLED", "Disabled")},
    "disabled": "off",
}
OK_FAIL_VALUES = {
    **{
        w: "ok"
        for w in (
            *("SUCCESS", "Success", "success", "SUCCEEDED", "Succeeded", "succeeded"),
            *("Successful", "successful", "OK", "Ok"),
        )
    },
    **{
        w: "fail"
        for w in (
            *("FAILED", "Failed", "failed", "FAILURE", "Failure", "failure", "FAIL", "Fail"),
            *("ERROR", "Error", "error"),
        )
    },
}

_BEGIN_MARK = re.compile(r"-+>|=+>")
_END_MARK = re.compile(r"<-+|<=+")
_BEGIN_WORDS = {"enter", "entering", "entry", "begin", "beginning", "start", "starting"}
_BEGIN_WORDS |= {"started", "called", "request", "requested", "requesting"}
_END_WORDS = {"exit", "exiting", "leave", "leaving", "return", "returns", "returned"}
_END_WORDS |= {"returning", "end", "ended", "done", "complete", "completed", "completion"}
_END_WORDS |= {"finished", "success", "succeeded", "failed", "failure", "halted", "paused"}
_END_WORDS |= {"initialized", "initialised", "restarted"}
# Identifier pieces: "MPHaltEx" -> mp halt ex, "LwTxSend" -> lw tx send.
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


@dataclass(frozen=True)
class Guess:
    kind: str | None
    why: str


def guess_kind(text: str) -> Guess:
    """The kind a message's keywords suggest, or None with the reason."""
    words = {w.lower() for w in _WORD.findall(text)}
    begin = bool(_BEGIN_MARK.search(text)) or bool(words & _BEGIN_WORDS)
    end = bool(_END_MARK.search(text)) or bool(words & _END_WORDS)

    def lifecycle(name: str) -> Guess:
        if begin and not end:
            return Guess(f"{name}.begin", f"'{name}' and an entry marker")
        if end and not begin:
            return Guess(f"{name}.end", f"'{name}' and an exit marker")
        return Guess(None, f"mentions {name}, but is it its begin or its end?")

    def has(*prefixes: str) -> bool:
        return any(w.startswith(prefixes) for w in words)

    if "lost" in words and words & {"event", "events", "buffer", "buffers"}:
        return Guess("trace.lost", "'lost events'")
    if "surprise" in words and has("remov"):
        return Guess("surprise-removal", "'surprise removal'")
    for name, stems in (
        ("halt", ("halt",)),
        ("shutdown", ("shutdown",)),
        ("init", ("initiali", "init")),
        ("pause", ("paus",)),
        ("restart", ("restart",)),
        ("reset", ("reset",)),
    ):
        if has(*stems):
            return lifecycle(name)
    if words & {"radio", "rf"}:
        return Guess("radio", "'radio'")
    if has("disassoc"):
        return Guess("disassoc", "'disassoc'")
    if words & {"disconnect", "disconnecting"}:
        return Guess("disconnect.request", "'disconnect'")
    if has("assoc"):
        if end:
            return Guess("assoc.end", "'assoc' and a completion")
        if begin:
            return Guess("assoc.start", "'assoc' and a start")
        return Guess(None, "mentions association, but is it its start or its end?")
    if words & {"connect", "connecting", "connection"}:
        if end:
            return Guess("connect.end", "'connect' and a completion")
        if words & {"start", "starting", "started"}:
            return Guess("connect.start", "'connect' and a start")
        if begin:
            return Guess("connect.request", "'connect' and a request")
        return Guess(None, "mentions connect, but is it a request, a start or an end?")
    if words & {"tx", "send", "sending", "sent", "transmit"}:
        return Guess("send", "'send' / 'tx'")
    if words & {"rx", "recv", "receive", "received", "receiving"}:
        return Guess("receive", "'receive' / 'rx'")
    return Guess(None, "no lifecycle keyword")


def _escape(text: str) -> str:
    """Regex-escape literal text: only the metacharacters, so the result reads well."""
    return "".join("\\" + ch if ch in _META else ch for ch in text)


def _literal(text: str) -> str:
    """Escaped text with the coverage masks turned back into patterns."""
    out: list[str] = []
    pos = 0
    for m in _TOKEN_RE.finditer(text):
        out.append(_escape(text[pos : m.start()]))
        out.append(_TOKENS[m.group(0)])
        pos = m.end()
    out.append(_escape(text[pos:]))
    return "".join(out)


def draft_pattern(shape: str, kind: str | None) -> tuple[str, dict[str, str]]:
    """(regex, values table) for one shape; groups only where they look like one."""
    spans: list[tuple[int, int, str]] = []
    if (a := _ADAPTER_RE.search(shape)) is not None:
        name = a.group("name")
        inner = _TOKENS.get(name, r"[^\s,;:)\]]+")
        if name.startswith(("'", '"')):
            inner = name[0] + "[^" + name[0] + r"\n]+" + name[0]
        spans.append((a.start("name"), a.end("name"), f"(?P<adapter>{inner})"))
    values: dict[str, str] = {}
    allowed = KIND_VALUES.get(Kind(kind)) if kind in MAPPABLE else None
    finder = None
    if allowed == frozenset({"on", "off"}):
        finder, values = _ON_OFF_RE, ON_OFF_VALUES
    elif allowed == frozenset({"ok", "fail"}):
        finder, values = _OK_FAIL_RE, OK_FAIL_VALUES
    if finder is not None:
        taken = [(s, e) for s, e, _ in spans]
        for m in finder.finditer(shape):
            if all(m.end() <= s or m.start() >= e for s, e in taken):
                words = sorted({*values, *(w.lower() for w in values)}, key=len, reverse=True)
                spans.append((m.start(), m.end(), f"(?P<value>{'|'.join(words)})"))
                break
        else:
            values = {}
    spans.sort()
    parts: list[str] = ["^"]
    pos = 0
    for start, end, group in spans:
        parts.append(_literal(shape[pos:start]))
        parts.append(group)
        pos = end
    parts.append(_literal(shape[pos:]))
    if len(shape) < EXAMPLE_LIMIT:
        parts.append("$")
    return "".join(parts), values


def _toml_string(text: str) -> str:
    if "\n" not in text and "\r" not in text:
        if "'" not in text:
            return f"'{text}'"
        if "'''" not in text and not text.endswith("'"):
            return f"'''{text}'''"
    return json.dumps(text, ensure_ascii=False)


def _comment(text: str) -> str:
    return " ".join(text.split())[:200]


def _matches(
    pattern: str, provider: str | None, example: str, provider_pattern: str | None
) -> bool:
    try:
        frame = pl.DataFrame({"message": [example], "provider": [provider or ""]})
        ok = frame.select(pl.col("message").str.contains(pattern)).item()
        if provider_pattern is not None:
            ok = ok and frame.select(pl.col("provider").str.contains(provider_pattern)).item()
    except pl.exceptions.PolarsError:
        return False
    return bool(ok)


def draft_map(shapes: pl.DataFrame, name: str = "draft", *, source: str = "") -> str:
    """TOML text of a map drafted from ``auditor.coverage.unclassified`` rows.

    Rows of several traces with the same (provider, shape) count once, their counts added.
    """
    merged = (
        shapes.group_by("provider", "shape", maintain_order=True)
        .agg(
            pl.col("count").sum().alias("count"),
            pl.col("example").first(),
            pl.col("trace").first(),
            pl.col("example_line").first(),
        )
        .sort("count", descending=True, maintain_order=True)
    )
    header = [
        f"# Draft event map from `trace-audit maps coverage --emit-map`{source}.",
        "# Review every entry: the kinds are guesses from keywords. Entries left commented out",
        "# need a kind (see auditor/vocabulary.py or the README); uncomment and fill it in.",
        "# Each entry names its shape's count and an example line; (?P<adapter>...) and",
        "# (?P<value>...) groups were put where the text looked like an adapter name or a state.",
        "",
        "[map]",
        f"name = {_toml_string(name)}",
        'description = "Drafted from unclassified message shapes"',
        "",
    ]
    out = header
    guessed = 0
    for row in merged.iter_rows(named=True):
        shape_text: str = row["shape"]
        example: str = row["example"] or ""
        provider: str | None = row["provider"]
        guess = guess_kind(shape_text)
        pattern, values = draft_pattern(shape_text, guess.kind)
        provider_pattern = f"^{_escape(provider)}$" if provider else None
        kind = guess.kind
        why = guess.why
        if kind == "radio" and not values:
            kind, why = None, "mentions the radio, but no on/off word to take the value from"
        if kind is not None and not _matches(pattern, provider, example, provider_pattern):
            kind, why = None, "the drafted regex does not match its example: edit it"
        lines = [
            f"# {row['count']} x, e.g. {row['trace']}:{row['example_line']}: {_comment(example)}",
            f"# guess: {why}",
            "[[event]]",
            f'kind = "{kind or "?"}"',
        ]
        if provider_pattern is not None:
            lines.append(f"provider = {_toml_string(provider_pattern)}")
        lines.append(f"message = {_toml_string(pattern)}")
        if values and kind is not None:
            table = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in values.items())
            lines.append(f"values = {{ {table} }}")
        if kind is None:
            lines = [lines[0], lines[1]] + ["# " + line for line in lines[2:]]
        else:
            guessed += 1
        out.extend([*lines, ""])
    out.insert(len(header) - 4, f"# {guessed} of {merged.height} shapes have a guessed kind.")
    return "\n".join(out)


def write_draft(shapes: list[pl.DataFrame], path: str | Path) -> str:
    """Write the draft map of these coverage tables to ``path``; a one-line summary."""
    target = Path(path)
    frames = [s for s in shapes if s.height]
    if not frames:
        return f"{target}: not written, every event is classified"
    text = draft_map(pl.concat(frames, how="vertical_relaxed"), name=target.stem.split(".")[0])
    target.write_text(text + "\n", encoding="utf-8")
    entries = text.count("\n[[event]]")
    pending = text.count("\n# [[event]]")
    return f"{target}: draft map, {entries} entries with a guessed kind, {pending} to decide"
