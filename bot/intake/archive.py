"""Intake, ZIP: safe reading; hostile names, links, bombs and lying headers are refused by name."""

from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from types import TracebackType

from bot.errors import BatchRejected, InvalidInput, Problem

MB = 1_000_000
MAX_MEMBERS = 5_000
MAX_TOTAL_BYTES = 500 * MB
MAX_RATIO = 100
RATIO_FLOOR_BYTES = 1 * MB
"""Members smaller than this are not held to ``max_ratio``: a small file of zeros is no bomb."""

_READ_CHUNK = 64 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_JUNK_FOLDERS = {"__MACOSX"}
_JUNK_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class ZipLimits:
    """What an upload may hold; the defaults are those of the design."""

    max_members: int = MAX_MEMBERS
    max_total_bytes: int = MAX_TOTAL_BYTES
    max_ratio: int = MAX_RATIO


@dataclass(frozen=True)
class MemberInfo:
    """A regular file of the archive: its normalised path and declared sizes."""

    path: str
    size: int
    compressed_size: int


@dataclass(frozen=True)
class ZipMember:
    """A member's path and its bytes."""

    path: str
    data: bytes


def normalise_member_path(name: str) -> str | None:
    """The member's path with ``\\`` as ``/`` and ``.`` parts dropped; None if unsafe.

    Unsafe: absolute paths, drive letters, ``..`` anywhere, control characters, nothing left.
    """
    unified = name.replace("\\", "/")
    if unified.startswith("/") or _DRIVE.match(unified) or _CONTROL.search(unified):
        return None
    parts = [part for part in unified.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def is_junk(path: str) -> bool:
    """macOS and Windows litter: ``__MACOSX/``, ``.DS_Store``, ``._*`` forks, ``Thumbs.db``."""
    parts = path.split("/")
    name = parts[-1]
    return bool(_JUNK_FOLDERS.intersection(parts)) or name in _JUNK_FILES or name.startswith("._")


class SafeZip:
    """A ZIP whose listing passed every check; members are read through size-capped streams.

    Every byte read counts against ``max_total_bytes``, whatever the headers declared.
    """

    def __init__(
        self, archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], limits: ZipLimits
    ) -> None:
        self._archive = archive
        self._infos = members
        self._limits = limits
        self._read_total = 0
        self.members = tuple(
            MemberInfo(path, info.file_size, info.compress_size)
            for path, info in sorted(members.items())
        )

    @property
    def paths(self) -> list[str]:
        """Paths of the regular, non-junk members, in path order."""
        return [member.path for member in self.members]

    def read(self, path: str) -> bytes:
        """The bytes of member ``path``, refused by name when it is corrupt or bigger than said."""
        info = self._infos[path]
        budget = self._limits.max_total_bytes - self._read_total
        cap = min(info.file_size, budget)
        try:
            data = self._read_capped(info, cap)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError):
            raise InvalidInput("batch.zip_member_corrupt", file=path) from None
        if len(data) > cap:
            if cap == budget:
                raise InvalidInput("batch.zip_too_large", file=path, limit_mb=self._limit_mb())
            raise InvalidInput("batch.zip_member_corrupt", file=path)
        self._read_total += len(data)
        return data

    def read_all(self) -> list[ZipMember]:
        """Every member with its bytes, in path order."""
        return [ZipMember(path, self.read(path)) for path in self.paths]

    def _read_capped(self, info: zipfile.ZipInfo, cap: int) -> bytes:
        """Read at most ``cap + 1`` bytes, so that one more than allowed shows the lie."""
        out = bytearray()
        with self._archive.open(info) as stream:
            while len(out) <= cap:
                chunk = stream.read(min(_READ_CHUNK, cap + 1 - len(out)))
                if not chunk:
                    break
                out += chunk
        return bytes(out)

    def _limit_mb(self) -> str:
        return size_mb(self._limits.max_total_bytes)

    def close(self) -> None:
        """Close the archive."""
        self._archive.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def size_mb(size: int) -> str:
    """A size in megabytes as people read it: ``500``, ``0.001`` (a small limit stays visible)."""
    return f"{size / MB:g}"


def open_zip(data: bytes, limits: ZipLimits | None = None) -> SafeZip:
    """Open an uploaded ZIP and check its whole listing before any member is read.

    Raises ``BatchRejected`` naming every unsafe member (path, link, encryption, duplicate, ratio)
    and the totals (member count, declared size), or ``batch.zip_invalid`` for a file that is not a
    readable ZIP.
    """
    limits = limits or ZipLimits()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise BatchRejected([Problem("batch.zip_invalid")]) from None
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        archive.close()
        raise BatchRejected(
            [
                Problem(
                    "batch.zip_too_many_members", {"count": len(infos), "limit": limits.max_members}
                )
            ]
        )
    members, problems = _check_listing(infos, limits)
    if problems:
        archive.close()
        raise BatchRejected(problems)
    return SafeZip(archive, members, limits)


def read_zip(data: bytes, limits: ZipLimits | None = None) -> list[ZipMember]:
    """Every regular member of an uploaded ZIP with its bytes, in path order (see ``open_zip``)."""
    with open_zip(data, limits) as archive:
        return archive.read_all()


def _check_listing(
    infos: list[zipfile.ZipInfo], limits: ZipLimits
) -> tuple[dict[str, zipfile.ZipInfo], list[Problem]]:
    """The regular members by normalised path, and every problem of the listing."""
    members: dict[str, zipfile.ZipInfo] = {}
    problems: list[Problem] = []
    declared = 0
    for info in infos:
        path = normalise_member_path(info.filename)
        problem = _unsafe(info, path)
        if problem is None and path is not None and not (info.is_dir() or is_junk(path)):
            declared += info.file_size
            problem = _unreadable(info, path, limits)
            if problem is None and path in members:
                problem = Problem("batch.zip_duplicate", {"file": path})
            if problem is None:
                members[path] = info
        if problem is not None:
            problems.append(problem)
    if declared > limits.max_total_bytes:
        problems.append(
            Problem("batch.zip_too_large", {"limit_mb": size_mb(limits.max_total_bytes)})
        )
    return members, problems


def _unsafe(info: zipfile.ZipInfo, path: str | None) -> Problem | None:
    """Why this entry may not be in an upload at all (checked for junk and folders too)."""
    if path is None:
        return Problem("batch.zip_unsafe_path", {"file": info.filename})
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return Problem("batch.zip_symlink", {"file": path})
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        return Problem("batch.zip_special_file", {"file": path})
    return None


def _unreadable(info: zipfile.ZipInfo, path: str, limits: ZipLimits) -> Problem | None:
    """Why a regular member will not be read: encrypted, or compressed like a bomb."""
    if info.flag_bits & 0x1:
        return Problem("batch.zip_encrypted", {"file": path})
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size >= RATIO_FLOOR_BYTES and ratio > limits.max_ratio:
        return Problem(
            "batch.zip_ratio", {"file": path, "ratio": int(ratio), "limit": limits.max_ratio}
        )
    return None
