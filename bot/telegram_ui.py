"""Shared Telegram UI room of the handlers: button data, keyboards, replies, telling a refusal,
who asks about a batch, file downloads, the draft summary both batch paths end in, and the
command menus. Handler modules share code only through this module (never each other)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ConversationHandler

from bot import batches, guided, people
from bot.batches import Summary, Viewer
from bot.callback_data import ascii_digits, numeric_args, parse_id, split_callback
from bot.callback_data import callback as callback
from bot.commands import commands_for
from bot.context import Actor, BotContext, Services
from bot.engine.telegram_errors import expected
from bot.errors import InvalidInput, UserError
from bot.guided_draft import Pending, SentAs
from bot.i18n import LANGUAGES, Translator
from bot.intake.gate import prepare_off_loop
from bot.intake.prepare import PreparedBatch
from bot.payouts import Page, Statement
from bot.texts import refusal, summary_text

log = logging.getLogger(__name__)

R = TypeVar("R")

# Callback data of the draft summary's buttons: "PREFIX BATCH_ID" (STYLE.md 6).
PUBLISH = "bpub"
DISCARD = "bdis"

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
"""Telegram lets a bot download files of at most 20 MB."""


# Buttons and replies -----------------------------------------------------------------------------


def callback_args(update: Update, prefix: str, count: int) -> list[str]:
    """The arguments of ``"PREFIX a b"`` callback data; ``InvalidInput`` if malformed or forged."""
    query = update.callback_query
    return split_callback(query.data if query is not None else None, prefix, count)


def callback_ids(update: Update, prefix: str, count: int) -> list[int]:
    """The numeric ids of ``"PREFIX 12 3"`` callback data; ``InvalidInput`` if forged."""
    return numeric_args(callback_args(update, prefix, count))


def button_batch_id(update: Update, prefix: str) -> int:
    """The batch id of ``"PREFIX BATCH_ID"`` callback data; ``InvalidInput`` if forged."""
    (raw,) = callback_args(update, prefix, 1)
    return parse_id(raw, "error.bad_button")


def conversation_waiting(context: BotContext, update: Update) -> bool:
    """True when a conversation waits for this update's sender in this chat and would take it
    (``/newbatch``, a hold reason, a payment reference...): its answer is the conversation's."""
    for handlers in context.application.handlers.values():
        for handler in handlers:
            if isinstance(handler, ConversationHandler) and handler.check_update(update):
                return True
    return False


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of ``(text, callback_data)``."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def message_of(update: Update) -> Message:
    """The message an update is about (the sent message, or the one a button was on)."""
    message = update.effective_message
    if message is None:
        raise ValueError("update carries no message")
    return message


async def translator_for(services: Services, user_id: int) -> Translator:
    """A translator in another user's language and zone (English if they never wrote)."""
    user = await people.find_user(services.db, user_id)
    return services.translator(user.language if user else "en", user.timezone if user else None)


# Onboarding's first step (shown by the consent handler, answered by handlers/onboarding) ------

ONBOARD_LANGUAGE = "obl"


def onboarding_language_keyboard(t: Translator) -> InlineKeyboardMarkup:
    """Français / English, the first one-tap choice after consent."""
    return keyboard(
        [[(t(f"language.name.{code}"), callback(ONBOARD_LANGUAGE, code))] for code in LANGUAGES]
    )


# Refusals ----------------------------------------------------------------------------------------


async def tell_refusal(update: Update, context: BotContext, error: UserError) -> None:
    """Tell the user why: an alert on a pressed button, else a reply."""
    t = (await context.actor(update)).t
    text = refusal(t, error)
    if update.callback_query is not None:
        await update.callback_query.answer(text[:200], show_alert=True)
    else:
        await message_of(update).reply_text(text)


def refusals_told(
    handler: Callable[[Update, BotContext], Coroutine[Any, Any, R]],
) -> Callable[[Update, BotContext], Coroutine[Any, Any, R | None]]:
    """Answer a ``UserError`` of the handler in the user's language (states, problems, money).

    In a conversation the handler then returns None: the conversation stays where it was, so
    the user can simply try again.
    """

    @functools.wraps(handler)
    async def wrapper(update: Update, context: BotContext) -> R | None:
        try:
            return await handler(update, context)
        except UserError as error:
            await tell_refusal(update, context, error)
            return None

    return wrapper


# Who asks about a batch --------------------------------------------------------------------------


def viewer_of(actor: Actor) -> Viewer:
    """A requester (their own batches) or an admin (every batch); anyone else is refused."""
    if actor.has("admin"):
        actor.require("admin")  # admin actions only in a private chat
        return Viewer(actor.user.id, is_admin=True)
    actor.require("requester")
    return Viewer(actor.user.id)


def creator_of(actor: Actor) -> Viewer:
    """Creating and publishing spend a requester's budget: the requester role is needed."""
    actor.require("requester")
    return Viewer(actor.user.id, is_admin=actor.has("admin"))


# Downloads and the draft summary (a ZIP and /newbatch both end here) -----------------------------


def _too_big() -> InvalidInput:
    return InvalidInput("batches.file_too_big", limit_mb=MAX_DOWNLOAD_BYTES // (1024 * 1024))


def check_size(size: int | None) -> None:
    """Refuse a file above the 20 MB Telegram lets a bot download, before trying."""
    if size is not None and size > MAX_DOWNLOAD_BYTES:
        raise _too_big()


async def download(context: BotContext, file_id: str, size: int | None) -> bytes:
    """A file the user sent, through getFile; refused above Telegram's 20 MB for bots."""
    check_size(size)
    try:
        telegram_file = await context.bot.get_file(file_id)
    except BadRequest as error:
        if "too big" in error.message.lower():
            raise _too_big() from None
        raise
    return bytes(await telegram_file.download_as_bytearray())


def draft_buttons(t: Translator, summary: Summary) -> InlineKeyboardMarkup:
    batch_id = summary.batch.id
    return keyboard(
        [
            [
                (
                    t("batches.button.publish", cost=t.money(summary.cost)),
                    callback(PUBLISH, batch_id),
                )
            ],
            [(t("batches.button.discard"), callback(DISCARD, batch_id))],
        ]
    )


async def send_summary(message: Message, context: BotContext, actor: Actor, batch_id: int) -> None:
    """Reply with a draft's summary and its Publish and Discard buttons."""
    services = context.services
    batch = await batches.batch_for(services.db, batch_id, creator_of(actor))
    rate = services.settings.min_hourly_rate
    summary = await batches.summarise(services.db, batch, min_hourly_rate=rate)
    await message.reply_text(
        summary_text(actor.t, summary, rate), reply_markup=draft_buttons(actor.t, summary)
    )


async def draft_from(
    context: BotContext, actor: Actor, data: bytes, *, origin: batches.Origin
) -> int:
    """Check an upload (``BatchRejected`` names every problem) and store it as a draft.

    Uploads wait their turn at the intake gate (the requester is told when they must wait) and
    are checked off the event loop (``bot/intake/gate.py``).
    """
    services = context.services
    ahead = services.intake.ahead(actor.user.id)
    if ahead:
        await context.bot.send_message(actor.user.id, actor.t("crowd.upload_queued", ahead=ahead))
    async with services.intake.turn(actor.user.id):
        prepared: PreparedBatch = await prepare_off_loop(
            data,
            data_dir=services.settings.data_dir,
            min_hourly_rate=services.settings.min_hourly_rate,
            limits=services.settings.intake,
        )
    return await batches.create_draft(
        services.db,
        prepared,
        requester_id=actor.user.id,
        origin=origin,
        now=services.clock.now(),
    )


# The worker's data rights (handlers/personal_data.py; also on a registered worker's /start) ----

WITHDRAW_CONSENT = "consentoff"  # "consentoff me": no more pushes until they consent again


def withdraw_keyboard(actor: Actor) -> InlineKeyboardMarkup:
    """The one button that withdraws consent."""
    return keyboard([[(actor.t("mydata.withdraw_button"), callback(WITHDRAW_CONSENT, "me"))]])


# Command menus -----------------------------------------------------------------------------------


def _menu(t: Translator, roles: frozenset[str]) -> list[BotCommand]:
    return [BotCommand(c.name, t(c.description_key)) for c in commands_for(roles)]  # type: ignore[arg-type]


async def publish_menus(bot: Bot, services: Services) -> None:
    """Set the default menu (worker commands) per language and a menu per admin and requester."""
    for language in LANGUAGES:
        t = services.translator(language)
        try:
            await bot.set_my_commands(
                _menu(t, frozenset({"worker"})),
                scope=BotCommandScopeDefault(),
                language_code=None if language == "en" else language,
            )
        except TelegramError as exc:  # a menu is no reason to stop the bot (fault run)
            log.warning("default %s command menu not published: %s", language, exc)
    staff = set(await people.ids_with_role(services.db, "admin"))
    staff |= set(await people.ids_with_role(services.db, "requester"))
    for user_id in sorted(staff):
        await publish_chat_menu(bot, services, user_id)


async def publish_chat_menu(bot: Bot, services: Services, user_id: int) -> None:
    """Set the menu of one private chat from the user's roles, in their language."""
    user = await people.find_user(services.db, user_id)
    t = services.translator(user.language if user else "en", user.timezone if user else None)
    roles = await people.roles_of(services.db, user_id) | {"worker"}
    try:
        await bot.set_my_commands(_menu(t, roles), scope=BotCommandScopeChat(user_id))
    except (BadRequest, Forbidden) as exc:  # a chat that never wrote to the bot
        log.info("no command menu for chat %s: %s", user_id, exc)
    except TelegramError as exc:  # 5xx, timeouts, flood control: the next start tries again
        log.warning("command menu of chat %s not published: %s", user_id, exc)


# Payouts shared by the admin's handlers: the /payouts page, telling a worker, the SEPA offer ------

SEPA_MAKE = "sepa_make"
SEPA_PAID = "sepa_paid"
# The buttons of a /payouts page (STYLE 6); PAGE counts from 0, ids are ASCII digits.
PAYOUT_APPROVE = "pay_ok"  # "pay_ok STATEMENT_ID PAGE"
PAYOUT_HOLD = "pay_hold"  # "pay_hold STATEMENT_ID PAGE": asks for the reason
PAYOUT_PAID = "pay_paid"  # "pay_paid STATEMENT_ID PAGE": asks for the payment reference
PAYOUT_PAGE = "pay_pg"  # "pay_pg PAGE": another page
PAYOUT_APPROVE_ALL = "pay_all"  # "pay_all FIRST_ID LAST_ID PAGE": the page's pending statements
REASON_SHOWN = 80
"""Characters of a hold reason shown on a /payouts line (the worker was told all of it)."""
_NEXT_STEPS: dict[str, list[tuple[str, str]]] = {
    "pending": [("payouts.button.approve", PAYOUT_APPROVE), ("payouts.button.hold", PAYOUT_HOLD)],
    "held": [("payouts.button.approve", PAYOUT_APPROVE)],
    "approved": [("payouts.button.paid", PAYOUT_PAID), ("payouts.button.hold", PAYOUT_HOLD)],
}


def statement_press(update: Update, prefix: str) -> tuple[int, int]:
    """The statement id and the page of a statement's button, ``"PREFIX ID PAGE"``; a button of
    a message from before the paged list, ``"PREFIX ID"``, means the first page."""
    query = update.callback_query
    count = 1 if query is not None and len((query.data or "").split(" ")) == 2 else 2
    args = callback_args(update, prefix, count)
    statement_id = parse_id(args[0], "error.bad_button")
    (page,) = numeric_args(args[1:]) if count == 2 else (0,)
    return statement_id, page


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _payout_line(actor: Actor, statement: Statement) -> str:
    t = actor.t
    text = t(
        "payouts.line",
        statement_id=statement.id,
        worker=statement.worker_name or "?",
        worker_id=statement.worker_id,
        month=t.month(statement.month),
        amount=t.money(statement.amount),
        state=t(f"statement.state.{statement.state}"),
    )
    if statement.worker_id == actor.user.id:
        text += " " + t("payouts.line.yours")
    if statement.state == "held" and statement.hold_reason:
        reason = _shorten(statement.hold_reason, REASON_SHOWN)
        text += "\n    " + t("payouts.hold_reason", reason=reason)
    if statement.reference:
        reference = _shorten(statement.reference, REASON_SHOWN)
        text += "\n    " + t("payouts.reference", reference=reference)
    return text


def payouts_page_view(actor: Actor, page: Page) -> tuple[str, InlineKeyboardMarkup | None]:
    """A /payouts page: a line per statement, a row of next steps per statement (none on the
    admin's own: four-eyes), "approve all on this page" when the admin may approve one of the
    page's pending statements, Previous/Next."""
    t = actor.t
    me = actor.user.id
    if not page.statements:
        return t("payouts.none"), None
    header = t("payouts.page.header", count=page.total, page=page.number + 1, pages=page.pages)
    lines = [header, *(_payout_line(actor, statement) for statement in page.statements)]
    rows: list[list[tuple[str, str]]] = []
    for statement in page.statements:
        if statement.worker_id == me:
            continue
        steps = _NEXT_STEPS.get(statement.state, [])
        rows.append(
            [
                (t(key, statement_id=statement.id), callback(prefix, statement.id, page.number))
                for key, prefix in steps
            ]
        )
    id_range = page.id_range
    approvable = [s for s in page.statements if s.state == "pending" and s.worker_id != me]
    if id_range is not None and approvable:
        first, last = id_range
        approve_all = callback(PAYOUT_APPROVE_ALL, first, last, page.number)
        rows.append([(t("payouts.button.approve_all"), approve_all)])
    turns = []
    if page.number > 0:
        turns.append((t("payouts.button.previous"), callback(PAYOUT_PAGE, page.number - 1)))
    if page.number + 1 < page.pages:
        turns.append((t("payouts.button.next"), callback(PAYOUT_PAGE, page.number + 1)))
    if turns:
        rows.append(turns)
    return "\n".join(lines), keyboard([row for row in rows if row]) if rows else None


async def show_payouts_page(
    context: BotContext, actor: Actor, page: Page, chat_id: int, message_id: int
) -> None:
    """Redraw a /payouts list message in place; an edit that changes nothing, or a message
    gone, is a normal day (logged)."""
    text, markup = payouts_page_view(actor, page)
    try:
        await context.bot.edit_message_text(
            text, chat_id=chat_id, message_id=message_id, reply_markup=markup
        )
    except BadRequest as error:
        if not expected(error):
            raise
        log.info("payouts list %s not redrawn: %s", message_id, error.message)


async def tell_worker_statement(context: BotContext, statement: Statement) -> None:
    """Tell a worker their statement took a step (approved, held with the reason, paid)."""
    services = context.services
    worker = await people.find_user(services.db, statement.worker_id)
    if worker is None:
        return
    t = services.translator(worker.language, worker.timezone)
    text = t(
        f"statement.told.{statement.state}",
        month=t.month(statement.month),
        amount=t.money(statement.amount),
        reason=statement.hold_reason or "",
        reference=statement.reference or "",
    )
    try:
        await context.bot.send_message(statement.worker_id, text)
    except Forbidden:
        log.info(
            "worker %s blocked the bot; statement %s news not delivered", worker.id, statement.id
        )


def sepa_offer(t: Translator, services: Services, month: str) -> InlineKeyboardMarkup | None:
    """The SEPA file button under a payouts CSV, when the platform's bank account is set."""
    if services.settings.sepa_debtor is None:
        return None
    return keyboard([[(t("sepa.button.make"), callback(SEPA_MAKE, month))]])


# Commands that need a batch id, given none: the choice as buttons --------------------------------

WORKER_LIST = "wkl"
"""Callback data ``"wkl BATCH_ID"``: the Per worker button under ``/results`` (issue 15)."""

PICK = "bpick"
PICK_LIMIT = 8
"""Batches offered as buttons (newest first); more are reached with ``/batches``."""

# Which batches each command may act on (None: any state).
PICKABLE: dict[str, tuple[str, ...] | None] = {
    "batch": None,
    "pausebatch": ("open",),
    "resumebatch": ("paused",),
    "cancelbatch": ("draft", "open", "paused"),
    "results": ("open", "paused", "done", "cancelled"),
    "bonus": ("open", "paused", "done"),
}

BatchCommand = Callable[[Update, BotContext], Coroutine[Any, Any, Any]]


async def offer_batch_choice(update: Update, context: BotContext, command: str) -> bool:
    """``/command`` with no id: offer the viewer's batches as buttons; False when an id was given.

    Each button's data is ``"bpick COMMAND ID"``; the press runs the command with that id, and
    the command checks the batch again, as it does for a typed id.
    """
    if context.args:
        return False
    actor = await context.actor(update)
    lines = await batches.list_batches(context.services.db, viewer_of(actor))
    states = PICKABLE.get(command)
    fitting = [line.batch for line in lines if states is None or line.batch.state in states]
    t = actor.t
    if not fitting:
        await message_of(update).reply_text(t("pick.none", command=command))
        return True
    rows = [
        [(f"#{batch.id} {batch.title}"[:40], callback(PICK, command, batch.id))]
        for batch in fitting[:PICK_LIMIT]
    ]
    await message_of(update).reply_text(
        t("pick.which", command=command), reply_markup=keyboard(rows)
    )
    return True


def pick_handler(commands: dict[str, BatchCommand]) -> BatchCommand:
    """The ``bpick`` button: run the chosen command with the chosen batch id."""

    async def pick(update: Update, context: BotContext) -> None:
        command, raw_id = callback_args(update, PICK, 2)
        handler = commands.get(command)
        if handler is None or not ascii_digits(raw_id):
            raise InvalidInput("error.bad_button")
        query = update.callback_query
        assert query is not None
        context.args = [raw_id]
        # The command unwrapped: its refusal is told here, as an alert on the press.
        await getattr(handler, "__wrapped__", handler)(update, context)
        await query.answer()

    return refusals_told(pick)


# What a media message brings to a guided /newbatch draft ----------------------------------------


def pending_of(message: Message, number: int) -> Pending:
    """What a media message brings: its file, the name it gets in the batch, and its kind."""
    if message.photo:
        photo = message.photo[-1]  # the largest size
        name = guided.upload_name(number, None, "photo.jpg")
        return Pending(photo.file_id, name, "image", photo.file_size, "photo")
    if message.voice is not None:
        voice = message.voice
        name = guided.upload_name(number, None, "voice.ogg")
        return Pending(voice.file_id, name, "audio", voice.file_size, "voice")
    media = message.audio or message.document
    if media is None:
        raise InvalidInput("newbatch.file_unsupported")
    default = "audio.mp3" if message.audio is not None else "file"
    name = guided.upload_name(number, media.file_name, default)
    kind = guided.kind_of(name)
    if kind is None:
        raise InvalidInput("newbatch.file_unsupported")
    sent_as: SentAs = "audio" if message.audio is not None else "document"
    return Pending(media.file_id, name, kind, media.file_size, sent_as)
