"""Task types, transcription: type what a clip says; recordings in chunks, weighted ROVER."""

from __future__ import annotations

from typing import ClassVar

from bot.batch_settings import BatchType
from bot.quality import is_implausibly_fast
from bot.tasks.base import MediaKind
from bot.tasks.text import TextTask

MAX_TRANSCRIPT_CHARS = 2000


class Transcription(TextTask):
    """No labels; audio only, long recordings in chunks; answered by a text reply."""

    name: ClassVar[BatchType] = "transcription"
    media_kinds: ClassVar[frozenset[MediaKind]] = frozenset({"audio"})
    chunks_recordings: ClassVar[bool] = True
    max_answer_chars: ClassVar[int] = MAX_TRANSCRIPT_CHARS

    def too_fast(self, duration_ms: int, clip_ms: int | None) -> bool:
        """Under a third of the clip's length; no flag when the length is unknown."""
        if clip_ms is None:
            return False
        return is_implausibly_fast(self.name, duration_ms, clip_ms)


TASK_TYPE = Transcription()
