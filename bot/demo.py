"""Demo data for try-it mode: four people, a budget, and a small published batch of each type.

Everything is seeded through the project's own use cases (registration, availability, a top-up,
the batch intake, publishing into escrow), never raw SQL, so the ledger stays balanced. Seeding
again changes nothing: people and windows are upserts, the top-up has a fixed idempotency key,
and a batch whose title the requester already has is not made twice.

Each call into the domain sits in one small function (``_register``, ``_make_available``,
``_fund``, ``_titles``, ``_publish``, ``give_back_shown_tasks``), the only places to change when
those signatures move.
"""

from __future__ import annotations

import io
import json
import math
import struct
import wave
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image, ImageDraw

from bot import answers, batches, worker_state
from bot.availability import format_windows, parse_windows
from bot.config import Settings
from bot.intake.prepare import prepare_batch
from bot.ledger import top_up
from storage.assignments import active_assignments
from storage.batches import batches_of
from storage.db import Database
from storage.users import record_consent, touch_user


@dataclass(frozen=True)
class DemoPerson:
    """A demo user: a Telegram id of the sandbox, a first name, and the role shown on the page."""

    id: int
    first_name: str
    label: str


ALICE = DemoPerson(1001, "Alice", "worker")
BOB = DemoPerson(1002, "Bob", "worker")
REQUESTER = DemoPerson(2001, "Rosa", "requester")
ADMIN = DemoPerson(3001, "Adam", "admin")
PEOPLE = (ALICE, BOB, REQUESTER, ADMIN)
WORKERS = (ALICE, BOB)

BUDGET = 50_00
"""The requester's demo budget, in cents (the batches hold a few euros of it)."""
ALWAYS = "daily 00:00-24:00"
"""The demo workers' availability: tasks are pushed at any hour (their quiet hours are off)."""
TOPUP_KEY = "tryit:topup:requester"
TIME_LIMIT = 600
"""The longest time limit a manifest allows: a person trying the page has time to look around."""


@dataclass(frozen=True)
class Seeded:
    """What a seeding did: the batches it published now (empty when everything was there)."""

    published: tuple[int, ...]


async def seed(db: Database, settings: Settings, now: datetime) -> Seeded:
    """Seed the demo people, budget and batches once; a second call publishes nothing more."""
    for person in PEOPLE:
        await _register(db, person, now)
    for worker in WORKERS:
        await _make_available(db, worker.id, now)
    await _fund(db, settings, now)
    existing = await _titles(db, REQUESTER.id)
    published = []
    for title, archive in demo_batches():
        if title not in existing:
            published.append(await _publish(db, settings, archive, now))
    return Seeded(tuple(published))


async def give_back_shown_tasks(db: Database, now: datetime) -> int:
    """Give back, unpaid and unpenalised, the tasks shown in the chats of a previous run.

    The sandbox keeps its chats in memory: after a restart nobody can see or answer those task
    messages, so their slots go back to the pool (the bot pushes them again) as for a task that
    could not be shown. How many were given back.
    """
    given = 0
    for assignment in await db.run_read(active_assignments):
        if await answers.release(db, assignment.id, "not_shown", now) is not None:
            given += 1
    return given


# The calls into the domain, one function each ---------------------------------------------------


async def _register(db: Database, person: DemoPerson, now: datetime) -> None:
    """As /start and the consent button do: the user, then consent (the worker role)."""
    async with db.write() as tx:
        await touch_user(
            tx,
            user_id=person.id,
            first_name=person.first_name,
            username=None,
            language="en",
            now=now,
        )
        await record_consent(tx, person.id, now)


async def _make_available(db: Database, worker_id: int, now: datetime) -> None:
    """As ``/availability daily 00:00-24:00`` and ``/quiet off`` do (a worker's default quiet
    hours, 22:00-08:00, would leave the page without pushes at night)."""
    await worker_state.keep_windows(db, worker_id, format_windows(parse_windows(ALWAYS)), now)
    await worker_state.keep_quiet(db, worker_id, "", now)


async def _fund(db: Database, settings: Settings, now: datetime) -> None:
    """As the admin's ``/topup`` does, under a fixed key: a restart adds nothing."""
    await top_up(
        db,
        requester_id=REQUESTER.id,
        amount=BUDGET,
        actor_id=ADMIN.id,
        key=TOPUP_KEY,
        now=now,
        tz=settings.timezone,
        memo="try-it demo budget",
    )


async def _titles(db: Database, requester_id: int) -> set[str]:
    """The titles of the requester's batches, whatever their state."""
    return {batch.title for batch in await db.run_read(batches_of, requester_id)}


async def _publish(db: Database, settings: Settings, archive: bytes, now: datetime) -> int:
    """As a ZIP upload then the Publish button do: intake, draft, escrow hold."""
    prepared = await prepare_batch(
        archive,
        data_dir=settings.data_dir,
        min_hourly_rate=settings.min_hourly_rate,
        limits=settings.intake,
    )
    batch_id = await batches.create_draft(
        db, prepared, requester_id=REQUESTER.id, origin="zip", now=now
    )
    await batches.publish(db, batch_id, batches.Viewer(REQUESTER.id), now=now, tz=settings.timezone)
    return batch_id


# The demo batches, made here (no files shipped) ------------------------------------------------

SHAPES = ("circle", "square", "triangle")


def demo_batches() -> list[tuple[str, bytes]]:
    """(title, batch ZIP) for each task type: generated shapes, tones and beeps."""
    shapes = {
        f"shape{n}.png": shape_png(shape, n) for n, shape in enumerate((*SHAPES, "circle"), 1)
    }
    image_tag = {
        "type": "image_tag",
        "title": "Shapes",
        "instructions": "Which shape do you see?",
        "labels": list(SHAPES),
        "multiple": False,
        "seconds_per_task": 5,
        "answers_per_item": 2,
        "time_limit": TIME_LIMIT,
    }
    emotion = {
        "type": "emotion",
        "title": "Tones",
        "instructions": "How does this tone sound to you?",
        "seconds_per_task": 8,
        "answers_per_item": 2,
        "time_limit": TIME_LIMIT,
    }
    transcription = {
        "type": "transcription",
        "title": "Beeps",
        "instructions": "How many beeps do you hear? Type the number.",
        "seconds_per_task": 15,
        "answers_per_item": 2,
        "time_limit": TIME_LIMIT,
    }
    tones = {
        "rising.wav": tone_wav([(330, 0.6), (440, 0.6), (550, 0.8)]),
        "falling.wav": tone_wav([(550, 0.6), (440, 0.6), (330, 0.8)]),
    }
    beeps = {"beeps.wav": tone_wav([(660, 0.25), (0, 0.35)] * 4 + [(0, 1.0)])}
    return [
        ("Shapes", make_zip(image_tag, shapes)),
        ("Tones", make_zip(emotion, tones)),
        ("Beeps", make_zip(transcription, beeps)),
    ]


def make_zip(manifest: Mapping[str, Any], files: Mapping[str, bytes]) -> bytes:
    """A batch ZIP: ``batch.toml`` (JSON values are valid TOML here) and the media files."""
    lines = [f"{key} = {json.dumps(value)}" for key, value in manifest.items()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("batch.toml", "\n".join(lines) + "\n")
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def shape_png(shape: str, seed: int, side: int = 320) -> bytes:
    """A PNG of one coloured shape on a light background."""
    colors = ["#e53935", "#1e88e5", "#43a047", "#fb8c00", "#8e24aa"]
    image = Image.new("RGB", (side, side), "#f5f5f0")
    draw = ImageDraw.Draw(image)
    fill = colors[seed % len(colors)]
    margin = side // 5
    box = (margin, margin, side - margin, side - margin)
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    else:
        draw.polygon(
            [(side // 2, margin), (side - margin, side - margin), (margin, side - margin)],
            fill=fill,
        )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def tone_wav(parts: Sequence[tuple[float, float]], rate: int = 16_000) -> bytes:
    """A mono 16-bit WAV of (frequency Hz, seconds) parts; frequency 0 is silence."""
    frames = bytearray()
    for freq, seconds in parts:
        count = int(rate * seconds)
        for n in range(count):
            fade = min(1.0, n / 400, (count - n) / 400)  # no clicks between parts
            sample = math.sin(2 * math.pi * freq * n / rate) * 0.4 * fade if freq else 0.0
            frames += struct.pack("<h", int(sample * 32_767))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))
    return out.getvalue()
