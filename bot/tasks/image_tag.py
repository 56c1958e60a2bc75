"""Task types, image tagging: tick the labels an image shows (one, or several with ``multiple``)."""

from __future__ import annotations

from typing import ClassVar

from bot.batch_settings import BatchType
from bot.tasks.base import MediaKind
from bot.tasks.labels import LabelTask


class ImageTag(LabelTask):
    """Labels required; the only type where ``multiple = true`` (toggles and Done) is allowed."""

    name: ClassVar[BatchType] = "image_tag"
    manifest_fields: ClassVar[frozenset[str]] = frozenset({"labels", "multiple"})
    media_kinds: ClassVar[frozenset[MediaKind]] = frozenset({"image"})


TASK_TYPE = ImageTag()
