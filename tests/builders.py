"""Shared builders of the domain tests: media, workers, funded open batches, on a real SQLite file.

Test files (and ``bench/``) import from here, never from one another: a builder used by more than
one file lives in this module, under the name it had where it was first written.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import imageio_ffmpeg
from PIL import Image

from bot.batch_settings import Example, Level
from bot.batches import open_gate_if_dynamic
from bot.dispatch import Policy
from bot.gold import QualityRules
from bot.ledger import hold_for_batch, top_up
from bot.reputation import refresh
from storage.assignments import Assignment, active_assignment_of, claim_next, mark_shown
from storage.availability import set_ready
from storage.batches import (
    BatchSettings,
    BatchType,
    NewBatch,
    NewItem,
    NewMedia,
    get_batch,
    insert_draft,
    set_batch_state,
)
from storage.db import Database, to_db_time
from storage.users import record_consent, set_timezone, touch_user
from tests.conftest import ADMIN_ID, REQUESTER_ID, sql_rows

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # a Thursday, 13:00 in Paris
POLICY = Policy(monthly_cap=25_000, zone=PARIS)
LABELS = ("car", "bicycle", "person", "dog", "tree")  # the gold tests' labels
OTHER_REQUESTER = 7002
_SEEDS = itertools.count(1)
_OGG: dict[int, bytes] = {}
_TOPUPS = iter(range(1, 10_000))


# -- media, workers and published batches (dispatch and the task tests) -----------------------


def png_bytes(seed: int, side: int = 48) -> bytes:
    """A small PNG whose colour depends on ``seed`` (so each item is its own media file)."""
    colour = (seed * 37 % 256, seed * 91 % 256, seed * 53 % 256)
    out = io.BytesIO()
    Image.new("RGB", (side, side), colour).save(out, format="PNG")
    return out.getvalue()


def ogg_bytes(seed: int) -> bytes:
    """A one-second OGG/Opus tone (Telegram shows it as a voice message)."""
    if seed not in _OGG:
        _OGG[seed] = subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-hide_banner",
                "-loglevel",
                "error",
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency={300 + seed * 20}:duration=1",
                "-ac",
                "1",
                "-c:a",
                "libopus",
                "-b:a",
                "16k",
                "-f",
                "ogg",
                "-",
            ],
            check=True,
            capture_output=True,
        ).stdout
    return _OGG[seed]


def store_media(data_dir: Path, data: bytes, kind: str) -> NewMedia:
    """Write media content-addressed under ``data_dir`` as the intake does."""
    sha = hashlib.sha256(data).hexdigest()
    extension = "png" if kind == "image" else "ogg"
    relative = f"media/{sha}.{extension}"
    target = data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return NewMedia(
        sha256=sha,
        kind="image" if kind == "image" else "audio",
        path=relative,
        size_bytes=len(data),
        duration_ms=None if kind == "image" else 1000,
    )


async def register_worker(
    db: Database,
    worker_id: int,
    now: datetime = NOW,
    *,
    first_name: str = "Worker",
    language: str = "en",
    timezone: str | None = None,
) -> None:
    """A worker who wrote /start and consented."""
    await db.run_write(
        touch_user,
        user_id=worker_id,
        first_name=first_name,
        username=None,
        language=language,
        now=now,
    )
    await db.run_write(record_consent, worker_id, now)
    if timezone:
        await db.run_write(set_timezone, worker_id, timezone, now)


async def publish_batch(
    db: Database,
    data_dir: Path,
    now: datetime = NOW,
    *,
    type: BatchType = "image_tag",
    labels: Sequence[str] = ("car", "bicycle", "person"),
    multiple: bool = False,
    items: int = 3,
    answers_per_item: int = 2,
    reward: int = 4,
    time_limit: int = 3,
    media: str = "image",
    requester_id: int = REQUESTER_ID,
    title: str = "Street scenes",
    instructions: str = "Pick what you see.",
    seeds: Sequence[int] | None = None,
    min_level: Level = "newcomer",
    examples: Sequence[Example] = (),
    dynamic: bool | None = None,
) -> int:
    """An open batch with its most possible cost held in escrow, as publishing leaves it
    (``min_level`` and ``examples``: the optional settings of issue 14; ``dynamic=False``: a
    label batch of more than two answers per item without dynamic overlap, ``bot/refit.py``)."""
    seeds = list(seeds) if seeds is not None else [next(_SEEDS) for _ in range(items)]
    new_items = [
        NewItem(
            source_path=f"item{position}.{'png' if media == 'image' else 'ogg'}",
            media=store_media(
                data_dir, png_bytes(seed) if media == "image" else ogg_bytes(seed), media
            ),
        )
        for position, seed in enumerate(seeds)
    ]
    batch = NewBatch(
        requester_id=requester_id,
        settings=BatchSettings(
            type=type,
            title=title,
            instructions=instructions,
            labels=tuple(labels),
            multiple=multiple,
            seconds_per_task=5,
            reward=reward,
            answers_per_item=answers_per_item,
            time_limit=time_limit,
            min_level=min_level,
            examples=tuple(examples),
        ),
        below_floor=False,
    )
    cost = len(new_items) * answers_per_item * reward
    return await open_funded_batch(
        db,
        batch,
        new_items,
        cost=cost,
        budget=cost,
        topup_key=f"topup:test:{next(_SEEDS)}",
        now=now,
        dynamic=dynamic,
    )


async def open_funded_batch(
    db: Database,
    batch: NewBatch,
    items: Sequence[NewItem],
    *,
    cost: int,
    budget: int,
    topup_key: str,
    now: datetime,
    dynamic: bool | None = None,
) -> int:
    """Top the requester up by ``budget``, store the batch, open it and hold ``cost`` in escrow
    (and refresh the requester's reputation line, and start dynamic overlap where it applies,
    as publishing does)."""
    await top_up(
        db,
        requester_id=batch.requester_id,
        amount=budget,
        actor_id=ADMIN_ID,
        key=topup_key,
        now=now,
        tz=PARIS,
    )
    async with db.write() as conn:
        batch_id = await insert_draft(conn, batch, items, now)
        assert await set_batch_state(conn, batch_id, expected=["draft"], new="open", now=now)
        stored = await get_batch(conn, batch_id)
        assert stored is not None
        if dynamic is not False:  # None: as publishing decides (bot.batches.buys_dynamically)
            opened = await open_gate_if_dynamic(conn, stored)
            assert opened or not dynamic, "not a batch that can buy answers dynamically"
        await hold_for_batch(
            conn,
            requester_id=batch.requester_id,
            batch_id=batch_id,
            amount=cost,
            actor_id=batch.requester_id,
            now=now,
            tz=PARIS,
        )
    await refresh(db, batch.requester_id, now)  # as publishing does: the reputation line
    return batch_id


async def make_ready(db: Database, worker_id: int, now: datetime = NOW, minutes: int = 60) -> None:
    await db.run_write(set_ready, worker_id, now + timedelta(minutes=minutes), now)


async def shown(db: Database, assignment: Assignment, now: datetime = NOW) -> Assignment:
    """Mark a claimed assignment shown (as the handler does after sending) and return it."""
    assert await db.run_write(
        mark_shown,
        assignment.id,
        chat_id=assignment.worker_id,
        message_id=assignment.id,
        prompt_message_id=None,
        shown_at=now,
        deadline=now + timedelta(seconds=assignment.time_limit),
    )
    found = await db.run_read(active_assignment_of, assignment.worker_id)
    assert found is not None
    return found


async def workers(db: Database, ids: Sequence[int], now: datetime = NOW) -> None:
    for worker_id in ids:
        await register_worker(db, worker_id, now)
        await make_ready(db, worker_id, now)


# -- gold ---------------------------------------------------------------------------------------


def policy(quality: QualityRules) -> Policy:
    return Policy(monthly_cap=25_000, zone=PARIS, quality=quality)


async def publish_with_gold(
    db: Database,
    data_dir: Path,
    *,
    ordinary: int,
    gold: Sequence[Any],
    answers_per_item: int = 2,
    reward: int = 4,
    labels: Sequence[str] = LABELS,
    now: datetime = NOW,
    seed: int = 500,
    why: Sequence[str | None] = (),
) -> int:
    """An open batch with ``ordinary`` items, then one gold item per answer in ``gold`` (and
    why it is right, from ``why`` in the same order, when given)."""
    whys = [None] * ordinary + list(why) + [None] * (len(gold) - len(why))
    items = [
        NewItem(
            source_path=f"item{position}.png",
            media=store_media(data_dir, png_bytes(seed + position), "image"),
            gold_answer=answer,
            gold_why=whys[position],
        )
        for position, answer in enumerate([None] * ordinary + list(gold))
    ]
    batch = NewBatch(
        requester_id=REQUESTER_ID,
        settings=BatchSettings(
            type="image_tag",
            title="Gold scenes",
            instructions="Pick what you see.",
            labels=tuple(labels),
            multiple=False,
            seconds_per_task=5,
            reward=reward,
            answers_per_item=answers_per_item,
            time_limit=30,
        ),
        below_floor=False,
    )
    cost = len(items) * answers_per_item * reward
    await top_up(
        db,
        requester_id=REQUESTER_ID,
        amount=cost,
        actor_id=ADMIN_ID,
        key=f"topup:gold:{seed}",
        now=now,
        tz=PARIS,
    )
    async with db.write() as conn:
        batch_id = await insert_draft(conn, batch, items, now)
        assert await set_batch_state(conn, batch_id, expected=["draft"], new="open", now=now)
        await hold_for_batch(
            conn,
            requester_id=REQUESTER_ID,
            batch_id=batch_id,
            amount=cost,
            actor_id=REQUESTER_ID,
            now=now,
            tz=PARIS,
        )
    return batch_id


async def offer(db: Database, worker_id: int, quality: QualityRules) -> Assignment | None:
    claim = await db.run_write(
        claim_next, worker_id=worker_id, now=NOW, max_reward=10_000, pick_gold=quality.gold_picker()
    )
    return None if claim is None else await shown(db, claim)


# -- results and fair pay (also the e2e tests and the crowd bench) ------------------------------


async def open_batch(
    db: Database,
    data_dir: Path,
    items: Sequence[NewItem],
    *,
    type: BatchType = "image_tag",
    labels: Sequence[str] = ("car", "bicycle", "person"),
    multiple: bool = False,
    answers_per_item: int = 3,
    reward: int = 4,
    requester_id: int = REQUESTER_ID,
    title: str = "Street scenes",
    extra_budget: int = 0,
    now: datetime = NOW,
    dynamic: bool | None = None,
) -> int:
    """An open batch of ``items`` with its most possible cost in escrow (and ``extra_budget``
    left on the requester's balance; ``dynamic`` as ``open_funded_batch``)."""
    batch = NewBatch(
        requester_id=requester_id,
        settings=BatchSettings(
            type=type,
            title=title,
            instructions="",
            labels=tuple(labels),
            multiple=multiple,
            seconds_per_task=5,
            reward=reward,
            answers_per_item=answers_per_item,
            time_limit=60,
        ),
        below_floor=False,
    )
    cost = len(items) * answers_per_item * reward
    return await open_funded_batch(
        db,
        batch,
        items,
        cost=cost,
        budget=cost + extra_budget,
        topup_key=f"topup:results-test:{next(_TOPUPS)}:{data_dir}",
        now=now,
        dynamic=dynamic,
    )


def image_items(data_dir: Path, count: int, *, first_seed: int = 500) -> list[NewItem]:
    return [
        NewItem(
            source_path=f"photos/{index}.png",
            media=store_media(data_dir, png_bytes(first_seed + index), "image"),
        )
        for index in range(count)
    ]


def chunk_items(data_dir: Path, path: str, bounds: Sequence[tuple[int, int]]) -> list[NewItem]:
    """Transcription chunks of one recording, as the intake cuts it."""
    return [
        NewItem(
            source_path=path,
            media=store_media(data_dir, ogg_bytes(40 + index), "audio"),
            recording_path=path,
            start_ms=start,
            end_ms=end,
        )
        for index, (start, end) in enumerate(bounds)
    ]


async def submit(
    db: Database,
    batch_id: int,
    item_id: int,
    worker_id: int,
    answer: Any,
    *,
    duration_ms: int = 5_000,
    reward: int | None = None,
    at: datetime = NOW,
) -> None:
    """A submitted answer, as the worker loop stores it (the worker is registered if needed)."""
    await register_worker(db, worker_id, at)
    if reward is None:
        batch = await db.run_read(get_batch, batch_id)
        assert batch is not None
        reward = batch.reward
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO assignments (item_id, batch_id, worker_id, state, reward, time_limit,"
            " offered_at, shown_at, deadline, answer, duration_ms, ended_at)"
            " VALUES (?, ?, ?, 'submitted', ?, 60, ?, ?, ?, ?, ?, ?)",
            (
                item_id,
                batch_id,
                worker_id,
                reward,
                to_db_time(at - timedelta(milliseconds=duration_ms)),
                to_db_time(at - timedelta(milliseconds=duration_ms)),
                to_db_time(at + timedelta(seconds=60)),
                json.dumps(answer, ensure_ascii=False),
                duration_ms,
                to_db_time(at),
            ),
        )


async def item_ids(db: Database, batch_id: int) -> list[int]:
    rows = await sql_rows(
        db, "SELECT id FROM items WHERE batch_id = ? ORDER BY position", (batch_id,)
    )
    return [int(row[0]) for row in rows]


async def half_floor_batch(db: Database, tmp_path: Path, *, extra_budget: int) -> int:
    """10 items x 3 answers at 2 cents, 20 answers of 14.4 s: a median of 5 EUR an hour."""
    batch_id = await open_batch(
        db,
        tmp_path,
        image_items(tmp_path, 10, first_seed=800),
        answers_per_item=3,
        reward=2,
        extra_budget=extra_budget,
        dynamic=False,  # every item takes its third answer without waiting for a refit
    )
    for item in await item_ids(db, batch_id):
        for worker in (41, 42):
            await submit(db, batch_id, item, worker, "car", duration_ms=14_400)
    return batch_id
