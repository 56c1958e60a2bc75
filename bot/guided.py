"""Guided batch creation, the rules: each answer of ``/newbatch`` checked, then the answers and the
files sent turned into the same ZIP with ``batch.toml`` a requester could have uploaded, so both
ways go through one intake (``bot/intake/prepare.py``) and one set of checks. No Telegram here.

The answers are manifest fields by name (``ManifestFields``): the manifest parser alone turns them
into the batch's ``BatchSettings``, as it does an uploaded ``batch.toml``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Literal

from bot.callback_data import parse_whole
from bot.errors import InvalidInput
from bot.intake.archive import MB, ZipLimits, open_zip, read_zip, size_mb
from bot.intake.audio import is_audio_name
from bot.intake.images import is_image_name
from bot.intake.manifest import (
    ANSWERS_PER_ITEM_RANGE,
    FIELDS,
    INSTRUCTIONS_MAX,
    LABEL_MAX,
    LABEL_SEPARATOR,
    LABELS_MAX,
    MANIFEST_NAME,
    REQUESTED_TYPES,
    SECONDS_PER_TASK_RANGE,
    TITLE_MAX,
    BatchType,
)
from bot.intake.sentences import is_sentences_name
from bot.tasks import task_type

FileKind = Literal["image", "audio", "text", "zip"]
MAX_FILES = 100
"""Files one guided batch takes (a ZIP counts as one); more photos than that fit a ZIP better."""


ManifestValue = str | int | bool | tuple[str, ...]
ManifestFields = Mapping[str, ManifestValue]
"""What the requester answered, each already checked, by manifest field (``type``, ``title``...)."""


@dataclass(frozen=True)
class Upload:
    """A file the requester sent: the name it gets in the batch, its kind, and its bytes."""

    name: str
    kind: FileKind
    data: bytes


# Each answer -----------------------------------------------------------------------------------


def parse_type(text: str) -> BatchType:
    """A batch type by its code (the buttons send the translated name; see the handler)."""
    value = text.strip().lower()
    for batch_type in REQUESTED_TYPES:
        if value == batch_type:
            return batch_type  # type: ignore[return-value]
    raise InvalidInput("newbatch.type_unknown")


def parse_text(text: str, *, limit: int, key: str) -> str:
    """A title or instructions: not empty, at most ``limit`` characters, no control characters."""
    value = " ".join(part.strip() for part in text.strip().splitlines() if part.strip())
    if not value or len(value) > limit or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(key, limit=limit, length=len(value))
    return value


def parse_title(text: str) -> str:
    return parse_text(text, limit=TITLE_MAX, key="newbatch.title_invalid")


def parse_instructions(text: str) -> str:
    return parse_text(text, limit=INSTRUCTIONS_MAX, key="newbatch.instructions_invalid")


def parse_labels(text: str) -> tuple[str, ...]:
    """Labels separated by commas or new lines, kept in the order given."""
    labels = tuple(
        part.strip() for line in text.splitlines() for part in line.split(",") if part.strip()
    )
    if not labels:
        raise InvalidInput("newbatch.labels_missing")
    if len(labels) > LABELS_MAX:
        raise InvalidInput("newbatch.labels_too_many", count=len(labels), limit=LABELS_MAX)
    seen: set[str] = set()
    for label in labels:
        if len(label) > LABEL_MAX or LABEL_SEPARATOR in label:
            raise InvalidInput("newbatch.label_invalid", label=label[:60], limit=LABEL_MAX)
        if label.casefold() in seen:
            raise InvalidInput("newbatch.label_duplicate", label=label[:60])
        seen.add(label.casefold())
    return labels


def default_labels(batch_type: BatchType) -> tuple[str, ...] | None:
    """The labels offered without asking (emotion's default set); None for other types."""
    return task_type(batch_type).default_labels


def parse_number(text: str, bounds: tuple[int, int], key: str) -> int:
    """A whole number within ``bounds``; ``InvalidInput`` naming the bounds otherwise."""
    low, high = bounds
    return parse_whole(text, low, high, key, min=low, max=high)


def parse_seconds(text: str) -> int:
    return parse_number(text, SECONDS_PER_TASK_RANGE, "newbatch.seconds_invalid")


def parse_answers(text: str) -> int:
    return parse_number(text, ANSWERS_PER_ITEM_RANGE, "newbatch.answers_invalid")


# Files -----------------------------------------------------------------------------------------


def kind_of(file_name: str) -> FileKind | None:
    """What a sent file is by its name: an image, a recording, sentences (``.txt``, ``.csv``),
    a ZIP of them, or None."""
    if file_name.lower().endswith(".zip"):
        return "zip"
    if is_image_name(file_name):
        return "image"
    if is_audio_name(file_name):
        return "audio"
    if is_sentences_name(file_name):
        return "text"
    return None


def check_accepts(batch_type: BatchType, kind: FileKind) -> None:
    """Refuse a file the batch type cannot take (a ZIP is checked member by member later)."""
    if kind != "zip" and kind not in task_type(batch_type).media_kinds:
        raise InvalidInput(f"newbatch.wrong_kind.{batch_type}")


def upload_name(number: int, original: str | None, default: str) -> str:
    """The name a sent file gets in the batch: numbered in the order sent, then its own name.

    Items are taken in path order, so the number keeps them in the order they were sent; the
    original name (its last part, made safe) helps the requester find a refused file.
    """
    base = PurePosixPath((original or default).replace("\\", "/")).name
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in base).lstrip(".") or default
    return f"{number:03d}-{safe}"


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def toml_value(value: ManifestValue) -> str:
    """A manifest value in TOML: a string, a boolean, a whole number or a list of strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    return "[" + ", ".join(toml_string(part) for part in value) + "]"


def manifest(answers: ManifestFields) -> bytes:
    """The ``batch.toml`` the answers stand for, in the manifest's field order.

    Only the fields asked are written (the conversation asks a type only for the fields it
    takes); the reward and time limit are left to the manifest's fair defaults.
    """
    unknown = set(answers).difference(FIELDS)
    if unknown:
        raise ValueError(f"not manifest fields: {sorted(unknown)}")
    lines = [f"{name} = {toml_value(answers[name])}" for name in FIELDS if name in answers]
    return ("\n".join(lines) + "\n").encode("utf-8")


def assemble_zip(
    answers: ManifestFields,
    uploads: Sequence[Upload],
    *,
    limits: ZipLimits | None = None,
    extra: Mapping[str, bytes] | None = None,
) -> bytes:
    """One batch ZIP: the manifest, each sent file, and the members of each sent ZIP.

    A sent ZIP is read through the safe reader (its hostile members are refused by name, as in
    a direct upload); its files go into a folder named after it, so names never collide. The
    batch's budget (``max_total_bytes``) counts every sent file and every ZIP's declared content
    before anything is expanded, and each ZIP is then read within what is left of it.
    """
    limits = limits or ZipLimits()
    check_total(uploads, limits)
    left = limits.max_total_bytes - sum(len(u.data) for u in uploads if u.kind != "zip")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(MANIFEST_NAME, manifest(answers))
        for name, data in (extra or {}).items():  # examples.csv, gold.csv (bot/guided_review.py)
            archive.writestr(name, data)
        for upload in uploads:
            if upload.kind != "zip":
                archive.writestr(upload.name, upload.data)
                continue
            folder = upload.name[:-4] if upload.name.lower().endswith(".zip") else upload.name
            for member in read_zip(upload.data, replace(limits, max_total_bytes=max(1, left))):
                archive.writestr(f"{folder}/{member.path}", member.data)
                left -= len(member.data)  # a ZIP whose headers lied cannot pass the budget
    return out.getvalue()


def _declared(upload: Upload, limits: ZipLimits) -> int:
    """What a sent file adds to the batch: its size, or a ZIP's declared content (headers only)."""
    if upload.kind != "zip":
        return len(upload.data)
    with open_zip(upload.data, limits) as archive:
        return sum(member.size for member in archive.members)


def check_total(uploads: Sequence[Upload], limits: ZipLimits) -> int:
    """The batch's size across every sent file, from the headers (nothing expanded); refused with
    the sizes when it passes ``limits.max_total_bytes``."""
    total = sum(_declared(upload, limits) for upload in uploads)
    if total > limits.max_total_bytes:
        raise InvalidInput(
            "crowd.uploads_too_large",
            size=-(-total // MB),
            limit=size_mb(limits.max_total_bytes),
        )
    return total
