"""Task types, emotion: the one emotion an image or a voice clip shows, from a default set."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from bot.batch_settings import BatchType
from bot.tasks.base import MediaKind
from bot.tasks.labels import LabelTask

if TYPE_CHECKING:
    from bot.i18n import Translator

EMOTION_LABELS = ("joy", "sadness", "anger", "fear", "surprise", "disgust", "neutral")
"""The labels when the manifest gives none; workers read them translated (``emotion.po``)."""


class Emotion(LabelTask):
    """One label per answer; images or audio clips; the default labels are translated."""

    name: ClassVar[BatchType] = "emotion"
    default_labels: ClassVar[tuple[str, ...] | None] = EMOTION_LABELS
    media_kinds: ClassVar[frozenset[MediaKind]] = frozenset({"image", "audio"})

    def label_text(self, t: Translator, label: str) -> str:
        """The default emotions in the worker's language; a requester's own labels as given."""
        return t(f"tasks.emotion.{label}") if label in EMOTION_LABELS else label


TASK_TYPE = Emotion()
