"""Engine room, what follows a worker's action: the next task after an answer or a skip (in as
few calls as possible), the ticks of a multiple-choice task, a pause, and the news an answer
brings (a paused type, items completed early, a batch done)."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Message
from telegram.error import Forbidden, TelegramError

from bot import answers, people
from bot.context import Actor, BotContext, Services
from bot.dispatch import next_for, push_status
from bot.engine.delivery import BotApplication, edit_keyboard, markup_of, services_of
from bot.engine.jobs import (
    cancel_deadline,
    edit_task_message,
    policy_of,
    request_dispatch,
    show_task,
    worker_unreachable,
)
from bot.engine.render import answered_caption, credited_text, task_buttons
from bot.errors import CapExceeded
from bot.i18n import Translator
from bot.tasks import task_type
from bot.telegram_ui import translator_for
from bot.texts import pause_notice_text, refusal
from storage.assignments import Assignment, get_assignment
from storage.batches import Batch, get_batch, get_item
from storage.users import User

log = logging.getLogger(__name__)

MessageRef = tuple[int, int, bool]
"""(chat, message id, is a photo) of a task message; zeros when it is not accessible."""


def message_ref(message: object) -> MessageRef:
    """(chat, message id, is a photo) of the message a button was on; zeros if inaccessible."""
    if not isinstance(message, Message):
        return (0, 0, False)
    return (message.chat_id, message.message_id, bool(message.photo))


async def status_line(
    services: Services,
    t: Translator,
    worker_id: int,
    *,
    worker: User | None = None,
    cap_left: int | None = None,
) -> str:
    """Why no task follows: nothing to do, a pause, quiet hours, no window, or the cap."""
    policy = policy_of(services)
    now = services.clock.now()
    status = await push_status(services.db, policy, worker_id, now, user=worker, left=cap_left)
    if status == "cap":
        return t("tasks.status.cap", reset=t.date(policy.next_month_start(now)))
    return t(f"tasks.status.{status}")


async def follow_up(
    application: BotApplication,
    worker_id: int,
    old: MessageRef,
    *,
    ended_caption: str,
    header: str | None,
    t: Translator | None = None,
    worker: User | None = None,
    cap_left: int | None = None,
) -> bool:
    """Offer the next task after an answer or a skip, spending as few calls as possible.

    ``old`` is (chat, message id, is a photo) of the task just ended. A photo task becomes the
    next photo task in one ``editMessageMedia``; otherwise the old message shows how it ended
    and the next task comes as a new message. True when a next task was shown. ``t``, ``worker``
    and ``cap_left``, when the caller has them (an answer), are not read again.
    """
    services = services_of(application)
    chat_id, message_id, is_photo = old
    offer = await next_for(
        services.db,
        policy_of(services),
        worker_id,
        services.clock.now(),
        user=worker,
        left=cap_left,
    )
    if t is None:
        t = await translator_for(services, worker_id)
    async with services.runtime.message_lock(chat_id, message_id):
        if (
            offer is not None
            and is_photo
            and offer.item.media_kind == "image"
            and not task_type(offer.batch.type).takes_text  # its reply prompt needs a new task
        ):
            if await show_task(application, offer, replace=(chat_id, message_id), header=header):
                return True
            offer = None  # released by show_task; the old message still shows the old task
        status = (
            ""
            if offer is not None
            else "\n\n"
            + await status_line(services, t, worker_id, worker=worker, cap_left=cap_left)
        )
        await edit_task_message(application, chat_id, message_id, ended_caption + status)
    if offer is None:
        return False
    return await show_task(application, offer, header=header)


# -- answers ---------------------------------------------------------------------------------------


async def submit_by_button(
    context: BotContext,
    query: CallbackQuery,
    actor: Actor,
    assignment_id: int,
    *,
    label: int | None = None,
    from_draft: bool = False,
) -> None:
    """Store and credit a button answer, confirm it on the button, then show the next task."""
    services = context.services
    t = actor.t
    with services.runtime.handling(actor.user.id):
        try:
            credited = await answers.submit(
                services.db,
                policy_of(services),
                assignment_id,
                actor.user.id,
                services.clock.now(),
                label=label,
                from_draft=from_draft,
            )
        except CapExceeded as error:
            await query.answer(refusal(t, error)[:200], show_alert=True)
            chat_id, message_id, _ = message_ref(query.message)
            if chat_id:
                async with services.runtime.message_lock(chat_id, message_id):
                    await edit_task_message(
                        context.application, chat_id, message_id, t("tasks.released_cap")
                    )
            return
        await query.answer(credited_text(t, credited)[:200])
        await after_answer(
            context, actor.user.id, message_ref(query.message), t, credited, actor.user
        )


async def submit_text(
    context: BotContext, message: Message, actor: Actor, assignment: Assignment
) -> None:
    """Store and credit a transcription, then show the next task (or say why none follows).

    The caller marks the worker busy; a refusal (``UserError``) goes to the caller.
    """
    services = context.services
    t = actor.t
    assert message.text is not None
    credited = await answers.submit(
        services.db,
        policy_of(services),
        assignment.id,
        actor.user.id,
        services.clock.now(),
        text=message.text,
    )
    old = (assignment.chat_id or 0, assignment.message_id or 0, False)
    shown = await after_answer(context, actor.user.id, old, t, credited, actor.user)
    if not shown:
        status = await status_line(
            services, t, actor.user.id, worker=actor.user, cap_left=credited.cap_left
        )
        await message.reply_text(credited_text(t, credited) + "\n\n" + status)


async def after_answer(
    context: BotContext,
    worker_id: int,
    old: MessageRef,
    t: Translator,
    credited: answers.Credited,
    worker: User | None = None,
) -> bool:
    """After a credited answer: stop its timer, wake the dispatcher, tell what the answer
    changed and show the next task. True when a next task was shown."""
    application = context.application
    cancel_deadline(application, credited.assignment.id)
    request_dispatch(application)  # the item may now be complete; others may be waiting
    await _tell_pauses(application, worker_id, t, credited)
    try:
        return await _follow_answer(application, worker_id, old, t, credited, worker)
    finally:
        await _tell_item_and_batch_end(application, credited)


async def _follow_answer(
    application: BotApplication,
    worker_id: int,
    old: MessageRef,
    t: Translator,
    credited: answers.Credited,
    worker: User | None,
) -> bool:
    if not old[0]:
        return False
    ended = answered_caption(t, credited)
    header = t("tasks.header.credited", amount=t.money(credited.amount))
    try:
        return await follow_up(
            application,
            worker_id,
            old,
            ended_caption=ended,
            header=header,
            t=t,
            worker=worker,
            cap_left=credited.cap_left,
        )
    except TelegramError as exc:  # the answer is stored and paid; only the display failed
        log.warning("follow-up after assignment %s failed: %s", credited.assignment.id, exc)
        return False


# -- ticks, skips and pauses -----------------------------------------------------------------------


async def show_ticks(
    context: BotContext, t: Translator, batch: Batch, assignment_id: int, message: object
) -> None:
    """Show the ticked labels of a multiple-choice task under its message (if still open)."""
    services = context.services
    chat_id, message_id, _ = message_ref(message)
    if not chat_id:
        return
    async with services.runtime.message_lock(chat_id, message_id):
        current = await services.db.run_read(get_assignment, assignment_id)
        if current is None or not current.open_at(services.clock.now()):
            return
        markup = markup_of(task_buttons(t, batch, assignment_id, current.draft))
        if not await edit_keyboard(context.application, chat_id, message_id, markup):
            await worker_unreachable(context.application, chat_id)


async def after_skip(
    context: BotContext, t: Translator, worker_id: int, skipped: Assignment, message: object
) -> None:
    """A skipped task (its timer already stopped): the dispatcher wakes, the next task follows."""
    application = context.application
    request_dispatch(application)
    batch = await context.services.db.run_read(get_batch, skipped.batch_id)
    title = batch.title if batch else ""
    old = message_ref(message)
    if not old[0]:
        return
    try:
        await follow_up(
            application,
            worker_id,
            old,
            ended_caption=t("tasks.skipped", title=title),
            header=t("tasks.header.skipped"),
        )
    except TelegramError as exc:
        log.warning("follow-up after skipping %s failed: %s", skipped.id, exc)


async def after_pause(
    context: BotContext, t: Translator, assignment_id: int, message: object
) -> None:
    """A task given back by Pause: its timer stops, the dispatcher wakes, its message says so."""
    application = context.application
    cancel_deadline(application, assignment_id)
    request_dispatch(application)
    chat_id, message_id, _ = message_ref(message)
    if chat_id:
        async with context.services.runtime.message_lock(chat_id, message_id):
            await edit_task_message(application, chat_id, message_id, t("tasks.paused"))


# -- quality news after an answer: a paused type, an item completed early, a batch done ----------


async def _tell_pauses(
    application: BotApplication, worker_id: int, t: Translator, credited: answers.Credited
) -> None:
    """The worker is told at once why a type was paused, with the numbers, and what to do."""
    for notice in credited.quality.pauses:
        try:
            await application.bot.send_message(worker_id, pause_notice_text(t, notice))
        except Forbidden:
            await worker_unreachable(application, worker_id)
        except TelegramError as exc:
            log.warning("could not tell worker %s about a pause: %s", worker_id, exc)


async def _tell_item_and_batch_end(application: BotApplication, credited: answers.Credited) -> None:
    """Workers whose task an early stop released get the next one; the requester of a batch
    that just ended gets its summary."""
    services = services_of(application)
    for released in credited.quality.released:
        cancel_deadline(application, released.id)
        if released.chat_id is None or released.message_id is None:
            continue
        item = await services.db.run_read(get_item, released.item_id)
        is_photo = item is not None and item.media_kind == "image"
        wt = await translator_for(services, released.worker_id)
        with services.runtime.handling(released.worker_id):
            try:
                await follow_up(
                    application,
                    released.worker_id,
                    (released.chat_id, released.message_id, is_photo),
                    ended_caption=wt("quality.item_completed", title=credited.batch.title),
                    header=wt("quality.header.item_completed"),
                )
            except TelegramError as exc:
                log.warning("follow-up after releasing %s failed: %s", released.id, exc)
    end = credited.quality.batch_end
    if end is None:
        return
    requester = end.batch.requester_id
    rt = await _known_translator(services, requester)
    if rt is None:
        return  # never wrote to the bot: Telegram would refuse the message
    text = rt(
        "quality.batch_done" if end.review_batch_id is None else "quality.batch_done_review",
        id=end.batch.id,
        title=end.batch.title,
        items=end.items,
        answers=end.answers,
        spent=rt.money(end.spent),
        refunded=rt.money(end.refunded),
        review=end.review_batch_id,
    )
    try:
        await application.bot.send_message(requester, text)
    except TelegramError as exc:
        log.warning("could not tell requester %s that batch %s ended: %s", requester, end, exc)


async def _known_translator(services: Services, user_id: int) -> Translator | None:
    if await people.find_user(services.db, user_id) is None:
        return None
    return await translator_for(services, user_id)
