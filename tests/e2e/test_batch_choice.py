"""Commands without typed ids: /batches with buttons, a command with no id offers the batches."""

from __future__ import annotations

from bot.app import BotApplication
from bot.template import template_zip
from sandbox import SandboxServer, SandboxUser
from storage.batches import get_batch
from tests.conftest import ADMIN_ID, REQUESTER_ID


async def _draft_and_publish(rita: SandboxUser, admin: SandboxUser) -> None:
    await admin.send_command(f"/topup {REQUESTER_ID} 20.00")
    await admin.next_message()
    await rita.send_document(template_zip(), file_name="t.zip", mime_type="application/zip")
    await rita.next_message()
    await rita.next_message(timeout=30)
    await rita.press("Publish")
    await rita.next_message()


async def test_a_command_with_no_id_offers_the_batches_as_buttons(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await _draft_and_publish(rita, admin)
    db = bot.bot_data.db

    await rita.send_command("/resumebatch")
    assert (await rita.next_message()).text == "No batch of yours fits /resumebatch now."
    await rita.send_command("/pausebatch")
    choice = await rita.next_message()
    assert choice.text == "Which batch? (/pausebatch ID also works)"
    assert choice.buttons == [["#1 Colour swatches"]]
    await rita.press("#1 Colour swatches", message=choice)
    assert (await rita.next_message()).text is not None
    async with db.read() as tx:
        batch = await get_batch(tx, 1)
    assert batch is not None
    assert batch.state == "paused"

    # /batches: an Open button per batch; its progress offers Resume, Cancel and Results.
    await rita.send_command("/batches")
    listing = await rita.next_message()
    assert listing.buttons == [["Open #1"]]
    await rita.press("Open #1", message=listing)
    progress = await rita.next_message()
    assert progress.buttons == [["Resume", "Cancel batch"], ["Results"]]

    # Someone else's forged choice is refused by the command's own check.
    walt = sandbox.user(4242, first_name="Walt", language_code="en")
    await walt.send_command("/start")
    await walt.next_message()
    refused = await walt.press_data("bpick cancelbatch 1", message=walt.last_message)
    assert refused.show_alert
    async with db.read() as tx:
        still = await get_batch(tx, 1)
    assert still is not None
    assert still.state == "paused"


async def test_bonus_with_no_id_offers_the_batches_then_asks_for_the_amount(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await _draft_and_publish(rita, admin)

    await rita.send_command("/bonus")
    choice = await rita.next_message()
    assert choice.text == "Which batch? (/bonus ID also works)"
    assert choice.buttons == [["#1 Colour swatches"]]
    await rita.press("#1 Colour swatches", message=choice)
    asked = await rita.next_message()
    assert asked.text is not None
    assert asked.text.startswith("Batch #1: send /bonus 1 AMOUNT")
