"""Handler room of worker quality: /stats (a worker's own numbers; an admin's /stats USER_ID),
/appeal and the admins' Lift / Keep buttons."""

from __future__ import annotations

import logging
from typing import Literal

from telegram import Message, Update
from telegram.error import TelegramError

from bot.appeals import Appeal, decide, file_appeal
from bot.batch_settings import BATCH_TYPES
from bot.callback_data import parse_id
from bot.context import BotContext
from bot.errors import InvalidInput
from bot.gold import WorkerStats, worker_stats
from bot.i18n import Translator
from bot.levels import next_level_opens
from bot.mutes import muted
from bot.people import find_user, ids_with_role
from bot.telegram_ui import callback, callback_ids, keyboard, message_of
from bot.texts import number

log = logging.getLogger(__name__)

# Callback data: "PREFIX APPEAL_ID [TYPE_INDEX]" (STYLE.md 6).
LIFT = "ql"
KEEP = "qk"
UNBLOCK = "qu"  # "qu APPEAL_ID": lift the block of a blocked worker
TYPE_CODES = BATCH_TYPES  # a type travels as its index (new types are added at the end)


def stats_lines(t: Translator, stats: WorkerStats, threshold: float, min_gold: int) -> list[str]:
    """The lines of /stats (and of an appeal, for admins)."""
    lines = [t("quality.stats.tasks", count=stats.tasks_done)]
    if not any(s.estimate.gold_answers for s in stats.types):
        lines.append(t("quality.stats.no_gold"))
    for found in stats.types:
        estimate = found.estimate
        lines.append(
            t(
                "quality.stats.type_line",
                type=t(f"quality.type.{found.task_type}"),
                score=number(t, estimate.score),
                gold=estimate.gold_answers,
                lower=number(t, estimate.lower_bound),
                upper=number(t, estimate.upper_bound),
            )
        )
        if found.speed_flags:
            lines.append(t("quality.stats.flags", count=found.speed_flags))
    lines.append(t("quality.stats.explain", threshold=number(t, threshold), min_gold=min_gold))
    level = stats.level
    lines.append(t("quality.stats.level", level=t(f"quality.level.{level.level}")))
    rule = level.next_rule
    if rule is None:
        lines.append(t("quality.stats.top_level"))
    else:
        lines.append(
            t(
                "quality.stats.next_level",
                level=t(f"quality.level.{rule.level}"),
                tasks=rule.min_tasks,
                gold=rule.min_gold,
                bound=number(t, rule.min_lower_bound),
                tasks_missing=level.tasks_missing,
                gold_missing=level.gold_missing,
                bound_missing=number(t, level.lower_bound_missing),
            )
        )
    if stats.hourly_rate is None:
        lines.append(t("quality.stats.no_rate"))
    else:
        lines.append(t("quality.stats.rate", rate=t.money(round(stats.hourly_rate))))
    for pause in stats.pauses:
        lines.append(
            t(
                "quality.stats.paused",
                type=t(f"quality.type.{pause.task_type}"),
                reason=t(f"quality.reason.{pause.reason}"),
                since=t.datetime(pause.paused_at),
            )
        )
    if stats.blocked:
        lines.append(t("quality.stats.blocked"))
    return lines


async def stats_command(update: Update, context: BotContext) -> None:
    """``/stats``: the worker's tasks, accuracy per type, level, measured pay and pauses.

    An admin may add a user id to see that worker's numbers, speed flags included.
    """
    actor = await context.actor(update)
    t = actor.t
    services = context.services
    worker_id = actor.user.id
    args = context.args or []
    header: list[str] = []
    if args:
        actor.require("admin")
        if len(args) != 1:
            raise InvalidInput("quality.stats.usage")
        worker_id = parse_id(args[0], "quality.stats.usage")
        user = await find_user(services.db, worker_id)
        name = user.first_name if user else "?"
        header = [t("quality.stats.admin_header", name=name, worker=worker_id)]
    else:
        actor.require("worker")
        header = [t("quality.stats.title")]
    stats = await worker_stats(services.db, worker_id)
    policy = services.quality.pause
    lines = header + stats_lines(t, stats, policy.threshold, policy.min_gold)
    lines += await _opens_and_mutes(context, t, stats, worker_id)
    await message_of(update).reply_text("\n".join(lines))


async def _opens_and_mutes(
    context: BotContext, t: Translator, stats: WorkerStats, worker_id: int
) -> list[str]:
    """What the next level opens, and the requesters muted (issue 14)."""
    db = context.services.db
    lines: list[str] = []
    opens = await next_level_opens(db, stats.level)
    if opens is not None and stats.level.next_rule is not None:
        level = t(f"quality.level.{stats.level.next_rule.level}")
        if opens.batches:
            best = t.money(opens.best_reward)
            lines.append(t("quality.stats.opens", level=level, count=opens.batches, best=best))
        else:
            lines.append(t("quality.stats.opens_none", level=level))
    found = await muted(db, worker_id)
    if found:
        lines.append(t("mutes.stats", names=", ".join(m.name for m in found)))
    return lines


async def appeal_command(update: Update, context: BotContext) -> None:
    """``/appeal TEXT``: a paused (or blocked) worker asks the admins to look again."""
    actor = await context.actor(update)
    t = actor.t
    services = context.services
    text = " ".join(context.args or [])
    appeal = await file_appeal(services.db, actor.user.id, text, services.clock.now())
    await message_of(update).reply_text(t("quality.appeal.sent"))
    await _tell_admins(context, appeal)


async def _tell_admins(context: BotContext, appeal: Appeal) -> None:
    """Every admin gets the appeal with the worker's numbers and one button per paused type."""
    services = context.services
    stats = await worker_stats(services.db, appeal.worker_id)
    worker = await find_user(services.db, appeal.worker_id)
    policy = services.quality.pause
    for admin_id in await ids_with_role(services.db, "admin"):
        admin = await find_user(services.db, admin_id)
        t = services.translator(
            admin.language if admin else "en", admin.timezone if admin else None
        )
        lines = [
            t(
                "quality.appeal.admin",
                id=appeal.id,
                name=worker.first_name if worker else "?",
                worker=appeal.worker_id,
                text=appeal.text,
            ),
            "",
            *stats_lines(t, stats, policy.threshold, policy.min_gold),
        ]
        rows = [
            [
                (
                    t("quality.appeal.button.lift", type=t(f"quality.type.{pause.task_type}")),
                    callback(LIFT, appeal.id, TYPE_CODES.index(pause.task_type)),
                )
            ]
            for pause in stats.pauses
            if pause.task_type in TYPE_CODES
        ]
        if worker is not None and worker.blocked_at is not None:
            rows.append([(t("quality.appeal.button.unblock"), callback(UNBLOCK, appeal.id))])
        rows.append([(t("quality.appeal.button.keep"), callback(KEEP, appeal.id))])
        try:
            await context.bot.send_message(
                admin_id, "\n".join(lines)[:4096], reply_markup=keyboard(rows)
            )
        except TelegramError as exc:
            log.warning("could not send appeal %s to admin %s: %s", appeal.id, admin_id, exc)


async def lift_button(update: Update, context: BotContext) -> None:
    """Lift: the worker gets the type back (re-checked: admin, appeal open, pause there)."""
    appeal_id, type_index = callback_ids(update, LIFT, 2)
    if not 0 <= type_index < len(TYPE_CODES):
        raise InvalidInput("error.bad_button")
    await _decide(update, context, appeal_id, "lifted", TYPE_CODES[type_index])


async def unblock_button(update: Update, context: BotContext) -> None:
    """Lift the block: the worker gets tasks again (re-checked: admin, appeal open, blocked)."""
    (appeal_id,) = callback_ids(update, UNBLOCK, 1)
    await _decide(update, context, appeal_id, "lifted", None)


async def keep_button(update: Update, context: BotContext) -> None:
    """Keep: the pauses stay; the worker is told."""
    (appeal_id,) = callback_ids(update, KEEP, 1)
    await _decide(update, context, appeal_id, "kept", None)


async def _decide(
    update: Update,
    context: BotContext,
    appeal_id: int,
    outcome: Literal["lifted", "kept"],
    task_type: str | None,
) -> None:
    actor = await context.actor(update)
    actor.require("admin")
    services = context.services
    query = update.callback_query
    assert query is not None
    decision = await decide(
        services.db, appeal_id, actor.user.id, outcome, task_type, services.clock.now()
    )
    t = actor.t
    await query.answer(t(f"quality.appeal.{outcome}_answer"))
    done = t(
        "quality.appeal.done_admin",
        id=appeal_id,
        outcome=t(f"quality.appeal.outcome.{outcome}"),
        admin=actor.user.first_name,
    )
    message = query.message
    if isinstance(message, Message):
        try:
            await query.edit_message_text(f"{message.text or ''}\n\n{done}"[:4096])
        except TelegramError as exc:
            log.info("could not mark appeal %s done: %s", appeal_id, exc)
    worker = await find_user(services.db, decision.appeal.worker_id)
    wt = services.translator(
        worker.language if worker else "en", worker.timezone if worker else None
    )
    if outcome == "lifted" and task_type is None:
        text = wt("quality.appeal.unblocked_worker")
    elif outcome == "lifted":
        text = wt("quality.appeal.lifted_worker", type=wt(f"quality.type.{task_type}"))
    else:
        text = wt("quality.appeal.kept_worker")
    try:
        await context.bot.send_message(decision.appeal.worker_id, text)
    except TelegramError as exc:
        log.warning("could not tell worker %s about appeal %s: %s", worker, appeal_id, exc)
    # A lifted type comes back with the dispatcher's next pass (every few seconds).
