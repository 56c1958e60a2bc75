"""Handler room of ``/newbatch``'s last steps: worked examples, gold answers, a preview of a task
as workers will see it, and a review where any answer can be changed before the draft is made.

The steps are states of the same persistent conversation (``bot/handlers/newbatch.py`` builds
it with ``last_steps``); what they keep is JSON in ``user_data`` (``bot/guided_draft.py``), the
rules are in ``bot/guided_review.py``. Choices are reply-keyboard buttons, as in the questions.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot import guided_review
from bot.context import Actor, BotContext
from bot.engine.render import preview
from bot.errors import InvalidInput
from bot.guided_draft import (
    EXAMPLE_ANSWER,
    EXAMPLE_FILE,
    EXAMPLE_WHY,
    GOLD,
    REVIEW,
    Draft,
    Pending,
)
from bot.guided_review import EXAMPLE_PREFIX, Worked
from bot.handlers import Flow, LastSteps
from bot.telegram_ui import check_size, keyboard, message_of, refusals_told
from bot.texts import problems_text

_TEXT = filters.TEXT & ~filters.COMMAND
_MEDIA = filters.PHOTO | filters.VOICE | filters.AUDIO | filters.Document.ALL


async def _show(message: Message, pending: Pending | None, text: str, markup: Any) -> None:
    """A sent file shown again as it came (a photo, a voice or audio message), with ``text``
    as its caption; only the text when there is none to show (a ZIP or a document)."""
    chat_id = message.chat_id
    bot = message.get_bot()
    if pending is None or pending.sent_as == "document":
        await bot.send_message(chat_id, text, reply_markup=markup)
    elif pending.sent_as == "photo":
        await bot.send_photo(chat_id, pending.file_id, caption=text, reply_markup=markup)
    elif pending.sent_as == "voice":
        await bot.send_voice(chat_id, pending.file_id, caption=text, reply_markup=markup)
    else:
        await bot.send_audio(chat_id, pending.file_id, caption=text, reply_markup=markup)


def last_steps(flow: Flow) -> LastSteps:
    """The examples, gold, preview and review steps, built on the questions' ``flow``."""

    async def actor(update: Update, context: BotContext) -> Actor:
        return await context.actor(update)

    def pressed(context: BotContext, update: Update, key: str) -> bool:
        text = (message_of(update).text or "").strip().casefold()
        return text in flow.in_any_language(context, key)

    def answer_markup(t: Any, draft: Draft, *extra: str) -> Any:
        labels = guided_review.answer_choices(draft.answers)
        rows = [list(labels[i : i + 3]) for i in range(0, len(labels), 3)]
        rows.append([t(key) for key in extra])
        return flow.choices(rows)

    # -- examples ---------------------------------------------------------------------------
    async def ask_example(update: Update, context: BotContext) -> int:
        t = (await actor(update, context)).t
        draft = flow.draft(context)
        text = t("newbatch.ask_example", count=len(draft.examples))
        await flow.ask(message_of(update), text, flow.choices([[t("newbatch.button.next")]]))
        return EXAMPLE_FILE

    @refusals_told
    async def got_example_file(update: Update, context: BotContext) -> int:
        draft = flow.draft(context)
        t = (await actor(update, context)).t
        guided_review.check_more_examples(len(draft.examples))
        pending = flow.pending_of(message_of(update), len(draft.examples) + 1)
        if pending.kind == "zip":
            raise InvalidInput("newbatch.example_not_zip")
        check_size(pending.size)
        pending.name = EXAMPLE_PREFIX + pending.name
        draft.add_example(pending)
        markup = answer_markup(t, draft)
        await flow.ask(message_of(update), t("newbatch.ask_example_answer"), markup)
        return EXAMPLE_ANSWER

    @refusals_told
    async def got_example_text(update: Update, context: BotContext) -> int:
        if pressed(context, update, "newbatch.button.next"):
            if flow.draft(context).editing:
                return await review(update, context)
            return await ask_gold(update, context)
        return await ask_example(update, context)

    @refusals_told
    async def got_example_answer(update: Update, context: BotContext) -> int:
        draft = flow.draft(context)
        t = (await actor(update, context)).t
        cell, problems = guided_review.parse_answer(draft.answers, message_of(update).text or "")
        if cell is None:
            await message_of(update).reply_text(problems_text(t, tuple(problems)))
            return EXAMPLE_ANSWER
        draft.set_example(answer=cell)
        await flow.ask(message_of(update), t("newbatch.ask_example_why"), None)
        return EXAMPLE_WHY

    @refusals_told
    async def got_example_why(update: Update, context: BotContext) -> int:
        draft = flow.draft(context)
        draft.set_example(why=guided_review.parse_why(message_of(update).text or ""))
        draft.keep_example()
        return await ask_example(update, context)

    # -- gold -------------------------------------------------------------------------------
    def gold_candidate(draft: Draft) -> tuple[int, Pending] | None:
        files = draft.files
        if not guided_review.gold_room(len(files), len(draft.gold)):
            return None
        for index in range(draft.gold_at, len(files)):
            if files[index].kind != "zip":
                return index, files[index]
        return None

    async def ask_gold(update: Update, context: BotContext) -> int:
        draft = flow.draft(context)
        found = gold_candidate(draft)
        if found is None:
            return await review(update, context)
        index, pending = found
        draft.gold_at = index
        t = (await actor(update, context)).t
        markup = answer_markup(t, draft, "newbatch.button.skip_item", "newbatch.button.gold_done")
        text = t("newbatch.ask_gold", name=pending.name, count=len(draft.gold))
        await _show(message_of(update), pending, text, markup)
        return GOLD

    @refusals_told
    async def got_gold(update: Update, context: BotContext) -> int:
        draft = flow.draft(context)
        t = (await actor(update, context)).t
        if pressed(context, update, "newbatch.button.gold_done"):
            return await review(update, context)
        if not pressed(context, update, "newbatch.button.skip_item"):
            text = message_of(update).text or ""
            cell, problems = guided_review.parse_answer(draft.answers, text)
            if cell is None:
                await message_of(update).reply_text(problems_text(t, tuple(problems)))
                return GOLD
            draft.add_gold(Worked(draft.files[draft.gold_at].name, cell))
        draft.gold_at = draft.gold_at + 1
        return await ask_gold(update, context)

    # -- preview and review -----------------------------------------------------------------
    async def review(update: Update, context: BotContext) -> int:
        """The preview of one task, then every answer with a button to change it."""
        draft = flow.draft(context)
        draft.editing = False
        who = await actor(update, context)
        t = who.t
        services = context.services
        spec = guided_review.settings_of(
            draft.answers, min_hourly_rate=services.settings.min_hourly_rate
        )
        deadline = services.clock.now() + timedelta(seconds=spec.time_limit)
        caption, rows = preview(
            t,
            spec,
            reward=spec.reward,
            time_limit=spec.time_limit,
            deadline=deadline,
            header=t("newbatch.preview_header"),
        )
        first = next((p for p in draft.files if p.kind != "zip"), None)
        markup: InlineKeyboardMarkup = keyboard(rows)
        await _show(message_of(update), first, caption, markup)
        text = guided_review.review_text(
            t,
            spec,
            draft.answers,
            files=len(draft.files),
            examples=len(draft.examples),
            gold=len(draft.gold),
        )
        fields = guided_review.editable(draft.answers)
        buttons = [t(f"newbatch.edit.{field}") for field in fields]
        rows_of = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
        rows_of.insert(0, [t("newbatch.button.create")])
        await flow.ask(message_of(update), text, flow.choices(rows_of))
        return REVIEW

    @refusals_told
    async def got_review(update: Update, context: BotContext) -> int | None:
        draft = flow.draft(context)
        if pressed(context, update, "newbatch.button.create"):
            return await flow.finish(update, context)
        for field in guided_review.editable(draft.answers):
            if pressed(context, update, f"newbatch.edit.{field}"):
                draft.editing = True
                if field == "examples":
                    draft.clear_examples()
                    return await ask_example(update, context)
                if field == "gold":
                    draft.clear_gold()
                    return await ask_gold(update, context)
                return await flow.reask(update, context, field)
        raise InvalidInput("newbatch.review_choose")

    states: dict[object, list[BaseHandler[Update, BotContext, Any]]] = {
        EXAMPLE_FILE: [
            MessageHandler(_MEDIA, got_example_file),
            MessageHandler(_TEXT, got_example_text),
        ],
        EXAMPLE_ANSWER: [MessageHandler(_TEXT, got_example_answer)],
        EXAMPLE_WHY: [MessageHandler(_TEXT, got_example_why)],
        GOLD: [MessageHandler(_TEXT, got_gold)],
        REVIEW: [MessageHandler(_TEXT, got_review, block=False)],
    }
    return LastSteps(states, ask_example, review)


async def preview_button(update: Update, context: BotContext) -> None:
    """A button of the preview: it does nothing, and says so."""
    query = update.callback_query
    if query is None:
        return
    t = (await context.actor(update)).t
    await query.answer(t("newbatch.preview_press"))
