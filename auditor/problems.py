"""Errors in users' map and rule files, collected rather than raised one at a time.

A file with five mistakes should cost one edit-run cycle, not five: loaders gather every
:class:`Problem` they find and raise a single :class:`ConfigError` at the end.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class ConfigError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def toml_position(exc: Exception) -> tuple[int | None, int | None]:
    """tomllib reports '(at line L, column C)' in its message; recover the numbers."""
    found = re.search(r"line (\d+), column (\d+)", str(exc))
    return (int(found.group(1)), int(found.group(2))) if found else (None, None)


def load_toml(text: str, path: str) -> dict[str, Any]:
    """Parse a map or rule file; a syntax error becomes a Problem with its position."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, col = toml_position(exc)
        raise ConfigError([Problem(path, line, col, f"invalid TOML: {exc}")]) from None
    except RecursionError:  # tomllib recurses per nested table or array
        raise ConfigError(
            [Problem(path, None, None, "invalid TOML: tables or arrays nested too deeply")]
        ) from None


def table_lines(text: str, table: str) -> list[int]:
    """1-based line numbers of each ``[[table]]`` header, in order.

    Lines are counted as TOML counts them, by ``\\n`` alone (also in :func:`key_line` and
    :func:`file_column`): a U+0085 or U+2028 inside a string must not shift the numbers.

    tomllib gives no positions, so the n-th entry of an array of tables is located by
    the n-th header in the text: enough to point a user at the right block.
    """
    pattern = re.compile(r"^[ \t]*\[\[[ \t]*" + re.escape(table) + r"[ \t]*\]\]", re.MULTILINE)
    return [text.count("\n", 0, m.start()) + 1 for m in pattern.finditer(text)]


def key_line(text: str, start_line: int | None, key: str) -> int | None:
    """Line of ``key = ...`` at or after ``start_line`` (the entry's header)."""
    if start_line is None:
        return None
    pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    for offset, line in enumerate(text.split("\n")[start_line - 1 :]):
        if offset and re.match(r"^\s*\[", line):
            break
        if pattern.match(line):
            return start_line + offset
    return start_line


def file_column(text: str, line: int | None, fragment: str, column: int | None) -> int | None:
    """Turn a column inside a formula string into a column of the file line holding it."""
    if line is None or column is None:
        return None
    lines = text.split("\n")
    if not 0 < line <= len(lines):
        return None
    at = lines[line - 1].find(fragment)
    return at + column if at >= 0 else None
