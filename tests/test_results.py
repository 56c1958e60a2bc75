"""Results, fair pay, bonuses and platform health: the rules and their SQL on a real SQLite file.

Answers are written straight into ``assignments`` (as the worker loop leaves them: submitted,
with a duration), so these tests depend only on the table, not on how answers arrive.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.batches import Viewer
from bot.errors import InsufficientFunds, InvalidInput, NotFound
from bot.ledger import (
    balance,
    escrow_account,
    requester_account,
    top_up,
    worker_account,
)
from bot.results import (
    MISSING_CHUNK,
    Chunk,
    assemble,
    batch_results,
    label_text,
    overlap_words,
    pseudonym,
    pseudonym_secret,
    recordings,
    result_files,
    results_csv,
)
from bot.rewards import (
    bonus_key,
    check_fair_pay,
    parse_accuracy,
    platform_health,
    raise_reward,
    send_bonus,
)
from storage.assignments import claim_next
from storage.batches import NewItem, get_batch
from storage.db import Database, to_db_time
from storage.results import get_alert
from tests.builders import (
    NOW,
    OTHER_REQUESTER,
    PARIS,
    chunk_items,
    half_floor_batch,
    image_items,
    item_ids,
    open_batch,
    png_bytes,
    register_worker,
    store_media,
    submit,
)
from tests.conftest import ADMIN_ID, REQUESTER_ID

FLOOR = 1_000  # cents an hour: MIN_HOURLY_RATE 10.00
CAP = 25_000


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


# -- pseudonyms -------------------------------------------------------------------------------


def test_pseudonyms_are_stable_within_a_batch_and_unlinkable_across() -> None:
    secret = bytes(range(32))
    first = pseudonym(secret, 1, 123456789)
    assert first == pseudonym(secret, 1, 123456789)
    assert first != pseudonym(secret, 2, 123456789)
    assert first != pseudonym(secret, 1, 123456788)
    assert first != pseudonym(b"another secret", 1, 123456789)
    assert "123456789" not in first
    assert len(first) == 13


async def test_the_secret_is_created_once(db: Database) -> None:
    first = await pseudonym_secret(db, NOW)
    assert len(first) == 32
    assert await pseudonym_secret(db, NOW + timedelta(days=1)) == first


# -- labels -----------------------------------------------------------------------------------


async def test_label_results_have_one_row_per_item_and_every_answer_in_json(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await open_batch(db, tmp_path, image_items(tmp_path, 4), answers_per_item=3)
    first, second, third, _unanswered = await item_ids(db, batch_id)
    for worker, answer in ((11, "car"), (12, "car"), (13, "person")):
        await submit(db, batch_id, first, worker, answer)
    await submit(db, batch_id, second, 11, "bicycle")
    await submit(db, batch_id, third, 12, "=HYPERLINK(1)")  # a hostile answer, escaped

    results = await batch_results(db, batch_id, Viewer(REQUESTER_ID), now=NOW)
    assert results.partial
    secret = await pseudonym_secret(db, NOW)
    files = dict(result_files(results, secret))
    assert sorted(files) == ["results.csv", "results.json"]

    rows = csv_rows(files["results.csv"])
    assert rows[0] == [
        "item_id",
        "file",
        "start_ms",
        "end_ms",
        "answer",
        "confidence",
        "answers",
        "agreement",
        "gold_answer",
    ]
    assert len(rows) == 5
    assert rows[1][:5] == [str(first), "photos/0.png", "", "", "car"]
    assert rows[1][6:8] == ["3", "0.6667"]
    assert 0.5 < float(rows[1][5]) <= 1
    assert rows[3][4] == "'=HYPERLINK(1)"
    assert rows[4][4:8] == ["", "", "0", ""]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    document = json.loads(files["results.json"])
    assert document["partial"] is True
    assert document["aggregation"] == "dawid-skene"
    responses = [r for item in document["items"] for r in item["responses"]]
    assert len(responses) == 5
    assert {r["worker"] for r in responses} == {
        pseudonym(secret, batch_id, worker) for worker in (11, 12, 13)
    }
    assert responses[0]["duration_ms"] == 5_000
    assert responses[0]["submitted_at"] == to_db_time(NOW)
    assert {w["worker"] for w in document["workers"]} == {r["worker"] for r in responses}


async def test_multiple_labels_are_joined_in_label_order_and_gold_shown(
    db: Database, tmp_path: Path
) -> None:
    items = image_items(tmp_path, 1, first_seed=600)
    gold_item = NewItem(
        source_path="photos/gold.png",
        media=store_media(tmp_path, png_bytes(650), "image"),
        gold_answer="car|person",
    )
    batch_id = await open_batch(db, tmp_path, [*items, gold_item], multiple=True)
    plain, gold = await item_ids(db, batch_id)
    await submit(db, batch_id, plain, 21, ["person", "car"])
    await submit(db, batch_id, plain, 22, ["car", "person"])
    await submit(db, batch_id, gold, 21, ["car"])
    results = await batch_results(db, batch_id, Viewer(REQUESTER_ID), now=NOW)
    rows = csv_rows(results_csv(results).encode())
    assert rows[1][4] == "car|person"
    assert rows[2][4] == "car|person"  # a gold item keeps its known answer
    assert rows[2][8] == "car|person"
    assert label_text(frozenset({"person", "bicycle", "zebra"}), ("car", "bicycle", "person")) == (
        "bicycle|person|zebra"
    )


async def test_results_are_for_the_requester_and_admins_only(db: Database, tmp_path: Path) -> None:
    batch_id = await open_batch(db, tmp_path, image_items(tmp_path, 1, first_seed=700))
    with pytest.raises(NotFound) as refused:
        await batch_results(db, batch_id, Viewer(OTHER_REQUESTER), now=NOW)
    with pytest.raises(NotFound) as missing:
        await batch_results(db, 999_999, Viewer(OTHER_REQUESTER), now=NOW)
    assert refused.value.message_key == missing.value.message_key == "batches.not_found"
    admin = await batch_results(db, batch_id, Viewer(ADMIN_ID, is_admin=True), now=NOW)
    assert len(admin.items) == 1


# -- transcription ----------------------------------------------------------------------------


def test_overlapping_chunks_lose_the_words_they_repeat() -> None:
    assert overlap_words(["the", "cat", "sat", "on", "the"], ["On", "the", "mat"]) == 2
    assert overlap_words(["a", "b"], ["c", "d"]) == 0
    chunks = [Chunk(0, 30_000, "the cat sat on the"), Chunk(29_500, 41_000, "on the mat.")]
    assert assemble(chunks) == "the cat sat on the mat."
    # Cut at a pause: no overlap in time, so a repeated word is a real one.
    assert assemble([Chunk(0, 10_000, "yes yes"), Chunk(10_000, 20_000, "yes")]) == "yes yes yes"
    # A chunk nobody answered yet is marked, in its place.
    gap = [Chunk(0, 30_000, "one"), Chunk(29_500, 50_000, None), Chunk(49_500, 60_000, "three")]
    assert assemble(gap) == f"one {MISSING_CHUNK} three"


async def test_a_transcription_batch_returns_each_recording_assembled(
    db: Database, tmp_path: Path
) -> None:
    items = chunk_items(tmp_path, "talks/intro.ogg", [(0, 30_000), (29_500, 41_000)])
    batch_id = await open_batch(db, tmp_path, items, type="transcription", labels=())
    first, second = await item_ids(db, batch_id)
    for worker, text in ((31, "Bonjour à tous et bienvenue"), (32, "bonjour a tous et bienvenue")):
        await submit(db, batch_id, first, worker, text)
    await submit(db, batch_id, first, 33, "bonjour à tous et bienvenue")
    await submit(db, batch_id, second, 31, "bienvenue dans ce cours")
    results = await batch_results(db, batch_id, Viewer(REQUESTER_ID), now=NOW)
    assert recordings(results) == {"talks/intro.ogg": "bonjour à tous et bienvenue dans ce cours"}
    files = dict(result_files(results, b"k" * 32))
    with zipfile.ZipFile(io.BytesIO(files["transcripts.zip"])) as archive:
        assert archive.namelist() == ["talks/intro.ogg.txt"]
        text = archive.read("talks/intro.ogg.txt").decode("utf-8")
    assert text == "bonjour à tous et bienvenue dans ce cours\n"
    rows = csv_rows(files["results.csv"])
    assert rows[1][2:4] == ["0", "30000"]
    assert rows[2][2:4] == ["29500", "41000"]
    assert json.loads(files["results.json"])["aggregation"] == "rover"
    # Workers who agree with the vote score higher than one who drops an accent.
    assert results.worker_accuracy[31] == 1.0


# -- fair pay ---------------------------------------------------------------------------------


async def test_a_batch_below_the_floor_is_told_once(db: Database, tmp_path: Path) -> None:
    batch_id = await half_floor_batch(db, tmp_path, extra_budget=0)
    news = await check_fair_pay(db, floor=FLOOR, now=NOW)
    assert [n.batch.id for n in news] == [batch_id]
    assessment = news[0].assessment
    assert assessment.median_rate == 500
    assert assessment.suggested_reward_cents == 4
    assert news[0].remaining_slots == 10
    assert assessment.extra_escrow_cents == 20
    assert await check_fair_pay(db, floor=FLOOR, now=NOW) == []
    alert = await db.run_read(get_alert, batch_id)
    assert alert is not None
    assert alert.suggested_reward == 4


async def test_nineteen_answers_or_a_fair_rate_are_not_told(db: Database, tmp_path: Path) -> None:
    few = await open_batch(db, tmp_path, image_items(tmp_path, 10, first_seed=900), reward=2)
    fair = await open_batch(db, tmp_path, image_items(tmp_path, 10, first_seed=950), reward=20)
    for index, item in enumerate(await item_ids(db, few)):
        for worker in (51, 52)[: 1 if index == 0 else 2]:
            await submit(db, few, item, worker, "car", duration_ms=14_400)
    for item in await item_ids(db, fair):
        for worker in (51, 52):
            await submit(db, fair, item, worker, "car", duration_ms=14_400)
    assert await check_fair_pay(db, floor=FLOOR, now=NOW) == []


async def test_raising_holds_the_extra_escrow_once_and_new_claims_pay_more(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await half_floor_batch(db, tmp_path, extra_budget=5)
    await check_fair_pay(db, floor=FLOOR, now=NOW)
    escrow_before = await balance(db, escrow_account(batch_id))

    with pytest.raises(InsufficientFunds) as short:
        await raise_reward(db, batch_id, REQUESTER_ID, now=NOW, tz=PARIS)
    assert short.value.params["shortfall_cents"] == 15
    with pytest.raises(NotFound):
        await raise_reward(db, batch_id, OTHER_REQUESTER, now=NOW, tz=PARIS)
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert batch.reward == 2

    await top_up(
        db,
        requester_id=REQUESTER_ID,
        amount=100,
        actor_id=ADMIN_ID,
        key="topup:raise",
        now=NOW,
        tz=PARIS,
    )
    raised = await raise_reward(db, batch_id, REQUESTER_ID, now=NOW, tz=PARIS)
    assert (raised.old_reward, raised.new_reward, raised.extra, raised.created) == (2, 4, 20, True)
    again = await raise_reward(db, batch_id, REQUESTER_ID, now=NOW, tz=PARIS)
    assert not again.created
    assert await balance(db, escrow_account(batch_id)) == escrow_before + 20
    assert await balance(db, requester_account(REQUESTER_ID)) == 85

    await register_worker(db, 43)
    claimed = await db.run_write(claim_next, worker_id=43, now=NOW, max_reward=CAP)
    assert claimed is not None
    assert claimed.reward == 4


async def test_no_raise_without_an_alert(db: Database, tmp_path: Path) -> None:
    batch_id = await open_batch(db, tmp_path, image_items(tmp_path, 1, first_seed=990))
    with pytest.raises(InvalidInput):
        await raise_reward(db, batch_id, REQUESTER_ID, now=NOW, tz=PARIS)


# -- bonuses ----------------------------------------------------------------------------------


def test_accuracy_is_typed_as_a_share_or_a_percentage() -> None:
    assert parse_accuracy("0.8") == 0.8
    assert parse_accuracy("0,75") == 0.75
    assert parse_accuracy("80%") == 0.8
    for wrong in ("high", "150%", "-1"):
        with pytest.raises(InvalidInput):
            parse_accuracy(wrong)


async def test_a_bonus_pays_each_worker_once_per_command(db: Database, tmp_path: Path) -> None:
    batch_id = await open_batch(
        db, tmp_path, image_items(tmp_path, 2, first_seed=1000), extra_budget=200
    )
    first, second = await item_ids(db, batch_id)
    await submit(db, batch_id, first, 61, "car")
    await submit(db, batch_id, second, 61, "car")
    await submit(db, batch_id, first, 62, "car")
    options: dict[str, Any] = {"min_accuracy": None, "now": NOW, "tz": PARIS, "cap": CAP}
    run = await send_bonus(
        db, batch_id, REQUESTER_ID, amount=50, chat_id=REQUESTER_ID, message_id=7, **options
    )
    assert (run.paid, run.already, run.total) == ((61, 62), (), 100)
    replay = await send_bonus(
        db, batch_id, REQUESTER_ID, amount=50, chat_id=REQUESTER_ID, message_id=7, **options
    )
    assert (replay.paid, replay.already) == ((), (61, 62))
    assert await balance(db, worker_account(61)) == 50
    assert await balance(db, requester_account(REQUESTER_ID)) == 100

    with pytest.raises(InsufficientFunds) as short:
        await send_bonus(
            db, batch_id, REQUESTER_ID, amount=80, chat_id=REQUESTER_ID, message_id=8, **options
        )
    assert short.value.params["shortfall_cents"] == 60
    with pytest.raises(NotFound):
        await send_bonus(
            db,
            batch_id,
            OTHER_REQUESTER,
            amount=1,
            chat_id=OTHER_REQUESTER,
            message_id=9,
            **options,
        )
    assert bonus_key(batch_id, REQUESTER_ID, 7, 61) == (
        f"bonus:batch:{batch_id}:{REQUESTER_ID}:7:worker:61"
    )


async def test_a_bonus_skips_workers_over_the_cap_or_below_the_accuracy(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await open_batch(
        db, tmp_path, image_items(tmp_path, 6, first_seed=1100), extra_budget=1_000
    )
    for item in await item_ids(db, batch_id):
        await submit(db, batch_id, item, 71, "car")
        await submit(db, batch_id, item, 72, "car")
        await submit(db, batch_id, item, 73, "person")  # always against the others
    options: dict[str, Any] = {"now": NOW, "tz": PARIS}
    run = await send_bonus(
        db,
        batch_id,
        REQUESTER_ID,
        amount=10,
        chat_id=REQUESTER_ID,
        message_id=1,
        min_accuracy=0.7,
        cap=CAP,
        **options,
    )
    assert (run.paid, run.below_accuracy) == ((71, 72), 1)
    capped = await send_bonus(
        db,
        batch_id,
        REQUESTER_ID,
        amount=10,
        chat_id=REQUESTER_ID,
        message_id=2,
        min_accuracy=None,
        cap=15,
        **options,
    )
    assert (capped.paid, capped.over_cap) == ((73,), (71, 72))


async def test_a_bonus_keeps_cap_room_for_the_workers_active_task(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await open_batch(
        db, tmp_path, image_items(tmp_path, 2, first_seed=1150), extra_budget=1_000, reward=4
    )
    first, second = await item_ids(db, batch_id)
    await submit(db, batch_id, first, 81, "car")
    await submit(db, batch_id, first, 82, "car")
    active = await db.run_write(claim_next, worker_id=81, now=NOW, max_reward=10_000)
    assert active is not None  # 81 holds a task paying 4: 4 of the cap stay reserved
    assert active.item_id == second
    options: dict[str, Any] = {"now": NOW, "tz": PARIS, "min_accuracy": None, "cap": 13}
    run = await send_bonus(
        db, batch_id, REQUESTER_ID, amount=10, chat_id=REQUESTER_ID, message_id=3, **options
    )
    assert (run.paid, run.over_cap) == ((82,), (81,))  # 10 + 4 > 13 for 81 only


# -- health -----------------------------------------------------------------------------------


async def test_platform_health_counts_recent_answers_workers_and_batches(
    db: Database, tmp_path: Path
) -> None:
    empty = await platform_health(db, NOW)
    assert (empty.median_rate, empty.answers_day, empty.active_workers) == (None, 0, 0)
    batch_id = await open_batch(db, tmp_path, image_items(tmp_path, 3, first_seed=1200))
    first, second, third = await item_ids(db, batch_id)
    await submit(db, batch_id, first, 81, "car", duration_ms=3_600, reward=4)  # 40.00 an hour
    await submit(db, batch_id, second, 82, "car", duration_ms=14_400, at=NOW - timedelta(hours=3))
    await submit(db, batch_id, third, 83, "car", at=NOW - timedelta(days=10))
    health = await platform_health(db, NOW)
    assert health.answers_hour == 1
    assert health.answers_day == 2
    assert health.active_workers == 2
    assert health.rated_answers == 2
    assert health.median_rate == (4_000 + 1_000) / 2
    assert (health.open_batches, health.paused_batches) == (1, 0)
