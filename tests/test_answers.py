"""Answers: accepted once and paid once in one transaction; everything else refused, unchanged.

Stories on a real SQLite file: an answer is stored with its duration and credited with key
``answer:ASSIGNMENT_ID``; a replay, a foreign worker, a late press change nothing; toggles,
transcriptions, skips, expiries and pauses do what the worker was told.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from bot import answers
from bot.dispatch import Policy, next_for
from bot.errors import CapExceeded, InvalidInput, NotFound, PermissionDenied, UserError
from bot.ledger import balance, escrow_account, grant_bonus, worker_account
from bot.payouts import check_invariants
from storage.assignments import (
    Assignment,
    answers_of_item,
    claim_next,
    get_assignment,
)
from storage.availability import get_availability
from storage.batches import get_batch, get_item
from storage.db import Database
from storage.ledger import transfer_by_key
from tests.builders import NOW, PARIS, POLICY, publish_batch, shown, workers
from tests.conftest import sql_rows


async def offered(db: Database, worker_id: int, now=NOW) -> Assignment:
    claim = await db.run_write(claim_next, worker_id=worker_id, now=now, max_reward=10_000)
    assert claim is not None
    return await shown(db, claim, now)


async def ledger_ok(db: Database, cap: int = POLICY.monthly_cap) -> None:
    assert await check_invariants(db, tz=PARIS, cap=cap) == []


async def refused_with(key: str, action) -> UserError:
    with pytest.raises(UserError) as refused:
        await action
    assert refused.value.message_key == key
    return refused.value


# -- accepted ---------------------------------------------------------------------------------


async def test_an_answer_is_stored_timed_and_credited_once(db: Database, tmp_path: Path) -> None:
    batch_id = await publish_batch(db, tmp_path, items=1, answers_per_item=2, reward=4)
    await workers(db, [101, 102])
    first = await offered(db, 101)
    later = NOW + timedelta(milliseconds=2500)
    credited = await answers.submit(db, POLICY, first.id, 101, later, label=1)
    assert credited.answer == "bicycle"
    assert credited.amount == 4
    assert credited.month_total == 4
    assert credited.cap_left == POLICY.monthly_cap - 4
    stored = await db.run_read(get_assignment, first.id)
    assert stored is not None
    assert stored.state == "submitted"
    assert stored.answer == "bicycle"
    assert stored.duration_ms == 2500
    transfer = await db.run_read(transfer_by_key, f"answer:{first.id}")
    assert transfer is not None
    assert (transfer.amount, transfer.credit_account) == (4, worker_account(101))
    assert await balance(db, escrow_account(batch_id)) == 4  # 8 held, 4 paid

    item = await db.run_read(get_item, first.item_id)
    assert item is not None
    assert item.state == "open"  # one answer of two
    second = await offered(db, 102)
    await answers.submit(db, POLICY, second.id, 102, later, label=0)
    item = await db.run_read(get_item, first.item_id)
    assert item is not None
    assert item.state == "complete"
    assert [a.answer for a in await db.run_read(answers_of_item, first.item_id)] == [
        "bicycle",
        "car",
    ]
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert batch.state == "done"  # its only item is complete
    assert await balance(db, escrow_account(batch_id)) == 0
    await ledger_ok(db)


async def test_a_replayed_answer_is_refused_and_pays_nothing(db: Database, tmp_path: Path) -> None:
    await publish_batch(db, tmp_path, items=1, answers_per_item=1)
    await workers(db, [111])
    assignment = await offered(db, 111)
    await answers.submit(db, POLICY, assignment.id, 111, NOW, label=0)
    await refused_with(
        "tasks.refused.answered", answers.submit(db, POLICY, assignment.id, 111, NOW, label=2)
    )
    assert await balance(db, worker_account(111)) == 4
    stored = await db.run_read(get_assignment, assignment.id)
    assert stored is not None
    assert stored.answer == "car"
    await ledger_ok(db)


async def test_a_double_tap_at_the_same_time_pays_once(db: Database, tmp_path: Path) -> None:
    await publish_batch(db, tmp_path, items=1, answers_per_item=1)
    await workers(db, [121])
    assignment = await offered(db, 121)
    results = await asyncio.gather(
        *(answers.submit(db, POLICY, assignment.id, 121, NOW, label=0) for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, answers.Credited) for r in results) == 1
    refusals = [r for r in results if not isinstance(r, answers.Credited)]
    assert all(isinstance(r, UserError) for r in refusals)
    assert {r.message_key for r in refusals if isinstance(r, UserError)} == {
        "tasks.refused.answered"
    }
    assert await balance(db, worker_account(121)) == 4


# -- refused ----------------------------------------------------------------------------------


async def test_another_workers_assignment_is_refused(db: Database, tmp_path: Path) -> None:
    await publish_batch(db, tmp_path, items=2, answers_per_item=1)
    await workers(db, [131, 132])
    mine = await offered(db, 131)
    with pytest.raises(PermissionDenied):
        await answers.submit(db, POLICY, mine.id, 132, NOW, label=0)
    with pytest.raises(PermissionDenied):
        await answers.skip(db, mine.id, 132, NOW)
    with pytest.raises(PermissionDenied):
        await answers.pause_from_task(db, mine.id, 132, NOW)
    with pytest.raises(NotFound):
        await answers.submit(db, POLICY, 987_654, 132, NOW, label=0)
    still = await db.run_read(get_assignment, mine.id)
    assert still is not None
    assert still.state == "active"
    assert (await db.run_read(get_availability, 132)).paused_at is None
    assert await balance(db, worker_account(132)) == 0
    await ledger_ok(db)


async def test_a_late_answer_is_refused_then_the_assignment_expires(
    db: Database, tmp_path: Path
) -> None:
    await publish_batch(db, tmp_path, items=1, answers_per_item=1, time_limit=3)
    await workers(db, [141, 142])
    assignment = await offered(db, 141)
    assert await answers.expire(db, assignment.id, NOW + timedelta(seconds=2)) is None  # not due
    late = NOW + timedelta(seconds=3)
    await refused_with(
        "tasks.refused.expired", answers.submit(db, POLICY, assignment.id, 141, late, label=0)
    )
    expired = await answers.expire(db, assignment.id, late)
    assert expired is not None
    assert expired.assignment.state == "expired"
    assert not expired.paused
    assert await answers.expire(db, assignment.id, late) is None  # once only
    await refused_with(
        "tasks.refused.expired", answers.submit(db, POLICY, assignment.id, 141, late, label=0)
    )
    # The slot is back in the pool, for the other worker only (141 saw that item).
    assert await next_for(db, POLICY, 141, late) is None
    other = await next_for(db, POLICY, 142, late)
    assert other is not None
    assert other.item.id == assignment.item_id
    assert await balance(db, worker_account(141)) == 0
    await ledger_ok(db)


async def test_buttons_that_do_not_fit_the_task_are_refused(db: Database, tmp_path: Path) -> None:
    await publish_batch(db, tmp_path, items=1, answers_per_item=1)
    await workers(db, [151])
    assignment = await offered(db, 151)
    for bad in (
        answers.submit(db, POLICY, assignment.id, 151, NOW, label=3),
        answers.toggle(db, assignment.id, 151, 0, NOW),
        answers.submit(db, POLICY, assignment.id, 151, NOW, text="car"),
    ):
        with pytest.raises(InvalidInput):
            await bad
    still = await db.run_read(get_assignment, assignment.id)
    assert still is not None
    assert still.state == "active"


async def test_an_answer_to_a_cancelled_batch_is_refused(db: Database, tmp_path: Path) -> None:
    batch_id = await publish_batch(db, tmp_path, items=1, answers_per_item=1)
    await workers(db, [161])
    assignment = await offered(db, 161)
    async with db.write() as conn:
        await conn.execute("UPDATE batches SET state = 'cancelled' WHERE id = ?", (batch_id,))
    await refused_with(
        "tasks.refused.batch_closed", answers.submit(db, POLICY, assignment.id, 161, NOW, label=0)
    )


async def test_a_reward_no_longer_under_the_cap_releases_the_task(
    db: Database, tmp_path: Path
) -> None:
    policy = Policy(monthly_cap=10, zone=PARIS)
    batch_id = await publish_batch(db, tmp_path, items=2, answers_per_item=1, reward=4)
    await workers(db, [171])
    assignment = await offered(db, 171)
    await db.run_write(  # a bonus lands between the offer and the answer
        grant_bonus,
        from_account=escrow_account(batch_id),
        worker_id=171,
        amount=7,
        key="bonus:test",
        actor_id=7001,
        at=NOW,
        tz=PARIS,
        cap=10,
    )
    with pytest.raises(CapExceeded):
        await answers.submit(db, policy, assignment.id, 171, NOW, label=0)
    released = await db.run_read(get_assignment, assignment.id)
    assert released is not None
    assert (released.state, released.end_reason, released.answer) == ("released", "cap", None)
    assert await balance(db, worker_account(171)) == 7
    assert await next_for(db, policy, 171, NOW) is None  # 3 left, rewards of 4 not offered
    await ledger_ok(db, cap=10)


# -- task types ------------------------------------------------------------------------------


async def test_multiple_labels_toggle_then_done(db: Database, tmp_path: Path) -> None:
    await publish_batch(
        db, tmp_path, items=1, answers_per_item=1, multiple=True, labels=("car", "dog", "person")
    )
    await workers(db, [181])
    assignment = await offered(db, 181)
    await refused_with(
        "tasks.pick_one", answers.submit(db, POLICY, assignment.id, 181, NOW, from_draft=True)
    )
    for index in (2, 0, 1, 1):  # person, car, dog, dog again (untick)
        updated, _ = await answers.toggle(db, assignment.id, 181, index, NOW)
    assert updated.draft == (0, 2)
    with pytest.raises(InvalidInput):
        await answers.submit(db, POLICY, assignment.id, 181, NOW, label=0)  # not single choice
    credited = await answers.submit(db, POLICY, assignment.id, 181, NOW, from_draft=True)
    assert credited.answer == ["car", "person"]  # label order, whatever the tap order
    await refused_with("tasks.refused.answered", answers.toggle(db, assignment.id, 181, 1, NOW))


async def test_a_transcription_is_stored_trimmed_and_blank_is_refused(
    db: Database, tmp_path: Path
) -> None:
    await publish_batch(
        db, tmp_path, type="transcription", labels=(), media="audio", items=1, answers_per_item=1
    )
    await workers(db, [191])
    assignment = await offered(db, 191)
    await refused_with(
        "tasks.empty_transcript", answers.submit(db, POLICY, assignment.id, 191, NOW, text=" \n ")
    )
    with pytest.raises(InvalidInput):
        await answers.submit(db, POLICY, assignment.id, 191, NOW, label=0)
    credited = await answers.submit(
        db, POLICY, assignment.id, 191, NOW, text="  Bonjour, tout le monde !\n"
    )
    assert credited.answer == "Bonjour, tout le monde !"


async def test_text_on_a_label_task_is_refused(db: Database, tmp_path: Path) -> None:
    await publish_batch(db, tmp_path, type="emotion", labels=("joy", "anger"), items=1)
    await workers(db, [195])
    assignment = await offered(db, 195)
    await refused_with(
        "tasks.use_buttons", answers.submit(db, POLICY, assignment.id, 195, NOW, text="joy")
    )


# -- skip, pause, expiry ------------------------------------------------------------------------


async def test_skip_gives_the_slot_back_without_pay_or_penalty(
    db: Database, tmp_path: Path
) -> None:
    await publish_batch(db, tmp_path, items=1, answers_per_item=1)
    await workers(db, [201, 202])
    assignment = await offered(db, 201)
    skipped = await answers.skip(db, assignment.id, 201, NOW)
    assert skipped.state == "skipped"
    await refused_with("tasks.refused.skipped", answers.skip(db, assignment.id, 201, NOW))
    other = await next_for(db, POLICY, 202, NOW)
    assert other is not None
    assert other.item.id == assignment.item_id
    assert await balance(db, worker_account(201)) == 0
    assert (await db.run_read(get_availability, 201)).paused_at is None


async def test_claims_never_shown_go_back_in_one_write_once(db: Database, tmp_path: Path) -> None:
    batch_id = await publish_batch(db, tmp_path, items=2, answers_per_item=1)
    await workers(db, [211, 212, 213])
    old = await db.run_write(claim_next, worker_id=211, now=NOW, max_reward=10_000)
    on_screen = await offered(db, 212)  # shown: its deadline job ends it, not this
    later = NOW + timedelta(seconds=40)
    new = await db.run_write(claim_next, worker_id=213, now=later, max_reward=10_000)
    assert old is not None
    assert new is None  # two items: 213 finds nothing left
    assert await answers.release_never_shown(db, later - timedelta(seconds=30), later) == 1
    assert await answers.release_never_shown(db, None, later) == 0  # once only
    released = await db.run_read(get_assignment, old.id)
    assert released is not None
    assert (released.state, released.end_reason, released.ended_at) == (
        "released",
        "not_shown",
        later,
    )
    assert (await db.run_read(get_assignment, on_screen.id)) == on_screen
    again = await next_for(db, POLICY, 213, later)  # its slot is back, counted back once
    assert again is not None
    assert again.item.id == old.item_id
    assert await answers.release_never_shown(db, None, later) == 1  # None: every one
    stats = await sql_rows(
        db, "SELECT taken FROM items WHERE batch_id = ? ORDER BY id", (batch_id,)
    )
    assert sorted(row[0] for row in stats) == [0, 1]


async def test_the_pause_button_releases_the_task_and_pauses(db: Database, tmp_path: Path) -> None:
    await publish_batch(db, tmp_path, items=2, answers_per_item=1)
    await workers(db, [211])
    assignment = await offered(db, 211)
    released = await answers.pause_from_task(db, assignment.id, 211, NOW)
    assert released is not None
    assert (released.state, released.end_reason) == ("released", "paused")
    assert (await db.run_read(get_availability, 211)).pause_reason == "worker"
    assert await next_for(db, POLICY, 211, NOW) is None
    # Pressing Pause again on the ended task still leaves the worker paused, changing nothing.
    assert await answers.pause_from_task(db, assignment.id, 211, NOW) is None


async def test_two_tasks_in_a_row_running_out_pause_the_worker(
    db: Database, tmp_path: Path
) -> None:
    await publish_batch(db, tmp_path, items=3, answers_per_item=1, time_limit=3)
    await workers(db, [221, 222])
    late = NOW + timedelta(seconds=3)
    first = await offered(db, 221)
    expired = await answers.expire(db, first.id, late)
    assert expired is not None
    assert not expired.paused
    second = await offered(db, 221, late)
    on_time = await offered(db, 222, late + timedelta(seconds=2))
    later = late + timedelta(seconds=3)  # a restarted bot: every one past its time, in one write
    assert await answers.expire_due(db, later, later, limit=1) == []  # not before its deadline
    [expired] = await answers.expire_due(db, later + timedelta(seconds=1), later, limit=10)
    assert expired.assignment.id == second.id
    assert expired.paused
    assert (await db.run_read(get_availability, 221)).pause_reason == "timeouts"
    assert await answers.expire_due(db, later + timedelta(seconds=1), later, limit=10) == []
    assert await answers.expire(db, second.id, later) is None  # once only, either way
    assert (await db.run_read(get_assignment, on_time.id)) == on_time  # its time not up


async def test_an_answer_resets_the_count_of_missed_tasks(db: Database, tmp_path: Path) -> None:
    await publish_batch(db, tmp_path, items=3, answers_per_item=1, time_limit=3)
    await workers(db, [231])
    first = await offered(db, 231)
    await answers.expire(db, first.id, NOW + timedelta(seconds=3))
    second = await offered(db, 231, NOW + timedelta(seconds=3))
    await answers.submit(db, POLICY, second.id, 231, NOW + timedelta(seconds=4), label=0)
    third = await offered(db, 231, NOW + timedelta(seconds=5))
    expired = await answers.expire(db, third.id, NOW + timedelta(seconds=8))
    assert expired is not None
    assert not expired.paused
