"""Task types, the registry: every type of task by name, each behind the same ``TaskType`` face.

Adding a type: its module here (a ``TaskType`` with ``TASK_TYPE = ...``), its name in
``bot.batch_settings.BatchType``, a line in ``TASK_TYPES``, its catalogue file
``bot/locales/*/LC_MESSAGES/type_NAME.po``, and its tests in ``tests/tasks/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from bot.tasks import emotion, image_tag, image_text, review, transcription, translation
from bot.tasks.base import TaskType

TASK_TYPES: Mapping[str, TaskType] = MappingProxyType(
    {
        kind.name: kind
        for kind in (
            image_tag.TASK_TYPE,
            emotion.TASK_TYPE,
            transcription.TASK_TYPE,
            image_text.TASK_TYPE,
            translation.TASK_TYPE,
            review.TASK_TYPE,
        )
    }
)
"""Every task type by name, in the order they are offered."""


def task_type(name: str) -> TaskType:
    """The task type called ``name``; ``KeyError`` for an unknown one (names are checked at
    intake, so a stored batch always has a known type)."""
    return TASK_TYPES[name]


__all__ = ["TASK_TYPES", "TaskType", "task_type"]
