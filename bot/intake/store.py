"""Intake, media store: content-addressed files under DATA_DIR, atomic, staged until all pass."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import TracebackType

MEDIA_FOLDER = "media"


@dataclass(frozen=True)
class StoredMedia:
    """A stored file: its SHA-256, its path relative to the data dir, and its size in bytes."""

    sha256: str
    path: str
    size_bytes: int


def media_path(sha256: str, suffix: str) -> str:
    """The relative path of content ``sha256``: ``media/ab/abcdef....jpg``."""
    return str(PurePosixPath(MEDIA_FOLDER, sha256[:2], f"{sha256}.{suffix}"))


def store_media(data: bytes, root: Path, suffix: str) -> StoredMedia:
    """Write ``data`` under ``root`` at its content address, atomically (temp file + rename).

    Storing the same bytes twice is harmless: the second write finds the file and keeps it.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    stored = StoredMedia(sha256, media_path(sha256, suffix), len(data))
    target = root / stored.path
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(target, data)
    return stored


def _write_atomically(target: Path, data: bytes) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


@dataclass
class Staging:
    """A private folder inside the data dir where an upload's media wait until it is accepted.

    ``commit()`` moves every staged file to its content address in the data dir (a rename on the
    same file system); leaving the ``with`` block removes the folder and whatever is left in it,
    so a refused upload leaves nothing behind.
    """

    data_dir: Path
    root: Path = field(init=False)
    _stored: dict[str, StoredMedia] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(dir=self.data_dir, prefix=".staging-"))

    def store(self, data: bytes, suffix: str) -> StoredMedia:
        """Stage ``data`` at its content address (inside the staging folder)."""
        stored = store_media(data, self.root, suffix)
        self._stored[stored.path] = stored
        return stored

    def commit(self) -> None:
        """Move every staged file into the data dir; files already there are kept as they are."""
        for relative in sorted(self._stored):
            target = self.data_dir / relative
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.root / relative, target)
        self._stored.clear()

    def discard(self) -> None:
        """Remove the staging folder and anything still in it."""
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.discard()
