"""Handler room of failures, the global error handler: log first, then tell the user in their
language (``bot.texts.refusal``), and the admins (grouped per kind, through the outbox at the
lowest priority: ``bot/engine/alerts.py``). Telegram's expected errors are handled where they
happen (``bot/engine/telegram_errors.py``); one that still arrives here is only logged."""

from __future__ import annotations

import logging
import secrets

from telegram import Update
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.context import BotContext, load_actor
from bot.engine.telegram_errors import expected, unreachable
from bot.errors import UserError
from bot.i18n import Translator, language_for
from bot.texts import refusal

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Render a ``UserError`` for the user; log anything else with a reference and keep running."""
    error = context.error
    if not isinstance(update, Update):
        if error is not None and unreachable(error):
            # A poll or a job that found Telegram out of reach: PTB tries again by itself.
            log.warning("Telegram was not reachable outside an update: %s", error)
        else:
            log.error("error outside an update", exc_info=error)
        return
    if isinstance(error, UserError):
        t = await _translator(update, context)
        await _tell_user(update, context, refusal(t, error))
        return
    if error is not None and expected(error):
        log.info("update %s: %s", update.update_id, error)
        return
    if error is not None and unreachable(error):
        log.warning(
            "Telegram was not reachable while handling update %s: %s", update.update_id, error
        )
        return
    reference = secrets.token_hex(3).upper()
    log.error("unexpected error %s on update %s", reference, update.update_id, exc_info=error)
    t = await _translator(update, context)
    await _tell_user(update, context, t.render("error.internal", {"reference": reference}))
    _tell_admins(context, reference, type(error).__name__)


async def _translator(update: Update, context: BotContext) -> Translator:
    try:
        return (await load_actor(context.services, update)).t
    except Exception:  # the database itself may be what failed
        sender = update.effective_user
        return context.services.translator(language_for(sender.language_code if sender else None))


async def _tell_user(update: Update, context: BotContext, text: str) -> None:
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text[:200], show_alert=True)
        elif update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, text)
    except (BadRequest, Forbidden) as exc:
        log.info("could not tell user about an error: %s", exc)
    except TelegramError as exc:  # out of reach (a timeout, a 5xx, a 429): told nothing more
        log.warning("could not tell user about an error, Telegram out of reach: %s", exc)


def _tell_admins(context: BotContext, reference: str, kind: str) -> None:
    alerts = context.services.alerts
    if alerts is None:
        log.warning("no admin alerts yet; error %s (%s) only logged", reference, kind)
        return
    alerts.report(kind, reference)
