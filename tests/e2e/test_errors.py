"""The global error handler: a crash is logged, the user gets a reference, the bot goes on."""

from __future__ import annotations

import logging
import re

import pytest
from telegram import Update
from telegram.error import NetworkError
from telegram.ext import CommandHandler

from bot.app import BotApplication
from bot.context import BotContext
from sandbox import SandboxServer
from tests.conftest import ADMIN_ID


async def _crash(update: Update, context: BotContext) -> None:
    raise RuntimeError("a bug in a handler")


async def test_an_unexpected_error_is_reported_and_the_bot_keeps_running(
    sandbox: SandboxServer, bot: BotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    # A handler that fails, added in a group of its own the way a feature module would be.
    bot.add_handler(CommandHandler("crash", _crash), group=-3)
    bob = sandbox.user(1010, first_name="Bob", language_code="fr")
    admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    with caplog.at_level(logging.ERROR, logger="bot.handlers.errors"):
        await bob.send_command("/crash")
        told = await bob.next_message()
    assert told.text is not None
    match = re.search(r"Référence : ([0-9A-F]{6})", told.text)
    assert match is not None, told.text
    reference = match.group(1)
    assert any(reference in record.getMessage() for record in caplog.records)
    report = await admin.next_message()
    assert report.text == (
        f"Error {reference} (RuntimeError) while handling an update; see the logs."
    )
    await bob.send_command("/help")
    assert (await bob.next_message()).text is not None


async def test_telegram_out_of_reach_outside_an_update_is_a_warning(
    bot: BotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    # A poll or a job that met a network error: PTB tries again; nobody is paged.
    with caplog.at_level(logging.WARNING, logger="bot.handlers.errors"):
        await bot.process_error(None, NetworkError("Server disconnected"))
        await bot.process_error(None, RuntimeError("a bug in a job"))
    levels = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert levels == [
        ("WARNING", "Telegram was not reachable outside an update: Server disconnected"),
        ("ERROR", "error outside an update"),
    ]
