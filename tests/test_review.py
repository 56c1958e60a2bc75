"""The review step: candidates, the hold for both steps, the review batch made once in the
transaction that ends its source, paid from the source's escrow, and the results it gives."""

from __future__ import annotations

import hashlib
from datetime import datetime

from bot.batch_settings import BatchSettings
from bot.batches import Viewer, end_if_complete
from bot.ledger import balance, escrow_account, requester_account
from bot.results import batch_results
from bot.review import candidates, chosen_text, hold_needed, review_hold
from bot.tasks.review import NONE_RIGHT
from storage.assignments import complete_item
from storage.batches import NewBatch, NewItem, NewMedia, get_batch, items_of
from storage.db import Database
from storage.review import review_batch_of
from tests.builders import NOW, PARIS, item_ids, open_funded_batch, submit
from tests.conftest import REQUESTER_ID, sql_value

REVIEW_REWARD = 5
SENTENCES = ("Chemise en coton rouge", "Lavable en machine")


def translation_settings(review: bool = True) -> BatchSettings:
    return BatchSettings(
        type="translation",
        title="Product sheet",
        instructions="",
        labels=(),
        multiple=False,
        seconds_per_task=20,
        reward=6,
        answers_per_item=2,
        time_limit=60,
        review=review,
    )


def text_item(position: int, sentence: str) -> NewItem:
    data = sentence.encode()
    sha = hashlib.sha256(data).hexdigest()
    media = NewMedia(sha, "text", f"media/{sha}.txt", len(data), text=sentence)
    return NewItem(source_path=f"sheet.txt:{position}", media=media)


async def translation_batch(db: Database, review: bool = True) -> int:
    settings = translation_settings(review)
    batch = NewBatch(
        requester_id=REQUESTER_ID,
        settings=settings,
        below_floor=False,
        review_reward=REVIEW_REWARD if review else None,
    )
    cost = hold_needed(len(SENTENCES), settings, batch.review_reward)
    items = [text_item(n, sentence) for n, sentence in enumerate(SENTENCES, start=1)]
    return await open_funded_batch(
        db, batch, items, cost=cost, budget=cost, topup_key=f"topup:review:{review}", now=NOW
    )


async def end_items(db: Database, batch_id: int, now: datetime = NOW) -> int | None:
    """Complete every item of a batch, in one transaction, as the last answer would."""
    async with db.write() as tx:
        for item in await items_of(tx, batch_id):
            await complete_item(tx, item.id, now)
        return await end_if_complete(tx, batch_id, now=now, tz=PARIS)


def test_candidates_are_distinct_answers_the_most_given_first() -> None:
    given = ["Red  shirt", "Red cotton shirt", "Red shirt", "", "Shirt", "A", "B", "C"]
    assert candidates(given) == ("Red shirt", "Red cotton shirt", "Shirt", "A", "B")
    assert candidates([]) == ()
    assert chosen_text(("a", "b"), "2") == "b"
    assert chosen_text(("a", "b"), NONE_RIGHT) is None


def test_publishing_holds_both_steps() -> None:
    assert hold_needed(2, translation_settings(), REVIEW_REWARD) == 2 * 2 * 6 + 2 * 3 * 5
    assert review_hold(2, REVIEW_REWARD) == 30
    assert hold_needed(2, translation_settings(review=False), None) == 24


async def test_the_last_item_opens_the_review_once_and_keeps_the_escrow(db: Database) -> None:
    source = await translation_batch(db)
    first, second = await item_ids(db, source)
    await submit(db, source, first, 1201, "Red cotton shirt")
    await submit(db, source, first, 1202, "Red shirt  in cotton")
    await submit(db, source, second, 1201, "Machine washable")
    await submit(db, source, second, 1202, "Machine washable")
    assert await end_items(db, source) == 0  # nothing returned: the review is to be paid
    assert await end_items(db, source) is None  # a replay changes nothing

    review = await db.run_read(review_batch_of, source)
    assert review is not None
    assert (review.type, review.state, review.reward, review.escrow_batch_id) == (
        "review",
        "open",
        REVIEW_REWARD,
        source,
    )
    items = await db.run_read(items_of, review.id)
    assert [(i.source_item_id, i.choices, i.text, i.media_kind) for i in items] == [
        (first, ("Red cotton shirt", "Red shirt in cotton"), SENTENCES[0], "text"),
        (second, ("Machine washable",), SENTENCES[1], "text"),
    ]
    assert await sql_value(db, "SELECT count(*) FROM batches WHERE type = 'review'") == 1
    assert await balance(db, escrow_account(source)) == 54  # no money moved to start it


async def test_the_review_ends_by_returning_what_is_left_of_the_one_escrow(db: Database) -> None:
    source = await translation_batch(db)
    for item_id in await item_ids(db, source):
        await submit(db, source, item_id, 1201, "Red cotton shirt")
    await end_items(db, source)
    review = await db.run_read(review_batch_of, source)
    assert review is not None
    before = await balance(db, requester_account(REQUESTER_ID))
    refunded = await end_items(db, review.id)  # reviewed by nobody
    assert refunded == 54  # the builder's answers were never paid: the whole hold comes back
    assert await balance(db, escrow_account(source)) == 0
    assert await balance(db, escrow_account(review.id)) == 0
    assert await balance(db, requester_account(REQUESTER_ID)) == before + refunded
    ended = await db.run_read(get_batch, review.id)
    assert ended is not None
    assert ended.state == "done"


async def test_without_review_a_text_batch_ends_as_before(db: Database) -> None:
    source = await translation_batch(db, review=False)
    assert await end_items(db, source) == 24
    assert await db.run_read(review_batch_of, source) is None


async def test_results_give_the_chosen_candidate_with_its_support(db: Database) -> None:
    source = await translation_batch(db)
    first, second = await item_ids(db, source)
    await submit(db, source, first, 1201, "Red cotton shirt")
    await submit(db, source, first, 1202, "Red shirt in cotton")
    await submit(db, source, second, 1201, "Machine washable")
    await end_items(db, source)
    review = await db.run_read(review_batch_of, source)
    assert review is not None
    picked_first, picked_second = await item_ids(db, review.id)
    for worker, pick in ((1301, "2"), (1302, "2"), (1303, "1")):
        await submit(db, review.id, picked_first, worker, pick)
    await submit(db, review.id, picked_second, 1301, NONE_RIGHT)

    merged = await batch_results(db, source, Viewer(REQUESTER_ID), now=NOW)
    first_result, second_result = merged.items
    assert (first_result.answer, first_result.agreement) == ("Red shirt in cotton", 2 / 3)
    assert first_result.review is not None
    assert (first_result.review.support, first_result.review.reviews) == (2, 3)
    assert second_result.answer == ""  # none is right
    assert merged.method == "review"
    assert merged.partial  # the review is still open
