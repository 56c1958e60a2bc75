"""Dynamic overlap in the bot (``bot/refit.py``): a published label batch hands out each item's
first two answers, then refits of the whole batch complete the items sure enough and let the
others have one more answer, as ``bot.overlap.refit`` (the benchmarked rule) decides; the batch
ends with its unspent escrow returned. Stories on the real answer path and database.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot import answers
from bot.gold import ROUTE_WINDOW, BatchEnd, QualityRules
from bot.ledger import balance, escrow_account, requester_account
from bot.overlap import Refit, refit, rule_for
from bot.payouts import check_invariants
from bot.refit import RefitMemo, _apply, refit_pass
from bot.votes import Vote
from storage.assignments import Assignment, claim_next
from storage.batches import Batch, get_batch
from storage.db import Database
from storage.overlap import ItemAnswers, item_answers, preferred_of
from tests.builders import NOW, PARIS, item_ids, policy, publish_batch, shown, submit, workers
from tests.conftest import REQUESTER_ID, sql_rows

QUALITY = QualityRules(gold_share=0.0, training_items=0)
LABELS = ("car", "bicycle", "person")
LATER = NOW + timedelta(seconds=6)
OPEN_TO_ALL = LATER + ROUTE_WINDOW  # a routed slot no preferred worker took
# Two workers agree on items 0-5; on items 6 and 7 they do not.
FIRST = ["car"] * 6 + ["car", "bicycle"]
SECOND = ["car"] * 6 + ["person", "person"]


async def answer_all(
    db: Database, worker_id: int, labels: list[str], *, at: datetime = NOW, most: int = 99
) -> list[Assignment]:
    """The worker takes tasks at ``at`` until none is left for them (or ``most`` are done),
    answering each item ``labels`` says (by the item's rank in the batch)."""
    ranks = {item_id: n for n, item_id in enumerate(await item_ids(db, BATCH[0]))}
    done: list[Assignment] = []
    while len(done) < most and (task := await offer_at(db, worker_id, at)) is not None:
        label = LABELS.index(labels[ranks[task.item_id]])
        answered_at = at + timedelta(seconds=6)  # a human's pace, not a speed flag
        await answers.submit(db, policy(QUALITY), task.id, worker_id, answered_at, label=label)
        done.append(task)
    return done


async def offer_at(db: Database, worker_id: int, at: datetime) -> Assignment | None:
    claim = await db.run_write(claim_next, worker_id=worker_id, now=at, max_reward=10_000)
    return None if claim is None else await shown(db, claim, at)


BATCH: list[int] = []


async def two_answers_each(db: Database, tmp_path: Path) -> int:
    """Eight items, up to five answers each, at 4 cents; two workers answer every item."""
    batch_id = await publish_batch(
        db, tmp_path, labels=LABELS, items=8, answers_per_item=5, reward=4, time_limit=30
    )
    BATCH[:] = [batch_id]
    await workers(db, [41, 42, 43])
    assert len(await answer_all(db, 41, FIRST)) == 8
    assert len(await answer_all(db, 42, SECOND)) == 8
    return batch_id


async def wanted(db: Database, batch_id: int) -> dict[int, tuple[str, int | None]]:
    """Each item's state and gate, by its rank in the batch (from 0)."""
    rows = await sql_rows(
        db,
        "SELECT position, state, wanted FROM items WHERE batch_id = ? ORDER BY position",
        (batch_id,),
    )
    return {n: (str(row[1]), row[2]) for n, row in enumerate(rows)}


async def test_published_label_batch_waits_for_a_refit_after_two_answers(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await two_answers_each(db, tmp_path)
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert batch.dynamic_overlap
    assert await wanted(db, batch_id) == {n: ("open", 2) for n in range(8)}
    assert await offer_at(db, 43, LATER) is None  # every item waits for a refit


async def test_a_refit_completes_sure_items_and_asks_one_more_answer_of_the_others(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await two_answers_each(db, tmp_path)
    ids = await item_ids(db, batch_id)
    votes = {
        item: [Vote(41, frozenset({FIRST[n]})), Vote(42, frozenset({SECOND[n]}))]
        for n, item in enumerate(ids)
    }
    expected = refit(votes, rule_for(5))  # the rule the quality benchmark measures
    assert expected.complete == tuple(ids[:6])
    assert {item for item, _ in expected.more} == {ids[6], ids[7]}

    (news,) = await refit_pass(db, now=LATER, tz=PARIS)
    assert news.completed == expected.complete
    assert news.allowed == 2
    assert news.batch_end is None
    states = await wanted(db, batch_id)
    assert states == {**{n: ("complete", 2) for n in range(6)}, 6: ("open", 3), 7: ("open", 3)}
    assert await offer_at(db, 43, LATER) is None  # kept for the preferred workers a while
    third = await answer_all(db, 43, ["car"] * 7 + ["person"], at=OPEN_TO_ALL)
    assert sorted(task.item_id for task in third) == [ids[6], ids[7]]
    assert await check_invariants(db, tz=PARIS, cap=25_000) == []


async def refit_to_the_end(db: Database, memo: RefitMemo) -> tuple[BatchEnd | None, int]:
    """Refits, each followed by a new worker answering what it still asks for, until the batch
    ends (at most three workers); the batch's end and the answers bought."""
    bought = 16
    for worker_id in (43, 44, 45):
        (news,) = await refit_pass(db, now=LATER, tz=PARIS, memo=memo)
        if news.batch_end is not None:
            return news.batch_end, bought
        await workers(db, [worker_id])
        bought += len(await answer_all(db, worker_id, ["car"] * 7 + ["person"], at=OPEN_TO_ALL))
    return None, bought


async def test_the_last_refit_ends_the_batch_and_returns_the_answers_not_bought(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await two_answers_each(db, tmp_path)
    before = await balance(db, requester_account(REQUESTER_ID))
    memo = RefitMemo(spacing=0.0)  # no wait between refits: one each step of the story
    end, bought = await refit_to_the_end(db, memo)
    assert end is not None
    assert bought < 5 * 8 / 2  # fewer than half the answers held for
    assert (end.items, end.answers, end.spent) == (8, bought, 4 * bought)
    assert end.refunded == 4 * (40 - bought)  # the answer slots not bought go back
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert batch.state == "done"
    assert await balance(db, escrow_account(batch_id)) == 0
    assert await balance(db, requester_account(REQUESTER_ID)) == before + end.refunded
    assert await refit_pass(db, now=LATER, tz=PARIS, memo=memo) == []  # nothing left to refit
    assert await check_invariants(db, tz=PARIS, cap=25_000) == []


async def test_an_item_being_answered_is_left_to_the_next_refit(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await two_answers_each(db, tmp_path)
    ids = await item_ids(db, batch_id)
    await refit_pass(db, now=LATER, tz=PARIS)
    task = await offer_at(db, 43, OPEN_TO_ALL)  # item 6's or 7's third answer, on screen
    assert task is not None
    rank = ids.index(task.item_id)
    assert rank in (6, 7)
    await refit_pass(db, now=LATER, tz=PARIS)  # a fresh memory: reads everything again
    assert (await wanted(db, batch_id))[rank] == ("open", 3)  # left as it was
    label = LABELS.index(SECOND[rank])  # the third answer sides with Bob
    answered_at = OPEN_TO_ALL + timedelta(seconds=6)
    await answers.submit(db, policy(QUALITY), task.id, 43, answered_at, label=label)
    await refit_pass(db, now=OPEN_TO_ALL, tz=PARIS)
    assert (await wanted(db, batch_id))[rank] in {("complete", 3), ("open", 4)}  # decided


async def test_a_refit_run_twice_changes_nothing_more(db: Database, tmp_path: Path) -> None:
    batch_id = await two_answers_each(db, tmp_path)
    await refit_pass(db, now=LATER, tz=PARIS)
    after_one = await wanted(db, batch_id)
    (again,) = await refit_pass(db, now=LATER, tz=PARIS)  # another process, or a restart
    assert (again.completed, again.allowed, again.batch_end) == ((), 0, None)
    assert await wanted(db, batch_id) == after_one


async def test_two_processes_refitting_at_once_decide_once(db: Database, tmp_path: Path) -> None:
    batch_id = await two_answers_each(db, tmp_path)
    one, other = await asyncio.gather(
        refit_pass(db, now=LATER, tz=PARIS), refit_pass(db, now=LATER, tz=PARIS)
    )  # two memories: as two bot processes sharing one database
    assert len(one[0].completed) + len(other[0].completed) == 6  # each item completed once
    assert one[0].allowed + other[0].allowed == 2
    states = await wanted(db, batch_id)
    assert states == {**{n: ("complete", 2) for n in range(6)}, 6: ("open", 3), 7: ("open", 3)}
    assert await db.run_read(preferred_of, batch_id)
    assert await check_invariants(db, tz=PARIS, cap=25_000) == []


async def test_batches_the_rule_does_not_apply_to_stay_fixed(db: Database, tmp_path: Path) -> None:
    two = await publish_batch(db, tmp_path, labels=LABELS, items=1, answers_per_item=2)
    several = await publish_batch(
        db, tmp_path, labels=LABELS, items=1, answers_per_item=4, multiple=True
    )
    text = await publish_batch(
        db, tmp_path, type="transcription", labels=(), items=1, answers_per_item=4, media="audio"
    )
    for batch_id in (two, several, text):
        batch = await db.run_read(get_batch, batch_id)
        assert batch is not None
        assert not batch.dynamic_overlap
        assert [state for state in (await wanted(db, batch_id)).values()] == [("open", None)]


async def test_a_slot_a_refit_opens_goes_to_a_preferred_worker_first(
    db: Database, tmp_path: Path
) -> None:
    """Ana (41) and Dee (44) agree on items 0-5; Bob (42) disagrees with Ana on 6 and 7."""
    BATCH[:] = [
        await publish_batch(
            db, tmp_path, labels=LABELS, items=8, answers_per_item=5, reward=4, time_limit=30
        )
    ]
    await workers(db, [41, 42, 43, 44])
    ids = await item_ids(db, BATCH[0])
    for rank, item in enumerate(ids):
        await submit(db, BATCH[0], item, 41, FIRST[rank])
        await submit(
            db, BATCH[0], item, 44 if rank < 6 else 42, "car" if rank < 6 else SECOND[rank]
        )

    (news,) = await refit_pass(db, now=LATER, tz=PARIS)
    assert news.completed == tuple(ids[:7])  # Ana is trusted over Bob on item 6
    assert news.allowed == 1  # item 7: bicycle or person?
    preferred = await db.run_read(preferred_of, BATCH[0])
    assert preferred == {44}  # Dee agreed with the crowd every time: the best quarter of three
    assert await offer_at(db, 43, LATER) is None  # Cy has no estimate: not preferred
    routed = await offer_at(db, 44, LATER)  # Dee takes the slot at once
    assert routed is not None
    assert routed.item_id == ids[7]
    assert await offer_at(db, 43, OPEN_TO_ALL) is None  # its one more answer is Dee's


async def test_a_batch_whose_refit_fails_does_not_stop_the_others(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = await two_answers_each(db, tmp_path)
    async with db.write() as tx:  # an answer no code could have stored
        await tx.execute("UPDATE assignments SET answer = '{' WHERE batch_id = ?", (broken,))
    healthy = await two_answers_each(db, tmp_path)
    memo = RefitMemo()
    (news,) = await refit_pass(db, now=LATER, tz=PARIS, memo=memo)
    assert news.batch.id == healthy
    assert len(news.completed) == 6
    assert f"refit of batch {broken} failed" in caplog.text
    assert await refit_pass(db, now=LATER, tz=PARIS, memo=memo) == []  # not retried at once


async def test_an_item_waiting_for_its_next_answer_is_not_judged_again(
    db: Database, tmp_path: Path
) -> None:
    """A later refit whose model has moved may find item 6 sure: it still waits for the third
    answer it was allowed (otherwise every refit would be one more look at a doubtful item)."""
    batch_id = await two_answers_each(db, tmp_path)
    ids = await item_ids(db, batch_id)
    await refit_pass(db, now=LATER, tz=PARIS)
    items = await db.run_read(item_answers, batch_id)
    assert [(item.wanted, len(item.answers)) for item in items[6:]] == [(3, 2), (3, 2)]
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    moved = Refit(complete=(ids[6],), more=((ids[7], 3),), model="full", accuracy={})
    news = await db.run_write(_apply, batch, items, moved, LATER, LATER, PARIS)
    assert news.completed == ()
    assert (await wanted(db, batch_id))[6] == ("open", 3)


async def first_refit_then(
    db: Database, tmp_path: Path, *, third_answers: int
) -> tuple[Batch, list[int], list[ItemAnswers]]:
    """The first refit (items 0-5 complete, 6 and 7 open for a third answer), then
    ``third_answers`` of those come in; the batch, its item ids and its answers read then."""
    batch_id = await two_answers_each(db, tmp_path)
    ids = await item_ids(db, batch_id)
    await refit_pass(db, now=LATER, tz=PARIS)
    assert (await wanted(db, batch_id))[0] == ("complete", 2)
    await answer_all(db, 43, ["car"] * 8, at=OPEN_TO_ALL, most=third_answers)
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    return batch, ids, await db.run_read(item_answers, batch_id)


DOUBTED = 0  # rank of the item a later model doubts


def doubting(ids: list[int]) -> Refit:
    """A later refit's decision: item 0, completed on two answers, now needs a third."""
    return Refit(complete=(), more=((ids[DOUBTED], 3),), model="pooled", accuracy={})


async def test_an_item_completed_earlier_that_a_later_refit_doubts_is_opened_again(
    db: Database, tmp_path: Path
) -> None:
    """As the benchmark's rounds judge every item each round: once each item left open has had
    one more answer, a model fitted on more answers may doubt an item the first refit
    completed on two answers. It gets its third answer."""
    batch, ids, items = await first_refit_then(db, tmp_path, third_answers=2)  # a round
    news = await db.run_write(_apply, batch, items, doubting(ids), LATER, LATER, PARIS)
    assert (news.reopened, news.allowed) == ((ids[DOUBTED],), 1)
    again = await db.run_write(_apply, batch, items, doubting(ids), LATER, LATER, PARIS)
    assert (again.reopened, again.allowed) == ((), 0)  # read before: the guard holds
    assert (await wanted(db, batch.id))[DOUBTED] == ("open", 3)
    await workers(db, [44])
    third = await answer_all(db, 44, ["car"] * 8, at=OPEN_TO_ALL)
    assert ids[DOUBTED] in {task.item_id for task in third}
    await refit_pass(db, now=OPEN_TO_ALL, tz=PARIS)
    assert (await wanted(db, batch.id))[DOUBTED] in {("complete", 3), ("open", 4)}  # decided
    assert await check_invariants(db, tz=PARIS, cap=25_000) == []


async def test_completed_items_are_judged_again_once_a_round_not_at_every_refit(
    db: Database, tmp_path: Path
) -> None:
    """Refits come every few seconds; judged at each, a completed item would get many more
    looks than the benchmark's round gives it, and some look would doubt it."""
    batch, ids, items = await first_refit_then(db, tmp_path, third_answers=1)  # half a round
    news = await db.run_write(_apply, batch, items, doubting(ids), LATER, LATER, PARIS)
    assert news.reopened == ()
    assert (await wanted(db, batch.id))[DOUBTED] == ("complete", 2)


async def test_a_batch_that_has_ended_is_not_opened_again(db: Database, tmp_path: Path) -> None:
    batch_id = await two_answers_each(db, tmp_path)
    ids = await item_ids(db, batch_id)
    end, _ = await refit_to_the_end(db, RefitMemo(spacing=0.0))
    assert end is not None
    items = await db.run_read(item_answers, batch_id)
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    doubted = Refit(complete=(), more=((ids[0], 3),), model="pooled", accuracy={})
    news = await db.run_write(_apply, batch, items, doubted, LATER, LATER, PARIS)
    assert news.reopened == ()
    assert (await wanted(db, batch_id))[0][0] == "complete"
    await workers(db, [46])
    assert await offer_at(db, 46, OPEN_TO_ALL) is None
