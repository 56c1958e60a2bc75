"""Onboarding end to end: a new worker who only taps buttons after /start gets a task; staff get
a /start and /help of their own role; everyone sees their own id."""

from __future__ import annotations

from bot.app import BotApplication
from bot.clock import ShiftedClock
from sandbox import SandboxServer
from storage.availability import get_availability
from storage.users import get_user
from tests.conftest import ADMIN_ID, REQUESTER_ID
from tests.e2e.harness import db_of, publish

FIRST_TASK_WITHIN = 60.0  # seconds: the acceptance's bound, a generous wait, not a timing


async def test_a_worker_who_only_taps_buttons_gets_a_task(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    await publish(app, shifted, items=2, answers_per_item=1, reward=4, time_limit=60)
    eve = sandbox.user(1201, first_name="Eve", language_code="fr")
    await eve.send_command("/start")
    await eve.next_message()
    await eve.press("J'accepte")
    language = await eve.next_message()
    assert "Quelle langue" in (language.text or "")
    assert language.buttons == [["English"], ["Français"]]

    await eve.press("English", message=language)
    zones = await eve.next_message()
    assert "Your time zone?" in (zones.text or "")
    assert zones.buttons[0] == ["Paris", "London"]  # the platform's zone first, then likely ones
    assert zones.buttons[-1] == ["Another zone"]

    await eve.press("London", message=zones)
    free = await eve.next_message()
    assert "Europe/London" in (free.text or "")
    assert "When are you free?" in (free.text or "")
    await eve.press("Now, for 30 minutes", message=free)
    assert "a task is on its way" in ((await eve.next_message()).text or "")

    task = await eve.next_message(timeout=FIRST_TASK_WITHIN)
    assert any("⏭" in text for row in task.buttons for text in row), task
    assert "Street scenes" in (task.text or "")
    user = await db_of(app).run_read(get_user, 1201)
    assert user is not None
    assert (user.language, user.timezone) == ("en", "Europe/London")


async def test_evenings_and_another_zone_are_kept_as_windows(
    sandbox: SandboxServer, app: BotApplication
) -> None:
    finn = sandbox.user(1202, first_name="Finn", language_code="en")
    await finn.send_command("/start")
    await finn.next_message()
    await finn.press("I agree")
    await finn.press("English", message=await finn.next_message())
    await finn.press("Another zone", message=await finn.next_message())
    free = await finn.next_message()
    assert "/timezone America/Toronto" in (free.text or "")
    await finn.press("Evenings", message=free)
    assert "in the evening" in ((await finn.next_message()).text or "")
    record = await db_of(app).run_read(get_availability, 1202)
    assert record.windows == "mon-sun 18:00-22:00"


async def test_staff_get_their_own_start_and_help_with_their_id(
    sandbox: SandboxServer, app: BotApplication
) -> None:
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await rita.send_command("/start")
    start = await rita.next_message()
    text = start.text or ""
    assert "You are a requester" in text
    assert "/newbatch" in text
    assert f"Your Telegram id: {REQUESTER_ID}" in text
    assert "I agree" not in text
    assert start.buttons == [["Also take tasks as a worker"]]

    ada = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    await ada.send_command("/help")
    help_text = (await ada.next_message()).text or ""
    assert "/grant" in help_text
    assert "not registered" not in help_text
    assert f"Your Telegram id: {ADMIN_ID}" in help_text
