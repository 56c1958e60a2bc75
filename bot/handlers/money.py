"""Handler room of money people see: /topup (admin), /balance (requester), /earnings (worker)."""

from __future__ import annotations

from telegram import Update

from bot.callback_data import parse_id
from bot.context import Actor, BotContext
from bot.errors import InvalidInput
from bot.funding import receipts
from bot.ledger import Transfer, requester_summary, top_up, worker_account, worker_earnings
from bot.money import parse_amount
from bot.payout_details import has_details
from bot.people import find_user, roles_of
from bot.telegram_ui import message_of


async def topup(update: Update, context: BotContext) -> None:
    """``/topup USER_ID AMOUNT``: add budget to a requester (admins, private chat)."""
    actor = await context.actor(update)
    actor.require("admin")
    args = context.args or []
    if len(args) < 2:
        raise InvalidInput("topup.usage")
    services = context.services
    settings = services.settings
    requester_id = parse_id(args[0], "topup.usage")
    amount = parse_amount(" ".join(args[1:]), settings.currency)
    if "requester" not in await roles_of(services.db, requester_id):
        raise InvalidInput("topup.not_a_requester", user_id=requester_id)
    message = message_of(update)
    posted = await top_up(
        services.db,
        requester_id=requester_id,
        amount=amount,
        actor_id=actor.user.id,
        # The command message is the business key: Telegram delivering it twice tops up once.
        key=f"topup:{message.chat.id}:{message.message_id}",
        now=services.clock.now(),
        tz=settings.timezone,
    )
    summary = await requester_summary(services.db, requester_id)
    t = actor.t
    await message.reply_text(
        t(
            "topup.done",
            user_id=requester_id,
            amount=t.money(amount),
            balance=t.money(summary.balance),
        )
    )
    if posted.created:
        await _tell_requester(context, requester_id, amount, summary.balance)


async def _tell_requester(
    context: BotContext, requester_id: int, amount: int, balance: int
) -> None:
    services = context.services
    user = await find_user(services.db, requester_id)
    if user is None:
        return
    t = services.translator(user.language, user.timezone)
    await context.bot.send_message(
        requester_id, t("topup.received", amount=t.money(amount), balance=t.money(balance))
    )


async def balance(update: Update, context: BotContext) -> None:
    """``/balance``: the requester's budget, what batches hold in escrow, the last transfers."""
    actor = await context.actor(update)
    actor.require("requester")
    summary = await requester_summary(context.services.db, actor.user.id)
    t = actor.t
    lines = [
        t("balance.available", amount=t.money(summary.balance)),
        t("balance.held", amount=t.money(summary.held), batches=len(summary.escrows)),
    ]
    lines.extend(
        t("balance.escrow_line", batch_id=e.batch_id, amount=t.money(e.amount))
        for e in summary.escrows
    )
    lines.append("")
    if summary.recent:
        lines.append(t("balance.recent"))
        lines.extend(
            _transfer_line(actor, transfer, summary.account) for transfer in summary.recent
        )
    else:
        lines.append(t("balance.no_transfers"))
    lines += await _receipt_lines(actor, context)
    await message_of(update).reply_text("\n".join(lines))


async def _receipt_lines(actor: Actor, context: BotContext) -> list[str]:
    """The requester's last Telegram payments, as receipts (issue 15)."""
    t = actor.t
    paid = await receipts(context.services.db, actor.user.id)
    if not paid:
        return []
    return ["", t("balance.receipts")] + [
        t(
            "balance.receipt_line",
            when=t.datetime(p.created_at),
            amount=t.money(p.amount),
            charge=p.telegram_charge_id,
        )
        for p in paid
    ]


async def earnings(update: Update, context: BotContext) -> None:
    """``/earnings``: this month's earnings, the cap left and its reset, last month's statement."""
    actor = await context.actor(update)
    actor.require("worker")
    settings = context.services.settings
    report = await worker_earnings(
        context.services.db,
        actor.user.id,
        now=context.services.clock.now(),
        tz=settings.timezone,
        cap=settings.monthly_cap,
    )
    t = actor.t
    lines = [
        t("earnings.month", month=t.month(report.month), amount=t.money(report.earned)),
        t("earnings.remaining", amount=t.money(report.remaining), cap=t.money(report.cap)),
        t("earnings.resets", date=t.date(report.resets_on)),
        t("earnings.unpaid", amount=t.money(report.balance)),
    ]
    statement = report.last_statement
    if statement is None:
        lines.append(t("earnings.no_statement", month=t.month(report.last_month)))
    else:
        lines.append(
            t(
                "earnings.statement",
                month=t.month(statement.month),
                amount=t.money(statement.amount),
                state=t(f"statement.state.{statement.state}"),
            )
        )
        if statement.state == "held" and statement.hold_reason:
            lines.append(t("earnings.hold_reason", reason=statement.hold_reason))
        if statement.state == "approved" and not await has_details(
            context.services.db, actor.user.id
        ):
            lines.append(t("earnings.details_missing"))
    if report.recent_credits:
        lines.extend(["", t("earnings.recent")])
        account = worker_account(actor.user.id)
        lines.extend(_transfer_line(actor, credit, account) for credit in report.recent_credits)
    await message_of(update).reply_text("\n".join(lines))


def _transfer_line(actor: Actor, transfer: Transfer, account: str) -> str:
    t = actor.t
    return t(
        "ledger.transfer_line",
        when=t.datetime(transfer.created_at),
        kind=t(f"ledger.kind.{transfer.kind}"),
        amount=t.money(transfer.signed_for(account)),
    )
