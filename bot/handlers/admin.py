"""Handler room of admin tools: /block, /unblock, /revoke, /user, /audit, /correct and its
Confirm / Cancel buttons (a second admin confirms), the one-admin warning at start."""

from __future__ import annotations

import json
import logging
from typing import cast

from telegram import Bot, Update
from telegram.error import TelegramError

from bot import moderation
from bot.callback_data import parse_id, parse_whole
from bot.context import Actor, BotContext, Services
from bot.engine.jobs import cancel_deadline, request_dispatch
from bot.errors import InvalidInput
from bot.i18n import Translator
from bot.money import parse_amount
from bot.people import Role, find_user
from bot.telegram_ui import (
    callback,
    callback_ids,
    keyboard,
    message_of,
    publish_chat_menu,
    translator_for,
)

log = logging.getLogger(__name__)

# Callback data: "PREFIX CORRECTION_ID" (STYLE.md 6).
CONFIRM_CORRECTION = "cfix"
CANCEL_CORRECTION = "cxfix"
REVOCABLE: tuple[Role, ...] = ("requester", "admin")


async def _admin(update: Update, context: BotContext) -> Actor:
    actor = await context.actor(update)
    actor.require("admin")
    return actor


async def _tell(context: BotContext, user_id: int, key: str, **params: object) -> None:
    """A message to another user in their language; a chat that cannot be reached is logged."""
    t = await translator_for(context.services, user_id)
    try:
        await context.bot.send_message(user_id, t(key, **params))
    except TelegramError as exc:
        log.info("could not tell user %s (%s): %s", user_id, key, exc)


async def block_command(update: Update, context: BotContext) -> None:
    """``/block USER_ID REASON``: no more tasks or pushes; their task is released unpaid."""
    actor = await _admin(update, context)
    args = context.args or []
    if len(args) < 2:
        raise InvalidInput("admin.block.usage")
    user_id = parse_id(args[0], "admin.block.usage")
    services = context.services
    done = await moderation.block(
        services.db, user_id, " ".join(args[1:]), actor_id=actor.user.id, now=services.clock.now()
    )
    if done.released is not None:
        cancel_deadline(context.application, done.released.id)
        request_dispatch(context.application)  # the released slot goes to someone else
    key = "admin.block.done" if done.changed else "admin.block.already"
    await message_of(update).reply_text(actor.t(key, user_id=user_id))
    if done.changed:
        user = await find_user(services.db, user_id)
        reason = user.blocked_reason if user else ""
        await _tell(context, user_id, "admin.block.told", reason=reason)


async def unblock_command(update: Update, context: BotContext) -> None:
    """``/unblock USER_ID``: lift a block; the user is told."""
    actor = await _admin(update, context)
    args = context.args or []
    if len(args) != 1:
        raise InvalidInput("admin.unblock.usage")
    user_id = parse_id(args[0], "admin.unblock.usage")
    services = context.services
    changed = await moderation.unblock(
        services.db, user_id, actor_id=actor.user.id, now=services.clock.now()
    )
    key = "admin.unblock.done" if changed else "admin.unblock.not_blocked"
    await message_of(update).reply_text(actor.t(key, user_id=user_id))
    if changed:
        await _tell(context, user_id, "admin.unblock.told")
        request_dispatch(context.application)


async def revoke_command(update: Update, context: BotContext) -> None:
    """``/revoke USER_ID requester|admin``: take a role back; their command menu follows."""
    actor = await _admin(update, context)
    args = context.args or []
    if len(args) != 2 or args[1].lower() not in REVOCABLE:
        raise InvalidInput("admin.revoke.usage")
    user_id, role = parse_id(args[0], "admin.revoke.usage"), cast(Role, args[1].lower())
    services = context.services
    changed = await moderation.revoke(
        services.db, user_id, role, actor_id=actor.user.id, now=services.clock.now()
    )
    role_name = actor.t(f"role.{role}")
    key = "admin.revoke.done" if changed else "admin.revoke.not_held"
    await message_of(update).reply_text(actor.t(key, user_id=user_id, role=role_name))
    if changed:
        await publish_chat_menu(context.bot, services, user_id)


async def user_command(update: Update, context: BotContext) -> None:
    """``/user USER_ID``: roles, status, this month's earnings, flags, last activity."""
    actor = await _admin(update, context)
    args = context.args or []
    if len(args) != 1:
        raise InvalidInput("admin.user.usage")
    services = context.services
    report = await moderation.user_report(
        services.db,
        parse_id(args[0], "admin.user.usage"),
        now=services.clock.now(),
        tz=services.settings.timezone,
    )
    await message_of(update).reply_text("\n".join(user_lines(actor.t, report)))


def user_lines(t: Translator, report: moderation.UserReport) -> list[str]:
    """The lines of ``/user``."""
    user = report.user
    roles = ", ".join(t(f"role.{role}") for role in sorted(report.roles)) or t("admin.user.none")
    if user.blocked_at is not None:
        status = t(
            "admin.user.blocked",
            since=t.datetime(user.blocked_at),
            reason=user.blocked_reason or "",
        )
    elif user.unreachable_at is not None:
        status = t("admin.user.unreachable")
    elif user.registered:
        status = t("admin.user.registered")
    else:
        status = t("admin.user.unregistered")
    paused = ", ".join(t(f"quality.type.{kind}") for kind in report.paused_types)
    last = t.datetime(report.last_activity) if report.last_activity else t("admin.user.none")
    return [
        t("admin.user.header", name=user.first_name, user_id=user.id),
        t("admin.user.roles", roles=roles),
        t("admin.user.status", status=status),
        t("admin.user.earned", amount=t.money(report.earned_this_month)),
        t("admin.user.flags", flags=report.speed_flags, paused=paused or t("admin.user.none")),
        t("admin.user.last", when=last),
    ]


async def audit_command(update: Update, context: BotContext) -> None:
    """``/audit [N]``: the last N admin actions (10 by default, at most 50)."""
    actor = await _admin(update, context)
    args = context.args or []
    if len(args) > 1:
        raise InvalidInput("admin.audit.usage", most=moderation.AUDIT_MOST)
    count = moderation.AUDIT_DEFAULT
    if args:
        count = parse_whole(
            args[0], 1, moderation.AUDIT_MOST, "admin.audit.usage", most=moderation.AUDIT_MOST
        )
    entries = await moderation.recent_audit(context.services.db, count)
    t = actor.t
    if not entries:
        await message_of(update).reply_text(t("admin.audit.empty"))
        return
    lines = [t("admin.audit.header", count=len(entries))]
    for entry in entries:
        who = entry["actor_id"] if entry["actor_id"] is not None else t("admin.audit.system")
        detail = json.dumps(entry["detail"], ensure_ascii=False, sort_keys=True)[:200]
        when = t.datetime(entry["created_at"])
        lines.append(
            t("admin.audit.line", when=when, who=who, action=entry["action"], detail=detail)
        )
    await message_of(update).reply_text("\n".join(lines)[:4096])


async def correct_command(update: Update, context: BotContext) -> None:
    """``/correct FROM TO AMOUNT REASON``: propose a ledger correction; another admin confirms."""
    actor = await _admin(update, context)
    args = context.args or []
    if len(args) < 4:
        raise InvalidInput("admin.correct.usage")
    services = context.services
    amount = parse_amount(args[2], services.settings.currency)
    pending = await moderation.propose_correction(
        services.db,
        debit_account=args[0],
        credit_account=args[1],
        amount=amount,
        reason=" ".join(args[3:]),
        actor_id=actor.user.id,
        now=services.clock.now(),
    )
    t = actor.t
    await message_of(update).reply_text(t("admin.correct.proposed", correction_id=pending.id))
    for admin_id in await moderation.admin_ids(services.db):
        if admin_id == actor.user.id:
            continue
        await _ask_confirmation(context, admin_id, pending, actor.user.first_name)


async def _ask_confirmation(
    context: BotContext, admin_id: int, pending: moderation.PendingCorrection, proposer: str
) -> None:
    t = await translator_for(context.services, admin_id)
    text = t(
        "admin.correct.ask",
        correction_id=pending.id,
        proposer=proposer,
        amount=t.money(pending.amount),
        debit=pending.debit_account,
        credit=pending.credit_account,
        reason=pending.reason,
    )
    buttons = keyboard(
        [
            [
                (t("admin.correct.button.confirm"), callback(CONFIRM_CORRECTION, pending.id)),
                (t("admin.correct.button.cancel"), callback(CANCEL_CORRECTION, pending.id)),
            ]
        ]
    )
    try:
        await context.bot.send_message(admin_id, text, reply_markup=buttons)
    except TelegramError as exc:
        log.info("admin %s not asked to confirm correction %s: %s", admin_id, pending.id, exc)


async def confirm_correction_button(update: Update, context: BotContext) -> None:
    """Confirm: a second admin posts the correction (never its proposer nor its beneficiary)."""
    (correction_id,) = callback_ids(update, CONFIRM_CORRECTION, 1)
    actor = await _admin(update, context)
    services = context.services
    done = await moderation.confirm_correction(
        services.db,
        correction_id,
        actor_id=actor.user.id,
        now=services.clock.now(),
        tz=services.settings.timezone,
    )
    await _after_decision(update, actor, done, "admin.correct.confirmed")


async def cancel_correction_button(update: Update, context: BotContext) -> None:
    """Cancel: the correction is dropped; nothing moves."""
    (correction_id,) = callback_ids(update, CANCEL_CORRECTION, 1)
    actor = await _admin(update, context)
    services = context.services
    done = await moderation.cancel_correction(
        services.db, correction_id, actor_id=actor.user.id, now=services.clock.now()
    )
    await _after_decision(update, actor, done, "admin.correct.cancelled")


async def _after_decision(
    update: Update, actor: Actor, done: moderation.Confirmed, key: str
) -> None:
    query = update.callback_query
    assert query is not None
    correction = done.correction
    if not done.changed:
        state = actor.t(f"admin.correct.state.{correction.state}")
        await query.answer(
            actor.t("admin.correct.unchanged", correction_id=correction.id, state=state)
        )
        return
    text = actor.t(key, correction_id=correction.id)
    await query.answer(text[:200])
    try:
        await query.edit_message_text(text)
    except TelegramError as exc:
        log.info("could not close correction %s message: %s", correction.id, exc)


async def warn_single_admin(services: Services, bot: Bot) -> None:
    """At start: with fewer than two admins, four-eyes steps cannot be taken; say so."""
    admins = await moderation.admin_ids(services.db)
    if len(admins) >= 2:
        return
    log.warning(
        "only %d admin configured: payouts to an admin and ledger corrections need a second one",
        len(admins),
    )
    user = await find_user(services.db, admins[0]) if admins else None
    if user is not None:  # only an admin who wrote to the bot has a chat to write in
        t = services.translator(user.language, user.timezone)
        try:
            await bot.send_message(admins[0], t("admin.single_admin"))
        except TelegramError as exc:
            log.info("could not warn the only admin: %s", exc)
