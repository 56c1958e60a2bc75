"""Wiring room, the application: builds python-telegram-bot's Application, registers every
handler in one place and opens storage."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    PreCheckoutQueryHandler,
    TypeHandler,
    filters,
)

from bot import housekeeping, log_privacy
from bot.clock import Clock, SystemClock
from bot.compute import Compute, install
from bot.config import Settings
from bot.context import BotContext, Services
from bot.engine.alerts import AdminAlerts
from bot.engine.budget import UNLIMITED, Limits
from bot.engine.http import AiohttpRequest
from bot.engine.jobs import start_task_loop
from bot.engine.outbox import Outbox
from bot.engine.ratelimit import OutboxLimiter
from bot.engine.render import PREVIEW
from bot.handlers import (
    admin,
    funding,
    money,
    mutes,
    newbatch,
    newbatch_review,
    onboarding,
    payout_details,
    payout_prompts,
    payouts,
    personal_data,
    presses,
    reports,
    roles,
    sepa,
    start,
)
from bot.handlers import availability as availability_handlers
from bot.handlers import batches as batch_handlers
from bot.handlers import floor as floor_handlers
from bot.handlers import history as history_handlers
from bot.handlers import quality as quality_handlers
from bot.handlers import refit as refit_handlers
from bot.handlers import results as result_handlers
from bot.handlers import tasks as task_handlers
from bot.handlers import workers as worker_handlers
from bot.handlers.errors import on_error
from bot.heartbeat import Heartbeat
from bot.i18n import Catalogue
from bot.moderation import follow_configuration
from bot.persistence import DatabasePersistence, PersistentApplication
from bot.send_budget import SharedBudget
from bot.telegram_ui import (
    DISCARD,
    ONBOARD_LANGUAGE,
    PAYOUT_APPROVE,
    PAYOUT_APPROVE_ALL,
    PAYOUT_PAGE,
    PICK,
    PUBLISH,
    SEPA_MAKE,
    SEPA_PAID,
    WORKER_LIST,
    pick_handler,
    publish_chat_menu,
    publish_menus,
)
from bot.updates import PerUserProcessor
from storage.users import mark_update_processed

log = logging.getLogger(__name__)

# The Application with our context types; PTB's own generics say little more than Any here.
BotApplication = Application[Any, Any, Any, Any, Any, Any]


def build_application(
    settings: Settings, *, clock: Clock | None = None, rate_limit: bool = True
) -> BotApplication:
    """Build the bot; storage opens in ``post_init`` and closes in ``post_shutdown``."""
    log_privacy.install()  # no whole IBAN in any log record (PTB logs updates at DEBUG)
    context_types = ContextTypes(context=BotContext, bot_data=Services)
    # Conversations and their drafts live in the database, written after every update.
    persistence = DatabasePersistence()
    processor = PerUserProcessor()  # each user's updates in order, users at once
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        # PTB's defaults (256 connections for calls, 1 for getUpdates, its timeouts) on aiohttp,
        # whose HTTP parser is in C: httpx cost most of the bot's CPU per answer (issue 11).
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .context_types(context_types)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .concurrent_updates(processor)
        .persistence(persistence)
        .application_class(PersistentApplication)  # one transaction per persistence round
    )
    # One outbox keeps Telegram's limits for every rate-limited call (decision record 0011);
    # its limiter replaces PTB's AIORateLimiter and counts direct replies in the same budget.
    limits = Limits(per_second=settings.messages_per_second) if rate_limit else UNLIMITED
    outbox = Outbox(limits)
    application: BotApplication = builder.rate_limiter(OutboxLimiter(outbox)).build()
    services: Services = application.bot_data
    services.outbox = outbox
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
            # Admin tools (bot/handlers/admin.py): blocks, roles taken back, a user's file, the
            # audit log, four-eyes ledger corrections (Confirm only by another admin).
            CommandHandler("revoke", admin.revoke_command),
            CommandHandler("block", admin.block_command),
            CommandHandler("unblock", admin.unblock_command),
            CommandHandler("user", admin.user_command),
            CommandHandler("audit", admin.audit_command),
            CommandHandler("correct", admin.correct_command),
            CallbackQueryHandler(
                admin.confirm_correction_button, pattern=rf"^{admin.CONFIRM_CORRECTION} "
            ),
            CallbackQueryHandler(
                admin.cancel_correction_button, pattern=rf"^{admin.CANCEL_CORRECTION} "
            ),
            # Money: budgets, earnings, monthly payouts (admin steps re-check the role).
            CommandHandler("topup", money.topup),
            CommandHandler("balance", money.balance),
            CommandHandler("earnings", money.earnings),
            CommandHandler("history", history_handlers.history),
            CommandHandler("closemonth", payouts.closemonth),
            CommandHandler("payouts", payouts.payouts),
            CommandHandler("exportpayouts", payouts.exportpayouts),
            CommandHandler("health", payouts.health),
            # /payouts is one paged message: Approve, Approve all on this page, Previous/Next
            # redraw it in place (Hold and Mark paid are the prompts' conversation, below).
            CallbackQueryHandler(payouts.approve_button, pattern=rf"^{PAYOUT_APPROVE} "),
            CallbackQueryHandler(payouts.approve_all_button, pattern=rf"^{PAYOUT_APPROVE_ALL} "),
            CallbackQueryHandler(payouts.page_button, pattern=rf"^{PAYOUT_PAGE} "),
            # Issue 15: requesters fund themselves (Telegram Payments; the pre-checkout is
            # answered at once), workers give payout details, admins pay a month by SEPA file.
            CommandHandler("fund", funding.fund_command),
            PreCheckoutQueryHandler(funding.pre_checkout),
            MessageHandler(filters.SUCCESSFUL_PAYMENT, funding.successful_payment),
            payout_details.conversation(),
            CallbackQueryHandler(sepa.make_button, pattern=rf"^{SEPA_MAKE} "),
            CallbackQueryHandler(sepa.paid_button, pattern=rf"^{SEPA_PAID} "),
            # Hold and Mark paid ask for a line of text in prompts bound to their statements: a
            # conversation per admin, before the catch-alls so an answer is not taken for an
            # unknown message.
            payout_prompts.conversation(),
            # Requester batches: /newbatch is a conversation per requester and chat (only its
            # users' messages are taken, before the catch-alls); a ZIP document starts a batch.
            # Checking media may take long: those handlers do not block other users' updates.
            newbatch.conversation(newbatch_review.last_steps),
            CallbackQueryHandler(newbatch_review.preview_button, pattern=rf"^{PREVIEW}$"),
            CommandHandler("template", batch_handlers.template_command),
            CommandHandler("batches", batch_handlers.batches_command),
            CommandHandler("batch", batch_handlers.batch_command),
            CommandHandler("pausebatch", batch_handlers.pausebatch_command),
            CommandHandler("resumebatch", batch_handlers.resumebatch_command),
            CommandHandler("cancelbatch", batch_handlers.cancelbatch_command),
            # Results and extra pay: /results, /bonus, the fair-pay Raise button (owner only).
            CommandHandler("results", result_handlers.results_command),
            CommandHandler("bonus", result_handlers.bonus_command),
            # Per-worker actions (issue 15): the list, a card, a bonus to one, Exclude/Readmit.
            CommandHandler("worker", worker_handlers.worker_command),
            CallbackQueryHandler(worker_handlers.list_button, pattern=rf"^{WORKER_LIST} "),
            CallbackQueryHandler(worker_handlers.card_button, pattern=rf"^{worker_handlers.CARD} "),
            CallbackQueryHandler(
                worker_handlers.bonus_button, pattern=rf"^{worker_handlers.BONUS} "
            ),
            CallbackQueryHandler(
                worker_handlers.exclude_button, pattern=rf"^{worker_handlers.EXCLUDE} "
            ),
            CallbackQueryHandler(
                worker_handlers.readmit_button, pattern=rf"^{worker_handlers.READMIT} "
            ),
            # A command that needs a batch id, given none, offers the batches as buttons.
            CallbackQueryHandler(
                pick_handler(
                    {
                        "batch": batch_handlers.batch_command,
                        "pausebatch": batch_handlers.pausebatch_command,
                        "resumebatch": batch_handlers.resumebatch_command,
                        "cancelbatch": batch_handlers.cancelbatch_command,
                        "results": result_handlers.results_command,
                        "bonus": result_handlers.bonus_command,
                    }
                ),
                pattern=rf"^{PICK} ",
            ),
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
            # The worker's data rights: a copy, erasure after a confirmation, consent withdrawn.
            CommandHandler("mydata", personal_data.mydata_command),
            CommandHandler("forgetme", personal_data.forgetme_command),
            CallbackQueryHandler(personal_data.forget_button, pattern=rf"^{personal_data.FORGET} "),
            CallbackQueryHandler(
                personal_data.withdraw_button, pattern=rf"^{personal_data.WITHDRAW_CONSENT} "
            ),
            CallbackQueryHandler(start.language_button, pattern=rf"^{start.LANGUAGE} "),
            # Onboarding after consent: language, time zone, when free (one tap each).
            CallbackQueryHandler(onboarding.language_chosen, pattern=rf"^{ONBOARD_LANGUAGE} "),
            CallbackQueryHandler(onboarding.zone_chosen, pattern=rf"^{onboarding.ZONE} "),
            CallbackQueryHandler(onboarding.free_chosen, pattern=rf"^{onboarding.FREE} "),
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
            # Issue 14: report a task (reasons, back), mute its requester, the admins' review.
            CallbackQueryHandler(reports.report_button, pattern=rf"^{task_handlers.REPORT} "),
            CallbackQueryHandler(reports.reason_button, pattern=rf"^{reports.REASON} "),
            CallbackQueryHandler(reports.back_button, pattern=rf"^{reports.BACK} "),
            CallbackQueryHandler(reports.resume_button, pattern=rf"^{reports.RESUME} "),
            CallbackQueryHandler(reports.keep_button, pattern=rf"^{reports.KEEP} "),
            CallbackQueryHandler(mutes.mute_button, pattern=rf"^{task_handlers.MUTE} "),
            CallbackQueryHandler(mutes.unmute_button, pattern=rf"^{mutes.UNMUTE} "),
            CommandHandler("unmute", mutes.unmute_command),
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
            CallbackQueryHandler(
                quality_handlers.unblock_button, pattern=rf"^{quality_handlers.UNBLOCK} "
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
    first = await services.db.run_write(
        mark_update_processed, update.update_id, services.clock.now()
    )
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
    services.outbox.start()
    services.alerts = AdminAlerts(services, services.outbox, application.bot.send_message)
    services.outbox.on_failure = lambda kind, _error: _alert(services, kind)
    await services.open_database()
    if settings.webhook is not None:  # several processes may serve this token: one budget
        limits = services.outbox.limits
        services.outbox.shared = SharedBudget(
            services.db, settings.bot_id, services.clock, rate=limits.per_second, burst=limits.burst
        )
    # Roles follow ADMIN_IDS and REQUESTER_IDS (those granted with /grant stay).
    taken_back = await follow_configuration(
        services.db,
        admin_ids=settings.admin_ids,
        requester_ids=settings.requester_ids,
        now=services.clock.now(),
    )
    for user_id, role in taken_back:
        log.info("user %s no longer configured as %s: role taken back", user_id, role)
    await publish_menus(application.bot, services)
    for user_id in sorted({user_id for user_id, _ in taken_back}):
        await publish_chat_menu(application.bot, services, user_id)
    await admin.warn_single_admin(services, application.bot)
    # Months whose close was missed while the bot was down are closed now; then the monthly job.
    assert application.job_queue is not None
    payouts.schedule_monthly_close(services, application.job_queue)
    application.job_queue.run_once(payouts.catch_up, when=0, name="close-catch-up")
    # Batches paying below the floor, as measured, are told to their requester and the admins.
    result_handlers.schedule_fair_pay(application)
    # The floor is kept: rewards raised and earlier answers topped up from the requester's budget.
    floor_handlers.schedule_floor(application)
    # Dynamic overlap: refits decide which items of a dynamic batch get another answer.
    refit_handlers.schedule_refit(application)
    # Update ids older than a week are forgotten, daily (and once at start).
    application.job_queue.run_once(_prune_updates, when=0, name="prune-updates-at-start")
    every = housekeeping.PRUNE_EVERY
    application.job_queue.run_repeating(_prune_updates, every, first=every, name="prune-updates")
    # Task timers live in the database: re-arm them, then start the dispatcher.
    await start_task_loop(application)


def _alert(services: Services, kind: str) -> None:
    if services.alerts is not None:
        services.alerts.report(kind, "outbox")


async def _post_stop(application: BotApplication) -> None:
    """Queued messages get a few seconds to go out while the bot can still send them."""
    services: Services = application.bot_data
    await services.outbox.stop(drain=3.0)


async def _post_shutdown(application: BotApplication) -> None:
    services: Services = application.bot_data
    await services.outbox.stop(drain=0.0)
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
