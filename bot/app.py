"""Wiring room, the application: builds python-telegram-bot's Application, registers every
handler in one place and opens storage."""

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
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import housekeeping
from bot.clock import Clock, SystemClock
from bot.compute import Compute, install
from bot.config import Settings
from bot.context import BotContext, Services
from bot.engine.jobs import start_task_loop
from bot.handlers import availability as availability_handlers
from bot.handlers import batches as batch_handlers
from bot.handlers import money, newbatch, payouts, presses, roles, start
from bot.handlers import quality as quality_handlers
from bot.handlers import results as result_handlers
from bot.handlers import tasks as task_handlers
from bot.handlers.errors import on_error
from bot.heartbeat import Heartbeat
from bot.i18n import Catalogue
from bot.persistence import DatabasePersistence
from bot.telegram_ui import DISCARD, PUBLISH, publish_menus
from bot.updates import PerUserProcessor
from storage.users import mark_update_processed, sync_configured_roles

log = logging.getLogger(__name__)

# The Application with our context types; PTB's own generics say little more than Any here.
BotApplication = Application[Any, Any, Any, Any, Any, Any]


def build_application(
    settings: Settings, *, clock: Clock | None = None, rate_limit: bool = True
) -> BotApplication:
    """Build the bot; storage opens in ``post_init`` and closes in ``post_shutdown``."""
    context_types = ContextTypes(context=BotContext, bot_data=Services)
    # Conversations and their drafts live in the database, written after every update.
    persistence = DatabasePersistence()
    processor = PerUserProcessor()  # each user's updates in order, users at once
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        .context_types(context_types)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .concurrent_updates(processor)
        .persistence(persistence)
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
    persistence.attach(services)
    processor.after_update = application.update_persistence
    register_handlers(application)
    return application


def register_handlers(application: BotApplication) -> None:
    """Every handler, in one place. Groups run in order; within a group the first match wins."""
    # Group -2: drop an update Telegram delivers twice (business actions are idempotent as well).
    application.add_handler(TypeHandler(Update, _drop_duplicate_update), group=-2)

    # Group -1: a text answering a transcription task (a reply to its clip or prompt, or plain
    # text while one is active) stops here; any other text goes on to group 0.
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND, task_handlers.text_answer), group=-1
    )

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
            # Requester batches: /newbatch is a conversation per requester and chat (only its
            # users' messages are taken, before the catch-alls); a ZIP document starts a batch.
            # Checking media may take long: those handlers do not block other users' updates.
            newbatch.conversation(),
            CommandHandler("batches", batch_handlers.batches_command),
            CommandHandler("batch", batch_handlers.batch_command),
            CommandHandler("pausebatch", batch_handlers.pausebatch_command),
            CommandHandler("resumebatch", batch_handlers.resumebatch_command),
            CommandHandler("cancelbatch", batch_handlers.cancelbatch_command),
            # Results and extra pay: /results, /bonus, the fair-pay Raise button (owner only).
            CommandHandler("results", result_handlers.results_command),
            CommandHandler("bonus", result_handlers.bonus_command),
            CallbackQueryHandler(
                result_handlers.raise_button, pattern=rf"^{result_handlers.RAISE} "
            ),
            MessageHandler(
                filters.Document.FileExtension("zip")
                | filters.Document.MimeType(batch_handlers.ZIP_MIME_TYPES[0])
                | filters.Document.MimeType(batch_handlers.ZIP_MIME_TYPES[1]),
                batch_handlers.zip_document,
                block=False,
            ),
            CallbackQueryHandler(batch_handlers.publish_button, pattern=rf"^{PUBLISH} "),
            CallbackQueryHandler(batch_handlers.discard_button, pattern=rf"^{DISCARD} "),
            CallbackQueryHandler(batch_handlers.pause_button, pattern=rf"^{batch_handlers.PAUSE} "),
            CallbackQueryHandler(
                batch_handlers.resume_button, pattern=rf"^{batch_handlers.RESUME} "
            ),
            CallbackQueryHandler(
                batch_handlers.cancel_ask_button, pattern=rf"^{batch_handlers.CANCEL_ASK} "
            ),
            CallbackQueryHandler(
                batch_handlers.cancel_button, pattern=rf"^{batch_handlers.CANCEL} "
            ),
            CallbackQueryHandler(start.consent, pattern=rf"^{start.CONSENT} "),
            CallbackQueryHandler(start.language_button, pattern=rf"^{start.LANGUAGE} "),
            # Worker task loop: availability commands, task buttons, a worker blocking the bot.
            CommandHandler("task", availability_handlers.task),
            CommandHandler("ready", availability_handlers.ready),
            CommandHandler("pause", availability_handlers.pause),
            CommandHandler("resume", availability_handlers.resume),
            CommandHandler("availability", availability_handlers.availability),
            CommandHandler("quiet", availability_handlers.quiet),
            CommandHandler("timezone", availability_handlers.timezone),
            CallbackQueryHandler(
                availability_handlers.availability_button,
                pattern=rf"^{availability_handlers.AVAILABILITY} ",
            ),
            CallbackQueryHandler(
                availability_handlers.quiet_button, pattern=rf"^{availability_handlers.QUIET} "
            ),
            CallbackQueryHandler(task_handlers.answer_button, pattern=rf"^{task_handlers.ANSWER} "),
            CallbackQueryHandler(task_handlers.toggle_button, pattern=rf"^{task_handlers.TOGGLE} "),
            CallbackQueryHandler(task_handlers.done_button, pattern=rf"^{task_handlers.DONE} "),
            CallbackQueryHandler(task_handlers.skip_button, pattern=rf"^{task_handlers.SKIP} "),
            CallbackQueryHandler(task_handlers.pause_button, pattern=rf"^{task_handlers.PAUSE} "),
            # Quality: a worker's /stats (an admin's /stats USER_ID), /appeal and the admins'
            # Lift / Keep buttons (the role, the appeal and the pause are re-checked).
            CommandHandler("stats", quality_handlers.stats_command),
            CommandHandler("appeal", quality_handlers.appeal_command),
            CallbackQueryHandler(
                quality_handlers.lift_button, pattern=rf"^{quality_handlers.LIFT} "
            ),
            CallbackQueryHandler(
                quality_handlers.keep_button, pattern=rf"^{quality_handlers.KEEP} "
            ),
            ChatMemberHandler(task_handlers.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
            # A press no handler above took (a stale or finished button) is still answered.
            CallbackQueryHandler(presses.stale_button),
            MessageHandler(filters.COMMAND, start.unknown_command),
            MessageHandler(filters.ALL, start.unknown_message),
        ]
    )
    application.add_error_handler(on_error)


async def _drop_duplicate_update(update: Update, context: BotContext) -> None:
    services = context.services
    async with services.db.write() as tx:
        first = await mark_update_processed(tx, update.update_id, services.clock.now())
    if not first:
        log.info("update %s delivered twice; ignored", update.update_id)
        raise ApplicationHandlerStop


async def _prune_updates(context: BotContext) -> None:
    services = context.services
    pruned = await housekeeping.prune_updates(services.db, services.clock.now())
    if pruned:
        log.info("forgot %s processed update ids older than a week", pruned)


async def _post_init(application: BotApplication) -> None:
    services: Services = application.bot_data
    settings = services.settings
    # Aggregation runs in worker processes; the heartbeat measures how long the loop is held.
    services.compute = Compute()
    install(services.compute)
    services.heartbeat = Heartbeat()
    services.heartbeat.start()
    await services.open_database()
    async with services.db.write() as tx:
        await sync_configured_roles(
            tx,
            admin_ids=settings.admin_ids,
            requester_ids=settings.requester_ids,
            now=services.clock.now(),
        )
    await publish_menus(application.bot, services)
    # Months whose close was missed while the bot was down are closed now; then the monthly job.
    assert application.job_queue is not None
    payouts.schedule_monthly_close(services, application.job_queue)
    application.job_queue.run_once(payouts.catch_up, when=0, name="close-catch-up")
    # Batches paying below the floor, as measured, are told to their requester and the admins.
    result_handlers.schedule_fair_pay(application)
    # Update ids older than a week are forgotten, daily (and once at start).
    application.job_queue.run_once(_prune_updates, when=0, name="prune-updates-at-start")
    every = housekeeping.PRUNE_EVERY
    application.job_queue.run_repeating(_prune_updates, every, first=every, name="prune-updates")
    # Task timers live in the database: re-arm them, then start the dispatcher.
    await start_task_loop(application)


async def _post_shutdown(application: BotApplication) -> None:
    services: Services = application.bot_data
    if services.heartbeat is not None:
        await services.heartbeat.stop()
        services.heartbeat = None
    if services.compute is not None:
        install(None)
        await services.compute.shutdown()
        services.compute = None
    if services._db is not None:
        await services.db.close()
        services.db = None
