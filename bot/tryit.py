"""Try-it mode: the sandbox Bot API with its web chat and the real bot, in one process.

With no ``TELEGRAM_BOT_TOKEN`` (and ``TRY_IT_MODE`` not ``off``), ``python -m bot`` starts the
local stand-in for Telegram on ``TRY_IT_HOST:TRY_IT_PORT``, lists the demo people on its page,
seeds the demo data once (``bot/demo.py``) into a database of its own under ``DATA_DIR/tryit``,
and runs the bot against it with long polling, exactly as against Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from telegram import Update

from bot import demo
from bot.app import BotApplication, build_application
from bot.clock import SystemClock
from bot.config import Settings, TryIt, load_settings
from sandbox import SandboxServer
from storage.db import Database

SANDBOX_TOKEN = "424242:try-it-local-sandbox"  # noqa: S105 - the local sandbox's fake token
TEST_PROVIDER_TOKEN = "284685063:TEST:try-it-sandbox"  # noqa: S105 - a test card, no money moves
BOT_USERNAME = "petitesmains_bot"


@dataclass(frozen=True)
class TryItRun:
    """A running try-it mode: the page's address, the sandbox, the bot and its settings."""

    url: str
    server: SandboxServer
    application: BotApplication
    settings: Settings
    seeded: demo.Seeded


def try_it_settings(environ: Mapping[str, str], tryit: TryIt, api_url: str) -> Settings:
    """The bot's settings in try-it mode: the sandbox, its own database, the demo staff's roles."""
    values = dict(environ)

    def with_id(name: str, user_id: int) -> str:
        return ",".join(p for p in (values.get(name, "").strip(), str(user_id)) if p)

    values.update(
        {
            "TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN,
            "TELEGRAM_API_URL": api_url,
            "DATABASE_URL": f"sqlite:///{tryit.database_path}",
            "DATA_DIR": str(tryit.data_dir),
            "ADMIN_IDS": with_id("ADMIN_IDS", demo.ADMIN.id),
            "REQUESTER_IDS": with_id("REQUESTER_IDS", demo.REQUESTER.id),
            # /fund runs against the sandbox's test payments (sandbox/payments.py).
            "PAYMENT_PROVIDER_TOKEN": values.get("PAYMENT_PROVIDER_TOKEN") or TEST_PROVIDER_TOKEN,
        }
    )
    return load_settings(values)


async def seed_demo(settings: Settings) -> demo.Seeded:
    """Migrate the try-it database and seed the demo data (once; later runs add nothing).

    Tasks shown in the previous run's chats (kept in memory only) are given back first.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = await Database.open(settings.database_path)
    try:
        await db.migrate()
        now = SystemClock().now()
        await demo.give_back_shown_tasks(db, now)
        return await demo.seed(db, settings, now)
    finally:
        await db.close()


@asynccontextmanager
async def running(environ: Mapping[str, str], tryit: TryIt) -> AsyncIterator[TryItRun]:
    """Start the sandbox with its web chat, seed, start the bot; stop both afterwards."""
    server = SandboxServer(
        token=SANDBOX_TOKEN,
        bot_username=BOT_USERNAME,
        host=tryit.host,
        port=tryit.port,
        web_chat=True,
    )
    await server.start()
    try:
        assert server.web is not None
        for person in demo.PEOPLE:
            server.web.add_user(person.id, person.first_name, person.label)
        settings = try_it_settings(environ, tryit, server.url)
        seeded = await seed_demo(settings)
        application = build_application(settings)
        async with _polling(application, release=server.state.updates.close):
            yield TryItRun(f"{server.url}/", server, application, settings, seeded)
    finally:
        await server.stop()


@asynccontextmanager
async def _polling(application: BotApplication, release: Callable[[], None]) -> AsyncIterator[None]:
    """What ``run_polling`` does, inside a running event loop (post_init and post_shutdown too).

    ``release`` answers the pending long poll at once, so that stopping takes no poll timeout.
    """
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
    await application.start()
    try:
        yield
    finally:
        release()
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


async def serve(
    environ: Mapping[str, str], tryit: TryIt, announce: Callable[[TryItRun], None]
) -> None:
    """Run until SIGINT or SIGTERM; ``announce`` is told once everything is up."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signum, stop.set)
    async with running(environ, tryit) as run:
        announce(run)
        await stop.wait()
