"""Handler room of results and extra pay: /results, /bonus, the fair-pay job, its Raise button."""

from __future__ import annotations

import io
import logging
from typing import Any

from telegram import InputFile, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application

from bot import rewards
from bot.batches import parse_batch_id
from bot.compute import offload
from bot.context import BotContext, Services
from bot.errors import InvalidInput
from bot.i18n import Translator
from bot.money import parse_amount
from bot.people import find_user, ids_with_role
from bot.results import batch_results, pseudonym_secret, result_files
from bot.rewards import BonusRun, FairPayNews
from bot.telegram_ui import (
    WORKER_LIST,
    button_batch_id,
    callback,
    keyboard,
    message_of,
    offer_batch_choice,
    refusals_told,
    viewer_of,
)

log = logging.getLogger(__name__)

RAISE = "fpr"  # callback data "fpr BATCH_ID": raise the reward to the suggested one
FAIR_PAY_JOB = "fair-pay"
FAIR_PAY_INTERVAL = 30.0  # seconds; the check reads only batches not told yet with 20 answers


# /results --------------------------------------------------------------------------------------


@refusals_told
async def results_command(update: Update, context: BotContext) -> None:
    """``/results ID``: results.csv, results.json and, for transcription, transcripts.zip."""
    actor = await context.actor(update)
    viewer = viewer_of(actor)
    if await offer_batch_choice(update, context, "results"):
        return
    batch_id = parse_batch_id(context.args, "results")
    services = context.services
    now = services.clock.now()
    results = await batch_results(services.db, batch_id, viewer, now=now)
    secret = await pseudonym_secret(services.db, now)
    t = actor.t
    answers = sum(result.answers for result in results.items)
    key = "results.partial" if results.partial else "results.final"
    message = message_of(update)
    await message.reply_text(
        t(
            key,
            id=batch_id,
            title=results.batch.title,
            complete=results.complete_items,
            items=len(results.items),
            answers=answers,
            method=t(f"results.method.{results.method.replace('-', '_')}"),
        )
    )
    files = await offload(result_files, results, secret)  # CSV/JSON of 10,000 items: off the loop
    for name, data in files:
        await message.reply_document(InputFile(io.BytesIO(data), filename=name))
    if results.worker_answers:  # per-worker actions (bot/handlers/workers.py)
        per_worker = keyboard([[(t("workers.button.list"), callback(WORKER_LIST, batch_id))]])
        await message.reply_text(t("workers.offer", id=batch_id), reply_markup=per_worker)


# /bonus ----------------------------------------------------------------------------------------


@refusals_told
async def bonus_command(update: Update, context: BotContext) -> None:
    """``/bonus ID AMOUNT [min_accuracy]``: a bonus to each worker of the requester's batch."""
    actor = await context.actor(update)
    actor.require("requester")
    if await offer_batch_choice(update, context, "bonus"):
        return
    args = context.args or []
    if len(args) == 1:  # a batch picked from the buttons: the amount is still to be typed
        batch_id = parse_batch_id(args, "bonus")
        await message_of(update).reply_text(actor.t("bonus.amount_for", id=batch_id))
        return
    if len(args) not in (2, 3):
        raise InvalidInput("bonus.usage")
    batch_id = parse_batch_id(args[:1], "bonus")
    services = context.services
    settings = services.settings
    amount = parse_amount(args[1], settings.currency)
    min_accuracy = rewards.parse_accuracy(args[2]) if len(args) == 3 else None
    message = message_of(update)
    run = await rewards.send_bonus(
        services.db,
        batch_id,
        actor.user.id,
        amount=amount,
        # The command message (its chat and id) is the business key: delivered twice, it pays once.
        chat_id=message.chat_id,
        message_id=message.message_id,
        min_accuracy=min_accuracy,
        now=services.clock.now(),
        tz=settings.timezone,
        cap=settings.monthly_cap,
    )
    await message.reply_text(_bonus_text(actor.t, run))
    for worker_id in run.paid:
        await _tell(context, worker_id, "bonus.received", run.amount, title=run.batch.title)


def _bonus_text(t: Translator, run: BonusRun) -> str:
    lines = [
        t(
            "bonus.done",
            id=run.batch.id,
            count=len(run.paid),
            amount=t.money(run.amount),
            total=t.money(run.total),
        )
    ]
    if run.already:
        lines.append(t("bonus.already", count=len(run.already)))
    if run.over_cap:
        lines.append(t("bonus.over_cap", count=len(run.over_cap)))
    if run.below_accuracy:
        lines.append(t("bonus.below_accuracy", count=run.below_accuracy))
    return "\n".join(lines)


async def _tell(context: BotContext, user_id: int, key: str, amount: int, **params: Any) -> None:
    services = context.services
    user = await find_user(services.db, user_id)
    t = services.translator(user.language if user else "en", user.timezone if user else None)
    try:
        await context.bot.send_message(user_id, t(key, amount=t.money(amount), **params))
    except (BadRequest, Forbidden) as error:
        log.info("user %s not told (%s): %s", user_id, key, error)


# Fair pay --------------------------------------------------------------------------------------


def schedule_fair_pay(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Check the batches' measured pay every ``FAIR_PAY_INTERVAL`` seconds."""
    queue = application.job_queue
    assert queue is not None
    queue.run_repeating(fair_pay_job, interval=FAIR_PAY_INTERVAL, first=5.0, name=FAIR_PAY_JOB)


def request_fair_pay_check(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Run the fair-pay check now (tests, tools), once even if asked twice."""
    queue = application.job_queue
    assert queue is not None
    if not queue.get_jobs_by_name(f"{FAIR_PAY_JOB}:now"):
        queue.run_once(fair_pay_job, 0, name=f"{FAIR_PAY_JOB}:now")


async def fair_pay_job(context: BotContext) -> None:
    """Tell the requester (with a Raise button) and the admins of each batch paying too little."""
    services = context.services
    news = await rewards.check_fair_pay(
        services.db, floor=services.settings.min_hourly_rate, now=services.clock.now()
    )
    for found in news:
        await _announce(context, services, found)


def fair_pay_text(t: Translator, news: FairPayNews, floor: int) -> str:
    """The alert: the measured median rate, the floor, the reward that meets it, the cost."""
    assessment = news.assessment
    assert assessment.median_rate is not None
    assert assessment.median_duration_ms is not None
    seconds = format(assessment.median_duration_ms / 1000, ".1f")
    if t.language == "fr":
        seconds = seconds.replace(".", ",")
    return t(
        "fairpay.alert",
        id=news.batch.id,
        title=news.batch.title,
        answers=assessment.answers,
        rate=t.money(round(assessment.median_rate)),
        floor=t.money(floor),
        seconds=seconds,
        reward=t.money(news.batch.reward),
        suggested=t.money(assessment.suggested_reward_cents),
        slots=news.remaining_slots,
        extra=t.money(assessment.extra_escrow_cents),
    )


async def _announce(context: BotContext, services: Services, news: FairPayNews) -> None:
    floor = services.settings.min_hourly_rate
    requester_id = news.batch.requester_id
    admins = [a for a in await ids_with_role(services.db, "admin") if a != requester_id]
    for user_id in [requester_id, *admins]:
        user = await find_user(services.db, user_id)
        t = services.translator(user.language if user else "en", user.timezone if user else None)
        markup = None
        if user_id == requester_id:
            label = t("fairpay.button", suggested=t.money(news.assessment.suggested_reward_cents))
            markup = keyboard([[(label, callback(RAISE, news.batch.id))]])
        try:
            await context.bot.send_message(
                user_id, fair_pay_text(t, news, floor), reply_markup=markup
            )
        except (BadRequest, Forbidden) as error:
            log.info("user %s not told about batch %s pay: %s", user_id, news.batch.id, error)


@refusals_told
async def raise_button(update: Update, context: BotContext) -> None:
    """The Raise button: owner only (checked again here), holds the extra escrow once."""
    batch_id = button_batch_id(update, RAISE)
    actor = await context.actor(update)
    services = context.services
    raised = await rewards.raise_reward(
        services.db,
        batch_id,
        actor.user.id,
        now=services.clock.now(),
        tz=services.settings.timezone,
    )
    t = actor.t
    query = update.callback_query
    assert query is not None
    if not raised.created:
        await query.answer(t("fairpay.already", id=batch_id, reward=t.money(raised.new_reward)))
        return
    text = t(
        "fairpay.raised",
        id=batch_id,
        reward=t.money(raised.new_reward),
        old=t.money(raised.old_reward),
        extra=t.money(raised.extra),
        slots=raised.slots,
    )
    await query.answer(text[:200])
    await query.edit_message_text(text)
