"""Hostile input never pages an admin (issue 12): random Unicode and garbage as the argument of
every registered command and in the data of every registered button prefix, from a user of each
role, also while a conversation is waiting (mid-/newbatch, mid-hold-reason prompt).

Commands and prefixes are read from the real Application's handlers, so a new one is covered
without touching this test. Hypothesis draws the garbage (a bounded, derandomised sample).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator

import pytest
from hypothesis import Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler

from bot.app import BotApplication
from bot.config import Settings
from sandbox import SandboxServer, SandboxUser
from tests.conftest import ADMIN_ID, REQUESTER_ID
from tests.e2e.harness import march_statement, sign_up

SECOND_ADMIN = 9002
KNOWN_BAD = ["²", "٣", "1²", "١٢", "0", "-1", "#", "99999999999999999999", "1e3", "𝟙𝟚", "x y"]
SAMPLES = 40  # hypothesis examples: bounded so the test runs in seconds


@pytest.fixture
def settings(sandbox: SandboxServer, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(telegram_api_url=sandbox.url, admin_ids=f"{ADMIN_ID},{SECOND_ADMIN}")


def garbage() -> list[str]:
    """Known troublemakers, then random Unicode words drawn by hypothesis."""
    drawn: list[str] = []

    @hypothesis_settings(
        max_examples=SAMPLES, database=None, derandomize=True, phases=[Phase.generate]
    )
    @given(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12))
    def collect(text: str) -> None:
        drawn.append(text)

    collect()
    words = [" ".join(text.split()) for text in drawn]
    return KNOWN_BAD + [w for w in words if w and not w.startswith("/")]


def _walk(handlers: list[BaseHandler]) -> Iterator[BaseHandler]:  # type: ignore[type-arg]
    for handler in handlers:
        if isinstance(handler, ConversationHandler):
            yield from _walk(list(handler.entry_points) + list(handler.fallbacks))
            for state in handler.states.values():
                yield from _walk(list(state))
        else:
            yield handler


def registered(app: BotApplication) -> tuple[list[str], list[str]]:
    """Every command name and every callback prefix the Application handles."""
    handlers = [h for group in app.handlers.values() for h in group]
    commands: set[str] = set()
    prefixes: set[str] = set()
    for handler in _walk(handlers):
        if isinstance(handler, CommandHandler):
            commands |= set(handler.commands)
        elif isinstance(handler, CallbackQueryHandler) and isinstance(handler.pattern, re.Pattern):
            core = handler.pattern.pattern.removeprefix("^").removesuffix(" ")
            prefixes |= set(core.strip("()").split("|"))
    return sorted(commands), sorted(prefixes)


async def test_garbage_to_every_command_and_button_never_pages_an_admin(
    sandbox: SandboxServer, bot: BotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    commands, prefixes = registered(bot)
    assert {"block", "correct", "payouts", "newbatch", "ready"} <= set(commands)
    assert {"pay_ok", "pay_hold", "pay_paid", "pay_pg", "pay_all", "cfix", "ql", "ta"} <= set(
        prefixes
    )
    words = garbage()
    stranger = sandbox.user(1500, first_name="Sam", language_code="fr")
    worker = await sign_up(sandbox, 1501, "Wen")
    requester = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="fr")
    admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    second = sandbox.user(SECOND_ADMIN, first_name="Bea", language_code="en")
    # Conversations waiting: a requester mid-/newbatch, an admin asked for a hold reason.
    await requester.send_command("/newbatch")
    await requester.next_message()
    statement_id = await march_statement(bot, 1501, funded_by=ADMIN_ID)
    await admin.send_command("/payouts")
    await admin.next_message()
    admin.drain()
    await admin.press_data(f"pay_hold {statement_id} 0")
    await admin.next_message()
    users: list[SandboxUser] = [stranger, worker, requester, admin]

    with caplog.at_level(logging.ERROR):
        turn = 0
        for user in users:
            for command in commands:
                word = words[turn % len(words)]
                turn += 1
                await user.send_command(f"/{command} {word}")
                reply = await user.next_message(timeout=10)
                assert reply is not None, (user, command, word)
                user.drain()
            for prefix in prefixes:
                for data in (f"{prefix} {words[turn % len(words)]}", f"{prefix} ² 0", prefix):
                    turn += 1
                    # press_data fails unless the bot answers the callback query.
                    await user.press_data(data[:64].strip() or prefix, timeout=10)
                user.drain()

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    alerts = [
        m.text
        for staff in (admin, second)
        for m in staff.messages
        if m.text and m.text.startswith("Error ") and "while handling an update" in m.text
    ]
    assert alerts == []
    internal = [m.text for u in users for m in u.messages if m.text and "Reference:" in m.text]
    assert internal == []
