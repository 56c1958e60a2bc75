"""``/newbatch`` end to end: a batch created step by step from photos and from a voice message,
/cancel at any step, a polite timeout, files the batch cannot take, two requesters at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.app import BotApplication
from bot.clock import FixedClock
from bot.intake.manifest import EMOTION_LABELS
from bot.ledger import top_up
from sandbox import SandboxServer, SandboxUser
from storage.batches import get_batch, items_of
from storage.users import grant_role
from tests.conftest import ADMIN_ID, REQUESTER_ID, sql_value
from tests.intake.media import export, image_bytes, make_zip, png, tone

OTHER_REQUESTER = 7002
HINT = "Hello! Send /start to sign up and see how it works."  # outside any conversation


async def say(user: SandboxUser, text: str) -> str:
    """Send a text (a typed answer or a reply-keyboard button) and return the bot's answer."""
    await user.send_text(text)
    return (await user.next_message()).text or ""


async def answer_questions(
    user: SandboxUser, *, kind: str, title: str, labels: str | None, multiple: str | None
) -> None:
    """Go from /newbatch to the request for files."""
    await user.send_command("/newbatch")
    first = await user.next_message()
    assert (first.text or "").endswith("What kind of task? Tap one.")
    assert user.reply_keyboard is not None
    assert await say(user, kind) == "A short title for the batch (workers see it)?"
    assert (await say(user, title)).startswith("The instructions shown with each")
    asked = await say(user, "Look closely.")
    if labels is not None:
        asked = await say(user, labels)
    if multiple is not None:
        asked = await say(user, multiple)
    assert asked.startswith("About how many seconds does one task take?")
    assert (await say(user, "10")).startswith("How many workers should answer each item?")
    assert (await say(user, "2")).startswith("How many seconds may a worker take")
    assert (await say(user, "Use the default")).startswith("Now send the")


async def to_review(user: SandboxUser) -> str:
    """From the files' Done, past the examples and gold steps, to the review's text."""
    await user.send_text("Done")
    asked = await user.next_message()
    assert (asked.text or "").startswith("Examples so far: 0."), asked.text
    await user.send_text("Next")
    shown = await user.next_message()
    if (shown.text or "").startswith("Gold answers so far"):
        await user.send_text("Enough gold")
        shown = await user.next_message()
    assert (shown.text or "").startswith("PREVIEW: a task as workers will see it"), shown.text
    return (await user.next_message()).text or ""


async def finish(user: SandboxUser) -> str:
    """Tap Done, pass examples and gold, create the draft; return the summary after the
    "checking" notice (or the refusal)."""
    assert (await to_review(user)).startswith("Your batch, before the draft is made:")
    await user.send_text("Create the draft")
    checking = await user.next_message()
    assert (checking.text or "").startswith("Checking")
    return (await user.next_message(timeout=30)).text or ""


async def test_a_batch_from_photos(
    sandbox: SandboxServer, bot: BotApplication, clock: FixedClock
) -> None:
    db = bot.bot_data.db
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await top_up(
        db,
        requester_id=REQUESTER_ID,
        amount=500,
        actor_id=ADMIN_ID,
        key="topup:guided",
        now=clock.now(),
        tz=bot.bot_data.settings.timezone,
    )
    await answer_questions(
        rita, kind="Image tagging", title="Street scenes", labels="car, person", multiple="No"
    )
    for n in range(3):
        await rita.send_photo(image_bytes("JPEG", (320, 240), (n * 60, 90, 160)))  # type: ignore[arg-type]
        assert (await rita.next_message()).text == (
            f"Got it ({n + 1} so far). Send more, or tap Done."
        )

    summary = await finish(rita)

    # 10.00 an hour x 10 s rounds up to 0.03 an answer: 3 items x 2 answers x 0.03.
    assert summary.startswith("Draft batch #1: Street scenes")
    assert "Items: 3 (of which 0 gold)" in summary
    assert "Reward per answer: €0.03 (about 10 s of work, 50 s to answer)" in summary
    assert "Most it can cost: €0.18 (3 items × 2 answers × €0.03)" in summary
    assert "Your balance: €5.00" in summary
    batch = await db.run_read(get_batch, 1)
    assert batch is not None
    assert (batch.origin, batch.type, batch.labels, batch.multiple) == (
        "guided",
        "image_tag",
        ("car", "person"),
        False,
    )
    assert (batch.instructions, batch.answers_per_item, batch.state) == (
        "Look closely.",
        2,
        "draft",
    )
    assert [item.source_path for item in await db.run_read(items_of, 1)] == [
        "001-photo.jpg",
        "002-photo.jpg",
        "003-photo.jpg",
    ]
    assert (await rita.press("Publish")).text == "Published."
    # The conversation is over: a text now gets the ordinary hint.
    await rita.next_message()
    assert await say(rita, "hello") == HINT


async def test_a_batch_from_a_voice_message_with_the_default_emotions(
    sandbox: SandboxServer, bot: BotApplication, tmp_path: Path
) -> None:
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await rita.send_command("/newbatch")
    await rita.next_message()
    await say(rita, "Emotion")
    await say(rita, "Voices")
    offered = await say(rita, "How does this person feel?")
    assert "joy, sadness, anger, fear, surprise, disgust, neutral" in offered
    assert rita.reply_keyboard is not None
    assert await say(rita, "Use the usual set") == (
        "About how many seconds does one task take? It sets the fair reward and the timer."
    )
    await say(rita, "8")
    await say(rita, "3")
    await say(rita, "Use the default")
    await rita.send_voice(export(tone(2_500, 300), "ogg", tmp_path))
    assert (await rita.next_message()).text == "Got it (1 so far). Send more, or tap Done."

    summary = await finish(rita)

    assert "Items: 1 (of which 0 gold)" in summary
    batch = await bot.bot_data.db.run_read(get_batch, 1)
    assert batch is not None
    assert (batch.type, batch.labels, batch.origin) == ("emotion", EMOTION_LABELS, "guided")
    (item,) = await bot.bot_data.db.run_read(items_of, 1)
    assert (item.source_path, item.media_kind) == ("001-voice.ogg", "audio")
    assert item.duration_ms is not None
    assert abs(item.duration_ms - 2_500) < 150


async def test_a_transcription_batch_refuses_photos_and_bad_files_keep_the_answers(
    sandbox: SandboxServer, bot: BotApplication, tmp_path: Path
) -> None:
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await answer_questions(rita, kind="Transcription", title="Meeting", labels=None, multiple=None)
    await rita.send_photo(png(1))
    assert (await rita.next_message()).text == (
        "A transcription batch takes recordings only: voice messages or audio files."
    )
    await rita.send_document(b"not a sound", file_name="notes.pdf")
    assert (await rita.next_message()).text == (
        "I take photos, voice messages, audio files (OGG, MP3, WAV, M4A), images (JPEG, PNG,"
        " WebP) or a ZIP of them."
    )
    await rita.send_audio(b"la la la\n" * 99, file_name="song.mp3")
    await rita.next_message()
    assert (await finish(rita)).splitlines()[:2] == [
        "Your batch was refused (1 problem(s)):",
        "• 001-song.mp3: not an OGG/Opus, MP3, WAV or M4A recording (whatever its name says).",
    ]
    assert await sql_value(bot.bot_data.db, "SELECT count(*) FROM batches") == 0

    # The answers are kept: a good recording (in a ZIP) and Done make the batch.
    clips = make_zip({"a.wav": export(tone(3_000), "wav", tmp_path)})
    await rita.send_document(clips, file_name="clips.zip", mime_type="application/zip")
    await rita.next_message()
    assert "Items: 1 (of which 0 gold)" in await finish(rita)
    (item,) = await bot.bot_data.db.run_read(items_of, 1)
    assert item.source_path == "001-clips/a.wav"


async def test_cancel_leaves_at_any_step_and_saves_nothing(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await rita.send_command("/newbatch")
    await rita.next_message()
    await say(rita, "Image tagging")
    # Another command passes through to its handler; the conversation stays at its step.
    assert (await say(rita, "/help")).startswith("Here is what you can do:")
    assert (await say(rita, "Street scenes")).startswith("The instructions shown with each photo")
    assert (await say(rita, "/newbatch")).endswith("What kind of task? Tap one.")  # starts over
    await rita.send_command("/cancel")
    cancelled = await rita.next_message()
    assert cancelled.text == "Batch creation cancelled; nothing was saved."
    assert rita.reply_keyboard is None
    assert await say(rita, "Image tagging") == HINT
    assert await sql_value(bot.bot_data.db, "SELECT count(*) FROM batches") == 0


async def test_silence_ends_the_conversation_politely(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="fr")
    await rita.send_command("/newbatch")
    await rita.next_message()
    await say(rita, "Étiquetage d'images")
    # Once the /help answer is in, the previous update (and its timeout job) is fully handled.
    await say(rita, "/help")
    assert bot.job_queue is not None
    (job,) = bot.job_queue.jobs("_trigger_timeout")

    await job.run(bot)  # what the JobQueue does after 30 minutes of silence

    assert (await rita.next_message()).text == (
        "Pas de réponse depuis 30 minutes : j'ai arrêté la création du lot, rien n'a été"
        " enregistré. Envoyez /newbatch pour recommencer."
    )
    assert rita.reply_keyboard is None
    assert await say(rita, "Mon titre") == (
        "Bonjour ! Envoyez /start pour vous inscrire et voir comment ça marche."
    )


async def test_two_requesters_never_mix(
    sandbox: SandboxServer, bot: BotApplication, clock: FixedClock
) -> None:
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    olga = sandbox.user(OTHER_REQUESTER, first_name="Olga", language_code="en")
    await bot.bot_data.db.run_write(
        grant_role, user_id=OTHER_REQUESTER, role="requester", granted_by=None, now=clock.now()
    )
    await rita.send_command("/newbatch")
    await rita.next_message()
    await olga.send_command("/newbatch")
    await olga.next_message()
    await say(rita, "Image tagging")
    assert await say(olga, "Transcription") == "A short title for the batch (workers see it)?"
    await say(rita, "Rita's photos")
    await say(olga, "Olga's meeting")
    assert (await say(rita, "Look.")).startswith("The labels workers choose from")
    assert (await say(olga, "Type it.")).startswith("About how many seconds")
    await rita.send_command("/cancel")
    await rita.next_message()
    assert (await say(olga, "20")).startswith("How many workers should answer each item?")

    # Someone who is not a requester cannot start one.
    walt = sandbox.user(5001, first_name="Walt", language_code="en")
    assert await say(walt, "/newbatch") == "This command is for requesters only."
    assert await say(walt, "Image tagging") == HINT


async def test_a_step_and_its_draft_are_stored_in_one_transaction(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    """A kill between two writes cannot leave the conversation at its next step without the
    answer the step put in the draft: one persistence round, one transaction."""
    db = bot.bot_data.db
    if db.dialect != "sqlite":
        pytest.skip("reads SQLite's trace; the persistence code is the same on both backends")
    trace: list[str] = []
    await db.set_trace(trace.append)
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    for text in ("/newbatch", "Image tagging", "Street scenes"):
        await (rita.send_command(text) if text.startswith("/") else rita.send_text(text))
        await rita.next_message()

    def transactions() -> list[list[str]]:
        found: list[list[str]] = []
        for sql in trace:
            if sql.startswith("BEGIN"):
                found.append([])
            elif found:
                found[-1].append(sql)
        return found

    def titled() -> list[list[str]]:
        return [
            tx
            for tx in transactions()
            if any("INTO conversation_data" in sql and "Street scenes" in sql for sql in tx)
        ]

    for _ in range(200):  # a bound (10 s), not a timing
        if titled():
            break
        await asyncio.sleep(0.05)
    await db.set_trace(lambda _: None)
    (step,) = titled()
    (state,) = [sql for sql in step if "INTO conversation_states" in sql]
    assert "'2'" in state, step  # INSTRUCTIONS, the question asked next
