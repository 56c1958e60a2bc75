"""Registration end to end: /start in two languages, consent, restart, /help by role, /grant."""

from __future__ import annotations

from bot.app import BotApplication
from bot.clock import FixedClock
from bot.config import Settings
from sandbox import SandboxServer
from storage.users import get_user, roles_of
from tests.conftest import ADMIN_ID
from tests.e2e.harness import running_bot


async def test_start_answers_in_french_for_fr(sandbox: SandboxServer, bot: BotApplication) -> None:
    ana = sandbox.user(1001, first_name="Ana", language_code="fr-FR")
    await ana.send_command("/start")
    reply = await ana.next_message()
    assert reply.text is not None
    assert reply.text.startswith("Bonjour Ana")
    assert "250,00" in reply.text  # the monthly cap, formatted the French way
    assert reply.buttons == [["J'accepte, je m'inscris"]]


async def test_start_answers_in_english_for_en(sandbox: SandboxServer, bot: BotApplication) -> None:
    bob = sandbox.user(1002, first_name="Bob", language_code="en")
    await bob.send_command("/start")
    reply = await bob.next_message()
    assert reply.text is not None
    assert reply.text.startswith("Hello Bob")
    assert "€250.00" in reply.text
    assert reply.buttons == [["I agree, sign me up"]]


async def test_consent_registers_and_survives_a_restart(
    sandbox: SandboxServer, settings: Settings, clock: FixedClock
) -> None:
    ana = sandbox.user(1001, first_name="Ana", language_code="fr")
    async with running_bot(settings, clock=clock) as application:
        await ana.send_command("/start")
        await ana.next_message()
        answer = await ana.press("J'accepte")
        assert answer.text == "Bienvenue !"
        edited = await ana.next_message()
        assert edited.is_edit
        assert edited.text is not None
        assert "inscrit" in edited.text
        user = await application.bot_data.db.run_read(get_user, 1001)
        assert user is not None
        assert user.registered
        # The consent button is gone once registered: onboarding's language choice replaces it.
        assert edited.buttons == [["English"], ["Français"]]

    async with running_bot(settings, clock=clock) as application:
        user = await application.bot_data.db.run_read(get_user, 1001)
        assert user is not None
        assert user.registered
        assert "worker" in await application.bot_data.db.run_read(roles_of, 1001)
        await ana.send_command("/start")
        reply = await ana.next_message()
        assert reply.text is not None
        assert reply.text.startswith("Rebonjour Ana")


async def test_help_differs_for_worker_and_admin(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    worker = sandbox.user(1003, first_name="Wanda", language_code="en")
    admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    await worker.send_command("/help")
    worker_help = (await worker.next_message()).text or ""
    await admin.send_command("/help")
    admin_help = (await admin.next_message()).text or ""
    assert "/grant" not in worker_help
    assert "/grant" in admin_help
    assert "/language" in worker_help
    assert "/language" in admin_help


async def test_worker_grant_is_refused_in_words(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    worker = sandbox.user(1004, first_name="Will", language_code="en")
    await worker.send_command("/grant 1004 admin")
    reply = await worker.next_message()
    assert reply.text == "This command is for admins only."
    assert "admin" not in await bot.bot_data.db.run_read(roles_of, 1004)


async def test_admin_grants_a_requester_who_is_told(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    rita = sandbox.user(1005, first_name="Rita", language_code="fr")
    await rita.send_command("/start")
    await rita.next_message()
    await admin.send_command("/grant 1005 requester")
    assert (await admin.next_message()).text == "User 1005 now has the role: requesters."
    told = await rita.next_message()
    assert told.text is not None
    assert told.text.startswith("Vous avez un nouveau rôle")
    assert "requester" in await bot.bot_data.db.run_read(roles_of, 1005)
    await admin.send_command("/grant 1005 requester")
    assert (await admin.next_message()).text == "User 1005 already had the role: requesters."
    await admin.send_command("/grant nobody")
    assert (await admin.next_message()).text == "Usage: /grant USER_ID requester|admin"


async def test_language_can_be_changed(sandbox: SandboxServer, bot: BotApplication) -> None:
    bob = sandbox.user(1006, first_name="Bob", language_code="en")
    await bob.send_command("/language")
    await bob.next_message()
    answer = await bob.press("Français")
    assert answer.text == "Langue réglée sur le français."
    await bob.next_message()  # the edited prompt
    await bob.send_command("/help")
    reply = await bob.next_message()
    assert reply.text is not None
    assert reply.text.startswith("Voici ce que vous pouvez faire")


async def test_unknown_command_and_text_get_a_hint(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    bob = sandbox.user(1007, first_name="Bob", language_code="en")
    await bob.send_command("/frobnicate")
    assert (await bob.next_message()).text == (
        "I don't know the command /frobnicate. Send /help for the list."
    )
    await bob.send_text("hello?")
    assert (await bob.next_message()).text == "Hello! Send /start to sign up and see how it works."


async def test_a_twice_delivered_update_is_handled_once(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    bob = sandbox.user(1008, first_name="Bob", language_code="en")
    await bob.send_command("/help")
    await bob.next_message()
    sandbox.duplicate_update(sandbox.last_update_id)
    await bob.expect_no_message(within=1.0)


async def test_menus_are_set_per_role(sandbox: SandboxServer, bot: BotApplication) -> None:
    default = [c["command"] for c in sandbox.commands_for(None)]
    admin = [c["command"] for c in sandbox.commands_for(ADMIN_ID)]
    assert "grant" not in default
    assert "grant" in admin
