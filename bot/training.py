"""Domain room of examples and training (issue 14; no Telegram).

Training: a worker's first ``training_items`` gold answers of a task type are their training.
While they have fewer, the gold-mixing rule serves the batch's unseen gold items first (when the
batch has any left), and each such answer comes back with feedback: right or wrong, the expected
answer and why (``gold.csv``'s optional ``why`` column). Training answers are ordinary answers:
credited at the batch's rate under ``answer:ASSIGNMENT_ID`` and scored like any gold answer.

Examples: a batch's worked examples (``examples.csv``) are shown once to each worker, before
their first task of that batch; ``examples_due`` says whether they still are.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.tasks import task_type
from storage.batches import Batch, Item
from storage.db import Tx
from storage.training import examples_seen, gold_answers_on_type

RIGHT_SCORE = 0.9  # a gold score at least this is "right" (a transcription's few slips allowed)


@dataclass(frozen=True)
class Feedback:
    """What a training answer tells the worker: its place in the training and how it went."""

    number: int  # 1 for the first training answer of the type
    of: int
    score: float
    expected: str  # the gold answer as results show it
    why: str | None

    @property
    def verdict(self) -> str:
        """``right``, ``partly`` (some credit, as for some ticked tags) or ``wrong``."""
        if self.score >= RIGHT_SCORE:
            return "right"
        return "partly" if self.score > 0 else "wrong"


async def is_training(
    tx: Tx, worker_id: int, item: Item, batch: Batch, training_items: int
) -> bool:
    """Whether a gold item offered now is part of the worker's training on its type."""
    if not item.is_gold:
        return False
    return await gold_answers_on_type(tx, worker_id, batch.type) < training_items


async def feedback_for(
    tx: Tx, worker_id: int, batch: Batch, item: Item, score: float, training_items: int
) -> Feedback | None:
    """The feedback of a gold answer just recorded, when it was a training answer."""
    number = await gold_answers_on_type(tx, worker_id, batch.type)
    if not item.is_gold or number > training_items:
        return None
    expected = task_type(batch.type).gold_text(batch, item.gold_answer)
    return Feedback(number, training_items, score, expected, item.gold_why)


async def examples_due(tx: Tx, worker_id: int, batch: Batch) -> bool:
    """Whether the batch has examples the worker was not shown yet."""
    return bool(batch.examples) and not await examples_seen(tx, worker_id, batch.id)
