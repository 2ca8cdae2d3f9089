"""Zip archives of traces, read within bounds: untrusted input never fills the disk.

Members are never extracted under their own names: a member is streamed into a
temporary file the caller names (or only hashed), so a ``../`` name cannot escape.
Names that would escape anyway (``..`` parts, absolute paths, drive letters), symbolic
links, encrypted members and members beyond the size, ratio or count limits are
refused with a reason; the batch reports them as failed traces.
"""

from __future__ import annotations

import hashlib
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on what one archive may expand to (declared and actual sizes both)."""

    max_member_bytes: int = 2 << 30  # one trace: 2 GiB
    max_total_bytes: int = 16 << 30  # the whole archive: 16 GiB
    max_members: int = 100_000
    max_ratio: int = 1_000  # uncompressed / compressed, for members above 1 MiB


DEFAULT_LIMITS = ArchiveLimits()


class ArchiveError(Exception):
    """A whole archive that cannot be read (not a zip, too many members...)."""


@dataclass(frozen=True)
class Member:
    name: str  # the member's name in the archive, "/"-separated
    size: int  # declared uncompressed size
    refused: str | None = None  # why it will not be read, if it will not


def safe_member_name(name: str) -> str | None:
    """The reason ``name`` is unsafe, or None: no absolute, drive, ``..`` or empty parts."""
    if "\x00" in name:
        return "NUL in name"
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return "absolute path"
    parts = PurePosixPath(normal).parts
    if any(part == ".." for part in parts):
        return "'..' in path"
    if not parts:
        return "empty name"
    return None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def list_members(
    path: str | Path, keep: Callable[[str], bool], limits: ArchiveLimits = DEFAULT_LIMITS
) -> list[Member]:
    """The file members ``keep`` accepts, in archive order, each possibly refused.

    Unsafe names are listed (refused) whatever ``keep`` says, so they are reported.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ArchiveError(f"not a readable zip archive: {exc}") from None
    if len(infos) > limits.max_members:
        raise ArchiveError(f"{len(infos):,} members, more than the limit of {limits.max_members:,}")
    members: list[Member] = []
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        name = info.filename
        unsafe = safe_member_name(name)
        if unsafe is None and not keep(name):
            continue
        reason = f"refused: unsafe member name ({unsafe})" if unsafe else None
        if reason is None and _is_symlink(info):
            reason = "refused: symbolic link"
        if reason is None and info.flag_bits & 0x1:
            reason = "refused: encrypted member"
        if reason is None and info.file_size > limits.max_member_bytes:
            reason = (
                f"refused: {info.file_size:,} bytes uncompressed, more than the limit "
                f"of {limits.max_member_bytes:,}"
            )
        if (
            reason is None
            and info.file_size > CHUNK
            and info.file_size > limits.max_ratio * max(info.compress_size, 1)
        ):
            reason = (
                f"refused: compression ratio above {limits.max_ratio}:1 (a zip bomb?) "
                f"({info.compress_size:,} -> {info.file_size:,} bytes)"
            )
        if reason is None:
            total += info.file_size
            if total > limits.max_total_bytes:
                reason = (
                    f"refused: the archive expands beyond the limit of "
                    f"{limits.max_total_bytes:,} bytes"
                )
        members.append(Member(name, info.file_size, reason))
    return members


def iter_member(
    path: str | Path, name: str, limits: ArchiveLimits = DEFAULT_LIMITS
) -> Iterator[bytes]:
    """The member's bytes in chunks, never more than its declared size or the limit."""
    unsafe = safe_member_name(name)
    if unsafe:
        raise ArchiveError(f"refused: unsafe member name ({unsafe})")
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
        bound = min(info.file_size, limits.max_member_bytes)
        if info.file_size > limits.max_member_bytes:
            raise ArchiveError(f"refused: {info.file_size:,} bytes uncompressed")
        read = 0
        with archive.open(info) as stream:
            while chunk := stream.read(CHUNK):
                read += len(chunk)
                if read > bound:
                    raise ArchiveError("refused: member larger than its declared size")
                yield chunk


def hash_member(path: str | Path, name: str, limits: ArchiveLimits = DEFAULT_LIMITS) -> str:
    digest = hashlib.sha256()
    for chunk in iter_member(path, name, limits):
        digest.update(chunk)
    return digest.hexdigest()


def copy_member(
    path: str | Path, name: str, out: BinaryIO, limits: ArchiveLimits = DEFAULT_LIMITS
) -> None:
    for chunk in iter_member(path, name, limits):
        out.write(chunk)


def split_member_path(path: str) -> tuple[Path, str] | None:
    """``runs.zip/night/a.txt`` -> (``runs.zip``, ``night/a.txt``) when runs.zip is a file.

    This is how a zip member is named as a trace: the archive's path, then the member.
    """
    text = path.replace("\\", "/")
    at = text.lower().find(".zip/")
    while at >= 0:
        archive = Path(text[: at + 4])
        if archive.is_file():
            return archive, text[at + 5 :]
        at = text.lower().find(".zip/", at + 1)
    return None


def read_member(archive: Path, name: str, limits: ArchiveLimits = DEFAULT_LIMITS) -> bytes:
    """One member's bytes, after the same checks ``list_members`` makes.

    ``name`` may come from a path that went through ``pathlib``, which turns
    ``abs.zip//etc/evil.txt`` into ``abs.zip/etc/evil.txt``: a member whose name reads as
    ``name`` once collapsed that way (``/etc/evil.txt``, ``a//b.txt``) is the one meant,
    so an absolute member name is refused as unsafe rather than reported missing.
    """
    members = list_members(archive, lambda n: _collapsed(n) == _collapsed(name), limits)
    exact = [m for m in members if m.name == name]
    candidates = exact or [m for m in members if _collapsed(m.name) == _collapsed(name)]
    if not candidates:
        raise ArchiveError(f"no member {name!r} in {archive}")
    refused = next((m for m in candidates if m.refused), None)
    if refused is not None:
        raise ArchiveError(refused.refused)  # type: ignore[arg-type]
    return b"".join(iter_member(archive, candidates[0].name, limits))


def _collapsed(name: str) -> str:
    """A member name as it reads after ``archive.zip/`` + name went through pathlib."""
    return str(PurePosixPath("_/" + name.replace("\\", "/")))[2:]
