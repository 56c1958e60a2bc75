"""Handler room of everyone's commands: /start with consent, /help, /language, and hints for
anything unknown."""

from __future__ import annotations

import logging

from telegram import Update

from bot import people
from bot.commands import Command, command_named, commands_for
from bot.context import Actor, BotContext
from bot.errors import InvalidInput
from bot.i18n import LANGUAGES
from bot.telegram_ui import (
    callback,
    callback_args,
    keyboard,
    message_of,
    onboarding_language_keyboard,
    withdraw_keyboard,
)

log = logging.getLogger(__name__)

CONSENT = "consent"
LANGUAGE = "lang"


async def start(update: Update, context: BotContext) -> None:
    """Greet, explain how it works, and ask for consent (or welcome back a registered worker)."""
    actor = await context.actor(update)
    t = actor.t
    if context.args:
        log.info("start with deep link payload %r from %s", context.args[0], actor.user.id)
    if actor.user.registered:
        await message_of(update).reply_text(
            t("start.welcome_back", name=actor.user.first_name) + "\n\n" + help_text(actor),
            reply_markup=withdraw_keyboard(actor),  # consent withdrawn in one press
        )
        return
    if actor.has("admin") or actor.has("requester"):
        await _start_staff(update, actor)
        return
    settings = context.services.settings
    text = "\n\n".join(
        [
            t("start.greeting", name=actor.user.first_name),
            t("start.how_it_works", cap=t.money(settings.monthly_cap)),
            t("start.data_kept"),
        ]
    )
    button = keyboard([[(t("start.consent_button"), callback(CONSENT, "yes"))]])
    await message_of(update).reply_text(text, reply_markup=button)


async def _start_staff(update: Update, actor: Actor) -> None:
    """Requesters and admins: their own tools and id, and the worker's sign-up only on request."""
    t = actor.t
    role = "admin" if actor.has("admin") else "requester"
    text = t(f"start.staff.{role}", name=actor.user.first_name) + "\n\n" + help_text(actor)
    button = keyboard([[(t("start.staff.also_work"), callback(CONSENT, "yes"))]])
    await message_of(update).reply_text(text, reply_markup=button)


async def consent(update: Update, context: BotContext) -> None:
    """Register the worker who pressed the consent button; a second press changes nothing."""
    callback_args(update, CONSENT, 1)
    actor = await context.actor(update)
    t = actor.t
    first_time = await people.consent(
        context.services.db, actor.user.id, context.services.clock.now()
    )
    query = update.callback_query
    assert query is not None
    if not first_time:
        await query.answer(t("start.already_registered"))
        return
    await query.answer(t("start.consent_thanks"))
    await query.edit_message_text(
        t("start.registered") + "\n\n" + t("onboarding.language"),
        reply_markup=onboarding_language_keyboard(t),
    )


async def help_command(update: Update, context: BotContext) -> None:
    """List the commands of the user's roles."""
    actor = await context.actor(update)
    await message_of(update).reply_text(help_text(actor))


def help_text(actor: Actor) -> str:
    """The /help text for the actor's roles, grouped everyone / worker / requester / admin."""
    t = actor.t
    lines = [t("help.header")]
    for role in (None, "worker", "requester", "admin"):
        group = [c for c in commands_for(actor.roles) if c.role == role]
        if not group:
            continue
        lines.append("")
        lines.append(t(f"help.section.{role or 'everyone'}"))
        lines.extend(_command_line(actor, command) for command in group)
    if not actor.user.registered and not (actor.has("admin") or actor.has("requester")):
        lines.extend(["", t("help.not_registered")])
    lines.extend(["", t("help.your_id", id=actor.user.id)])
    return "\n".join(lines)


def _command_line(actor: Actor, command: Command) -> str:
    return f"/{command.name} — {actor.t(command.description_key)}"


async def language(update: Update, context: BotContext) -> None:
    """Offer French or English (``/language fr`` sets it directly)."""
    actor = await context.actor(update)
    if context.args:
        await _set_language(update, context, context.args[0].lower())
        return
    buttons = [[(actor.t(f"language.name.{code}"), callback(LANGUAGE, code)) for code in LANGUAGES]]
    await message_of(update).reply_text(actor.t("language.choose"), reply_markup=keyboard(buttons))


async def language_button(update: Update, context: BotContext) -> None:
    """Set the language chosen with a button."""
    (code,) = callback_args(update, LANGUAGE, 1)
    if code not in LANGUAGES:  # forged: refused with an answer to the press
        raise InvalidInput("error.bad_button")
    await _set_language(update, context, code)


async def _set_language(update: Update, context: BotContext, code: str) -> None:
    actor = await context.actor(update)
    if code not in LANGUAGES:
        await message_of(update).reply_text(actor.t("language.unknown", code=code[:10]))
        return
    await people.choose_language(
        context.services.db, actor.user.id, code, context.services.clock.now()
    )
    t = context.services.translator(code, actor.user.timezone)
    if update.callback_query is not None:
        await update.callback_query.answer(t("language.set"))
        await update.callback_query.edit_message_text(t("language.set"))
    else:
        await message_of(update).reply_text(t("language.set"))


async def unknown_command(update: Update, context: BotContext) -> None:
    """Answer a command nobody handled: refuse another role's command in words, else a hint."""
    actor = await context.actor(update)
    text = message_of(update).text or ""
    name = text.split()[0].lstrip("/").split("@")[0] if text.strip() else ""
    command = command_named(name)
    if command is not None and command.role is not None and command.role not in actor.roles:
        await message_of(update).reply_text(
            actor.t("error.role_required", role=actor.t(f"role.{command.role}"))
        )
        return
    await message_of(update).reply_text(actor.t("hint.unknown_command", command=f"/{name}"[:40]))


async def unknown_message(update: Update, context: BotContext) -> None:
    """Answer any other message with a short hint, never silence."""
    actor = await context.actor(update)
    key = "hint.unknown_text" if actor.user.registered else "hint.start_first"
    await message_of(update).reply_text(actor.t(key))
