"""The kept floor: what one answer should have paid, the raise on the median time, and a pass
that reads what a batch owes before paying it in a write of its own."""

from __future__ import annotations

from pathlib import Path

from bot.floor import (
    MIN_ANSWERS_FOR_RAISE,
    FloorMemo,
    FloorNews,
    _pay,
    _plan,
    answer_target,
    enforce_floor,
    raised_reward,
)
from bot.ledger import top_up
from storage.batches import set_batch_state
from storage.db import Database
from storage.floor import batches_to_enforce, settle, topups_of_batch, untopped_answers
from tests.builders import (
    NOW,
    PARIS,
    half_floor_batch,
    image_items,
    item_ids,
    open_batch,
    submit,
)
from tests.conftest import ADMIN_ID, REQUESTER_ID

FLOOR = 1000  # cents an hour
CAP = 25_000


def test_an_answer_is_owed_the_floor_at_its_own_time_or_the_reward_now() -> None:
    assert answer_target(2, FLOOR, 20_000) == 6  # 5.56 cents, rounded up
    assert answer_target(9, FLOOR, 20_000) == 9  # the raised reward wins
    assert answer_target(2, FLOOR, 3_000) == 2  # fast enough: nothing owed


def test_the_reward_rises_on_the_median_only_once_measured_enough() -> None:
    durations = [20_000] * 6 + [40_000] * 4
    assert raised_reward(2, FLOOR, durations, min_answers=10) == 6
    assert raised_reward(2, FLOOR, durations[:9], min_answers=10) == 2
    assert raised_reward(12, FLOOR, durations, min_answers=10) == 12  # never lowered


async def _topups(db: Database, batch_id: int) -> dict[int, int]:
    return await db.run_read(topups_of_batch, batch_id)


async def test_a_pass_pays_what_it_read_and_the_next_pass_finds_nothing(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await half_floor_batch(db, tmp_path, extra_budget=500)
    (news,) = await enforce_floor(db, floor=FLOOR, now=NOW, tz=PARIS, cap=CAP)
    assert (news.old_reward, news.new_reward) == (2, 4)  # 4 cents pay the floor at 14.4 s
    assert news.topups == {41: 20, 42: 20}  # 10 answers each, 2 cents short each
    assert news.extra_escrow == 10 * 2  # one slot left per item, 2 cents more each
    assert await enforce_floor(db, floor=FLOOR, now=NOW, tz=PARIS, cap=CAP) == []
    assert sum((await _topups(db, batch_id)).values()) == 40


async def test_a_plan_is_left_for_the_next_pass_when_its_batch_changed_since(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await half_floor_batch(db, tmp_path, extra_budget=500)
    plan = await db.run_read(_plan, batch_id, FLOOR, MIN_ANSWERS_FOR_RAISE)
    assert plan is not None
    assert plan.reward == 4
    async with db.write() as tx:  # the requester pauses it between the read and the write
        assert await set_batch_state(tx, batch_id, expected=["open"], new="paused", now=NOW)
    async with db.write() as tx:
        assert await _pay(tx, plan, NOW, PARIS, CAP) is None
    assert await _topups(db, batch_id) == {}
    (news,) = await enforce_floor(db, floor=FLOOR, now=NOW, tz=PARIS, cap=CAP)
    assert news.topups == {41: 20, 42: 20}


async def test_an_answer_topped_up_since_the_plan_is_neither_paid_nor_told_twice(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await half_floor_batch(db, tmp_path, extra_budget=500)
    async with db.write() as tx:  # ended: no raise, each answer still owed the floor
        await tx.execute("UPDATE batches SET state = 'done' WHERE id = ?", (batch_id,))
    plan = await db.run_read(_plan, batch_id, FLOOR, MIN_ANSWERS_FOR_RAISE)
    assert plan is not None
    assert len(plan.owed) == 20
    (news,) = await enforce_floor(db, floor=FLOOR, now=NOW, tz=PARIS, cap=CAP)  # another pass
    assert news.topups == {41: 20, 42: 20}
    async with db.write() as tx:
        assert await _pay(tx, plan, NOW, PARIS, CAP) is None
    assert sum((await _topups(db, batch_id)).values()) == 40


async def test_answers_paying_the_reward_and_the_floor_at_their_time_are_not_read_as_owed(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await half_floor_batch(db, tmp_path, extra_budget=500)
    first = (await item_ids(db, batch_id))[0]
    await submit(db, batch_id, first, 43, "car", duration_ms=1_000)  # 2 cents in 1 s
    async with db.write() as tx:  # ended: no raise, the reward stays 2 cents
        await tx.execute("UPDATE batches SET state = 'done' WHERE id = ?", (batch_id,))
    owed = await db.run_read(untopped_answers, batch_id, reward=2, floor=FLOOR)
    assert len(owed) == 20
    assert {answer.worker_id for answer in owed} == {41, 42}
    plan = await db.run_read(_plan, batch_id, FLOOR, MIN_ANSWERS_FOR_RAISE)
    assert plan is not None
    assert {answer.worker_id for answer, _ in plan.owed} == {41, 42}


async def test_a_batch_that_cannot_pay_is_not_read_again_until_its_budget_changes(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await half_floor_batch(db, tmp_path, extra_budget=0)
    memo = FloorMemo()

    async def floor_pass() -> list[FloorNews]:
        return await enforce_floor(db, floor=FLOOR, now=NOW, tz=PARIS, cap=CAP, memo=memo)

    (paused,) = await floor_pass()  # 60 cents owed, none left: the batch pauses
    assert paused.paused_short == 60
    assert await floor_pass() == []  # paused and still short: nothing moves
    assert batch_id in memo.quiet
    read: list[str] = []
    if db.dialect == "sqlite":  # SQLite's trace shows the answers are not read again
        await db.set_trace(read.append)
    assert await floor_pass() == []
    await db.set_trace(lambda _: None)
    answers_read = ("SELECT reward, duration_ms", "SELECT a.id, a.worker_id, a.reward")
    assert not [statement for statement in read if statement.startswith(answers_read)]
    await top_up(
        db,
        requester_id=REQUESTER_ID,
        amount=100,
        actor_id=ADMIN_ID,
        key="floor-memo",
        now=NOW,
        tz=PARIS,
    )
    (paid,) = await floor_pass()  # the budget changed: read again, and paid
    assert paid.topups == {41: 20, 42: 20}
    assert batch_id not in memo.quiet


async def test_a_new_answer_makes_a_settled_batch_be_read_again(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await open_batch(
        db,
        tmp_path,
        image_items(tmp_path, 10, first_seed=950),
        answers_per_item=3,
        reward=20,
        extra_budget=100,
    )
    for item in await item_ids(db, batch_id):
        for worker in (41, 42):  # 20 cents in 14.4 s: 50 EUR an hour
            await submit(db, batch_id, item, worker, "car", duration_ms=14_400)
    memo = FloorMemo()
    assert await enforce_floor(db, floor=FLOOR, now=NOW, tz=PARIS, cap=CAP, memo=memo) == []
    assert batch_id in memo.quiet  # open, nothing owed: settled until something changes
    first = (await item_ids(db, batch_id))[0]
    await submit(db, batch_id, first, 43, "car", duration_ms=120_000)  # 20 cents in 2 minutes
    (news,) = await enforce_floor(db, floor=FLOOR, now=NOW, tz=PARIS, cap=CAP, memo=memo)
    assert news.topups == {43: 14}  # 34 cents pay the floor at 120 s


async def _end(db: Database, batch_id: int) -> None:
    async with db.write() as tx:  # ended: no raise, each answer still owed the floor
        await tx.execute("UPDATE batches SET state = 'done' WHERE id = ?", (batch_id,))


async def test_an_ended_batch_that_owes_nothing_is_settled_and_read_again_only_at_a_new_floor(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await half_floor_batch(db, tmp_path, extra_budget=500)
    first = (await item_ids(db, batch_id))[0]
    await submit(db, batch_id, first, 43, "car", duration_ms=5_000)  # 2 cents pay 10 EUR/h here
    await _end(db, batch_id)
    assert await db.run_read(batches_to_enforce, floor=FLOOR) == [batch_id]
    (news,) = await enforce_floor(db, floor=FLOOR, now=NOW, tz=PARIS, cap=CAP)
    assert news.topups == {41: 20, 42: 20}
    assert await db.run_read(batches_to_enforce, floor=FLOOR) == [batch_id]  # not looked at since
    assert await enforce_floor(db, floor=FLOOR, now=NOW, tz=PARIS, cap=CAP) == []
    # Owing nothing now, so never again at this floor: no pass, even a restarted one, reads it.
    assert await db.run_read(batches_to_enforce, floor=FLOOR) == []
    assert await enforce_floor(db, floor=FLOOR, now=NOW, tz=PARIS, cap=CAP) == []
    # A higher floor (MIN_HOURLY_RATE changed): read again, and what it owes then is paid.
    assert await db.run_read(batches_to_enforce, floor=2 * FLOOR) == [batch_id]
    (raised,) = await enforce_floor(db, floor=2 * FLOOR, now=NOW, tz=PARIS, cap=CAP)
    # One top-up per answer, ever: only the answer that needed none at the old floor is owed.
    assert raised.topups == {43: 1}  # 3 cents pay 20 EUR an hour at 5 s


async def test_an_ended_batch_that_cannot_pay_stays_unsettled(db: Database, tmp_path: Path) -> None:
    batch_id = await half_floor_batch(db, tmp_path, extra_budget=0)
    await _end(db, batch_id)
    assert await enforce_floor(db, floor=FLOOR, now=NOW, tz=PARIS, cap=CAP) == []
    assert await db.run_read(batches_to_enforce, floor=FLOOR) == [batch_id]
    await top_up(
        db,
        requester_id=REQUESTER_ID,
        amount=100,
        actor_id=ADMIN_ID,
        key="floor-settle",
        now=NOW,
        tz=PARIS,
    )
    (paid,) = await enforce_floor(db, floor=FLOOR, now=NOW, tz=PARIS, cap=CAP)
    assert paid.topups == {41: 20, 42: 20}


async def test_only_an_ended_batch_is_settled(db: Database, tmp_path: Path) -> None:
    batch_id = await half_floor_batch(db, tmp_path, extra_budget=500)
    async with db.write() as tx:
        assert not await settle(tx, batch_id, floor=FLOOR)  # open: answers may still come
    assert await db.run_read(batches_to_enforce, floor=FLOOR) == [batch_id]
