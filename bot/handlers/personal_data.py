"""Handler room of the worker's data rights (issue 12, item 11): /mydata sends a copy of
everything kept, /forgetme erases after a confirmation, and one button withdraws consent."""

from __future__ import annotations

import io

from telegram import InputFile, Update

from bot import personal_data
from bot.context import BotContext
from bot.engine.jobs import cancel_deadline, request_dispatch
from bot.errors import InvalidInput
from bot.telegram_ui import (
    WITHDRAW_CONSENT as WITHDRAW_CONSENT,
)
from bot.telegram_ui import callback, callback_args, keyboard, message_of, withdraw_keyboard

FORGET = "forget"  # "forget yes" erases, "forget no" cancels


async def mydata_command(update: Update, context: BotContext) -> None:
    """Send a JSON file with everything kept about the user (payout details masked)."""
    actor = await context.actor(update)
    services = context.services
    data = await personal_data.export(services.db, actor.user.id, now=services.clock.now())
    markup = withdraw_keyboard(actor) if actor.user.registered else None
    await message_of(update).reply_document(
        InputFile(io.BytesIO(data), filename=f"mydata-{actor.user.id}.json"),
        caption=actor.t("mydata.caption"),
        reply_markup=markup,
    )


async def forgetme_command(update: Update, context: BotContext) -> None:
    """Say what erasure removes and what it keeps, and ask for a confirmation."""
    actor = await context.actor(update)
    t = actor.t
    buttons = keyboard(
        [
            [(t("forgetme.confirm_button"), callback(FORGET, "yes"))],
            [(t("forgetme.cancel_button"), callback(FORGET, "no"))],
        ]
    )
    await message_of(update).reply_text(t("forgetme.ask"), reply_markup=buttons)


async def forget_button(update: Update, context: BotContext) -> None:
    """Erase (yes) or leave everything as it was (no); a repeated press changes nothing."""
    (choice,) = callback_args(update, FORGET, 1)
    if choice not in ("yes", "no"):
        raise InvalidInput("error.bad_button")
    actor = await context.actor(update)
    t = actor.t
    query = update.callback_query
    assert query is not None
    if choice == "no":
        await query.answer(t("forgetme.cancelled"))
        await query.edit_message_text(t("forgetme.cancelled"))
        return
    services = context.services
    done = await personal_data.forget(services.db, actor.user.id, now=services.clock.now())
    if not done.changed:
        await query.answer(t("forgetme.already"))
        return
    # Drafts held in memory go too; the rows were deleted in the erasure's transaction.
    context.application.drop_user_data(actor.user.id)
    context.application.drop_chat_data(actor.user.id)
    if done.released is not None:
        cancel_deadline(context.application, done.released.id)
        request_dispatch(context.application)  # the released item goes to someone else
    await query.answer(t("forgetme.done_short"))
    await query.edit_message_text(t("forgetme.done"))


async def withdraw_button(update: Update, context: BotContext) -> None:
    """Withdraw consent: no more pushes; /start offers to consent again."""
    callback_args(update, WITHDRAW_CONSENT, 1)
    actor = await context.actor(update)
    services = context.services
    changed = await personal_data.withdraw_consent(
        services.db, actor.user.id, now=services.clock.now()
    )
    query = update.callback_query
    assert query is not None
    key = "mydata.withdrawn" if changed else "mydata.already_withdrawn"
    await query.answer(actor.t(key), show_alert=True)
