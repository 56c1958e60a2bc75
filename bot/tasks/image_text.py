"""Task types, text in an image: type the text a photo shows (a receipt line, a sign, a label)."""

from __future__ import annotations

from typing import ClassVar

from bot.batch_settings import BatchType
from bot.tasks.base import MediaKind
from bot.tasks.text import TextTask

MAX_IMAGE_TEXT_CHARS = 300  # a line, a sign, a label: short; a page belongs to another tool


class ImageText(TextTask):
    """Images only; answered by a text reply; weighted ROVER, like transcripts."""

    name: ClassVar[BatchType] = "image_text"
    media_kinds: ClassVar[frozenset[MediaKind]] = frozenset({"image"})
    prompt_key: ClassVar[str] = "tasks.prompt.image_text"
    placeholder_key: ClassVar[str] = "tasks.prompt_placeholder.image_text"
    max_answer_chars: ClassVar[int] = MAX_IMAGE_TEXT_CHARS


TASK_TYPE = ImageText()
