"""In-memory file storage: file_id / file_unique_id, media metadata and upload counters."""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import mimetypes
import secrets
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

FileKind = Literal["photo", "voice", "audio", "document"]

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
THUMBNAIL_SIDE = 90

_ID_PREFIX: dict[str, str] = {
    "photo": "AgACAgQAAxk",
    "voice": "AwACAgQAAxk",
    "audio": "CQACAgQAAxk",
    "document": "BQACAgQAAxk",
}
_FOLDER: dict[str, tuple[str, str]] = {
    "photo": ("photos", ".jpg"),
    "voice": ("voice", ".oga"),
    "audio": ("music", ".mp3"),
    "document": ("documents", ""),
}


@dataclass(frozen=True, slots=True)
class UploadedPart:
    """A file part of a multipart request."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"UploadedPart(name={self.name!r}, filename={self.filename!r}, size={len(self.data)})"
        )


@dataclass(slots=True)
class StoredFile:
    """One file on the fake Telegram servers."""

    file_id: str
    file_unique_id: str
    kind: FileKind
    data: bytes = field(repr=False)
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    duration: int = 0
    width: int = 0
    height: int = 0
    performer: str | None = None
    title: str | None = None
    photo_set: tuple[str, ...] = ()  # for photos: file_ids of every size, smallest first

    @property
    def file_size(self) -> int:
        """Size in bytes."""
        return len(self.data)

    def as_file(self) -> dict[str, Any]:
        """The Bot API File object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }

    def as_photo_size(self) -> dict[str, Any]:
        """The Bot API PhotoSize object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "width": self.width,
            "height": self.height,
        }

    def as_media(self) -> dict[str, Any]:
        """The Voice, Audio or Document object (photos: see `as_photo_size`)."""
        media: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
        }
        if self.kind in ("voice", "audio"):
            media["duration"] = self.duration
        if self.kind == "audio":
            media.update(
                {k: v for k, v in (("performer", self.performer), ("title", self.title)) if v}
            )
        if self.kind in ("audio", "document") and self.file_name:
            media["file_name"] = self.file_name
        if self.mime_type:
            media["mime_type"] = self.mime_type
        media["file_size"] = self.file_size
        return media


@dataclass(frozen=True, slots=True)
class UploadRecord:
    """A multipart upload made by the bot."""

    method: str
    field: str
    file_id: str
    file_unique_id: str
    file_name: str | None
    size: int


@dataclass(frozen=True, slots=True)
class FileIdSend:
    """A bot call that sent media by referring to an existing file_id."""

    method: str
    chat_id: int
    file_id: str
    file_unique_id: str


def unique_id_for(kind: str, data: bytes) -> str:
    """A file_unique_id derived from the content (and kind), stable across uploads."""
    digest = hashlib.sha256(kind.encode() + b"\0" + data).digest()
    return "AQAD" + base64.urlsafe_b64encode(digest[:12]).decode().rstrip("=")


def guess_mime_type(filename: str | None, declared: str | None) -> str | None:
    """The declared content type unless it is the generic one, else a guess from the name."""
    if declared and declared != "application/octet-stream":
        return declared
    if filename:
        guessed = mimetypes.guess_type(filename, strict=False)[0]
        if guessed:
            return guessed
    return declared


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height read with Pillow, or (0, 0) when the bytes are not an image."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a project dependency
        return 0, 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                return int(image.width), int(image.height)
    except Exception:
        return 0, 0


def thumbnail(data: bytes, side: int = THUMBNAIL_SIDE) -> tuple[bytes, int, int] | None:
    """A small JPEG version of an image (Telegram's "s" size), or None."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                if max(image.size) <= side or image.width * image.height > 50_000_000:
                    return None
                small = image.convert("RGB")
                small.thumbnail((side, side))
                out = io.BytesIO()
                small.save(out, format="JPEG", quality=80)
                return out.getvalue(), small.width, small.height
    except Exception:
        return None


def ogg_duration(data: bytes) -> int | None:
    """Duration in whole seconds of an Ogg Opus or Ogg Vorbis stream, or None."""
    if not data.startswith(b"OggS"):
        return None
    last = data.rfind(b"OggS")
    if last < 0 or last + 14 > len(data):
        return None
    granule = int.from_bytes(data[last + 6 : last + 14], "little", signed=True)
    head = data.find(b"OpusHead")
    if head >= 0 and head + 12 <= len(data):
        pre_skip = int.from_bytes(data[head + 10 : head + 12], "little")
        samples, rate = granule - pre_skip, 48000
    else:
        vorbis = data.find(b"\x01vorbis")
        if vorbis < 0 or vorbis + 16 > len(data):
            return None
        samples = granule
        rate = int.from_bytes(data[vorbis + 12 : vorbis + 16], "little")
    if rate <= 0 or samples < 0:
        return None
    return round(samples / rate)


class FileStore:
    """Every file the sandbox knows, by file_id and by file_path."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._counter = itertools.count(1)

    def get(self, file_id: str) -> StoredFile | None:
        """The file with this file_id."""
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        """The file served at this file_path."""
        return self._by_path.get(file_path)

    def add(
        self,
        kind: FileKind,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        duration: int = 0,
        performer: str | None = None,
        title: str | None = None,
    ) -> StoredFile:
        """Store new content under a new file_id (photos: every size) and return it."""
        if kind == "photo":
            return self._add_photo(data)
        number = next(self._counter)
        folder, extension = _FOLDER[kind]
        if file_name and "." in file_name and kind in ("audio", "document"):
            extension = "." + file_name.rsplit(".", 1)[1][:10]
        stored = StoredFile(
            file_id=self._new_id(kind),
            file_unique_id=unique_id_for(kind, data),
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{number}{extension}",
            file_name=file_name,
            mime_type=mime_type,
            duration=duration,
            performer=performer,
            title=title,
        )
        self._index(stored)
        return stored

    def _add_photo(self, data: bytes) -> StoredFile:
        sizes: list[tuple[bytes, int, int]] = []
        small = thumbnail(data)
        if small is not None:
            sizes.append(small)
        width, height = image_size(data)
        sizes.append((data, width, height))
        stored_sizes = [
            StoredFile(
                file_id=self._new_id("photo"),
                file_unique_id=unique_id_for("photo", content),
                kind="photo",
                data=content,
                file_path=f"photos/file_{next(self._counter)}.jpg",
                width=w,
                height=h,
            )
            for content, w, h in sizes
        ]
        ids = tuple(s.file_id for s in stored_sizes)
        for stored in stored_sizes:
            stored.photo_set = ids
            self._index(stored)
        return stored_sizes[-1]

    def photo_sizes(self, stored: StoredFile) -> list[dict[str, Any]]:
        """The PhotoSize list of the photo this size belongs to, smallest first."""
        ids = stored.photo_set or (stored.file_id,)
        return [self._by_id[i].as_photo_size() for i in ids if i in self._by_id]

    def _index(self, stored: StoredFile) -> None:
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored

    @staticmethod
    def _new_id(kind: str) -> str:
        return _ID_PREFIX[kind] + secrets.token_urlsafe(24)
