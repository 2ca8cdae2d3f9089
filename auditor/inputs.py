"""Which files an audit reads: the one expansion of user-given paths, globs and directories."""

from __future__ import annotations

import glob
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path

from parsers import formats
from parsers.archive import ArchiveError, list_members


def trace_extensions() -> frozenset[str]:
    """File endings of every registered format, for searching directories."""
    return frozenset(ext for cls in formats() for ext in cls.extensions)


def _is_trace(path: Path, extensions: frozenset[str]) -> bool:
    """A trace extension, possibly under a .gz (wlan.txt.gz)."""
    if path.suffix.lower() == ".gz":
        path = path.with_suffix("")
    return path.suffix.lower() in extensions


def expand_inputs(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[str]:
    """Files as given, directories searched for trace files, glob patterns expanded.

    The labels are the paths as the user wrote them (``str(path)``): findings name their
    trace with that label, exactly as the CLI does.
    """
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    extensions = trace_extensions()
    out: list[str] = []
    for item in items:
        path = Path(item)
        text = os.fspath(item)
        if text == "-":
            out.append(text)  # standard input
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _is_trace(p, extensions))
            if not found:
                raise FileNotFoundError(
                    f"{text}: no trace files in this directory ({', '.join(sorted(extensions))})"
                )
            out.extend(str(p) for p in found)
        elif not path.exists() and any(ch in text for ch in "*?["):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise FileNotFoundError(f"{text}: no file matches this pattern")
            out.extend(matches)
        elif path.is_file() and zipfile.is_zipfile(path):
            out.extend(_members(path, text, extensions))
        else:
            out.append(text)
    return list(dict.fromkeys(out))


def _members(path: Path, text: str, extensions: frozenset[str]) -> list[str]:
    """Each trace in an archive is a trace of its own, named ``archive.zip/member``.

    Refused members (unsafe names, bombs, encrypted) are listed too: reading them fails
    with the reason, so they are reported rather than silently left out.
    """
    try:
        members = list_members(path, lambda name: _is_trace(Path(name), extensions))
    except ArchiveError as exc:
        raise FileNotFoundError(f"{text}: {exc}") from None
    if not members:
        raise FileNotFoundError(f"{text}: no trace files in this archive")
    return [f"{text}/{m.name}" for m in members]
