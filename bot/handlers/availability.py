"""Handler room of worker availability: when tasks come (/availability, /quiet, /ready, /pause,
/resume, /timezone) and /task."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import InlineKeyboardMarkup, ReplyParameters, Update

from bot import worker_state
from bot.availability import (
    Window,
    format_windows,
    parse_quiet,
    parse_ready_minutes,
    parse_windows,
    toggle_windows,
)
from bot.context import Actor, BotContext
from bot.dispatch import Policy, availability_of, offer_on_request, push_status
from bot.engine.jobs import request_dispatch, show_task
from bot.engine.render import clock_time
from bot.errors import InvalidInput, PermissionDenied, UserError
from bot.i18n import Translator
from bot.people import choose_timezone
from bot.telegram_ui import callback, callback_args, keyboard, message_of
from bot.texts import refusal

AVAILABILITY = "avail"
QUIET = "quiet"

# Common choices offered as buttons by /availability (each toggles its windows).
PRESETS: dict[str, str] = {
    "morning": "mon-fri 07:30-09:00",
    "lunch": "mon-fri 12:00-14:00",
    "evening": "mon-fri 18:00-21:00",
    "weekend": "sat-sun 10:00-18:00",
}
QUIET_PRESETS = ("22:00-08:00", "21:00-07:00", "23:00-09:00", "off")


async def _worker(update: Update, context: BotContext) -> Actor:
    """The actor, if a registered worker; the refusal says how to become one."""
    actor = await context.actor(update)
    if not actor.user.registered:
        raise PermissionDenied("tasks.refused.not_registered")
    actor.require("worker")
    return actor


def _policy(context: BotContext) -> Policy:
    return Policy.from_settings(context.services.settings, context.services.quality)


async def _summary(context: BotContext, actor: Actor) -> str:
    """Where the worker stands: windows, quiet hours, /ready or pause, and whether tasks come."""
    services = context.services
    t = actor.t
    now = services.clock.now()
    record = await worker_state.availability_record(services.db, actor.user.id)
    rules = availability_of(record)
    lines = [
        t("availability.header", zone=str(t.timezone)),
        t(
            "availability.windows",
            windows=format_windows(rules.windows, t.language) or t("availability.none"),
        ),
        t(
            "availability.quiet",
            quiet=rules.quiet.format() if rules.quiet else t("availability.none"),
        ),
    ]
    if rules.paused:
        lines.append(t("availability.is_paused"))
    elif rules.is_ready(now) and rules.ready_until is not None:
        lines.append(t("availability.ready_until", until=t.time(rules.ready_until)))
    lines.append("")
    lines.append(await _now_line(context, actor))
    return "\n".join(lines)


async def _now_line(context: BotContext, actor: Actor) -> str:
    """One line: whether tasks are pushed now, and if not, why and until when."""
    services = context.services
    t = actor.t
    policy = _policy(context)
    now = services.clock.now()
    if await push_status(services.db, policy, actor.user.id, now) == "cap":
        return t("tasks.status.cap", reset=t.date(policy.next_month_start(now)))
    rules = availability_of(await worker_state.availability_record(services.db, actor.user.id))
    status = rules.status(now, t.timezone)
    if status == "quiet":
        ends = rules.quiet_ends(now, t.timezone)
        return t("availability.now_quiet", until=t.time(ends) if ends else "")
    if status == "off":
        start = rules.next_window_start(now, t.timezone)
        if start is not None:
            return t("availability.now_off_next", next=t.datetime(start))
    return t(f"tasks.status.{status}")


# -- /availability -----------------------------------------------------------------------------


def _availability_keyboard(t: Translator, windows: tuple[Window, ...]) -> InlineKeyboardMarkup:
    rows: list[list[tuple[str, str]]] = []
    for name, text in PRESETS.items():
        chosen = all(window in windows for window in parse_windows(text))
        label = ("✅ " if chosen else "") + t(f"availability.preset.{name}")
        rows.append([(label, callback(AVAILABILITY, name))])
    rows.append([(t("availability.clear"), callback(AVAILABILITY, "clear"))])
    return keyboard(rows)


async def availability(update: Update, context: BotContext) -> None:
    """Show or set weekly windows: ``/availability mon-fri 07:30-09:00, sat 10:00-12:00``."""
    actor = await _worker(update, context)
    services = context.services
    t = actor.t
    if context.args:
        windows = parse_windows(" ".join(context.args))
        await worker_state.keep_windows(
            services.db, actor.user.id, format_windows(windows), services.clock.now()
        )
        await message_of(update).reply_text(
            t("availability.saved", windows=format_windows(windows, t.language) or "—")
            + "\n"
            + await _now_line(context, actor)
        )
        request_dispatch(context.application)  # after the reply: it comes before any task
        return
    record = await worker_state.availability_record(services.db, actor.user.id)
    windows = availability_of(record).windows
    text = await _summary(context, actor) + "\n\n" + t("availability.how")
    await message_of(update).reply_text(text, reply_markup=_availability_keyboard(t, windows))


async def availability_button(update: Update, context: BotContext) -> None:
    """A common choice of /availability: toggle its windows (or clear them all)."""
    (choice,) = callback_args(update, AVAILABILITY, 1)
    if choice != "clear" and choice not in PRESETS:
        raise InvalidInput("error.bad_button")
    actor = await _worker(update, context)
    services = context.services
    t = actor.t
    query = update.callback_query
    assert query is not None
    current = availability_of(
        await worker_state.availability_record(services.db, actor.user.id)
    ).windows
    chosen = () if choice == "clear" else toggle_windows(current, parse_windows(PRESETS[choice]))
    if chosen == current:
        await query.answer(t("availability.unchanged"))
        return
    await worker_state.keep_windows(
        services.db, actor.user.id, format_windows(chosen), services.clock.now()
    )
    await query.answer(t("availability.updated"))
    request_dispatch(context.application)
    text = await _summary(context, actor) + "\n\n" + t("availability.how")
    await query.edit_message_text(text, reply_markup=_availability_keyboard(t, chosen))


# -- /quiet --------------------------------------------------------------------------------------


def _quiet_keyboard(t: Translator, current: str) -> InlineKeyboardMarkup:
    rows = [
        [
            (
                ("✅ " if choice == (current or "off") else "")
                + (t("availability.quiet_off") if choice == "off" else choice),
                callback(QUIET, choice),
            )
        ]
        for choice in QUIET_PRESETS
    ]
    return keyboard(rows)


async def quiet(update: Update, context: BotContext) -> None:
    """Show or set quiet hours: ``/quiet 22:00-08:00`` or ``/quiet off``."""
    actor = await _worker(update, context)
    services = context.services
    t = actor.t
    if context.args:
        hours = parse_quiet(" ".join(context.args))
        stored = hours.format() if hours else ""
        await worker_state.keep_quiet(services.db, actor.user.id, stored, services.clock.now())
        await message_of(update).reply_text(_quiet_saved(t, stored))
        request_dispatch(context.application)  # after the reply: it comes before any task
        return
    record = await worker_state.availability_record(services.db, actor.user.id)
    text = (
        t("availability.quiet", quiet=record.quiet or t("availability.none"))
        + "\n\n"
        + t("availability.quiet_how")
    )
    await message_of(update).reply_text(text, reply_markup=_quiet_keyboard(t, record.quiet))


def _quiet_saved(t: Translator, stored: str) -> str:
    return t("availability.quiet_saved", quiet=stored) if stored else t("availability.quiet_none")


async def quiet_button(update: Update, context: BotContext) -> None:
    """A quiet-hours choice."""
    (choice,) = callback_args(update, QUIET, 1)
    if choice not in QUIET_PRESETS:
        raise InvalidInput("error.bad_button")
    actor = await _worker(update, context)
    services = context.services
    t = actor.t
    query = update.callback_query
    assert query is not None
    stored = "" if choice == "off" else choice
    record = await worker_state.availability_record(services.db, actor.user.id)
    if record.quiet == stored:
        await query.answer(t("availability.unchanged"))
        return
    await worker_state.keep_quiet(services.db, actor.user.id, stored, services.clock.now())
    await query.answer(t("availability.updated"))
    request_dispatch(context.application)
    await query.edit_message_text(_quiet_saved(t, stored), reply_markup=_quiet_keyboard(t, stored))


# -- /ready, /pause, /resume ------------------------------------------------------------------


async def ready(update: Update, context: BotContext) -> None:
    """``/ready [minutes]``: push tasks now for a while (30 minutes by default); ends a pause."""
    actor = await _worker(update, context)
    services = context.services
    t = actor.t
    minutes = parse_ready_minutes(context.args or [])
    now = services.clock.now()
    until = now + timedelta(minutes=minutes)
    await worker_state.ready_until(services.db, actor.user.id, until, now)
    text = t("availability.ready", until=t.time(until), minutes=minutes)
    now_line = await _now_line(context, actor)
    if now_line != t("tasks.status.available"):
        text += "\n" + now_line
    await message_of(update).reply_text(text)
    request_dispatch(context.application)


async def pause(update: Update, context: BotContext) -> None:
    """``/pause``: no more pushes until /resume (a task on screen stays yours until its time)."""
    actor = await _worker(update, context)
    services = context.services
    t = actor.t
    changed = await worker_state.pause(services.db, actor.user.id, "worker", services.clock.now())
    text = t("availability.paused" if changed else "availability.already_paused")
    active = await worker_state.active_assignment(services.db, actor.user.id)
    if active is not None and active.deadline is not None:
        text += "\n" + t("availability.task_stays", deadline=clock_time(t, active.deadline))
    await message_of(update).reply_text(text)


async def resume(update: Update, context: BotContext) -> None:
    """``/resume``: pushes again, in the worker's windows or /ready period."""
    actor = await _worker(update, context)
    services = context.services
    t = actor.t
    changed = await worker_state.pause(services.db, actor.user.id, None, services.clock.now())
    text = t("availability.resumed" if changed else "availability.not_paused")
    await message_of(update).reply_text(text + "\n" + await _now_line(context, actor))
    request_dispatch(context.application)


# -- /task -----------------------------------------------------------------------------------------


async def task(update: Update, context: BotContext) -> None:
    """``/task``: one task now, even outside windows; refused with the reason when it cannot."""
    actor = await _worker(update, context)
    services = context.services
    t = actor.t
    message = message_of(update)
    active = await worker_state.active_assignment(services.db, actor.user.id)
    if active is not None:
        reply = (
            ReplyParameters(active.message_id, allow_sending_without_reply=True)
            if active.message_id is not None
            else None
        )
        await message.reply_text(t("tasks.refused.already_active"), reply_parameters=reply)
        return
    with services.runtime.handling(actor.user.id):
        try:
            offer = await offer_on_request(
                services.db, _policy(context), actor.user.id, services.clock.now()
            )
        except UserError as error:
            await message.reply_text(refusal(t, error))
            return
        if not await show_task(context.application, offer):
            await message.reply_text(t("tasks.not_sent"))


# -- /timezone ---------------------------------------------------------------------------------


async def timezone(update: Update, context: BotContext) -> None:
    """``/timezone Europe/London``: the zone of windows, quiet hours and shown times."""
    actor = await _worker(update, context)
    services = context.services
    t = actor.t
    now = services.clock.now()
    if not context.args:
        await message_of(update).reply_text(
            t("timezone.current", zone=str(t.timezone), time=t.time(now))
        )
        return
    name = context.args[0].strip()
    if name.lower() in {"default", "reset", "défaut", "defaut"}:
        chosen: str | None = None
        zone = services.settings.timezone
    else:
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput("timezone.unknown", zone=name[:40]) from None
        chosen = name
    await choose_timezone(services.db, actor.user.id, chosen, now)
    shown = services.translator(actor.user.language, chosen)
    await message_of(update).reply_text(shown("timezone.set", zone=str(zone), time=shown.time(now)))
    request_dispatch(context.application)
