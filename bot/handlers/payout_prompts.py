"""Handler room of the payout prompts: Hold and Mark paid on a /payouts page ask for a line of
text (the hold reason, the payment reference), each bound to its statement.

Every prompt is a message of its own; ``context.user_data`` keeps the open ones by that
message (``"CHAT_ID MESSAGE_ID"``), as JSON, so they survive a restart (``bot/persistence.py``)
and several can be open at once. A reply to a prompt answers that prompt's statement. A text
that replies to nothing goes to the only open prompt, and the answer says so; with several
open, the admin is asked to reply to one. A reply to a prompt whose statement moved on meanwhile
(approved, held or paid by another press) applies nothing and says where it stands.
"""

from __future__ import annotations

import logging
import warnings

from telegram import ForceReply, Message, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.context import Actor, BotContext
from bot.errors import InvalidInput, UserError
from bot.payouts import (
    awaiting_page,
    check_reviewer,
    check_step,
    get_statement,
    hold,
    mark_paid,
)
from bot.telegram_ui import (
    PAYOUT_HOLD,
    PAYOUT_PAID,
    message_of,
    show_payouts_page,
    statement_press,
    tell_worker_statement,
)
from bot.texts import refusal, step_text

log = logging.getLogger(__name__)

AWAITING_TEXT = 1  # conversation state: at least one prompt waits for its text
PROMPTS = "payout_prompts"
"""user_data key: ``{"CHAT_ID MESSAGE_ID": [prefix, statement_id, state, list_id, page]}``, the
open prompts by their message; ``state`` is the statement's when asked, ``list_id`` and ``page``
the /payouts message to redraw once answered."""
_LEGACY = "payout_prompt"  # before prompts were bound: [prefix, statement_id], one at a time
Prompt = list[object]


def _prompts(context: BotContext) -> dict[str, Prompt]:
    """The open prompts in ``user_data`` (one left by an older version becomes one of them)."""
    assert context.user_data is not None
    prompts: dict[str, Prompt] = context.user_data.setdefault(PROMPTS, {})
    legacy = context.user_data.pop(_LEGACY, None)
    if legacy:
        prompts["legacy"] = [legacy[0], legacy[1], None, None, 0]
    return prompts


def _key(message: Message) -> str:
    return f"{message.chat_id} {message.message_id}"


def _ids(prompts: dict[str, Prompt]) -> str:
    return ", ".join(f"#{prompt[1]}" for prompt in prompts.values())


def _end_if_none(context: BotContext) -> int:
    prompts = _prompts(context)
    if prompts:
        return AWAITING_TEXT
    assert context.user_data is not None
    context.user_data.pop(PROMPTS, None)
    return ConversationHandler.END


async def first_prompt(update: Update, context: BotContext) -> int | None:
    """Hold or Mark paid with no prompt open: forget prompts a timed-out conversation left."""
    _prompts(context).clear()
    return await another_prompt(update, context)


async def another_prompt(update: Update, context: BotContext) -> int | None:
    """Hold or Mark paid: ask for the reason or the payment reference in a prompt bound to the
    statement; a prompt already open for it stays the one (a double tap)."""
    query = update.callback_query
    assert query is not None
    prefix = (query.data or "").split(" ")[0]
    statement_id, page = statement_press(update, prefix)
    actor = await context.actor(update)
    actor.require("admin")
    statement = await get_statement(context.services.db, statement_id)
    check_reviewer(statement, actor.user.id)  # four-eyes, before asking for any text
    prompts = _prompts(context)
    if any(prompt[1] == statement.id for prompt in prompts.values()):
        await query.answer(actor.t("payouts.prompt_open", statement_id=statement.id))
        return AWAITING_TEXT
    check_step(statement, "held" if prefix == PAYOUT_HOLD else "paid")
    t = actor.t
    key = "payouts.ask_reason" if prefix == PAYOUT_HOLD else "payouts.ask_reference"
    pressed = message_of(update)
    asked = await pressed.reply_text(
        t(key, statement_id=statement.id, worker=statement.worker_name or statement.worker_id),
        reply_markup=ForceReply(selective=True),
    )
    prompts[_key(asked)] = [prefix, statement.id, statement.state, pressed.message_id, page]
    await query.answer(t("payouts.asked", statement_id=statement.id))
    return AWAITING_TEXT


def _choose(prompts: dict[str, Prompt], message: Message) -> tuple[str | None, bool]:
    """The open prompt a text answers, and whether it was chosen without a reply to it."""
    target = message.reply_to_message
    if target is not None and _key(target) in prompts:
        return _key(target), False
    if list(prompts) == ["legacy"]:
        return "legacy", True
    if target is None and len(prompts) == 1:
        return next(iter(prompts)), True
    return None, False


async def receive_text(update: Update, context: BotContext) -> int:
    """Apply the hold or the payment to the statement whose prompt the text answers."""
    actor = await context.actor(update)
    actor.require("admin")
    prompts = _prompts(context)
    message = message_of(update)
    key, guessed = _choose(prompts, message)
    t = actor.t
    if key is None:
        if not prompts:
            log.info("payout text from %s with no prompt open: conversation ended", actor.user.id)
            return _end_if_none(context)
        unbound = message.reply_to_message is None
        which = "payouts.prompt.which" if unbound else "payouts.prompt.not_open"
        await message.reply_text(t(which, count=len(prompts), ids=_ids(prompts)))
        return AWAITING_TEXT
    prompt = prompts.pop(key)
    try:
        await _apply(update, context, actor, prompt, guessed)
    except InvalidInput as error:  # an empty or too long text: the prompt stays open
        prompts[key] = prompt
        await message.reply_text(refusal(t, error))
    except UserError as error:  # four-eyes, a statement gone or past this step: prompt closed
        await message.reply_text(refusal(t, error))
    return _end_if_none(context)


async def _apply(
    update: Update, context: BotContext, actor: Actor, prompt: Prompt, guessed: bool
) -> None:
    prefix, statement_id, state_then, list_id, page = prompt
    assert isinstance(statement_id, int)
    services = context.services
    t = actor.t
    message = message_of(update)
    statement = await get_statement(services.db, statement_id)
    if state_then is not None and statement.state != state_then:
        # The press that moved it redrew the list already (or another admin's list).
        state = t(f"statement.state.{statement.state}")
        await message.reply_text(t("payouts.prompt.moved", statement_id=statement.id, state=state))
        return
    text = message.text or ""
    now = services.clock.now()
    if prefix == PAYOUT_HOLD:
        step = await hold(services.db, statement.id, reason=text, actor_id=actor.user.id, now=now)
    else:
        step = await mark_paid(
            services.db,
            statement.id,
            reference=text,
            actor_id=actor.user.id,
            now=now,
            tz=services.settings.timezone,
        )
    await _redraw_list(context, actor, message.chat_id, list_id, page)
    said = step_text(t, step)
    if guessed:
        said += "\n" + t("payouts.prompt.guessed", statement_id=statement.id)
    await message.reply_text(said)
    if step.changed:
        await tell_worker_statement(context, step.statement)


async def _redraw_list(
    context: BotContext, actor: Actor, chat_id: int, list_id: object, page: object
) -> None:
    """The /payouts message the prompt came from, redrawn with fresh states."""
    if not isinstance(list_id, int) or not isinstance(page, int):
        return
    fresh = await awaiting_page(context.services.db, page)
    await show_payouts_page(context, actor, fresh, chat_id, list_id)


async def cancel_text(update: Update, context: BotContext) -> int:
    """``/cancel``: as a reply to a prompt, that prompt; otherwise every open prompt."""
    actor = await context.actor(update)
    prompts = _prompts(context)
    target = message_of(update).reply_to_message
    if target is not None and _key(target) in prompts:
        statement_id = prompts.pop(_key(target))[1]
        text = actor.t("payouts.cancelled_one", statement_id=statement_id)
    else:
        prompts.clear()
        text = actor.t("payouts.cancelled")
    await message_of(update).reply_text(text)
    return _end_if_none(context)


async def timed_out(update: object, context: BotContext) -> None:
    """Ten minutes without a word: the prompts close (a later text is not taken for them)."""
    if context.user_data is not None:
        context.user_data.pop(PROMPTS, None)
        context.user_data.pop(_LEGACY, None)


def conversation() -> ConversationHandler:  # type: ignore[type-arg]
    """Hold and Mark paid ask for a line of text; the conversation is per admin and chat, and
    holds every open prompt of that admin (``PROMPTS``)."""
    pattern = rf"^({PAYOUT_HOLD}|{PAYOUT_PAID}) "
    with warnings.catch_warnings():
        # per_message=False is intended: the prompts are bound by their own message ids, and the
        # admin's text is matched to one of them here. PTB warns that buttons are then not
        # tracked per message, which is what we want.
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=[CallbackQueryHandler(first_prompt, pattern=pattern)],
            states={
                AWAITING_TEXT: [
                    MessageHandler(filters.TEXT & ~filters.COMMAND, receive_text),
                    CallbackQueryHandler(another_prompt, pattern=pattern),
                ],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
            },
            fallbacks=[CommandHandler("cancel", cancel_text)],
            conversation_timeout=600,
            name="payout-step",
            persistent=True,  # the prompts survive a restart (bot/persistence.py)
        )
