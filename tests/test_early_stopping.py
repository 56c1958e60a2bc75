"""Early stopping in the loop: an item completes once its answers agree clearly, below
``answers_per_item``; the item's other active task is released (a late press is refused
kindly); the batch ends and its unspent escrow goes back to the requester, all in the
answer's transaction. Stories on a real SQLite file.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import answers
from bot.errors import InvalidInput
from bot.gold import ITEM_COMPLETE, QualityRules
from bot.ledger import balance, escrow_account, requester_account
from bot.payouts import check_invariants
from storage.assignments import Assignment, get_assignment
from storage.batches import get_batch, get_item
from storage.db import Database
from storage.quality import gold_scores
from tests.builders import (
    LABELS,
    NOW,
    PARIS,
    offer,
    policy,
    publish_batch,
    publish_with_gold,
    workers,
)
from tests.conftest import REQUESTER_ID

LATER = NOW + timedelta(seconds=4)
QUALITY = QualityRules()  # the defaults: 0.95 for labels, 0.9 for transcriptions


async def three_on_one_item(db: Database, tmp_path: Path, **options: Any) -> list[Assignment]:
    """One item, three answer slots, three workers each holding one."""
    await publish_batch(
        db,
        tmp_path,
        items=1,
        answers_per_item=3,
        reward=4,
        time_limit=30,
        dynamic=False,  # the answer's own rule (dynamic overlap: tests/test_refit.py)
        **options,
    )
    await workers(db, [401, 402, 403])
    tasks = [await offer(db, worker_id, QUALITY) for worker_id in (401, 402, 403)]
    assert all(tasks)
    return [task for task in tasks if task is not None]


async def test_two_agreeing_workers_complete_the_item_and_the_batch_refunds_the_rest(
    db: Database, tmp_path: Path
) -> None:
    first, second, third = await three_on_one_item(db, tmp_path, labels=LABELS)
    before = await balance(db, requester_account(REQUESTER_ID))
    one = await answers.submit(db, policy(QUALITY), first.id, 401, LATER, label=0)
    assert one.quality.stop is not None
    assert not one.quality.stop.stop
    two = await answers.submit(db, policy(QUALITY), second.id, 402, LATER, label=0)
    stop = two.quality.stop
    assert stop is not None
    assert stop.stop
    assert stop.reason == "confident"
    assert stop.confidence >= 0.95
    assert stop.answers == 2
    item = await db.run_read(get_item, first.item_id)
    assert item is not None
    assert item.state == "complete"
    (released,) = two.quality.released
    assert (released.id, released.worker_id, released.end_reason) == (third.id, 403, ITEM_COMPLETE)
    end = two.quality.batch_end
    assert end is not None
    assert (end.items, end.answers, end.spent, end.refunded) == (1, 2, 8, 4)
    batch = await db.run_read(get_batch, first.batch_id)
    assert batch is not None
    assert batch.state == "done"
    assert await balance(db, escrow_account(first.batch_id)) == 0
    assert await balance(db, requester_account(REQUESTER_ID)) == before + 4
    with pytest.raises(InvalidInput) as late:  # the third worker's press, after the release
        await answers.submit(db, policy(QUALITY), third.id, 403, LATER, label=0)
    assert late.value.message_key == "quality.refused.item_complete"
    stored = await db.run_read(get_assignment, third.id)
    assert stored is not None
    assert stored.state == "released"
    assert await check_invariants(db, tz=PARIS, cap=25_000) == []


async def test_disagreeing_workers_keep_the_item_open_until_answers_per_item(
    db: Database, tmp_path: Path
) -> None:
    first, second, third = await three_on_one_item(db, tmp_path, labels=LABELS)
    await answers.submit(db, policy(QUALITY), first.id, 401, LATER, label=0)
    two = await answers.submit(db, policy(QUALITY), second.id, 402, LATER, label=1)
    assert two.quality.stop is not None
    assert not two.quality.stop.stop
    assert two.quality.released == ()
    three = await answers.submit(db, policy(QUALITY), third.id, 403, LATER, label=0)
    assert three.quality.stop is not None
    assert three.quality.stop.reason == "limit"
    assert three.quality.batch_end is not None
    assert three.quality.batch_end.refunded == 0


async def test_a_worker_proven_weak_on_gold_does_not_close_an_item_with_one_other(
    db: Database, tmp_path: Path
) -> None:
    gold_rules = QualityRules(gold_share=1.0)
    await publish_with_gold(
        db, tmp_path, ordinary=1, gold=["car"] * 6, answers_per_item=1, seed=900
    )
    await workers(db, [402])
    for _ in range(7):  # six gold answers, all wrong, then the batch's ordinary item
        task = await offer(db, 402, gold_rules)
        assert task is not None
        await answers.submit(db, policy(gold_rules), task.id, 402, LATER, label=2)
    assert await db.run_read(gold_scores, 402, "image_tag") == [0.0] * 6  # accuracy (0 + 7) / 16
    first, second, _ = await three_on_one_item(db, tmp_path, labels=LABELS)
    await answers.submit(db, policy(QUALITY), first.id, 401, LATER, label=0)
    two = await answers.submit(db, policy(QUALITY), second.id, 402, LATER, label=0)
    assert two.quality.stop is not None
    assert not two.quality.stop.stop  # 0.7 and 0.44 agreeing: 0.88, a third answer is needed
    assert two.quality.stop.confidence < 0.95


async def test_two_matching_transcriptions_complete_a_clip_early(
    db: Database, tmp_path: Path
) -> None:
    first, second, third = await three_on_one_item(
        db, tmp_path, type="transcription", labels=(), media="audio"
    )
    text = "the cat sat on the mat"
    clip_later = NOW + timedelta(seconds=5)  # the clip lasts 1 s: 5 s is plausible
    await answers.submit(db, policy(QUALITY), first.id, 401, clip_later, text=text)
    two = await answers.submit(db, policy(QUALITY), second.id, 402, clip_later, text=text + ".")
    assert two.quality.stop is not None
    assert two.quality.stop.stop
    assert [a.id for a in two.quality.released] == [third.id]
    assert two.quality.batch_end is not None
    assert two.quality.batch_end.refunded == 4
