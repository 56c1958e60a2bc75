"""Handler room of ``/payoutdetails``: a worker gives the account holder, then an IBAN (checked in
``bot/payout_details.py``); the bot answers with the IBAN masked and deletes the message that
carried it whole. The answers so far live in ``user_data`` as plain strings (persistable)."""

from __future__ import annotations

import logging

from telegram import ForceReply, Update
from telegram.error import BadRequest
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from bot import payout_details
from bot.context import BotContext
from bot.telegram_ui import message_of, refusals_told

log = logging.getLogger(__name__)

HOLDER, IBAN = range(2)
_KEY = "payoutdetails_holder"
_TEXT = filters.TEXT & ~filters.COMMAND


@refusals_told
async def start(update: Update, context: BotContext) -> int:
    """``/payoutdetails``: show what is on file (masked), then ask for the account holder."""
    actor = await context.actor(update)
    actor.require("worker")
    t = actor.t
    current = await payout_details.details_of(context.services.db, actor.user.id)
    lines = []
    if current is not None:
        masked = payout_details.mask_iban(current.iban)
        lines.append(t("payoutdetails.current", holder=current.holder, iban=masked))
    lines.append(t("payoutdetails.ask_holder"))
    await message_of(update).reply_text("\n\n".join(lines), reply_markup=ForceReply())
    return HOLDER


@refusals_told
async def got_holder(update: Update, context: BotContext) -> int:
    holder = payout_details.parse_holder(message_of(update).text or "")
    assert context.user_data is not None
    context.user_data[_KEY] = holder
    t = (await context.actor(update)).t
    await message_of(update).reply_text(t("payoutdetails.ask_iban"), reply_markup=ForceReply())
    return IBAN


@refusals_told
async def got_iban(update: Update, context: BotContext) -> int:
    """Check and store the IBAN; a refusal names the reason and asks again."""
    assert context.user_data is not None
    actor = await context.actor(update)
    services = context.services
    message = message_of(update)
    holder = str(context.user_data.get(_KEY, ""))
    saved = await payout_details.save_details(
        services.db,
        actor.user.id,
        holder=holder,
        iban_text=message.text or "",
        now=services.clock.now(),
    )
    context.user_data.pop(_KEY, None)
    try:  # the whole IBAN should not linger in the chat
        await message.delete()
    except BadRequest as error:
        log.info("IBAN message of %s not deleted: %s", actor.user.id, error.message)
    await message.chat.send_message(
        actor.t("payoutdetails.saved", holder=saved.holder, iban=saved.masked_iban)
    )
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    """``/cancel``: nothing is kept."""
    if context.user_data is not None:
        context.user_data.pop(_KEY, None)
    t = (await context.actor(update)).t
    await message_of(update).reply_text(t("payoutdetails.cancelled"))
    return ConversationHandler.END


def conversation() -> ConversationHandler[BotContext]:
    """Holder, then IBAN; per user and chat; before the catch-all handlers."""
    return ConversationHandler(
        entry_points=[CommandHandler("payoutdetails", start)],
        states={
            HOLDER: [MessageHandler(_TEXT, got_holder)],
            IBAN: [MessageHandler(_TEXT, got_iban)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        allow_reentry=True,
        conversation_timeout=900,
        name="payoutdetails",
    )
