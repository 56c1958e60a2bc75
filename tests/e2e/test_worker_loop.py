"""The worker task loop end to end: the real bot, long polling the sandbox Bot API.

Time limits are a few seconds so the suite stays fast; the clock is a ShiftedClock, so the
JobQueue's real-time timers and the rules agree while "now" can be any hour.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.app import BotApplication
from bot.clock import ShiftedClock
from bot.config import Settings
from bot.ledger import balance, worker_account
from sandbox import SandboxServer, SandboxUser
from storage.assignments import answers_of_item, assignments_of_batch, assignments_of_worker
from storage.batches import items_of
from storage.users import get_user
from tests.e2e.harness import WAIT, db_of, eventually, next_task, publish, running_bot, sign_up

# -- the acceptance scenario ----------------------------------------------------------------


async def test_two_workers_share_a_batch_each_item_twice_and_each_paid(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    ana = await sign_up(sandbox, 1011, "Ana")
    bob = await sign_up(sandbox, 1012, "Bob", "fr")
    batch_id = await publish(app, shifted, items=3, answers_per_item=2, reward=4, time_limit=20)

    async def work(user: SandboxUser, label: str, ready: str) -> list[str]:
        await user.send_command("/ready")
        assert ready in ((await user.next_message()).text or "")
        confirmations: list[str] = []
        message = await next_task(user)
        assert message.kind == "photo"
        while any(label in row for row in message.buttons):
            assert "Street scenes" in (message.text or "")
            confirmation = await user.press(label, message=message)
            confirmations.append(confirmation.text or "")
            message = await user.next_message(timeout=WAIT)
            assert message.is_edit
        return confirmations

    ana_answers, bob_answers = await asyncio.gather(
        work(ana, "car", "ready until"), work(bob, "person", "disponible jusqu'à")
    )
    assert len(ana_answers) == len(bob_answers) == 3
    assert "€0.04 credited" in ana_answers[0]
    assert "This month: €0.12" in ana_answers[-1]
    assert "0,04\xa0€ crédités" in bob_answers[0]

    db = db_of(app)
    for item in await db.run_read(items_of, batch_id):
        given = await db.run_read(answers_of_item, item.id)
        assert sorted(a.worker_id for a in given) == [1011, 1012]  # two answers, two workers
        assert item.state == "complete"
    for worker_id, label in ((1011, "car"), (1012, "person")):
        mine = await db.run_read(assignments_of_worker, worker_id)
        assert len({a.item_id for a in mine}) == len(mine) == 3  # never the same item twice
        assert [a.answer for a in mine] == [label] * 3
        assert await balance(db, worker_account(worker_id)) == 12

    # /earnings matches the ledger.
    await ana.send_command("/earnings")
    earnings = (await ana.next_message()).text or ""
    assert "€0.12" in earnings

    # Each image was uploaded once; the other showings reused its file_id, by edits.
    uploads = Counter(upload.file_unique_id for upload in sandbox.uploads)
    assert sorted(uploads.values()) == [1, 1, 1]
    assert len(sandbox.sends_by_file_id) == 3
    assert len(sandbox.calls_to("editMessageMedia")) == 4  # 2 follow-ups a worker, 1 call each


# -- task types -------------------------------------------------------------------------------


async def test_toggles_emotions_on_photo_and_voice_and_a_transcription_by_reply(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    eve = await sign_up(sandbox, 1021, "Eve")
    common = {"items": 1, "answers_per_item": 1, "time_limit": 30}
    tags = await publish(
        app, shifted, labels=("car", "dog", "person"), multiple=True, title="Tags", **common
    )
    emotions = ("joy", "sadness", "anger", "fear", "surprise", "disgust", "neutral")
    face = await publish(app, shifted, type="emotion", labels=emotions, title="Faces", **common)
    voice = await publish(
        app, shifted, type="emotion", labels=emotions, media="audio", title="Voices", **common
    )
    speech = await publish(
        app, shifted, type="transcription", labels=(), media="audio", title="Speech", **common
    )
    await eve.send_command("/ready")
    await eve.next_message()

    task = await next_task(eve)
    assert task.kind == "photo"
    assert "Tick every label" in (task.text or "")
    assert (await eve.press("person", message=task)).text == "✓ person"
    task = await eve.next_message(timeout=WAIT)
    assert task.buttons[0] == ["car", "dog", "✅ person"]
    await eve.press("car", message=task)
    task = await eve.next_message(timeout=WAIT)
    assert "Done (2)" in task.buttons[1][0]
    assert "credited" in ((await eve.press("Done", message=task)).text or "")

    task = await eve.next_message(timeout=WAIT)  # the same message, now the emotion photo
    assert task.is_edit
    assert "Faces" in (task.text or "")
    assert "✓ Previous answer credited" in (task.text or "")
    await eve.press("joy", message=task)

    ended = await eve.next_message(timeout=WAIT)  # a photo cannot become a voice message
    assert ended.is_edit
    assert "Your answer: joy" in (ended.text or "")
    task = await next_task(eve)
    assert task.kind == "voice"
    await eve.press("anger", message=task)

    await eve.next_message(timeout=WAIT)  # the voice task shows how it ended
    clip = await next_task(eve)
    assert clip.kind == "voice"
    assert "Speech" in (clip.text or "")
    prompt = await eve.next_message(timeout=WAIT)
    assert prompt.force_reply
    await eve.send_text("   ", reply_to=prompt)
    assert "empty" in ((await eve.next_message(timeout=WAIT)).text or "")
    await eve.send_text("  Bonjour tout le monde  ", reply_to=prompt)
    ended = await eve.next_message(timeout=WAIT)
    assert ended.is_edit
    assert "Bonjour tout le monde" in (ended.text or "")
    confirmation = await eve.next_message(timeout=WAIT)
    assert "credited" in (confirmation.text or "")

    db = db_of(app)
    stored = {}
    for batch_id in (tags, face, voice, speech):
        (only,) = await db.run_read(assignments_of_batch, batch_id)
        stored[batch_id] = only.answer
    assert stored == {
        tags: ["car", "person"],
        face: "joy",
        voice: "anger",
        speech: "Bonjour tout le monde",
    }
    assert await balance(db, worker_account(1021)) == 16


# -- time limits ------------------------------------------------------------------------------


async def test_an_unanswered_task_expires_goes_to_the_other_worker_and_a_late_press_is_refused(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    ana = await sign_up(sandbox, 1031, "Ana")
    bob = await sign_up(sandbox, 1032, "Bob")
    await ana.send_command("/ready")
    await ana.next_message()
    batch_id = await publish(app, shifted, items=1, answers_per_item=1, time_limit=2)
    task = await next_task(ana)
    stale = task.button_data("car")
    await bob.send_command("/ready")
    await bob.next_message()  # the slot is Ana's: nothing else for Bob yet

    expired = await ana.next_message(timeout=WAIT)
    assert expired.is_edit
    assert expired.message_id == task.message_id
    assert "time is up" in (expired.text or "")
    assert expired.buttons == []
    bob_task = await next_task(bob)  # the slot went back to the pool, and to Bob

    late = await ana.press_data(stale, message=task.message_id)
    assert late.show_alert
    assert (late.text or "").startswith("Too late")
    assert "credited" in ((await bob.press("bicycle", message=bob_task)).text or "")

    db = db_of(app)
    states = sorted(
        (a.worker_id, a.state) for a in await db.run_read(assignments_of_batch, batch_id)
    )
    assert states == [(1031, "expired"), (1032, "submitted")]
    assert await balance(db, worker_account(1031)) == 0
    assert await balance(db, worker_account(1032)) == 4


async def test_a_long_task_shows_the_time_left_refreshed(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    ana = await sign_up(sandbox, 1041, "Ana")
    await publish(app, shifted, items=1, answers_per_item=1, time_limit=60)
    await ana.send_command("/ready")
    await ana.next_message()
    task = await next_task(ana)
    assert "(1:00)" in (task.text or "")
    shifted.jump_to(shifted.now() + timedelta(seconds=16))  # 16 s later by the rules' clock
    refreshed = await ana.next_message(timeout=WAIT)
    assert refreshed.is_edit
    assert "left" in (refreshed.text or "")
    assert refreshed.buttons == task.buttons
    assert "credited" in ((await ana.press("car", message=refreshed)).text or "")


# -- refusals -----------------------------------------------------------------------------------


async def test_forged_replayed_and_duplicated_presses_change_nothing(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    ana = await sign_up(sandbox, 1051, "Ana")
    bob = await sign_up(sandbox, 1052, "Bob")
    batch_id = await publish(app, shifted, items=2, answers_per_item=1, time_limit=30)
    for user in (ana, bob):
        await user.send_command("/ready")
        await user.next_message()
    ana_task = await next_task(ana)
    bob_task = await next_task(bob)

    forged = await bob.press_data(ana_task.button_data("car"), message=bob_task)
    assert forged.text == "This task is not yours."
    assert forged.show_alert

    assert "credited" in ((await ana.press("car", message=ana_task)).text or "")
    pressed = sandbox.last_update_id
    await ana.next_message(timeout=WAIT)  # the task shows how it ended
    replay = await ana.press_data(ana_task.button_data("car"), message=ana_task.message_id)
    assert (replay.text or "").startswith("You already answered this task")
    sandbox.duplicate_update(pressed)  # Telegram delivers the press a second time
    for garbage, reason in (("ta 99999999 0", "does not exist"), ("ta one 0", "not valid")):
        refused = await bob.press_data(garbage, message=bob_task)
        assert reason in (refused.text or "")
    await ana.expect_no_message(within=1.0)

    db = db_of(app)
    assert await balance(db, worker_account(1051)) == 4
    assert await balance(db, worker_account(1052)) == 0
    states = sorted(
        (a.worker_id, a.state) for a in await db.run_read(assignments_of_batch, batch_id)
    )
    assert states == [(1051, "submitted"), (1052, "active")]


# -- what stops pushes --------------------------------------------------------------------------


async def test_quiet_hours_and_pause_stop_pushes(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    shifted.jump_to(datetime(2026, 1, 15, 22, 0, tzinfo=UTC))  # 23:00 in Paris
    ana = await sign_up(sandbox, 1061, "Ana")
    await publish(app, shifted, items=3, answers_per_item=1, time_limit=30)
    await ana.send_command("/ready")
    ready = await ana.next_message()
    assert "quiet hours: no task is pushed before 08:00" in (ready.text or "")
    await ana.expect_no_message(within=1.5)

    shifted.jump_to(datetime(2026, 1, 16, 7, 5, tzinfo=UTC))  # Friday 08:05 in Paris
    await ana.send_command("/ready")
    await ana.next_message()
    task = await next_task(ana)
    await ana.send_command("/pause")
    paused = (await ana.next_message()).text or ""
    assert paused.startswith("Paused")
    assert "stays yours until" in paused
    await ana.press("car", message=task)
    ended = await ana.next_message(timeout=WAIT)
    assert "paused" in (ended.text or "")
    await ana.expect_no_message(within=1.5)

    await ana.send_command("/resume")
    assert "Resumed" in ((await ana.next_message()).text or "")
    task = await next_task(ana)
    await ana.press("Pause", message=task)  # the Pause button gives this task back
    assert "Paused" in ((await ana.next_message(timeout=WAIT)).text or "")
    await ana.send_command("/task")
    assert "paused" in ((await ana.next_message()).text or "")


async def test_a_closing_window_stops_pushes(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    shifted.jump_to(datetime(2026, 1, 15, 11, 59, 50, tzinfo=UTC))  # Thursday 12:59:50, Paris
    ana = await sign_up(sandbox, 1071, "Ana")
    await publish(app, shifted, items=3, answers_per_item=1, time_limit=40)
    await ana.send_command("/availability thu 12:00-13:00")
    assert "mon" not in ((await ana.next_message()).text or "")
    task = await next_task(ana)
    await ana.press("car", message=task)
    task = await ana.next_message(timeout=WAIT)  # still in the window: the next task follows
    assert any("car" in row for row in task.buttons)
    shifted.jump_to(datetime(2026, 1, 15, 12, 0, 5, tzinfo=UTC))  # 13:00:05: the window closed
    await ana.press("car", message=task)
    ended = await ana.next_message(timeout=WAIT)
    assert "outside your hours" in (ended.text or "")
    await ana.expect_no_message(within=1.5)


async def test_reaching_the_cap_stops_pushes(
    sandbox: SandboxServer, make_settings: Callable[..., Settings], shifted: ShiftedClock
) -> None:
    settings = make_settings(telegram_api_url=sandbox.url, monthly_cap="0.10")
    async with running_bot(settings, clock=shifted) as app:
        ana = await sign_up(sandbox, 1081, "Ana")
        await publish(app, shifted, items=5, answers_per_item=1, reward=4, time_limit=30)
        await ana.send_command("/ready")
        await ana.next_message()
        task = await next_task(ana)
        await ana.press("car", message=task)
        task = await ana.next_message(timeout=WAIT)
        second = await ana.press("car", message=task)
        assert "€0.02 left under the cap" in (second.text or "")
        ended = await ana.next_message(timeout=WAIT)
        assert "cap" in (ended.text or "")
        await ana.expect_no_message(within=1.5)
        await ana.send_command("/task")
        refusal = (await ana.next_message()).text or ""
        assert "cap" in refusal
        assert "1 February 2026" in refusal
        assert await balance(db_of(app), worker_account(1081)) == 8


# -- Telegram's realities -------------------------------------------------------------------


async def test_a_worker_who_blocked_the_bot_is_skipped_until_they_write(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    ana = await sign_up(sandbox, 1091, "Ana")
    bob = await sign_up(sandbox, 1092, "Bob")
    for worker in (ana, bob):
        await worker.send_command("/ready")
        await worker.next_message()
    sandbox.block(ana.id, notify=False)  # Telegram tells nothing: the push gets a 403
    await publish(app, shifted, items=1, answers_per_item=1, time_limit=30)
    await next_task(bob)  # Ana (never served, first in line) was unreachable; Bob got it
    assert [name for name, _ in sandbox.blocked_calls] == ["sendPhoto"]
    user = await db_of(app).run_read(get_user, ana.id)
    assert user is not None
    assert user.unreachable_at is not None

    await ana.send_command("/ready")  # writing again unblocks the bot and clears the mark
    await ana.next_message()
    await publish(app, shifted, items=1, answers_per_item=2, time_limit=30)
    task = await next_task(ana)
    sandbox.block(ana.id)  # this time Telegram says so (a my_chat_member update)
    db = db_of(app)

    async def ana_released() -> bool:
        mine = [a for a in await db.run_read(assignments_of_worker, ana.id) if a.state != "active"]
        return any(a.message_id == task.message_id for a in mine)

    assert await eventually(ana_released)
    (released,) = [a for a in await db.run_read(assignments_of_worker, ana.id) if a.message_id]
    assert (released.state, released.end_reason) == ("released", "unreachable")
    user = await db.run_read(get_user, ana.id)
    assert user is not None
    assert user.unreachable_at is not None


# -- availability commands ------------------------------------------------------------------


async def test_availability_quiet_hours_and_time_zone_commands(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    lea = await sign_up(sandbox, 1111, "Léa", "fr")
    await lea.send_command("/availability")
    view = await lea.next_message()
    assert "Horaires de la semaine : aucune" in (view.text or "")
    assert "Heures de calme : 22:00-08:00" in (view.text or "")
    assert (await lea.press("Matins de semaine", message=view)).text == "Enregistré."
    view = await lea.next_message()
    assert "lun-ven 07:30-09:00" in (view.text or "")
    assert view.buttons[0] == ["✅ Matins de semaine 07:30-09:00"]
    await lea.press("Week-ends", message=view)
    view = await lea.next_message()
    assert "lun-ven 07:30-09:00, sam-dim 10:00-18:00" in (view.text or "")
    await lea.press("Tout effacer", message=view)
    await lea.next_message()
    assert (await lea.press("Tout effacer", message=view)).text == "Rien n'a changé."

    await lea.send_command("/availability lun-ven 7h30-9h, sam 10-12")
    saved = (await lea.next_message()).text or ""
    assert saved.startswith(
        "Horaires de la semaine enregistrés : lun-ven 07:30-09:00, sam 10:00-12:00"
    )
    assert "prochains horaires commencent le" in saved  # 13:00 on a Thursday: next is Friday
    await lea.send_command("/availability lun-xyz 7-9")
    assert "xyz" in ((await lea.next_message()).text or "")

    await lea.send_command("/quiet")
    view = await lea.next_message()
    assert view.buttons[0] == ["✅ 22:00-08:00"]
    await lea.press("23:00-09:00", message=view)
    assert "23:00-09:00" in ((await lea.next_message()).text or "")
    await lea.send_command("/quiet off")
    assert "Plus d'heures calmes" in ((await lea.next_message()).text or "")

    await lea.send_command("/timezone Nowhere/Atlantis")
    assert "Nowhere/Atlantis" in ((await lea.next_message()).text or "")
    await lea.send_command("/timezone America/Montreal")
    assert "il y est 07:00" in ((await lea.next_message()).text or "")
    await lea.send_command("/ready 0")
    assert "de 1 à 720" in ((await lea.next_message()).text or "")

    stranger = sandbox.user(1112, first_name="Sam")
    await stranger.send_command("/ready")
    assert "/start" in ((await stranger.next_message()).text or "")
