"""End-to-end fixtures: the sandbox Bot API server and the bot running against it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from bot.app import BotApplication
from bot.clock import FixedClock, ShiftedClock
from bot.config import Settings
from bot.payouts import check_invariants
from sandbox import SandboxServer
from tests.builders import PARIS
from tests.conftest import TOKEN
from tests.e2e.harness import running_bot

THURSDAY_1300_PARIS = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    """A sandbox Bot API server; every test ends with no invalid Bot API call recorded."""
    async with SandboxServer(token=TOKEN, bot_username="petitesmains_bot") as server:
        yield server
        assert server.invalid_calls == [], server.invalid_calls


@pytest.fixture
def settings(sandbox: SandboxServer, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(telegram_api_url=sandbox.url)


@pytest.fixture
async def bot(settings: Settings, clock: FixedClock) -> AsyncIterator[BotApplication]:
    """The bot, running; every scenario ends with the ledger's invariants holding."""
    async with running_bot(settings, clock=clock) as application:
        yield application
        problems = await check_invariants(
            application.bot_data.db, tz=settings.timezone, cap=settings.monthly_cap
        )
        assert problems == [], problems


@pytest.fixture
def shifted() -> ShiftedClock:
    clock = ShiftedClock()
    clock.jump_to(THURSDAY_1300_PARIS)
    return clock


@pytest.fixture
async def app(settings: Settings, shifted: ShiftedClock) -> AsyncIterator[BotApplication]:
    """The bot on the shifted clock, as the worker loop runs it (a module may override it)."""
    async with running_bot(settings, clock=shifted) as application:
        yield application
        assert (
            await check_invariants(application.bot_data.db, tz=PARIS, cap=settings.monthly_cap)
            == []
        )
