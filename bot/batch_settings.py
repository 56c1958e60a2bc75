"""Batches, their settings: the one value a manifest or ``/newbatch`` gives and storage keeps.

``BatchSettings`` is declared once. The manifest parser (``bot/intake/manifest.py``) builds it,
the guided conversation writes a manifest and goes through the same parser, the draft row
(``storage.batches.NewBatch``) holds it and the stored ``Batch`` extends it. Adding a manifest
field: one field here, its check in the parser (and, for storage, a column of the same name).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args

BatchType = Literal["image_tag", "emotion", "transcription", "image_text", "translation", "review"]
"""A task type's name (``bot/tasks/`` holds each type's rules)."""
BATCH_TYPES: tuple[str, ...] = get_args(BatchType)
REVIEW_TYPE: BatchType = "review"
REQUESTED_TYPES: tuple[str, ...] = tuple(name for name in BATCH_TYPES if name != REVIEW_TYPE)
"""The types a manifest or ``/newbatch`` may ask for: a review batch is made by the pipeline
(``bot/review.py``) when a batch with ``review`` ends."""
Level = Literal["newcomer", "confirmed", "expert"]
"""A worker's level, lowest first (``bot/quality.py`` says what each takes)."""
LEVELS: tuple[Level, ...] = get_args(Level)


@dataclass(frozen=True)
class Example:
    """A worked example shown before a worker's first task of a batch: a file, its right answer
    (canonical, as a gold answer) and why. ``media_path`` (under DATA_DIR) and ``media_kind``
    are set once the file is stored; plain JSON values, so a draft can carry them."""

    file: str
    answer: str
    why: str
    media_path: str = ""
    media_kind: str = ""  # image | audio

    def to_json(self) -> dict[str, str]:
        return {
            "file": self.file,
            "answer": self.answer,
            "why": self.why,
            "media_path": self.media_path,
            "media_kind": self.media_kind,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Example:
        return cls(**{name: str(value.get(name, "")) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class BatchSettings:
    """A valid batch's settings; money in cents, times in seconds, labels in the given order."""

    type: BatchType
    title: str
    instructions: str
    labels: tuple[str, ...]
    multiple: bool
    seconds_per_task: int
    reward: int
    answers_per_item: int
    time_limit: int
    # Optional (issue 14): the least level a worker needs, and worked examples.
    min_level: Level = field(default="newcomer", kw_only=True)
    examples: tuple[Example, ...] = field(default=(), kw_only=True)
    review: bool = field(default=False, kw_only=True)
    """Text types: a review batch picks the best of each item's answers once they are in."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The settings' field names, in declaration order (they are also storage's columns)."""
        return tuple(field.name for field in fields(BatchSettings))

    @classmethod
    def optional(cls) -> dict[str, Any]:
        """The optional settings (keyword-only, with a default) and their defaults."""
        return {f.name: f.default for f in fields(BatchSettings) if f.kw_only}

    @property
    def settings(self) -> BatchSettings:
        """Just the settings of a value that extends them (a manifest's spec, a stored batch)."""
        if type(self) is BatchSettings:
            return self
        return BatchSettings(**self.values())

    def values(self) -> dict[str, Any]:
        """The settings by field name."""
        return {name: getattr(self, name) for name in self.names()}
