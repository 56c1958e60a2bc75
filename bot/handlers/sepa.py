"""Handler room of the SEPA payment file: the button under ``/exportpayouts``'s CSV makes a
pain.001 file of the month's approved statements with details (``bot/sepa.py``); the button
under that file marks it paid in one step, and each worker paid is told."""

from __future__ import annotations

import io

from telegram import InputFile, Update

from bot import sepa
from bot.callback_data import ascii_digits
from bot.context import BotContext
from bot.errors import InvalidInput
from bot.ledger import parse_month
from bot.telegram_ui import (
    SEPA_MAKE,
    SEPA_PAID,
    callback,
    callback_args,
    keyboard,
    message_of,
    refusals_told,
    tell_worker_statement,
)


@refusals_told
async def make_button(update: Update, context: BotContext) -> None:
    """Make the month's SEPA file and send it with its Mark paid button."""
    (raw_month,) = callback_args(update, SEPA_MAKE, 1)
    actor = await context.actor(update)
    actor.require("admin")
    services = context.services
    settings = services.settings
    if settings.sepa_debtor is None:
        raise InvalidInput("sepa.not_configured")
    exported = await sepa.export_sepa(
        services.db,
        parse_month(raw_month),
        debtor=settings.sepa_debtor,
        currency=settings.currency,
        actor_id=actor.user.id,
        now=services.clock.now(),
        tz=settings.timezone,
    )
    t = actor.t
    query = update.callback_query
    assert query is not None
    await query.answer()
    file = exported.file
    lines = [t("sepa.caption", count=exported.count, total=t.money(file.total), id=file.id)]
    if exported.missing_details:
        names = ", ".join(str(s.worker_name or s.worker_id) for s in exported.missing_details)
        lines.append(t("sepa.missing_details", count=len(exported.missing_details), names=names))
    if exported.own:
        lines.append(t("sepa.own_left_out", count=len(exported.own)))
    await message_of(update).reply_document(
        InputFile(io.BytesIO(exported.xml), filename=f"sepa-{file.month}-{file.id}.xml"),
        caption="\n".join(lines)[:1024],
        reply_markup=keyboard([[(t("sepa.button.paid"), callback(SEPA_PAID, file.id))]]),
    )


@refusals_told
async def paid_button(update: Update, context: BotContext) -> None:
    """Mark a SEPA file paid: every statement in it is paid once; a second press changes nothing."""
    (raw_id,) = callback_args(update, SEPA_PAID, 1)
    if not ascii_digits(raw_id):
        raise InvalidInput("error.bad_button")
    actor = await context.actor(update)
    actor.require("admin")
    services = context.services
    paid = await sepa.pay_sepa_file(
        services.db,
        int(raw_id),
        actor_id=actor.user.id,
        now=services.clock.now(),
        tz=services.settings.timezone,
    )
    t = actor.t
    query = update.callback_query
    assert query is not None
    if not paid.changed:
        await query.answer(t("sepa.already_paid", id=paid.file.id))
        return
    total = sum(s.amount for s in paid.paid)
    await query.answer(t("sepa.paid_toast", count=len(paid.paid)))
    await message_of(update).reply_text(
        t(
            "sepa.paid",
            id=paid.file.id,
            count=len(paid.paid),
            total=t.money(total),
            already=paid.already_paid,
        )
    )
    for statement in paid.paid:
        await tell_worker_statement(context, statement)
