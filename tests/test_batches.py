"""Batch rules and their storage on a real SQLite file: drafts, cost, publishing with escrow,
pause, resume, cancel with refund, progress, ownership, and the guided manifest."""

from __future__ import annotations

import io
import tomllib
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import batches, guided
from bot.batches import Viewer
from bot.errors import BatchRejected, InsufficientFunds, InvalidInput, NotFound, Problem
from bot.guided import ManifestFields, Upload
from bot.i18n import Catalogue, Translator
from bot.intake.manifest import EMOTION_LABELS, parse_manifest
from bot.intake.prepare import prepare_batch
from bot.intake.pricing import floor_warning
from bot.ledger import (
    balance,
    credit_reward,
    escrow_account,
    requester_account,
    top_up,
)
from bot.payouts import check_invariants
from bot.texts import problem_text
from storage.batches import get_batch, items_of
from storage.db import Database, to_db_time
from storage.users import touch_user
from tests.conftest import sql_rows, sql_value
from tests.intake.media import IMAGE_TAG, make_zip, png, toml

PARIS = ZoneInfo("Europe/Paris")
RATE = 1_000  # MIN_HOURLY_RATE 10.00
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
ADMIN = 9001
REQUESTER = 7001
OTHER = 7002
WORKERS = (5001, 5002, 5003)
GOLD = b"file,answer\nphoto1.png,car|person\nphoto4.png,dog\n"
COST = 6 * 3 * 4  # 6 items x 3 answers x 0.04


def street_scenes(**overrides: Any) -> bytes:
    """The design's example as a ZIP: 6 PNGs, its manifest and a gold.csv with 2 rows."""
    files = {f"photo{n}.png": png(n) for n in range(1, 7)}
    files["batch.toml"] = toml(**{**IMAGE_TAG, **overrides})
    files["gold.csv"] = GOLD
    return make_zip(files)


async def make_draft(db: Database, data_dir: Path, requester: int = REQUESTER) -> int:
    prepared = await prepare_batch(street_scenes(), data_dir=data_dir, min_hourly_rate=RATE)
    return await batches.create_draft(db, prepared, requester_id=requester, origin="zip", now=NOW)


async def fund(db: Database, amount: int, requester: int = REQUESTER) -> None:
    await top_up(
        db,
        requester_id=requester,
        amount=amount,
        actor_id=ADMIN,
        key=f"topup:test:{requester}:{amount}",
        now=NOW,
        tz=PARIS,
    )


async def published(db: Database, data_dir: Path) -> int:
    batch_id = await make_draft(db, data_dir)
    await fund(db, 1_000)
    await batches.publish(db, batch_id, Viewer(REQUESTER), now=NOW, tz=PARIS)
    return batch_id


async def answer(
    db: Database, batch_id: int, item_position: int, worker: int, duration_ms: int
) -> int:
    """A worker's submitted, paid answer, as the worker loop would store it."""
    await db.run_write(
        touch_user, user_id=worker, first_name="W", username=None, language="en", now=NOW
    )
    item = (await db.run_read(items_of, batch_id))[item_position - 1]
    async with db.write() as conn:
        cursor = await conn.execute(
            "INSERT INTO assignments (item_id, batch_id, worker_id, state, reward, time_limit,"
            " offered_at, shown_at, deadline, answer, duration_ms, ended_at)"
            " VALUES (?, ?, ?, 'submitted', 4, 60, ?, ?, ?, '\"car\"', ?, ?)",
            (
                item.id,
                batch_id,
                worker,
                to_db_time(NOW),
                to_db_time(NOW),
                to_db_time(NOW + timedelta(seconds=60)),
                duration_ms,
                to_db_time(NOW),
            ),
        )
        assignment_id = cursor.lastrowid
        assert assignment_id is not None
        await credit_reward(
            conn,
            batch_id=batch_id,
            worker_id=worker,
            assignment_id=assignment_id,
            amount=4,
            at=NOW,
            tz=PARIS,
            cap=25_000,
        )
    return assignment_id


async def active_task(db: Database, batch_id: int, worker: int) -> int:
    await db.run_write(
        touch_user, user_id=worker, first_name="W", username=None, language="en", now=NOW
    )
    item = (await db.run_read(items_of, batch_id))[-1]
    async with db.write() as conn:
        cursor = await conn.execute(
            "INSERT INTO assignments (item_id, batch_id, worker_id, reward, time_limit,"
            " offered_at) VALUES (?, ?, ?, 4, 60, ?)",
            (item.id, batch_id, worker, to_db_time(NOW)),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid


async def transfer_count(db: Database) -> int:
    return int(await sql_value(db, "SELECT count(*) FROM transfers"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


# --- drafts and the summary ------------------------------------------------------------------


async def test_a_draft_holds_six_items_two_gold_and_moves_no_money(
    db: Database, data_dir: Path
) -> None:
    batch_id = await make_draft(db, data_dir)
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert (batch.state, batch.origin, batch.requester_id) == ("draft", "zip", REQUESTER)
    assert (batch.reward, batch.answers_per_item, batch.multiple) == (4, 3, True)
    items = await db.run_read(items_of, batch_id)
    assert [item.source_path for item in items] == [f"photo{n}.png" for n in range(1, 7)]
    assert [item.gold_answer for item in items if item.is_gold] == ["car|person", "dog"]
    assert all((data_dir / item.media_path).is_file() for item in items)
    assert await transfer_count(db) == 0


async def test_the_summary_shows_the_most_possible_cost_and_the_balance(
    db: Database, data_dir: Path
) -> None:
    batch_id = await make_draft(db, data_dir)
    await fund(db, 50)
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    summary = await batches.summarise(db, batch, min_hourly_rate=RATE)
    assert (summary.items, summary.gold_items, summary.cost) == (6, 2, COST)
    assert (summary.balance, summary.shortfall) == (50, COST - 50)
    assert (summary.floor, summary.below_floor) == (4, False)


# --- publishing ------------------------------------------------------------------------------


async def test_publish_moves_exactly_the_cost_into_escrow_once(
    db: Database, data_dir: Path
) -> None:
    batch_id = await make_draft(db, data_dir)
    await fund(db, 1_000)

    first = await batches.publish(db, batch_id, Viewer(REQUESTER), now=NOW, tz=PARIS)
    again = await batches.publish(db, batch_id, Viewer(REQUESTER), now=NOW, tz=PARIS)

    assert (first.created, first.cost, first.balance) == (True, COST, 1_000 - COST)
    assert (again.created, again.cost, again.balance) == (False, COST, 1_000 - COST)
    assert await balance(db, escrow_account(batch_id)) == COST
    assert await balance(db, requester_account(REQUESTER)) == 1_000 - COST
    assert await transfer_count(db) == 2  # the top-up and one hold
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert (batch.state, batch.published_at) == ("open", NOW)
    assert await check_invariants(db, tz=PARIS, cap=25_000) == []


async def test_a_balance_too_small_is_refused_with_the_shortfall_and_nothing_written(
    db: Database, data_dir: Path
) -> None:
    batch_id = await make_draft(db, data_dir)
    await fund(db, 50)
    with pytest.raises(InsufficientFunds) as refused:
        await batches.publish(db, batch_id, Viewer(REQUESTER), now=NOW, tz=PARIS)
    assert refused.value.message_key == "batches.publish_short"
    assert refused.value.params == {
        "id": batch_id,
        "cost_cents": COST,
        "balance_cents": 50,
        "shortfall_cents": COST - 50,
    }
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert (batch.state, batch.published_at) == ("draft", None)
    assert await transfer_count(db) == 1  # the top-up only


async def test_only_the_owner_publishes_not_another_requester_nor_an_admin(
    db: Database, data_dir: Path
) -> None:
    batch_id = await make_draft(db, data_dir)
    await fund(db, 1_000, OTHER)
    await fund(db, 1_000)
    for stranger in (Viewer(OTHER), Viewer(ADMIN, is_admin=True)):
        with pytest.raises(NotFound):
            await batches.publish(db, batch_id, stranger, now=NOW, tz=PARIS)
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert batch.state == "draft"
    assert await transfer_count(db) == 2


async def test_a_discarded_draft_cannot_be_published(db: Database, data_dir: Path) -> None:
    batch_id = await make_draft(db, data_dir)
    await fund(db, 1_000)
    discarded = await batches.cancel(
        db, batch_id, Viewer(REQUESTER), now=NOW, tz=PARIS, drafts_only=True
    )
    assert (discarded.batch.state, discarded.refunded) == ("cancelled", 0)
    with pytest.raises(InvalidInput) as refused:
        await batches.publish(db, batch_id, Viewer(REQUESTER), now=NOW, tz=PARIS)
    assert refused.value.message_key == "batches.not_a_draft"
    assert await balance(db, requester_account(REQUESTER)) == 1_000


# --- pause, resume, cancel -------------------------------------------------------------------


async def test_pause_and_resume_follow_the_lifecycle(db: Database, data_dir: Path) -> None:
    draft_id = await make_draft(db, data_dir)
    with pytest.raises(InvalidInput) as refused:
        await batches.pause(db, draft_id, Viewer(REQUESTER), now=NOW)
    assert (refused.value.message_key, refused.value.params["state"]) == (
        "batches.cannot_pause",
        "draft",
    )
    batch_id = await published(db, data_dir)
    assert (await batches.pause(db, batch_id, Viewer(REQUESTER), now=NOW)).state == "paused"
    with pytest.raises(InvalidInput):
        await batches.pause(db, batch_id, Viewer(REQUESTER), now=NOW)
    assert (await batches.resume(db, batch_id, Viewer(REQUESTER), now=NOW)).state == "open"
    with pytest.raises(InvalidInput) as again:
        await batches.resume(db, batch_id, Viewer(REQUESTER), now=NOW)
    assert again.value.message_key == "batches.cannot_resume"


async def test_cancel_without_answers_returns_everything(db: Database, data_dir: Path) -> None:
    batch_id = await published(db, data_dir)
    cancelled = await batches.cancel(db, batch_id, Viewer(REQUESTER), now=NOW, tz=PARIS)
    assert (cancelled.batch.state, cancelled.refunded, cancelled.spent) == ("cancelled", COST, 0)
    assert await balance(db, requester_account(REQUESTER)) == 1_000
    assert await balance(db, escrow_account(batch_id)) == 0
    with pytest.raises(InvalidInput) as twice:
        await batches.cancel(db, batch_id, Viewer(REQUESTER), now=NOW, tz=PARIS)
    assert twice.value.message_key == "batches.cannot_cancel"
    assert await balance(db, requester_account(REQUESTER)) == 1_000
    assert await check_invariants(db, tz=PARIS, cap=25_000) == []


async def test_cancel_keeps_answers_paid_and_releases_tasks_in_progress(
    db: Database, data_dir: Path
) -> None:
    batch_id = await published(db, data_dir)
    await answer(db, batch_id, 1, WORKERS[0], 6_000)
    await answer(db, batch_id, 1, WORKERS[1], 9_000)
    in_progress = await active_task(db, batch_id, WORKERS[2])

    cancelled = await batches.cancel(db, batch_id, Viewer(REQUESTER), now=NOW, tz=PARIS)

    assert (cancelled.refunded, cancelled.spent, cancelled.released_tasks) == (COST - 8, 8, 1)
    assert await balance(db, requester_account(REQUESTER)) == 1_000 - 8
    assert await balance(db, f"worker:{WORKERS[0]}") == 4
    assert await balance(db, escrow_account(batch_id)) == 0
    state = await sql_value(db, "SELECT state FROM assignments WHERE id = ?", (in_progress,))
    assert state == "released"
    assert await check_invariants(db, tz=PARIS, cap=25_000) == []


async def test_an_admin_may_pause_and_cancel_anyones_batch_and_it_is_audited(
    db: Database, data_dir: Path
) -> None:
    batch_id = await published(db, data_dir)
    admin = Viewer(ADMIN, is_admin=True)
    await batches.pause(db, batch_id, admin, now=NOW)
    cancelled = await batches.cancel(db, batch_id, admin, now=NOW, tz=PARIS)
    assert cancelled.refunded == COST
    assert await balance(db, requester_account(REQUESTER)) == 1_000  # back to its owner
    actions = await sql_rows(db, "SELECT actor_id, action FROM audit_log ORDER BY id")
    assert [(row[0], row[1]) for row in actions][-2:] == [
        (ADMIN, "batch.paused"),
        (ADMIN, "batch.cancelled"),
    ]


async def test_another_requester_can_neither_see_nor_touch_a_batch(
    db: Database, data_dir: Path
) -> None:
    batch_id = await published(db, data_dir)
    stranger = Viewer(OTHER)
    with pytest.raises(NotFound):
        await batches.batch_for(db, batch_id, stranger)
    with pytest.raises(NotFound):
        await batches.progress(db, batch_id, stranger, now=NOW)
    for action in (batches.pause, batches.resume):
        with pytest.raises(NotFound):
            await action(db, batch_id, stranger, now=NOW)
    with pytest.raises(NotFound):
        await batches.cancel(db, batch_id, stranger, now=NOW, tz=PARIS)
    with pytest.raises(NotFound):
        await batches.batch_for(db, 999, Viewer(REQUESTER))
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert batch.state == "open"
    assert await balance(db, escrow_account(batch_id)) == COST
    assert await batches.list_batches(db, stranger) == []
    assert [line.batch.id for line in await batches.list_batches(db, Viewer(REQUESTER))] == [
        batch_id
    ]
    admin_view = await batches.list_batches(db, Viewer(ADMIN, is_admin=True))
    assert [line.batch.id for line in admin_view] == [batch_id]


async def test_a_batch_whose_items_are_all_complete_ends_and_returns_the_rest(
    db: Database, data_dir: Path
) -> None:
    batch_id = await published(db, data_dir)
    await answer(db, batch_id, 1, WORKERS[0], 5_000)
    async with db.write() as conn:
        await conn.execute(
            "UPDATE items SET state = 'complete' WHERE batch_id = ? AND position < 6", (batch_id,)
        )
        assert await batches.end_if_complete(conn, batch_id, now=NOW, tz=PARIS) is None
        await conn.execute("UPDATE items SET state = 'complete' WHERE batch_id = ?", (batch_id,))
        assert await batches.end_if_complete(conn, batch_id, now=NOW, tz=PARIS) == COST - 4
        assert await batches.end_if_complete(conn, batch_id, now=NOW, tz=PARIS) is None
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert (batch.state, batch.ended_at) == ("done", NOW)
    assert await balance(db, requester_account(REQUESTER)) == 1_000 - 4
    assert await balance(db, escrow_account(batch_id)) == 0
    assert await check_invariants(db, tz=PARIS, cap=25_000) == []


# --- progress --------------------------------------------------------------------------------


async def test_progress_counts_items_answers_escrow_and_the_median_time(
    db: Database, data_dir: Path
) -> None:
    batch_id = await published(db, data_dir)
    before = await batches.progress(db, batch_id, Viewer(REQUESTER), now=NOW)
    assert before.median_answer_ms is None
    assert (before.escrow.held, before.escrow.spent, before.escrow.balance) == (COST, 0, COST)

    for worker, duration in zip(WORKERS, (4_000, 10_000, 7_000), strict=True):
        await answer(db, batch_id, 2, worker, duration)
    async with db.write() as conn:
        await conn.execute(
            "UPDATE items SET state = 'complete' WHERE batch_id = ? AND position = 2", (batch_id,)
        )

    after = await batches.progress(db, batch_id, Viewer(ADMIN, is_admin=True), now=NOW)
    assert (after.items.items, after.items.complete, after.items.gold) == (6, 1, 2)
    assert (after.answers.submitted, after.answers.active, after.answers_wanted) == (3, 0, 18)
    assert after.median_answer_ms == 7_000
    assert (after.escrow.held, after.escrow.spent, after.escrow.returned) == (COST, 12, 0)
    assert after.escrow.balance == COST - 12
    (line,) = await batches.list_batches(db, Viewer(REQUESTER))
    assert (line.items, line.complete, line.answers) == (6, 1, 3)


async def test_progress_without_the_assignments_table_says_nothing_of_answers(
    tmp_path: Path, data_dir: Path
) -> None:
    database = await Database.open(tmp_path / "old.db")
    try:
        await database.migrate()
        async with database.write() as tx:  # as before the worker loop's migration
            for table in ("gold_results", "fair_pay_alerts", "appeals", "assignments"):
                cascade = " CASCADE" if database.dialect == "postgres" else ""  # task_reports
                await tx.execute(f"DROP TABLE IF EXISTS {table}{cascade}")
        batch_id = await make_draft(database, data_dir)
        found = await batches.progress(database, batch_id, Viewer(REQUESTER), now=NOW)
        assert (found.answers.tracked, found.answers.submitted, found.median_answer_ms) == (
            False,
            0,
            None,
        )
        (line,) = await batches.list_batches(database, Viewer(REQUESTER))
        assert line.answers == 0
        cancelled = await batches.cancel(database, batch_id, Viewer(REQUESTER), now=NOW, tz=PARIS)
        assert cancelled.released_tasks == 0
    finally:
        await database.close()


@pytest.mark.parametrize(("args", "expected"), [(["12"], 12), (["#7"], 7)])
def test_batch_ids_are_parsed(args: list[str], expected: int) -> None:
    assert batches.parse_batch_id(args, "batch") == expected


@pytest.mark.parametrize("args", [[], ["x"], ["1", "2"], ["0"], ["-3"], [str(2**70)]])
def test_bad_batch_ids_say_the_usage(args: list[str]) -> None:
    with pytest.raises(InvalidInput) as refused:
        batches.parse_batch_id(args, "pausebatch")
    assert refused.value.params == {"command": "pausebatch"}


# --- the guided conversation's rules ---------------------------------------------------------


ANSWERS: ManifestFields = {
    "type": "image_tag",
    "title": 'Street "scenes" \\ 1',
    "instructions": "Tick every object.\tNo guessing 😀",
    "labels": ("car", "person", "vélo"),
    "multiple": True,
    "seconds_per_task": 12,
    "answers_per_item": 2,
}


def test_the_guided_manifest_is_valid_toml_with_the_answers() -> None:
    table = tomllib.loads(guided.manifest(ANSWERS).decode())
    assert table == {
        "type": "image_tag",
        "title": 'Street "scenes" \\ 1',
        "instructions": "Tick every object.\tNo guessing 😀",
        "labels": ["car", "person", "vélo"],
        "multiple": True,
        "seconds_per_task": 12,
        "answers_per_item": 2,
    }
    result = parse_manifest(guided.manifest(ANSWERS), min_hourly_rate=RATE)
    assert result.problems == ()
    assert result.spec is not None
    assert (result.spec.reward, result.spec.time_limit) == (4, 60)  # fair default, 5 x 12 s


def test_emotion_and_transcription_manifests() -> None:
    emotion: ManifestFields = {
        "type": "emotion",
        "title": "Voices",
        "instructions": "How?",
        "labels": EMOTION_LABELS,
        "seconds_per_task": 10,
        "answers_per_item": 3,
    }
    transcription: ManifestFields = {
        "type": "transcription",
        "title": "Meeting",
        "instructions": "Type it.",
        "seconds_per_task": 30,
        "answers_per_item": 1,
    }
    for answers in (emotion, transcription):
        assert parse_manifest(guided.manifest(answers), min_hourly_rate=RATE).problems == ()
    assert "labels" not in tomllib.loads(guided.manifest(transcription).decode())


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("car, person,bike", ("car", "person", "bike")),
        ("joy\nanger, fear\n", ("joy", "anger", "fear")),
    ],
)
def test_labels_are_split_on_commas_and_lines(text: str, labels: tuple[str, ...]) -> None:
    assert guided.parse_labels(text) == labels


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (" , ", "newbatch.labels_missing"),
        ("car, Car", "newbatch.label_duplicate"),
        ("a|b", "newbatch.label_invalid"),
        ("x" * 41, "newbatch.label_invalid"),
        (", ".join(f"l{n}" for n in range(21)), "newbatch.labels_too_many"),
    ],
)
def test_bad_labels_are_named(text: str, key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        guided.parse_labels(text)
    assert refused.value.message_key == key


def test_numbers_titles_and_kinds() -> None:
    assert guided.parse_seconds(" 12 ") == 12
    assert guided.parse_answers("10") == 10
    for bad in ("0", "11", "three", "-1"):
        with pytest.raises(InvalidInput):
            guided.parse_answers(bad)
    with pytest.raises(InvalidInput):
        guided.parse_seconds("601")
    assert guided.parse_title("  Street\n scenes ") == "Street scenes"
    with pytest.raises(InvalidInput):
        guided.parse_title("x" * 101)
    assert guided.upload_name(3, "../../etc/pass wd.mp3", "audio.mp3") == "003-pass_wd.mp3"
    assert guided.upload_name(12, None, "photo.jpg") == "012-photo.jpg"
    assert [guided.kind_of(n) for n in ("a.ZIP", "b.png", "c.ogg", "d.txt", "e.pdf")] == [
        "zip",
        "image",
        "audio",
        "text",  # sentences, for a translation batch
        None,
    ]
    with pytest.raises(InvalidInput) as refused:
        guided.check_accepts("transcription", "image")
    assert refused.value.message_key == "newbatch.wrong_kind.transcription"
    guided.check_accepts("transcription", "zip")  # checked member by member at Done


async def test_sent_files_and_a_sent_zip_become_one_batch(data_dir: Path) -> None:
    inner = make_zip({"street/a.png": png(1), "street/b.png": png(2)})
    uploads = [
        Upload("001-photo.jpg", "image", png(3)),
        Upload("002-more.zip", "zip", inner),
    ]
    data = guided.assemble_zip(ANSWERS, uploads)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == [
            "batch.toml",
            "001-photo.jpg",
            "002-more/street/a.png",
            "002-more/street/b.png",
        ]
    prepared = await prepare_batch(data, data_dir=data_dir, min_hourly_rate=RATE)
    assert [item.source_path for item in prepared.items] == [
        "001-photo.jpg",
        "002-more/street/a.png",
        "002-more/street/b.png",
    ]
    assert prepared.spec.labels == ("car", "person", "vélo")


def test_a_hostile_zip_sent_in_the_conversation_is_refused_by_name() -> None:
    inner = make_zip({"../evil.png": png(1)})
    with pytest.raises(BatchRejected) as refused:
        guided.assemble_zip(ANSWERS, [Upload("001-x.zip", "zip", inner)])
    assert [p.key for p in refused.value.problems] == ["batch.zip_unsafe_path"]


# --- every refusal of an upload reads well in both languages ---------------------------------

W = {"file": "gold.csv", "line": 3, "item": "photo2.png"}
PROBLEMS = [
    Problem("batch.zip_invalid"),
    Problem("batch.zip_too_many_members", {"count": 5_003, "limit": 5_000}),
    Problem("batch.zip_special_file", {"file": "dev/null"}),
    Problem("batch.zip_encrypted", {"file": "a.png"}),
    Problem("batch.zip_duplicate", {"file": "a.png"}),
    Problem("batch.zip_too_large", {"limit_mb": 500}),
    Problem("batch.zip_member_corrupt", {"file": "a.png"}),
    Problem("batch.manifest_not_utf8", {"file": "batch.toml"}),
    Problem("batch.manifest_syntax", {"file": "batch.toml", "line": 2, "column": 7}),
    Problem("batch.field_unknown", {"field": "colour"}),
    Problem("batch.field_missing", {"field": "title"}),
    Problem("batch.field_empty", {"field": "title"}),
    Problem("batch.field_not_text", {"field": "title"}),
    Problem("batch.field_not_integer", {"field": "time_limit", "value": "soon"}),
    Problem("batch.field_not_boolean", {"field": "multiple"}),
    Problem("batch.field_not_list", {"field": "labels"}),
    Problem("batch.field_too_long", {"field": "title", "length": 140, "limit": 100}),
    Problem("batch.field_not_allowed", {"field": "labels", "type": "transcription"}),
    Problem("batch.labels_missing", {"field": "labels"}),
    Problem("batch.labels_too_many", {"field": "labels", "count": 21, "limit": 20}),
    Problem("batch.label_invalid", {"field": "labels", "label": "a|b", "limit": 40}),
    Problem("batch.label_duplicate", {"field": "labels", "label": "car"}),
    Problem("batch.reward_invalid", {"field": "reward", "value": "cheap"}),
    Problem("batch.reward_too_large", {"field": "reward", "max_cents": 100_000}),
    Problem("batch.reward_sub_cent", {"field": "reward", "value": "0.015"}),
    Problem("batch.time_limit_below_estimate", {"field": "time_limit", "seconds_per_task": 60}),
    Problem("batch.file_too_large", {"file": "batch.toml", "limit_kb": 64}),
    Problem("batch.no_items"),
    Problem("batch.gold_not_utf8", {"file": "gold.csv"}),
    Problem("batch.gold_header", {"file": "gold.csv"}),
    Problem("batch.gold_row_invalid", {"file": "gold.csv", "line": 4}),
    Problem("batch.gold_unknown_item", W),
    Problem("batch.gold_duplicate", W),
    Problem("batch.gold_answer_empty", W),
    Problem("batch.gold_answer_single", W),
    Problem("batch.gold_recording_chunked", {"file": "long.wav"}),
    Problem("image.unsupported_format", {"file": "a.png"}),
    Problem("audio.undecodable", {"file": "a.mp3"}),
    Problem("audio.timeout", {"file": "a.mp3", "seconds": 120}),
    Problem("audio.too_long", {"file": "a.mp3", "max_seconds": 7_200, "max_minutes": 120}),
    Problem("audio.empty", {"file": "a.mp3"}),
    Problem("batch.zip_unsafe_path", {"file": "../evil.png"}),
    Problem("batch.zip_ratio", {"file": "bomb.png", "ratio": 1_000, "limit": 100}),
    Problem("batch.zip_symlink", {"file": "link.png"}),
    Problem("image.too_large", {"file": "huge.png", "limit_mp": 40}),
    Problem("image.corrupt", {"file": "cut.jpg"}),
    Problem("audio.unsupported_format", {"file": "song.mp3"}),
    Problem("batch.type_unknown", {"field": "type", "value": "video", "allowed": "a, b"}),
    Problem("batch.gold_answer_not_label", {**W, "answer": "cat"}),
    Problem("batch.field_out_of_range", {"field": "time_limit", "value": 5, "min": 15, "max": 600}),
    Problem("batch.reward_too_small", {"field": "reward", "value": "0.001", "min_cents": 1}),
    Problem("batch.manifest_missing", {"file": "batch.toml"}),
    Problem("batch.file_unsupported", {"file": "notes.txt"}),
    Problem("batch.item_kind_not_allowed", {"file": "z.wav", "type": "image_tag", "kind": "audio"}),
    Problem("batch.gold_missing", {"field": "gold", "file": "gold.csv"}),
]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_upload_problem_renders_and_names_its_file_or_field(language: str) -> None:
    t = Translator(Catalogue.load(), language, PARIS, "EUR")
    for problem in PROBLEMS:
        text = problem_text(t, problem)
        assert "{" not in text, (problem, text)
        for name in ("field", "file"):
            if name in problem.params:
                assert str(problem.params[name]) in text, (problem, text)
    floor = floor_warning(1, 12, RATE)
    assert floor is not None
    assert problem_text(t, floor).startswith(("The reward of €0.01", "La récompense de 0,01"))
