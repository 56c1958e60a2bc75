"""Task-type tests: batches, answers and a translator built in memory (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.batch_settings import BatchSettings, BatchType
from bot.i18n import Catalogue, Translator
from storage.assignments import Assignment
from storage.batches import Batch

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
TAGS = ("car", "bicycle", "person", "dog")


def settings(batch_type: BatchType, **changes: Any) -> BatchSettings:
    """A batch's settings of ``batch_type``, as a valid manifest would give them."""
    labels = {
        "image_tag": TAGS,
        "emotion": ("joy", "sadness", "anger", "fear", "surprise", "disgust", "neutral"),
        "transcription": (),
        "image_text": (),
        "translation": (),
        "review": ("1", "2", "3", "4", "5", "none"),
    }[batch_type]
    values: dict[str, Any] = {
        "type": batch_type,
        "title": "Street scenes",
        "instructions": "Look closely.",
        "labels": labels,
        "multiple": False,
        "seconds_per_task": 10,
        "reward": 4,
        "answers_per_item": 3,
        "time_limit": 60,
    }
    return BatchSettings(**{**values, **changes})


def stored(batch_settings: BatchSettings) -> Batch:
    """A stored batch with these settings."""
    return Batch(
        **batch_settings.values(),
        id=7,
        requester_id=1,
        below_floor=False,
        state="open",
        origin="zip",
        created_at=NOW,
        published_at=NOW,
        ended_at=None,
    )


def assignment(batch: Batch, draft: tuple[int, ...] = ()) -> Assignment:
    return Assignment(
        id=42,
        item_id=3,
        batch_id=batch.id,
        worker_id=5,
        state="active",
        reward=batch.reward,
        time_limit=batch.time_limit,
        forced=False,
        offered_at=NOW,
        shown_at=NOW,
        deadline=NOW,
        chat_id=5,
        message_id=9,
        prompt_message_id=None,
        draft=draft,
        answer=None,
        duration_ms=None,
        ended_at=None,
        end_reason=None,
    )


@pytest.fixture(scope="session", params=["en", "fr"])
def t(request: pytest.FixtureRequest) -> Translator:
    return Translator(Catalogue.load(), request.param, PARIS, "EUR")
