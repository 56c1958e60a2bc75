"""Handler room of onboarding: after consent, the language, the time zone and "when are you
free?", each one tap on the same message; the last tap may bring the first task at once."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import InlineKeyboardMarkup, Update

from bot import onboarding, people
from bot.context import Actor, BotContext
from bot.engine.jobs import request_dispatch
from bot.errors import InvalidInput, PermissionDenied
from bot.i18n import LANGUAGES, Translator
from bot.telegram_ui import ONBOARD_LANGUAGE, callback, callback_args, keyboard

ZONE = "obz"
FREE = "obf"


async def _worker(update: Update, context: BotContext) -> Actor:
    actor = await context.actor(update)
    if not actor.user.registered:
        raise PermissionDenied("tasks.refused.not_registered")
    return actor


def _zone_keyboard(t: Translator, default_zone: str) -> InlineKeyboardMarkup:
    zones = onboarding.zones_for(t.language, default_zone)
    rows = [
        [(onboarding.zone_label(zone), callback(ZONE, zone)) for zone in zones[i : i + 2]]
        for i in range(0, len(zones), 2)
    ]
    rows.append([(t("onboarding.zone.other"), callback(ZONE, onboarding.OTHER_ZONE))])
    return keyboard(rows)


def _free_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [(t(f"onboarding.free.{choice}"), callback(FREE, choice))]
            for choice in onboarding.FREE_CHOICES
        ]
    )


async def language_chosen(update: Update, context: BotContext) -> None:
    """Step 1: keep the language, then offer time zones likely for it."""
    (code,) = callback_args(update, ONBOARD_LANGUAGE, 1)
    actor = await _worker(update, context)
    if code not in LANGUAGES:
        raise InvalidInput("error.bad_button")
    services = context.services
    await people.choose_language(services.db, actor.user.id, code, services.clock.now())
    t = services.translator(code, actor.user.timezone)
    query = update.callback_query
    assert query is not None
    await query.answer(t("language.set"))
    await query.edit_message_text(
        t("onboarding.zone", zone=str(t.timezone)),
        reply_markup=_zone_keyboard(t, services.settings.timezone.key),
    )


async def zone_chosen(update: Update, context: BotContext) -> None:
    """Step 2: keep the zone (or explain /timezone for another), then ask when they are free."""
    (name,) = callback_args(update, ZONE, 1)
    actor = await _worker(update, context)
    services = context.services
    now = services.clock.now()
    query = update.callback_query
    assert query is not None
    if name == onboarding.OTHER_ZONE:
        t = actor.t
        intro = t("onboarding.zone.how_other", zone=str(t.timezone))
    else:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput("timezone.unknown", zone=name[:40]) from None
        await people.choose_timezone(services.db, actor.user.id, name, now)
        t = services.translator(actor.user.language, name)
        intro = t("timezone.set", zone=name, time=t.time(now))
    await query.answer()
    await query.edit_message_text(
        intro + "\n\n" + t("onboarding.free"), reply_markup=_free_keyboard(t)
    )


async def free_chosen(update: Update, context: BotContext) -> None:
    """Step 3: keep when the worker is free; tasks come at once when that is now."""
    (raw,) = callback_args(update, FREE, 1)
    actor = await _worker(update, context)
    choice = next((c for c in onboarding.FREE_CHOICES if c == raw), None)
    if choice is None:
        raise InvalidInput("error.bad_button")
    services = context.services
    t = actor.t
    chosen = await onboarding.apply_free(services.db, actor.user.id, choice, services.clock.now())
    if chosen.ready_until is not None:
        text = t("onboarding.done.now", until=t.time(chosen.ready_until))
    elif choice == "custom":
        text = t("onboarding.done.custom")
    else:
        text = t(f"onboarding.done.{choice}")
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text(text + "\n\n" + t("onboarding.done.help"))
    request_dispatch(context.application)
