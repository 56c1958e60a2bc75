"""Gold in the worker loop: mixed in at the configured share with a server secret, never twice,
within the gold items' escrow, scored with the answer, pausing a weak or too fast worker's type;
appeals lifted by an admin only, audited. Stories on a real SQLite file.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import answers
from bot.appeals import decide, file_appeal
from bot.errors import InvalidInput, PermissionDenied
from bot.gold import QualityRules, worker_stats
from bot.ledger import balance, escrow_account
from bot.payouts import check_invariants
from bot.quality import QualityPolicy, SpeedPolicy
from storage.assignments import assignments_of_worker, open_slots
from storage.availability import paused_types
from storage.batches import get_batch, items_of
from storage.db import Database
from storage.quality import gold_scores, server_secret, type_pauses
from storage.users import grant_role
from tests.builders import (
    LABELS,
    NOW,
    PARIS,
    offer,
    policy,
    publish_with_gold,
    workers,
)
from tests.conftest import ADMIN_ID, sql_rows

SLOW = timedelta(seconds=3)  # a plausible answer time


def rules(**options: Any) -> QualityRules:
    """Quality rules for the mixing tests: no training unless asked (tests/test_training.py)."""
    return QualityRules(**{"training_items": 0, **options})


async def answer(
    db: Database, quality: QualityRules, worker_id: int, label: str, after: timedelta = SLOW
) -> answers.Credited:
    task = await offer(db, worker_id, quality)
    assert task is not None
    return await answers.submit(
        db, policy(quality), task.id, worker_id, NOW + after, label=LABELS.index(label)
    )


async def gold_ids(db: Database, batch_id: int) -> set[int]:
    return {item.id for item in await db.run_read(items_of, batch_id) if item.is_gold}


# -- mixing -----------------------------------------------------------------------------------


async def test_gold_comes_at_the_share_never_twice_and_never_starves_the_ordinary_items(
    db: Database, tmp_path: Path
) -> None:
    quality = rules(gold_share=1 / 4)
    batch_id = await publish_with_gold(
        db, tmp_path, ordinary=8, gold=["car", "dog"], answers_per_item=1
    )
    golds = await gold_ids(db, batch_id)
    assert await db.run_read(open_slots) == 8  # gold items are no ordinary slots
    await workers(db, [101])
    served: list[int] = []
    while (task := await offer(db, 101, quality)) is not None:
        served.append(task.item_id)
        await answers.submit(db, policy(quality), task.id, 101, NOW + SLOW, label=0)
    assert len(served) == len(set(served)) == 10  # every item once, gold included
    blocks = [served[:4], served[4:8]]
    assert [len(golds & set(block)) for block in blocks] == [1, 1]  # one gold in each block of 4
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert batch.state == "done"
    assert all(item.state == "complete" for item in await db.run_read(items_of, batch_id))
    assert await check_invariants(db, tz=PARIS, cap=25_000) == []


async def test_the_server_secret_is_made_once_and_changes_the_gold_places(
    db: Database, tmp_path: Path
) -> None:
    async with db.write() as conn:
        first = await server_secret(conn, "gold_mixing", NOW)
        again = await server_secret(conn, "gold_mixing", NOW)
    assert first == again
    assert len(first) == 64
    other = await Database.open(tmp_path / "other.db")
    await other.migrate()
    async with other.write() as conn:
        assert await server_secret(conn, "gold_mixing", NOW) != first
    await other.close()


async def test_gold_answers_stay_within_the_gold_items_escrow(db: Database, tmp_path: Path) -> None:
    quality = rules(gold_share=1.0)  # every task gold while one is left for the worker
    batch_id = await publish_with_gold(
        db, tmp_path, ordinary=3, gold=["car"], answers_per_item=2, reward=4
    )
    golds = await gold_ids(db, batch_id)
    ids = [201, 202, 203]
    await workers(db, ids)
    first_tasks = []
    for worker_id in ids:
        task = await offer(db, worker_id, quality)
        assert task is not None
        first_tasks.append(task)
    # One gold item x 2 answers_per_item: the third worker gets an ordinary item instead.
    assert [task.item_id in golds for task in first_tasks] == [True, True, False]
    for task in first_tasks:
        await answers.submit(db, policy(quality), task.id, task.worker_id, NOW + SLOW, label=0)
    assert await balance(db, escrow_account(batch_id)) >= 0
    assert await check_invariants(db, tz=PARIS, cap=25_000) == []


# -- scoring and pauses -----------------------------------------------------------------------


async def test_wrong_gold_answers_pause_the_type_with_the_numbers_and_keep_the_money(
    db: Database, tmp_path: Path
) -> None:
    quality = rules(gold_share=1.0, pause=QualityPolicy(threshold=0.6, min_gold=2))
    await publish_with_gold(db, tmp_path, ordinary=2, gold=["car", "dog", "tree"])
    await workers(db, [301])
    first = await answer(db, quality, 301, "person")
    assert first.quality.gold_score == 0.0
    assert first.quality.pauses == ()  # one gold answer is not enough to judge
    second = await answer(db, quality, 301, "bicycle")
    (notice,) = second.quality.pauses
    assert notice.reason == "accuracy"
    assert notice.accuracy is not None
    assert notice.accuracy.gold_answers == 2
    assert notice.accuracy.upper_bound < 0.6
    assert await db.run_read(gold_scores, 301, "image_tag") == [0.0, 0.0]
    (pause,) = await db.run_read(type_pauses, 301)
    assert (pause.reason, pause.detail["gold_answers"]) == ("accuracy", 2)
    assert await offer(db, 301, quality) is None  # no more image tagging for them
    mine = await db.run_read(assignments_of_worker, 301)
    assert [a.state for a in mine] == ["submitted", "submitted"]  # both answers paid
    stats = await worker_stats(db, 301)
    assert stats.tasks_done == 2
    assert stats.types[0].estimate.gold_answers == 2


async def test_right_gold_answers_score_one_and_pause_nothing(db: Database, tmp_path: Path) -> None:
    quality = rules(gold_share=1.0, pause=QualityPolicy(threshold=0.6, min_gold=2))
    await publish_with_gold(db, tmp_path, ordinary=2, gold=["car", "car"])
    await workers(db, [311])
    assert (await answer(db, quality, 311, "car")).quality.gold_score == 1.0
    assert (await answer(db, quality, 311, "car")).quality.pauses == ()
    assert await db.run_read(gold_scores, 311, "image_tag") == [1.0, 1.0]
    assert await db.run_read(paused_types, 311) == {}
    estimate = (await worker_stats(db, 311)).types[0].estimate
    assert round(estimate.score, 3) == round(9 / 12, 3)  # (2 + 7) / (2 + 10)


async def test_answers_too_fast_are_flagged_and_repeated_flags_pause_the_type(
    db: Database, tmp_path: Path
) -> None:
    quality = rules(speed=SpeedPolicy(max_flags=2, window=10))
    await publish_with_gold(db, tmp_path, ordinary=4, gold=[], answers_per_item=1)
    await workers(db, [321])
    fast = timedelta(milliseconds=300)
    first = await answer(db, quality, 321, "car", after=fast)
    assert first.quality.speed_flag
    assert first.quality.pauses == ()
    assert not (await answer(db, quality, 321, "car")).quality.speed_flag
    third = await answer(db, quality, 321, "car", after=fast)
    (notice,) = third.quality.pauses
    assert notice.reason == "speed"
    assert notice.speed is not None
    assert notice.speed.flags == 2
    assert [a.speed_flag for a in await db.run_read(assignments_of_worker, 321)] == [
        True,
        False,
        True,
    ]
    assert (await worker_stats(db, 321)).types[0].speed_flags == 2


# -- appeals ------------------------------------------------------------------------------------


async def test_an_appeal_is_lifted_by_an_admin_once_audited_and_checks_start_afresh(
    db: Database, tmp_path: Path
) -> None:
    quality = rules(gold_share=1.0, pause=QualityPolicy(threshold=0.6, min_gold=2))
    await publish_with_gold(db, tmp_path, ordinary=3, gold=["car", "dog", "tree", "car"])
    await workers(db, [331, 332])
    with pytest.raises(InvalidInput) as nothing:
        await file_appeal(db, 331, "please", NOW)
    assert nothing.value.message_key == "quality.appeal.not_paused"
    await answer(db, quality, 331, "person")
    await answer(db, quality, 331, "person")
    assert "image_tag" in await db.run_read(paused_types, 331)
    appeal = await file_appeal(db, 331, "  I misread   the instructions ", NOW)
    assert appeal.text == "I misread the instructions"
    with pytest.raises(InvalidInput) as twice:
        await file_appeal(db, 331, "again", NOW)
    assert twice.value.message_key == "quality.appeal.already_open"
    with pytest.raises(PermissionDenied):  # a worker pressing a forged Lift button
        await decide(db, appeal.id, 332, "lifted", "image_tag", NOW)
    assert "image_tag" in await db.run_read(paused_types, 331)
    await db.run_write(grant_role, user_id=ADMIN_ID, role="admin", granted_by=None, now=NOW)
    lifted_at = NOW + timedelta(seconds=10)
    done = await decide(db, appeal.id, ADMIN_ID, "lifted", "image_tag", lifted_at)
    assert done.outcome == "lifted"
    assert await db.run_read(paused_types, 331) == {}
    with pytest.raises(InvalidInput) as closed:  # a second admin's late press
        await decide(db, appeal.id, ADMIN_ID, "kept", None, NOW)
    assert closed.value.message_key == "quality.appeal.closed"
    audit = await sql_rows(db, "SELECT action, actor_id FROM audit_log ORDER BY id")
    assert [(row[0], row[1]) for row in audit][-1] == ("appeal.lifted", ADMIN_ID)
    # Checks after a lift count only new gold answers: one more wrong answer does not re-pause.
    again = await answer(db, quality, 331, "person", after=timedelta(seconds=20))
    assert again.quality.pauses == ()
