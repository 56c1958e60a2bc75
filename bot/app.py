"""The application: builds python-telegram-bot's Application and registers every handler."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.context import BotContext, Services
from bot.handlers import money, payouts, roles, start
from bot.handlers.errors import on_error
from bot.handlers.menus import publish_menus
from bot.i18n import Catalogue
from storage.db import Database
from storage.users import mark_update_processed, sync_configured_roles

log = logging.getLogger(__name__)

# The Application with our context types; PTB's own generics say little more than Any here.
BotApplication = Application[Any, Any, Any, Any, Any, Any]


def build_application(
    settings: Settings, *, clock: Clock | None = None, rate_limit: bool = True
) -> BotApplication:
    """Build the bot; storage opens in ``post_init`` and closes in ``post_shutdown``."""
    context_types = ContextTypes(context=BotContext, bot_data=Services)
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        .context_types(context_types)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if rate_limit:
        # Telegram allows about 30 messages a second overall; retries smooth bursts (FIELD-NOTES).
        application: BotApplication = builder.rate_limiter(
            AIORateLimiter(overall_max_rate=30, max_retries=3)
        ).build()
    else:
        application = builder.build()
    services: Services = application.bot_data
    services.configure(settings, Catalogue.load(), clock or SystemClock())
    register_handlers(application)
    return application


def register_handlers(application: BotApplication) -> None:
    """Every handler, in one place. Groups run in order; within a group the first match wins."""
    # Group -2: drop an update Telegram delivers twice (business actions are idempotent as well).
    application.add_handler(TypeHandler(Update, _drop_duplicate_update), group=-2)

    # Group 0: commands first, then buttons, then the catch-alls that answer with a hint.
    application.add_handlers(
        [
            CommandHandler("start", start.start),
            CommandHandler("help", start.help_command),
            CommandHandler("language", start.language),
            CommandHandler("grant", roles.grant),
            # Money: budgets, earnings, monthly payouts (admin steps re-check the role).
            CommandHandler("topup", money.topup),
            CommandHandler("balance", money.balance),
            CommandHandler("earnings", money.earnings),
            CommandHandler("closemonth", payouts.closemonth),
            CommandHandler("payouts", payouts.payouts),
            CommandHandler("exportpayouts", payouts.exportpayouts),
            CommandHandler("health", payouts.health),
            CallbackQueryHandler(payouts.approve_button, pattern=rf"^{payouts.APPROVE} "),
            # Hold and Mark paid ask for a line of text: a conversation per admin, before the
            # catch-alls so the admin's answer is not taken for an unknown message.
            payouts.payout_conversation(),
            CallbackQueryHandler(start.consent, pattern=rf"^{start.CONSENT} "),
            CallbackQueryHandler(start.language_button, pattern=rf"^{start.LANGUAGE} "),
            MessageHandler(filters.COMMAND, start.unknown_command),
            MessageHandler(filters.ALL, start.unknown_message),
        ]
    )
    application.add_error_handler(on_error)


async def _drop_duplicate_update(update: Update, context: BotContext) -> None:
    services = context.services
    if not await mark_update_processed(services.db, update.update_id, services.clock.now()):
        log.info("update %s delivered twice; ignored", update.update_id)
        raise ApplicationHandlerStop


async def _post_init(application: BotApplication) -> None:
    services: Services = application.bot_data
    settings = services.settings
    services.db = await Database.open(settings.database_path)
    applied = await services.db.migrate()
    if applied:
        log.info("applied migrations %s", applied)
    await sync_configured_roles(
        services.db,
        admin_ids=settings.admin_ids,
        requester_ids=settings.requester_ids,
        now=services.clock.now(),
    )
    await publish_menus(application.bot, services)
    # Months whose close was missed while the bot was down are closed now; then the monthly job.
    assert application.job_queue is not None
    payouts.schedule_monthly_close(services, application.job_queue)
    application.job_queue.run_once(payouts.catch_up, when=0, name="close-catch-up")


async def _post_shutdown(application: BotApplication) -> None:
    services: Services = application.bot_data
    if services._db is not None:
        await services.db.close()
        services.db = None
