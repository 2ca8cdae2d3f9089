"""Expand the batch's PATH|DIR|GLOB|ZIP arguments into named traces.

Each trace gets a *name*: its path relative to the argument that found it (a directory,
the fixed part of a glob, or a zip archive, which counts as a directory), so that the
same run audited from another folder or night keeps its names and ``--baseline`` can
match them. A file given by itself is named by its file name. When two traces would
share a name, the later one is named by its full source instead. Order is deterministic:
arguments in the order given, each one's files sorted.
"""

from __future__ import annotations

import glob
import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from auditor.inputs import trace_extensions
from parsers.archive import DEFAULT_LIMITS, ArchiveError, ArchiveLimits, list_members

GLOB_CHARS = frozenset("*?[")
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"


@dataclass(frozen=True)
class TraceInput:
    """One trace of the batch: a file, or a member of a zip archive."""

    name: str
    path: str  # the file, or the archive holding the member
    member: str | None = None
    refused: str | None = None  # why it will not be audited (unsafe zip member, ...)

    @property
    def source(self) -> str:
        return self.path if self.member is None else f"{self.path}!{self.member}"

    def content_hash(self, limits: ArchiveLimits = DEFAULT_LIMITS) -> str:
        """SHA-256 of the trace's bytes (a zip member's uncompressed bytes)."""
        if self.member is not None:
            from parsers.archive import hash_member

            return hash_member(self.path, self.member, limits)
        with open(self.path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()


class DiscoveryError(Exception):
    """A usage error: the arguments name no trace at all."""


def is_zip(path: Path) -> bool:
    if path.suffix.lower() == ".zip":
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(4) in (ZIP_MAGIC, EMPTY_ZIP_MAGIC)
    except OSError:
        return False


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _glob_root(pattern: str) -> Path:
    """The fixed directory part of a glob: ``runs/*/x.txt`` -> ``runs``."""
    parts = Path(pattern).parts
    fixed: list[str] = []
    for part in parts[:-1]:
        if GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


class _Collector:
    def __init__(self, extensions: frozenset[str], limits: ArchiveLimits) -> None:
        self.extensions = extensions
        self.limits = limits
        self.inputs: list[TraceInput] = []
        self.seen_sources: set[str] = set()
        self.names: set[str] = set()

    def add(self, item: TraceInput) -> None:
        if item.source in self.seen_sources:
            return
        self.seen_sources.add(item.source)
        if item.name in self.names:
            item = TraceInput(item.source, item.path, item.member, item.refused)
        self.names.add(item.name)
        self.inputs.append(item)

    def wanted(self, name: str) -> bool:
        return PurePosixPath(name).suffix.lower() in self.extensions

    def file(self, path: Path, name: str) -> None:
        if is_zip(path):
            self.archive(path, name)
        else:
            self.add(TraceInput(name, str(path)))

    def archive(self, path: Path, prefix: str | None) -> None:
        """Members with a trace extension; ``prefix`` is the archive's own name, if any."""

        def member_name(member: str) -> str:
            inner = member.replace("\\", "/")
            return inner if prefix is None else f"{prefix}/{inner}"

        try:
            members = list_members(path, self.wanted, self.limits)
        except ArchiveError as exc:
            self.add(TraceInput(prefix or path.name, str(path), refused=str(exc)))
            return
        for member in members:
            self.add(TraceInput(member_name(member.name), str(path), member.name, member.refused))

    def directory(self, root: Path) -> int:
        before = len(self.inputs)
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if path.suffix.lower() == ".zip":
                self.archive(path, _rel(path, root))
            elif path.suffix.lower() in self.extensions:
                self.add(TraceInput(_rel(path, root), str(path)))
        return len(self.inputs) - before


def discover(
    arguments: list[str], limits: ArchiveLimits = DEFAULT_LIMITS
) -> tuple[list[TraceInput], list[str]]:
    """The traces the arguments name, and warnings (a directory or glob that found none).

    A path that does not exist (and is no glob) is kept as a trace that will fail with
    "file not found": one wrong name does not stop a nightly batch. Raises
    :class:`DiscoveryError` when nothing at all was found.
    """
    collector = _Collector(trace_extensions(), limits)
    warnings: list[str] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            if not collector.directory(path):
                warnings.append(f"{argument}: no trace files or zip archives in this directory")
        elif path.is_file():
            # A zip given by itself is the root of its members' names.
            if is_zip(path):
                collector.archive(path, None)
            else:
                collector.add(TraceInput(path.name, str(path)))
        elif GLOB_CHARS & set(argument):
            root = _glob_root(argument)
            matches = sorted(Path(p) for p in glob.glob(argument, recursive=True))
            found = 0
            for match in matches:
                if match.is_dir():
                    found += collector.directory(match)
                elif match.is_file():
                    collector.file(
                        match, _rel(match, root) if match.is_relative_to(root) else str(match)
                    )
                    found += 1
            if not found:
                warnings.append(f"{argument}: no file matches this pattern")
        else:
            collector.add(TraceInput(path.name or argument, argument, refused="file not found"))
    if not collector.inputs:
        raise DiscoveryError(
            "no traces found in "
            + ", ".join(arguments)
            + f" (looking for {', '.join(sorted(collector.extensions))} files and .zip archives)"
        )
    return collector.inputs, warnings
