"""Errors that name the file (and line) a user has to look at."""

from __future__ import annotations


class TraceReadError(Exception):
    """An input that cannot be read at all: the CLI turns it into exit code 2."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")
