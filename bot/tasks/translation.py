"""Task types, translation: a short text (a sentence of a product sheet) put into another language.

Items are the sentences of the upload's text files (``bot/intake/sentences.py``), shown as a
text message. Several workers translate each; word-level ROVER would stitch different word
orders together, so the consensus is the weighted medoid (the translation closest to the
others). By default a review batch follows (``bot/review.py``): other workers pick the best
translation of each sentence, or say none is right, and the results give the chosen one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from bot.aggregation import medoid_transcript
from bot.batch_settings import BatchType
from bot.tasks.base import MediaKind
from bot.tasks.text import TextTask
from bot.votes import TextResult

MAX_SENTENCE_CHARS = 500  # a sentence to translate, and a translation of it


class Translation(TextTask):
    """Short texts only; answered by a text reply; the medoid, then a review step."""

    name: ClassVar[BatchType] = "translation"
    media_kinds: ClassVar[frozenset[MediaKind]] = frozenset({"text"})
    prompt_key: ClassVar[str] = "tasks.prompt.translation"
    placeholder_key: ClassVar[str] = "tasks.prompt_placeholder.translation"
    max_answer_chars: ClassVar[int] = MAX_SENTENCE_CHARS
    aggregation_method: ClassVar[str] = "medoid"
    review_by_default: ClassVar[bool] = True

    def consensus(self, texts: Sequence[str], weights: Sequence[float] | None) -> TextResult:
        """The weighted medoid: the translation closest to the others, as typed."""
        return medoid_transcript(texts, weights)


TASK_TYPE = Translation()
